"""Building pods and nodes for the scheduler's unit tests, as dicts the log would hold."""

from __future__ import annotations

from typing import Any

from components.scheduler.nodeinfo import NodeInfo
from components.scheduler.podinfo import PodInfo, parse_pod

Obj = dict[str, Any]

DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def node_obj(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: str = "110", ephemeral: str | None = None,
             labels: dict[str, str] | None = None, taints: list[Obj] | None = None, unschedulable: bool = False,
             ready: str | None = "True") -> Obj:
    alloc = {"cpu": cpu, "memory": memory, "pods": pods}
    if ephemeral is not None:
        alloc["ephemeral-storage"] = ephemeral
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    status: Obj = {"allocatable": alloc, "capacity": dict(alloc)}
    if ready is not None:
        status["conditions"] = [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": ready}]
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels or {}},
            "spec": spec, "status": status}


def node(name: str, **kw: Any) -> NodeInfo:
    info = NodeInfo(name)
    info.set_node(node_obj(name, **kw))
    return info


def pod_obj(name: str, *, cpu: str | None = None, memory: str | None = None, ephemeral: str | None = None,
            ns: str = "default", owner: str = "", ports: list[Obj] | None = None,
            tolerations: list[Obj] | None = None, node_selector: dict[str, str] | None = None,
            affinity: Obj | None = None, node_name: str = "", priority: int = 0,
            preemption_policy: str | None = None, init: list[Obj] | None = None,
            overhead: dict[str, str] | None = None) -> Obj:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory), ("ephemeral-storage", ephemeral)) if v}
    container: Obj = {"name": "c", "image": "busybox"}
    if requests:
        container["resources"] = {"requests": requests}
    if ports:
        container["ports"] = ports
    spec: Obj = {"containers": [container], "tolerations": tolerations if tolerations is not None
                 else DEFAULT_TOLERATIONS, "priority": priority, "schedulerName": "default-scheduler"}
    if node_selector:
        spec["nodeSelector"] = node_selector
    if affinity:
        spec["affinity"] = affinity
    if node_name:
        spec["nodeName"] = node_name
    if preemption_policy:
        spec["preemptionPolicy"] = preemption_policy
    if init:
        spec["initContainers"] = init
    if overhead:
        spec["overhead"] = overhead
    md: Obj = {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}", "resourceVersion": "1"}
    if owner:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "uid": owner,
                                  "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": {"phase": "Pending"}}


def pod(name: str, **kw: Any) -> PodInfo:
    return parse_pod(pod_obj(name, **kw))


def required(*terms: Obj) -> Obj:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def expr(key: str, op: str, *values: str) -> Obj:
    out: Obj = {"key": key, "operator": op}
    if values:
        out["values"] = list(values)
    return out
