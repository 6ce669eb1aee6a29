"""The filters: can this pod run on this node, and if not, why (in Kubernetes' words).

Each filter is a function (pod, node) → None (passes) or a `Failure`: the reasons, worded as the
Kubernetes 1.32 plugins word them (they end up counted in the FailedScheduling message), and
whether the failure is *unresolvable* — no eviction of other pods could fix it, which decides
the "preemption:" part of that message. They run in the order of Kubernetes' default profile
and the first failure stops the rest for that node, as the framework does:

NodeUnschedulable, NodeName, TaintToleration, NodeAffinity (nodeSelector and required
affinity), NodePorts, NodeResourcesFit.

Inputs are a `PodInfo` and a `NodeInfo` (parsed once, aggregates kept incrementally); pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from components.scheduler.nodeinfo import NodeInfo
from components.scheduler.podinfo import PodInfo
from components.scheduler.taints import NO_SCHEDULE, UNSCHEDULABLE_KEY, Taint, first_untolerated, tolerated

# The reason strings of the Kubernetes plugins.
UNSCHEDULABLE = "node(s) were unschedulable"
NODE_NAME = "node(s) didn't match the requested node name"
NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
NODE_PORTS = "node(s) didn't have free ports for the requested pod ports"
TOO_MANY_PODS = "Too many pods"
INSUFFICIENT_CPU = "Insufficient cpu"
INSUFFICIENT_MEMORY = "Insufficient memory"
INSUFFICIENT_EPHEMERAL = "Insufficient ephemeral-storage"
# NodeAffinity's PreFilter: nodes outside its `metadata.name` set, and terms that cannot agree.
PREFILTER_AFFINITY = "node(s) didn't satisfy plugin(s) [NodeAffinity]"
AFFINITY_CONFLICT = "pod affinity terms conflict"


def untolerated_taint(taint: Taint) -> str:
    return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"


class Failure(NamedTuple):
    reasons: tuple[str, ...]
    unresolvable: bool


_UNSCHEDULABLE = Failure((UNSCHEDULABLE,), True)
_NODE_NAME = Failure((NODE_NAME,), True)
_NODE_AFFINITY = Failure((NODE_AFFINITY,), True)
_NODE_PORTS = Failure((NODE_PORTS,), False)
_CORDON_TAINT = Taint(UNSCHEDULABLE_KEY, "", NO_SCHEDULE)

Filter = Callable[[PodInfo, NodeInfo], "Failure | None"]


def node_unschedulable(pod: PodInfo, node: NodeInfo) -> Failure | None:
    """A cordoned node takes only pods that tolerate node.kubernetes.io/unschedulable:NoSchedule."""
    if node.unschedulable and not tolerated(pod.tolerations, _CORDON_TAINT):
        return _UNSCHEDULABLE
    return None


def node_name(pod: PodInfo, node: NodeInfo) -> Failure | None:
    if pod.node_name and pod.node_name != node.name:
        return _NODE_NAME
    return None


def taint_toleration(pod: PodInfo, node: NodeInfo) -> Failure | None:
    """NoSchedule and NoExecute taints (readiness taints included) must all be tolerated."""
    if not node.taints:
        return None
    taint = first_untolerated(node.taints, pod.tolerations)
    if taint is None:
        return None
    return Failure((untolerated_taint(taint),), True)


def node_affinity(pod: PodInfo, node: NodeInfo) -> Failure | None:
    aff = pod.affinity
    if aff.filters and not aff.matches(node.labels, node.name):
        return _NODE_AFFINITY
    return None


def node_ports(pod: PodInfo, node: NodeInfo) -> Failure | None:
    if pod.ports and node.port_conflict(pod.ports):
        return _NODE_PORTS
    return None


def node_resources_fit(pod: PodInfo, node: NodeInfo) -> Failure | None:
    """Requests against allocatable minus what the node's pods (bound or assumed) request.
    Unresolvable when the request exceeds the node's whole allocatable."""
    reasons: list[str] = []
    unresolvable = False
    if node.pod_count + 1 > node.alloc_pods:
        reasons.append(TOO_MANY_PODS)
    r = pod.requests
    if r.cpu or r.memory or r.ephemeral_storage:
        if r.cpu > 0 and r.cpu > node.alloc_cpu - node.req_cpu:
            reasons.append(INSUFFICIENT_CPU)
            unresolvable |= r.cpu > node.alloc_cpu
        if r.memory > 0 and r.memory > node.alloc_mem - node.req_mem:
            reasons.append(INSUFFICIENT_MEMORY)
            unresolvable |= r.memory > node.alloc_mem
        if r.ephemeral_storage > 0 and r.ephemeral_storage > node.alloc_eph - node.req_eph:
            reasons.append(INSUFFICIENT_EPHEMERAL)
            unresolvable |= r.ephemeral_storage > node.alloc_eph
    if not reasons:
        return None
    return Failure(tuple(reasons), unresolvable)


FILTERS: tuple[Filter, ...] = (node_unschedulable, node_name, taint_toleration, node_affinity, node_ports,
                               node_resources_fit)


def run_filters(pod: PodInfo, node: NodeInfo) -> Failure | None:
    """All filters in order; the first failure is the node's verdict."""
    for f in FILTERS:
        failed = f(pod, node)
        if failed is not None:
            return failed
    return None


def applicable_filters(pod: PodInfo) -> tuple[Filter, ...]:
    """The filters that can fail for this pod (the rest always pass): what the decision loop runs.
    Cordon, taints and resources apply to every pod; name, affinity and ports only if asked for."""
    out: list[Filter] = [node_unschedulable]
    if pod.node_name:
        out.append(node_name)
    out.append(taint_toleration)
    if pod.affinity.filters:
        out.append(node_affinity)
    if pod.ports:
        out.append(node_ports)
    out.append(node_resources_fit)
    return tuple(out)
