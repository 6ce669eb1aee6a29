"""Generate core/schema/catalog.json: the wire schema of every kind jetkube serves.

The catalog maps each API type to its JSON fields and their types, so `core.fields` can find
unknown fields (strict decoding) and wrong JSON types (Go's decode errors) without importing the
`kubernetes` client at run time. The source is the installed client's generated models
(`openapi_types` + `attribute_map`); the Go facts the client does not keep (int32 vs int64,
Quantity, IntOrString, ResourceList, MicroTime) are added from the tables below, which follow
k8s.io/api's types.go.

Run: `.venv/bin/python -m ops.tools.gen_field_catalog` (rewrites the file; review the diff).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[2] / "core" / "schema" / "catalog.json"

# apiVersion/Kind → root model of the client, for every kind in core.kinds plus the bodies of
# subresources the API server decodes.
ROOTS: dict[str, str] = {
    "v1/Namespace": "V1Namespace",
    "v1/Pod": "V1Pod",
    "v1/Service": "V1Service",
    "v1/Endpoints": "V1Endpoints",
    "v1/Node": "V1Node",
    "v1/ConfigMap": "V1ConfigMap",
    "v1/Secret": "V1Secret",
    "v1/ServiceAccount": "V1ServiceAccount",
    "v1/Event": "CoreV1Event",
    "v1/ReplicationController": "V1ReplicationController",
    "v1/PersistentVolume": "V1PersistentVolume",
    "v1/PersistentVolumeClaim": "V1PersistentVolumeClaim",
    "v1/PodTemplate": "V1PodTemplate",
    "v1/Binding": "V1Binding",
    "v1/DeleteOptions": "V1DeleteOptions",
    "apps/v1/Deployment": "V1Deployment",
    "apps/v1/ReplicaSet": "V1ReplicaSet",
    "apps/v1/DaemonSet": "V1DaemonSet",
    "apps/v1/StatefulSet": "V1StatefulSet",
    "apps/v1/ControllerRevision": "V1ControllerRevision",
    "batch/v1/Job": "V1Job",
    "batch/v1/CronJob": "V1CronJob",
    "coordination.k8s.io/v1/Lease": "V1Lease",
    "discovery.k8s.io/v1/EndpointSlice": "V1EndpointSlice",
    "networking.k8s.io/v1/Ingress": "V1Ingress",
    "autoscaling/v2/HorizontalPodAutoscaler": "V2HorizontalPodAutoscaler",
    "autoscaling/v1/Scale": "V1Scale",
    "policy/v1/Eviction": "V1Eviction",
}

# Go int64 fields, by JSON name (every other integer is int32).
INT64_FIELDS = {
    "generation", "observedGeneration", "deletionGracePeriodSeconds", "terminationGracePeriodSeconds",
    "activeDeadlineSeconds", "tolerationSeconds", "runAsUser", "runAsGroup", "fsGroup",
    "supplementalGroups", "expirationSeconds", "sizeBytes", "revision", "startingDeadlineSeconds",
    "gracePeriodSeconds", "uid", "gid",
}
# (model, JSON field) whose Go type is v1.ResourceList (map of resource.Quantity).
RESOURCE_LISTS = {
    ("V1ResourceRequirements", "limits"), ("V1ResourceRequirements", "requests"),
    ("V1VolumeResourceRequirements", "limits"), ("V1VolumeResourceRequirements", "requests"),
    ("V1NodeStatus", "capacity"), ("V1NodeStatus", "allocatable"),
    ("V1PersistentVolumeSpec", "capacity"),
    ("V1PersistentVolumeClaimStatus", "capacity"), ("V1PersistentVolumeClaimStatus", "allocatedResources"),
    ("V1PodSpec", "overhead"), ("V1ContainerStatus", "allocatedResources"),
}
# (model, JSON field) whose Go type is a single resource.Quantity.
QUANTITIES = {
    ("V1EmptyDirVolumeSource", "sizeLimit"), ("V1ResourceFieldSelector", "divisor"),
    ("V2MetricTarget", "value"), ("V2MetricTarget", "averageValue"),
    ("V2MetricValueStatus", "value"), ("V2MetricValueStatus", "averageValue"),
    ("V1NodeSwapStatus", "capacity"),
}
INT_OR_STRING = {
    ("V1HTTPGetAction", "port"), ("V1TCPSocketAction", "port"), ("V1ServicePort", "targetPort"),
    ("V1RollingUpdateDeployment", "maxSurge"), ("V1RollingUpdateDeployment", "maxUnavailable"),
    ("V1RollingUpdateDaemonSet", "maxSurge"), ("V1RollingUpdateDaemonSet", "maxUnavailable"),
    ("V1RollingUpdateStatefulSetStrategy", "maxUnavailable"),
}
MICRO_TIMES = {
    ("CoreV1Event", "eventTime"), ("CoreV1EventSeries", "lastObservedTime"),
    ("V1LeaseSpec", "acquireTime"), ("V1LeaseSpec", "renewTime"),
}
# Fields some server versions send that the client predates; kept known so Strict never rejects them.
EXTRA_FIELDS: dict[str, dict[str, str]] = {}

_MODEL_NAME = re.compile(r"^(?:[A-Z][a-z]+)?V(\d+(?:alpha\d+|beta\d+)?)([A-Z]\w*)$")


def go_name(model: str) -> str:
    """`V1PodSpec` → `v1.PodSpec`, `CoreV1EndpointPort` → `v1.EndpointPort`."""
    m = _MODEL_NAME.match(model)
    if not m:
        raise ValueError(f"unexpected model name {model}")
    return f"v{m.group(1)}.{m.group(2)}"


def type_ref(model: str, field: str, py: str) -> str:
    """Translate a client type string into the catalog's type grammar."""
    if (model, field) in RESOURCE_LISTS:
        return "resourcelist"
    if (model, field) in QUANTITIES:
        return "quantity"
    if (model, field) in INT_OR_STRING:
        return "intstr"
    if (model, field) in MICRO_TIMES:
        return "microtime"
    return _ref(field, py)


