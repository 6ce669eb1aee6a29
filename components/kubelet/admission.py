"""Pod admission on the node: may this pod run here next to the pods already admitted? Pure.

A pod bound straight to a node (spec.nodeName at create, no scheduler) can ask for a host port
another pod holds, or for more than the node has left. Like Kubernetes' kubelet, we check the
scheduler's general predicates once per pod, in the order pods arrive, and reject a pod that does
not fit: phase Failed, reason `NodePorts` / `OutOfcpu` / `OutOfmemory` / `OutOfpods`, message
"Pod was rejected: …". Pods already running when a kubelet restarts are admitted as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from core.podstatus import Waiting
from core.schema.quantity import QuantityError, parse_quantity

Obj = Mapping[str, Any]


def _quantity(raw: Any) -> Fraction:
    try:
        return parse_quantity(raw).value
    except QuantityError:
        return Fraction(0)


def pod_requests(pod: Obj) -> dict[str, Fraction]:
    """Kubernetes' pod request: max(sum of app containers, largest init container), per resource."""
    spec = pod.get("spec") or {}
    total: dict[str, Fraction] = {}
    for c in spec.get("containers") or []:
        for k, v in ((c.get("resources") or {}).get("requests") or {}).items():
            total[k] = total.get(k, Fraction(0)) + _quantity(v)
    for c in spec.get("initContainers") or []:
        for k, v in ((c.get("resources") or {}).get("requests") or {}).items():
            total[k] = max(total.get(k, Fraction(0)), _quantity(v))
    return total


def host_ports(pod: Obj) -> list[tuple[str, int, str]]:
    """(protocol, hostPort, hostIP) of every container port with a hostPort."""
    out = []
    spec = pod.get("spec") or {}
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append((str(p.get("protocol") or "TCP"), int(p["hostPort"]), str(p.get("hostIP") or "0.0.0.0")))
    return out


def _clash(a: tuple[str, int, str], b: tuple[str, int, str]) -> bool:
    wild = ("0.0.0.0", "", "::")
    return a[0] == b[0] and a[1] == b[1] and (a[2] == b[2] or a[2] in wild or b[2] in wild)


def _key(pod: Obj) -> str:
    md = pod.get("metadata") or {}
    return f"{md.get('namespace', '')}/{md.get('name', '')}"


def _amount(resource: str, value: Fraction) -> int:
    return int(value * 1000) if resource == "cpu" else int(value)


def admit(pod: Obj, admitted: Iterable[Obj], allocatable: Mapping[str, Any]) -> Waiting | None:
    """None when the pod fits; else the rejection (reason, message) for its status."""
    others = list(admitted)
    capacity_pods = int(_quantity(allocatable.get("pods", 110)))
    if len(others) + 1 > capacity_pods:
        return Waiting("OutOfpods", f"Pod was rejected: Node didn't have enough resource: pods, requested: 1, "
                                    f"used: {len(others)}, capacity: {capacity_pods}")
    want = pod_requests(pod)
    for resource in ("cpu", "memory", "ephemeral-storage"):
        asked = want.get(resource, Fraction(0))
        if asked <= 0 or resource not in allocatable:
            continue
        used = sum((pod_requests(o).get(resource, Fraction(0)) for o in others), Fraction(0))
        cap = _quantity(allocatable[resource])
        if used + asked > cap:
            return Waiting(f"OutOf{resource}", f"Pod was rejected: Node didn't have enough resource: {resource}, "
                                               f"requested: {_amount(resource, asked)}, used: {_amount(resource, used)}, "
                                               f"capacity: {_amount(resource, cap)}")
    mine = host_ports(pod)
    for other in others:
        for theirs in host_ports(other):
            for p in mine:
                if _clash(p, theirs):
                    return Waiting("NodePorts", f"Pod was rejected: Predicate NodePorts failed: node(s) didn't have "
                                                f"free ports for the requested pod ports (host port {p[2]}:{p[1]}/{p[0]} "
                                                f"is held by pod {_key(other)})")
    return None
