"""What the scheduler needs to know about a pod, parsed once from the pod dict.

Built for every pod the scheduler sees (pending pods to place, bound pods to account for): the
effective requests as integers (`core.podresources`), the host ports it claims, its
tolerations, node affinity, the controller that owns it (for spreading), its priority. Filters,
scores and node aggregates read these fields instead of walking the dict again. Pure.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from core.nodeaffinity import NO_AFFINITY, NodeAffinity, parse_node_affinity
from components.scheduler.taints import Toleration, parse_tolerations, prefer_tolerations
from core.podresources import Resources, pod_non_zero_requests, pod_requests

DEFAULT_SCHEDULER = "default-scheduler"

PodKey = tuple[str, str]  # (namespace, name)
HostPort = tuple[str, str, int]  # (hostIP, protocol, hostPort)


@dataclass(frozen=True, slots=True, eq=False)
class PodInfo:
    key: PodKey
    uid: str
    obj: dict[str, Any]
    requests: Resources  # what fit checks; pods = 1
    non_zero: Resources  # what scores use: request-less containers count 100m / 200Mi
    ports: tuple[HostPort, ...]
    tolerations: tuple[Toleration, ...]
    prefer_tolerations: tuple[Toleration, ...]
    affinity: NodeAffinity
    owner_uid: str  # the controller ownerReference's uid, "" if none
    node_name: str  # spec.nodeName
    priority: int
    preempt_never: bool
    shape: int  # equal for pods the filters and the base score cannot tell apart (see decide.py)

    @property
    def namespace(self) -> str:
        return self.key[0]

    @property
    def name(self) -> str:
        return self.key[1]


def pod_key(obj: Mapping[str, Any]) -> PodKey:
    md = obj.get("metadata") or {}
    return (str(md.get("namespace") or ""), str(md.get("name") or ""))


def host_ports(spec: Mapping[str, Any]) -> tuple[HostPort, ...]:
    """The host ports of the app containers (hostIP defaults to 0.0.0.0, protocol to TCP)."""
    out: list[HostPort] = []
    for c in spec.get("containers") or []:
        if not isinstance(c, Mapping):
            continue
        for p in c.get("ports") or []:
            if not isinstance(p, Mapping):
                continue
            hp = p.get("hostPort")
            if isinstance(hp, int) and not isinstance(hp, bool) and hp > 0:
                out.append((str(p.get("hostIP") or "0.0.0.0"), str(p.get("protocol") or "TCP"), hp))
    return tuple(out)


def controller_uid(md: Mapping[str, Any]) -> str:
    for ref in md.get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller") is True:
            return str(ref.get("uid") or "")
    return ""


_SHAPES: dict[Hashable, int] = {}
_SHAPE_IDS = itertools.count(1)
_SHAPES_LIMIT = 100_000


def shape_of(key: Hashable) -> int:
    """A small integer per distinct shape. Ids only grow, so after the table is emptied a new id
    can never be mistaken for an old one still remembered somewhere."""
    sid = _SHAPES.get(key)
    if sid is None:
        if len(_SHAPES) >= _SHAPES_LIMIT:
            _SHAPES.clear()
        sid = _SHAPES[key] = next(_SHAPE_IDS)
    return sid


def parse_pod(obj: dict[str, Any]) -> PodInfo:
    md = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    tolerations = parse_tolerations(spec.get("tolerations"))
    affinity = parse_node_affinity(spec) if (spec.get("nodeSelector") or spec.get("affinity")) else NO_AFFINITY
    priority = spec.get("priority")
    requests, non_zero, ports = pod_requests(obj), pod_non_zero_requests(obj), host_ports(spec)
    node_name = str(spec.get("nodeName") or "")
    return PodInfo(
        key=(str(md.get("namespace") or ""), str(md.get("name") or "")),
        uid=str(md.get("uid") or ""),
        obj=obj,
        requests=requests,
        non_zero=non_zero,
        ports=ports,
        tolerations=tolerations,
        prefer_tolerations=prefer_tolerations(tolerations),
        affinity=affinity,
        owner_uid=controller_uid(md),
        node_name=node_name,
        priority=priority if isinstance(priority, int) and not isinstance(priority, bool) else 0,
        preempt_never=spec.get("preemptionPolicy") == "Never",
        # everything the filters and `scores.base_score` read from the pod
        shape=shape_of((requests, non_zero, tolerations, affinity.selector, affinity.required, ports, node_name)),
    )


def responsible(obj: Mapping[str, Any], scheduler_name: str = DEFAULT_SCHEDULER) -> bool:
    """Is this a pod for this scheduler to place: not bound, not being deleted, ours by name."""
    spec = obj.get("spec") or {}
    if spec.get("nodeName"):
        return False
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return False
    if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    return (spec.get("schedulerName") or DEFAULT_SCHEDULER) == scheduler_name


def gated(obj: Mapping[str, Any]) -> bool:
    """spec.schedulingGates non-empty: the pod waits until they are removed."""
    return bool((obj.get("spec") or {}).get("schedulingGates"))


def scheduling_relevant(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Did an update of a pending pod change something that can change where it fits? Only
    status changed (our own condition write, say) means no: retrying would give the same answer."""
    if old.get("spec") != new.get("spec"):
        return True
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    return om.get("labels") != nm.get("labels") or om.get("annotations") != nm.get("annotations")
