"""Strategic-merge metadata for the built-in kinds: which lists merge, and by which key.

Kubernetes reads this from Go struct tags (`patchStrategy:"merge" patchMergeKey:"name"`); we
keep the same facts as a table keyed by *type* (PodSpec, Container, ObjectMeta, …), and
`strategic.py` walks it alongside the object, so a pod template is understood the same way
under `spec.template` of a Deployment as under `spec.jobTemplate.spec.template` of a CronJob.
Anything not listed is a plain map (merged key by key) or an atomic list (replaced whole).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldMeta:
    """What strategic merge needs to know about one field.

    `type` names the struct type of the value (for a list: of each element) so the walk can
    continue below it. `merge` is the list strategy; `key` is the merge key of a list of
    objects, None for a merging list of primitives (a set, like `finalizers`)."""

    type: str | None = None
    merge: bool = False
    key: str | None = None


PLAIN = FieldMeta()


def _t(type_name: str) -> FieldMeta:
    return FieldMeta(type_name)


def _by(key: str, type_name: str | None = None) -> FieldMeta:
    return FieldMeta(type_name, merge=True, key=key)


_SET = FieldMeta(merge=True)  # a list of primitives merged as a set
_CONDITIONS = {"conditions": _by("type")}


def _object(spec: str | None = None, status: str | None = None) -> dict[str, FieldMeta]:
    fields = {"metadata": _t("ObjectMeta")}
    if spec:
        fields["spec"] = _t(spec)
    if status:
        fields["status"] = _t(status)
    return fields


_WITH_TEMPLATE = {"template": _t("PodTemplateSpec")}

TYPES: dict[str, dict[str, FieldMeta]] = {
    # shared building blocks
    "ObjectMeta": {"ownerReferences": _by("uid"), "finalizers": _SET},
    "PodTemplateSpec": _object(spec="PodSpec"),
    "JobTemplateSpec": _object(spec="JobSpec"),
    "ConditionedStatus": _CONDITIONS,
    "PodSpec": {
        "containers": _by("name", "Container"),
        "initContainers": _by("name", "Container"),
        "ephemeralContainers": _by("name", "Container"),
        "volumes": _by("name"),  # Kubernetes: merge,retainKeys; $retainKeys works on any map
        "imagePullSecrets": _by("name"),
        "hostAliases": _by("ip"),
        "topologySpreadConstraints": _by("topologyKey"),
        "schedulingGates": _by("name"),
        "resourceClaims": _by("name"),
        # tolerations, readinessGates, affinity terms: atomic in Kubernetes, replaced whole
    },
    "Container": {
        "env": _by("name"),
        "volumeMounts": _by("mountPath"),
        "volumeDevices": _by("devicePath"),
        "ports": _by("containerPort"),
        # command, args, envFrom, resizePolicy: atomic
    },
    "PodStatus": {
        **_CONDITIONS,
        "podIPs": _by("ip"),
        "hostIPs": _by("ip"),
        "resourceClaimStatuses": _by("name"),
        # containerStatuses and friends are atomic: a status writer sends them whole
    },
    "ServiceSpec": {"ports": _by("port")},
    "NodeSpec": {"podCIDRs": _SET},  # taints are atomic in Kubernetes (kubectl taint sends the whole list)
    "NodeStatus": {**_CONDITIONS, "addresses": _by("type")},
    "ServiceAccount": {**_object(), "secrets": _by("name")},
    "DeploymentSpec": _WITH_TEMPLATE,
    "ReplicaSetSpec": _WITH_TEMPLATE,
    "DaemonSetSpec": _WITH_TEMPLATE,
    "StatefulSetSpec": _WITH_TEMPLATE,  # volumeClaimTemplates: atomic
    "ReplicationControllerSpec": _WITH_TEMPLATE,
    "JobSpec": _WITH_TEMPLATE,
    "CronJobSpec": {"jobTemplate": _t("JobTemplateSpec")},
    # kinds
    "Object": _object(),  # any other kind: only metadata is known
    "Pod": _object("PodSpec", "PodStatus"),
    "Service": _object("ServiceSpec", "ConditionedStatus"),
    "Node": _object("NodeSpec", "NodeStatus"),
    "Namespace": _object(status="ConditionedStatus"),
    "PersistentVolumeClaim": _object(status="ConditionedStatus"),
    "Deployment": _object("DeploymentSpec", "ConditionedStatus"),
    "ReplicaSet": _object("ReplicaSetSpec", "ConditionedStatus"),
    "DaemonSet": _object("DaemonSetSpec", "ConditionedStatus"),
    "StatefulSet": _object("StatefulSetSpec", "ConditionedStatus"),
    "ReplicationController": _object("ReplicationControllerSpec", "ConditionedStatus"),
    "Job": _object("JobSpec", "ConditionedStatus"),
    "CronJob": _object("CronJobSpec"),
    "HorizontalPodAutoscaler": _object(status="ConditionedStatus"),
    "PodTemplate": {**_object(), "template": _t("PodTemplateSpec")},
}

# The kinds above, as opposed to the building blocks they are made of.
_KINDS = frozenset({
    "Object", "Pod", "Service", "Node", "Namespace", "PersistentVolumeClaim", "ServiceAccount",
    "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "ReplicationController", "Job", "CronJob",
    "HorizontalPodAutoscaler", "PodTemplate",
})


def root_type(kind: str) -> str:
    """The type at the root of an object of `kind`; any other kind gets the generic `Object`."""
    return kind if kind in _KINDS else "Object"


def field_meta(type_name: str | None, field: str) -> FieldMeta:
    """Metadata of `field` inside a value of type `type_name` (PLAIN when nothing is known)."""
    if type_name is None:
        return PLAIN
    return TYPES.get(type_name, {}).get(field, PLAIN)
