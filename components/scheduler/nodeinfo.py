"""One node as the scheduler sees it: the node's parsed facts plus running totals of its pods.

The node part (allocatable as integers, labels, taints, cordon, readiness) is parsed once per
node version in `set_node`. The pod part is kept incrementally: `add_pod` / `remove_pod` update
the requested resources (exact and "non-zero" for scoring), the pod count, the host ports in
use and the pods per owning controller, so a filter or a score reads a handful of integers
instead of walking the node's pods. A pod the scheduler has only *assumed* onto the node (its
binding is on the way) counts exactly like a bound one.

Readiness: the scheduler does not place pods on a node whose Ready condition is not True. As
Kubernetes does through the node lifecycle controller's taints, a node with Ready=False reads
as tainted `node.kubernetes.io/not-ready:NoSchedule`, and one with Ready=Unknown (or no Ready
condition yet) as `node.kubernetes.io/unreachable:NoSchedule`, so a pod may tolerate either and
the failure message names the taint exactly as a Kubernetes cluster would. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.scheduler.podinfo import PodInfo, PodKey
from components.scheduler.taints import (NO_EXECUTE, NO_SCHEDULE, NOT_READY_KEY, PREFER_NO_SCHEDULE,
                                         UNREACHABLE_KEY, Taint, parse_taints)
from core.podresources import node_allocatable


def readiness_taint(node: Mapping[str, Any]) -> Taint | None:
    """The taint the node lifecycle controller would put on this node for its Ready condition."""
    for c in (node.get("status") or {}).get("conditions") or []:
        if isinstance(c, Mapping) and c.get("type") == "Ready":
            if c.get("status") == "True":
                return None
            if c.get("status") == "False":
                return Taint(NOT_READY_KEY, "", NO_SCHEDULE)
            break
    return Taint(UNREACHABLE_KEY, "", NO_SCHEDULE)


class NodeInfo:
    __slots__ = ("name", "node", "labels", "unschedulable", "taints", "prefer_taints",
                 "alloc_cpu", "alloc_mem", "alloc_eph", "alloc_pods",
                 "req_cpu", "req_mem", "req_eph", "nz_cpu", "nz_mem", "pod_count",
                 "ports", "owners", "pods", "generation", "verdicts")

    def __init__(self, name: str) -> None:
        self.name = name
        self.node: dict[str, Any] | None = None  # None: pods point at a node we do not know (yet)
        self.labels: dict[str, str] = {}
        self.unschedulable = False
        self.taints: tuple[Taint, ...] = ()  # NoSchedule and NoExecute, in node order (+ readiness)
        self.prefer_taints: tuple[Taint, ...] = ()  # PreferNoSchedule
        self.alloc_cpu = self.alloc_mem = self.alloc_eph = self.alloc_pods = 0
        self.req_cpu = self.req_mem = self.req_eph = 0
        self.nz_cpu = self.nz_mem = 0
        self.pod_count = 0
        self.ports: dict[tuple[str, int], dict[str, int]] = {}  # (protocol, port) -> {hostIP: pods}
        self.owners: dict[str, int] = {}  # controller uid -> pods on this node
        self.pods: dict[PodKey, PodInfo] = {}
        self.generation = 0  # bumped on every change: a cheap "has this node moved?" check
        # Memo of the decision loop: pod shape -> (Failure or None, base score), for this version
        # of the node: every change empties it (see decide.py).
        self.verdicts: dict[int, tuple[Any, int]] = {}

    def __repr__(self) -> str:
        return f"NodeInfo({self.name!r}, pods={self.pod_count}, cpu={self.req_cpu}/{self.alloc_cpu})"

    # -- the node ---------------------------------------------------------------------------
    def set_node(self, node: dict[str, Any]) -> bool:
        """Take a new version of the node; True if anything a filter or score reads changed."""
        spec = node.get("spec") or {}
        alloc = node_allocatable(node)
        labels = (node.get("metadata") or {}).get("labels") or {}
        all_taints = parse_taints(spec.get("taints"))
        hard = [t for t in all_taints if t.effect in (NO_SCHEDULE, NO_EXECUTE)]
        ready = readiness_taint(node)
        if ready is not None and not any(t.key == ready.key and t.effect == ready.effect for t in hard):
            hard.append(ready)
        before = (self.labels, self.unschedulable, self.taints, self.prefer_taints,
                  (self.alloc_cpu, self.alloc_mem, self.alloc_eph, self.alloc_pods), self.node is None)
        self.node = node
        self.labels = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}
        self.unschedulable = bool(spec.get("unschedulable"))
        self.taints = tuple(hard)
        self.prefer_taints = tuple(t for t in all_taints if t.effect == PREFER_NO_SCHEDULE)
        self.alloc_cpu, self.alloc_mem, self.alloc_eph, self.alloc_pods = alloc
        self.generation += 1
        self.verdicts.clear()
        after = (self.labels, self.unschedulable, self.taints, self.prefer_taints,
                 (self.alloc_cpu, self.alloc_mem, self.alloc_eph, self.alloc_pods), False)
        return before != after

    def clear_node(self) -> None:
        self.node = None
        self.generation += 1
        self.verdicts.clear()

    # -- its pods ---------------------------------------------------------------------------
    def add_pod(self, pod: PodInfo) -> None:
        if pod.key in self.pods:
            self.remove_pod(pod.key)
        self.pods[pod.key] = pod
        r, nz = pod.requests, pod.non_zero
        self.req_cpu += r.cpu
        self.req_mem += r.memory
        self.req_eph += r.ephemeral_storage
        self.nz_cpu += nz.cpu
        self.nz_mem += nz.memory
        self.pod_count += 1
        for ip, proto, port in pod.ports:
            ips = self.ports.setdefault((proto, port), {})
            ips[ip] = ips.get(ip, 0) + 1
        if pod.owner_uid:
            self.owners[pod.owner_uid] = self.owners.get(pod.owner_uid, 0) + 1
        self.generation += 1
        self.verdicts.clear()

    def remove_pod(self, key: PodKey) -> PodInfo | None:
        pod = self.pods.pop(key, None)
        if pod is None:
            return None
        r, nz = pod.requests, pod.non_zero
        self.req_cpu -= r.cpu
        self.req_mem -= r.memory
        self.req_eph -= r.ephemeral_storage
        self.nz_cpu -= nz.cpu
        self.nz_mem -= nz.memory
        self.pod_count -= 1
        for ip, proto, port in pod.ports:
            ips = self.ports.get((proto, port))
            if ips is not None and ip in ips:
                ips[ip] -= 1
                if ips[ip] <= 0:
                    del ips[ip]
                if not ips:
                    del self.ports[(proto, port)]
        if pod.owner_uid:
            left = self.owners.get(pod.owner_uid, 0) - 1
            if left > 0:
                self.owners[pod.owner_uid] = left
            else:
                self.owners.pop(pod.owner_uid, None)
        self.generation += 1
        self.verdicts.clear()
        return pod

    def port_conflict(self, ports: tuple[tuple[str, str, int], ...]) -> bool:
        """Would these (hostIP, protocol, port) clash with a port in use? 0.0.0.0 clashes with
        every address on the same protocol and port."""
        for ip, proto, port in ports:
            used = self.ports.get((proto, port))
            if used and (ip == "0.0.0.0" or "0.0.0.0" in used or ip in used):
                return True
        return False
