"""Admission's schemas: typed pydantic views of every served kind, and the generated wire catalog.

- `meta`, `core_v1`, `apps_v1`, `batch_v1`, `other`: pydantic models, one module per API group,
  read by validation (`model_for(kind)` finds the model of a kind).
- `catalog` + catalog.json: every field of every kind, for strict decoding (`core.fields`).
- `causes`, `formats`, `quantity`, `cron`: Kubernetes' error wording and string formats.
- `rules`: the validation rules per group, behind `core.validation`.
"""

from __future__ import annotations

from core.kinds import Kind
from core.schema import apps_v1, batch_v1, core_v1, other
from core.schema.meta import KModel, Resource

MODELS: dict[tuple[str, str], type[Resource]] = {
    ("v1", "Namespace"): core_v1.Namespace,
    ("v1", "Pod"): core_v1.Pod,
    ("v1", "Service"): core_v1.Service,
    ("v1", "Endpoints"): core_v1.Endpoints,
    ("v1", "Node"): core_v1.Node,
    ("v1", "ConfigMap"): core_v1.ConfigMap,
    ("v1", "Secret"): core_v1.Secret,
    ("v1", "ServiceAccount"): core_v1.ServiceAccount,
    ("v1", "Event"): core_v1.Event,
    ("v1", "ReplicationController"): core_v1.ReplicationController,
    ("v1", "PersistentVolume"): core_v1.PersistentVolume,
    ("v1", "PersistentVolumeClaim"): core_v1.PersistentVolumeClaim,
    ("v1", "PodTemplate"): core_v1.PodTemplate,
    ("apps/v1", "Deployment"): apps_v1.Deployment,
    ("apps/v1", "ReplicaSet"): apps_v1.ReplicaSet,
    ("apps/v1", "DaemonSet"): apps_v1.DaemonSet,
    ("apps/v1", "StatefulSet"): apps_v1.StatefulSet,
    ("apps/v1", "ControllerRevision"): apps_v1.ControllerRevision,
    ("batch/v1", "Job"): batch_v1.Job,
    ("batch/v1", "CronJob"): batch_v1.CronJob,
    ("coordination.k8s.io/v1", "Lease"): other.Lease,
    ("discovery.k8s.io/v1", "EndpointSlice"): other.EndpointSlice,
    ("networking.k8s.io/v1", "Ingress"): other.Ingress,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): other.HorizontalPodAutoscaler,
}


def model_for(kind: Kind) -> type[Resource]:
    """The typed view of a kind (the bare `Resource` for kinds without one)."""
    return MODELS.get((kind.api_version, kind.kind), Resource)


__all__ = ["MODELS", "KModel", "Resource", "model_for"]