def _ref(field: str, py: str) -> str:
    if py.startswith("List[") and py.endswith("]"):
        return "[]" + _ref(field, py[5:-1])
    if py.startswith("Dict[str, ") and py.endswith("]"):
        return "map[" + _ref(field, py[10:-1]) + "]"
    simple = {"str": "string", "bool": "bool", "float": "float64", "datetime": "time",
              "object": "any", "bytes": "bytes"}
    if py in simple:
        return simple[py]
    if py == "int":
        return "int64" if field in INT64_FIELDS else "int32"
    return py  # a model name


def build() -> dict[str, Any]:
    from kubernetes.client import models  # noqa: PLC0415 - generator only

    types: dict[str, Any] = {}
    stack = list(ROOTS.values())
    while stack:
        name = stack.pop()
        if name in types:
            continue
        cls = getattr(models, name)
        fields: dict[str, str] = {}
        for attr, py in cls.openapi_types.items():
            json_name = cls.attribute_map[attr]
            ref = type_ref(name, json_name, py)
            fields[json_name] = ref
            for dep in re.findall(r"[A-Z]\w*", ref):
                if hasattr(models, dep):
                    stack.append(dep)
        fields.update(EXTRA_FIELDS.get(name, {}))
        types[name] = {"go": go_name(name), "fields": dict(sorted(fields.items()))}
    return {
        "generated_by": "ops/tools/gen_field_catalog.py",
        "kubernetes_client": _client_version(),
        "kinds": ROOTS,
        "types": dict(sorted(types.items())),
    }


def _client_version() -> str:
    import kubernetes  # noqa: PLC0415

    return str(kubernetes.__version__)


def main() -> int:
    catalog = build()
    OUT.write_text(json.dumps(catalog, indent=1, sort_keys=False) + "\n")
    print(f"wrote {OUT} ({len(catalog['types'])} types)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
