"""What the ReplicaSet (and ReplicationController) controller decides for one set. Pure.

Input: the set and the active pods it owns after claiming (see `core.workload.claim`); output:
how many pods to create or which to delete (`plan`), in what batches creates go (`slow_start`),
which pods go first when scaling down (`pods_to_delete`), and the status the set should have
(`status_for`). The async shell in components/controllers/replicaset.py reads the projection,
asks these functions and performs the writes.

Kubernetes 1.32's ReplicaSetController is the reference:
- at most `burst` (500) creations or deletions per sync; creations in slow-start batches
  1, 2, 4, … that stop at the first failure;
- surplus pods are deleted least useful first (`ActivePodsWithRanks`): unscheduled, pending,
  not ready, lower `controller.kubernetes.io/pod-deletion-cost`, more pods of the same owner
  on its node, ready for less time and younger (both compared on a log2 scale, the
  LogarithmicScaleDown behaviour), more container restarts;
- status counts the owned active pods as seen before this sync's writes, and keeps a
  `ReplicaFailure` condition while creating or deleting fails.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cmp_to_key
from typing import Any

from core.meta import rfc3339
from core.workload import (
    available_in,
    is_active,
    is_available,
    is_ready,
    labels_of,
    parse_time,
    phase,
    ready_since,
    uid_of,
)

Obj = dict[str, Any]

BURST_REPLICAS = 500  # Kubernetes' burstReplicas: the most creations or deletions in one sync
SLOW_START_INITIAL_BATCH = 1
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
REPLICA_FAILURE = "ReplicaFailure"
FAILED_CREATE = "FailedCreate"
FAILED_DELETE = "FailedDelete"


# -- the decision ---------------------------------------------------------------------------
def desired_replicas(owner: Mapping[str, Any]) -> int:
    """`spec.replicas`, 1 when unset (the API server defaults it; a projection may predate that)."""
    value = (owner.get("spec") or {}).get("replicas")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 1


def min_ready_seconds(owner: Mapping[str, Any]) -> int:
    value = (owner.get("spec") or {}).get("minReadySeconds")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(frozen=True)
class Plan:
    """Create `create` pods, or delete `delete` of them (chosen by `pods_to_delete`); never both."""

    create: int = 0
    delete: int = 0


def plan(desired: int, active_owned: int, *, burst: int = BURST_REPLICAS) -> Plan:
    diff = active_owned - desired
    if diff < 0:
        return Plan(create=min(-diff, burst))
    if diff > 0:
        return Plan(delete=min(diff, burst))
    return Plan()


def slow_start(count: int, *, initial: int = SLOW_START_INITIAL_BATCH) -> list[int]:
    """Batch sizes for `count` creations: 1, 2, 4, … doubling, the last one what remains. The
    caller stops at the first batch with a failure."""
    out: list[int] = []
    remaining = count
    size = min(remaining, initial)
    while size > 0:
        out.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return out


# -- which pods to delete -------------------------------------------------------------------
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_cost(pod: Mapping[str, Any]) -> int:
    """The pod-deletion-cost annotation (an int32); 0 when absent or not a valid number."""
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(DELETION_COST)
    if not isinstance(raw, str):
        return 0
    try:
        value = int(raw.strip())
    except ValueError:
        return 0
    return value if -(2 ** 31) <= value < 2 ** 31 else 0


def _node(pod: Mapping[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def _max_restarts(pod: Mapping[str, Any]) -> int:
    st = pod.get("status") or {}
    counts = [int(s.get("restartCount") or 0)
              for s in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or [])]
    return max(counts, default=0)


def _log_rank(t: datetime, now: datetime) -> int:
    nanos = (now - t).total_seconds() * 1e9
    return int(math.log2(nanos)) if nanos > 0 else -1


def _time_order(ti: datetime | None, tj: datetime | None, ui: str, uj: str, now: datetime | None) -> int:
    """-1 when i goes first (it is the newer), 1 when j does, 0 when undecided."""
    if ti == tj:
        return 0
    if now is None or ti is None or tj is None:
        # afterOrZero: a missing time first, then the later one
        if ti is None:
            return -1
        if tj is None:
            return 1
        return -1 if ti > tj else 1
    diff = _log_rank(ti, now) - _log_rank(tj, now)
    if diff == 0:
        return -1 if ui < uj else (1 if ui > uj else 0)
    return -1 if diff < 0 else 1


def pods_to_delete(pods: Sequence[Mapping[str, Any]], related: Iterable[Mapping[str, Any]], count: int, *,
                   now: datetime | None = None) -> list[Obj]:
    """The `count` pods of `pods` to delete first. `related` are the pods of this set and of the
    sets sharing its controller (a Deployment's old and new ReplicaSets): a pod whose node holds
    more of them goes before one that is alone on its node."""
    if count <= 0:
        return []
    if count >= len(pods):
        return [dict(p) for p in pods]
    per_node: dict[str, int] = {}
    for p in related:
        if is_active(p):
            per_node[_node(p)] = per_node.get(_node(p), 0) + 1
    ranked = [(dict(p), per_node.get(_node(p), 0)) for p in pods]

    def cmp(a: tuple[Obj, int], b: tuple[Obj, int]) -> int:
        pi, ri = a
        pj, rj = b
        ni, nj = _node(pi), _node(pj)
        if ni != nj and (not ni or not nj):
            return -1 if not ni else 1
        oi, oj = _PHASE_ORDINAL.get(phase(pi), 3), _PHASE_ORDINAL.get(phase(pj), 3)
        if oi != oj:
            return -1 if oi < oj else 1
        ready_i, ready_j = is_ready(pi), is_ready(pj)
        if ready_i != ready_j:
            return -1 if not ready_i else 1
        ci, cj = deletion_cost(pi), deletion_cost(pj)
        if ci != cj:
            return -1 if ci < cj else 1
        if ri != rj:
            return -1 if ri > rj else 1
        if ready_i and ready_j:
            order = _time_order(ready_since(pi), ready_since(pj), uid_of(pi), uid_of(pj), now)
            if order:
                return order
        mi, mj = _max_restarts(pi), _max_restarts(pj)
        if mi != mj:
            return -1 if mi > mj else 1
        order = _time_order(parse_time((pi.get("metadata") or {}).get("creationTimestamp")),
                            parse_time((pj.get("metadata") or {}).get("creationTimestamp")),
                            uid_of(pi), uid_of(pj), now)
        return order

    ranked.sort(key=cmp_to_key(cmp))
    return [p for p, _ in ranked[:count]]


# -- status ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    """Creating or deleting failed in this sync: the `ReplicaFailure` condition to set."""

    reason: str  # FailedCreate / FailedDelete
    message: str


@dataclass
class Counts:
    replicas: int = 0
    fully_labeled: int = 0
    ready: int = 0
    available: int = 0
    # seconds until the next ready pod becomes available (minReadySeconds), None if none waits
    next_available: float | None = None


def count(owner: Mapping[str, Any], pods: Iterable[Mapping[str, Any]], now: datetime) -> Counts:
    """Counts over the owned active pods (Kubernetes' calculateStatus)."""
    raw = (((owner.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")
    template_labels = dict(raw) if isinstance(raw, dict) else {}
    mrs = min_ready_seconds(owner)
    out = Counts()
    for pod in pods:
        out.replicas += 1
        labels = labels_of(pod)
        if all(labels.get(k) == v for k, v in template_labels.items()):
            out.fully_labeled += 1
        if not is_ready(pod):
            continue
        out.ready += 1
        if is_available(pod, mrs, now):
            out.available += 1
            continue
        wait = available_in(pod, mrs, now)
        if wait is not None:
            wait = min(wait, float(mrs))
            if out.next_available is None or wait < out.next_available:
                out.next_available = wait
    return out


def failure_for(desired: int, active_owned: int, message: str) -> Failure:
    """The condition for an error of this sync: FailedCreate when pods were missing, else FailedDelete."""
    return Failure(FAILED_CREATE if active_owned < desired else FAILED_DELETE, message)


def status_for(owner: Mapping[str, Any], counts: Counts, failure: Failure | None, now: datetime) -> Obj:
    """The status the set should have. Zero counters are left out, as Kubernetes' omitempty does
    (`replicas` always stays); fields this controller does not own are kept."""
    old: Obj = dict(owner.get("status") or {})
    new = dict(old)
    new["replicas"] = counts.replicas
    for key, value in (("fullyLabeledReplicas", counts.fully_labeled), ("readyReplicas", counts.ready),
                       ("availableReplicas", counts.available)):
        if value:
            new[key] = value
        else:
            new.pop(key, None)
    generation = (owner.get("metadata") or {}).get("generation")
    if isinstance(generation, int) and generation:
        new["observedGeneration"] = generation
    conditions = [dict(c) for c in old.get("conditions") or [] if isinstance(c, dict)]
    has_failure = any(c.get("type") == REPLICA_FAILURE for c in conditions)
    if failure is not None and not has_failure:
        conditions.append({"type": REPLICA_FAILURE, "status": "True", "lastTransitionTime": rfc3339(now),
                           "reason": failure.reason, "message": failure.message})
    elif failure is None and has_failure:
        conditions = [c for c in conditions if c.get("type") != REPLICA_FAILURE]
    if conditions:
        new["conditions"] = conditions
    else:
        new.pop("conditions", None)
    return new


def status_changed(owner: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    return dict(owner.get("status") or {}) != dict(status)
