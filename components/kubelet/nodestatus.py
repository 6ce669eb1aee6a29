"""The Node and Lease objects a kubelet writes about its node. Pure.

`NodeFacts` holds what a node reports (capacity, addresses, nodeInfo, labels, pod CIDR); the
functions here turn them into the Node to register, the status to post (conditions keep their
`lastTransitionTime` while unchanged; Ready is re-asserted True even after a node lifecycle
controller set it Unknown), whether a post is due, and the heartbeat Lease. Node status is posted
when it changes and otherwise every `report_every` seconds; liveness travels in the Lease.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from core.podstatus import timestamp

KUBELET_VERSION = "v1.32.0-jetkube"
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION = 40
KUBELET_PORT = 10250

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
         "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}

# (type, status, reason, message) the kubelet asserts while healthy, in Kubernetes' order.
HEALTHY = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)
OWNED = frozenset(t for t, *_ in HEALTHY)


def arch(machine: str) -> str:
    return _ARCH.get(machine.lower(), machine.lower() or "amd64")


@dataclass(frozen=True)
class NodeFacts:
    name: str
    ip: str
    pod_cidr: str
    capacity: Mapping[str, str]
    runtime_version: str
    architecture: str = "amd64"
    os_image: str = "jetkube"
    kernel_version: str = ""
    machine_id: str = ""
    boot_id: str = ""
    system_uuid: str = ""
    extra_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def labels(self) -> dict[str, str]:
        return {"beta.kubernetes.io/arch": self.architecture, "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": self.architecture, "kubernetes.io/hostname": self.name,
                "kubernetes.io/os": "linux", **self.extra_labels}


def node_object(facts: NodeFacts) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if facts.pod_cidr:
        spec = {"podCIDR": facts.pod_cidr, "podCIDRs": [facts.pod_cidr]}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": facts.name, "labels": facts.labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": spec}


def registration_patch(facts: NodeFacts, existing: Mapping[str, Any]) -> dict[str, Any]:
    """What to change on a Node that already exists: our labels, and the pod CIDR only if unset.
    Taints, unschedulable and everything else someone else wrote stay as they are."""
    patch: dict[str, Any] = {}
    labels = (existing.get("metadata") or {}).get("labels") or {}
    missing = {k: v for k, v in facts.labels.items() if labels.get(k) != v}
    if missing:
        patch["metadata"] = {"labels": missing}
    spec = existing.get("spec") or {}
    if facts.pod_cidr and not spec.get("podCIDR"):
        patch["spec"] = {"podCIDR": facts.pod_cidr, "podCIDRs": [facts.pod_cidr]}
    return patch


def node_status(facts: NodeFacts, old: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The whole status the kubelet posts (conditions it does not own are kept)."""
    stamp = timestamp(now)
    old_conditions = [c for c in old.get("conditions") or [] if isinstance(c, dict)]
    by_type = {c.get("type"): c for c in old_conditions}
    conditions = []
    for type_, status, reason, message in HEALTHY:
        prev = by_type.get(type_) or {}
        since = prev.get("lastTransitionTime") if prev.get("status") == status else None
        conditions.append({"type": type_, "status": status, "lastHeartbeatTime": stamp,
                           "lastTransitionTime": since or stamp, "reason": reason, "message": message})
    conditions += [c for c in old_conditions if c.get("type") not in OWNED]
    return {
        "capacity": dict(facts.capacity),
        "allocatable": dict(facts.capacity),
        "conditions": conditions,
        "addresses": [{"type": "InternalIP", "address": facts.ip}, {"type": "Hostname", "address": facts.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {
            "machineID": facts.machine_id, "systemUUID": facts.system_uuid, "bootID": facts.boot_id,
            "kernelVersion": facts.kernel_version, "osImage": facts.os_image,
            "containerRuntimeVersion": facts.runtime_version, "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": facts.architecture,
        },
    }


def _without_heartbeats(status: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(status)
    out["conditions"] = [{k: v for k, v in c.items() if k != "lastHeartbeatTime"}
                         for c in status.get("conditions") or [] if isinstance(c, dict)]
    return out


def _parse(stamp: Any) -> float | None:
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


def status_due(old: Mapping[str, Any], new: Mapping[str, Any], now: float, report_every: float) -> bool:
    """Post when anything but the heartbeat changed, or when the last heartbeat is `report_every` old."""
    keys = ("capacity", "allocatable", "conditions", "addresses", "daemonEndpoints", "nodeInfo")
    if _without_heartbeats({k: old.get(k) for k in keys}) != _without_heartbeats({k: new.get(k) for k in keys}):
        return True
    beats = [_parse(c.get("lastHeartbeatTime")) for c in old.get("conditions") or []
             if isinstance(c, dict) and c.get("type") == "Ready"]
    last = beats[0] if beats else None
    return last is None or now - last >= report_every


def micro_time(t: float) -> str:
    """Kubernetes' MicroTime: 2026-01-01T00:00:00.000000Z."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_object(node: str, node_uid: str, now: float, duration: int = LEASE_DURATION) -> dict[str, Any]:
    md: dict[str, Any] = {"name": node, "namespace": LEASE_NAMESPACE}
    if node_uid:
        md["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node, "uid": node_uid}]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": md,
            "spec": {"holderIdentity": node, "leaseDurationSeconds": duration, "renewTime": micro_time(now)}}


def lease_renewal(node: str, now: float, duration: int = LEASE_DURATION) -> dict[str, Any]:
    return {"spec": {"holderIdentity": node, "leaseDurationSeconds": duration, "renewTime": micro_time(now)}}
