"""Deployment rollouts: everything the Deployment controller decides without I/O. Pure.

The controller shell (components/controllers/deployment.py) reads a Deployment and the
ReplicaSets it owns from its informers and asks the functions here, step by step in the order of
Kubernetes' DeploymentController, what to write:

- Fenceposts: `maxSurge` / `maxUnavailable` as ints or percentages (surge rounds up, unavailable
  rounds down; both 0 makes unavailable 1), Kubernetes' `ResolveFenceposts`.
- Which ReplicaSet is the new one (`find_new_rs`: same template, ignoring `pod-template-hash`,
  as Kubernetes' `EqualIgnoreHash`) and which are old; the body of a new one (`new_rs_body`).
- Revisions: the `deployment.kubernetes.io/revision` annotations (max old revision + 1 for the
  new ReplicaSet; one brought back by a rollback keeps its previous numbers in
  `revision-history`), and the `desired-replicas` / `max-replicas` annotations that proportional
  scaling reads.
- Scaling decisions as `Scale` values: the new ReplicaSet's scale-up (`reconcile_new_rs`), the old
  ones' scale-down including the clean-up of unhealthy replicas first (`reconcile_old_rss`),
  Recreate's scale-down (`scale_down_for_recreate`) and the proportional scaling of every active
  ReplicaSet when `spec.replicas` changes mid-rollout (`scale_plan`).
- Status and conditions (`calculate_status`, `rollout_status`, `paused_status`): the counters,
  Available and Progressing with Kubernetes' reasons and messages, the progress deadline and
  when to look again (`stuck_requeue_after`).
- History clean-up: which old ReplicaSets go beyond `revisionHistoryLimit` (`history_to_delete`).

One deliberate departure: when deciding how far old ReplicaSets may shrink, a ReplicaSet is
counted as having at most `spec.replicas` available pods (`_available`). Kubernetes sums
`status.availableReplicas`, which lags right after a scale-down and can let a second pass scale
down again before the first one's pods are gone; taking the minimum never counts pods that are
about to be deleted. The reported status still sums `status.availableReplicas`, as Kubernetes
does.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from core.meta import rfc3339
from core.workload import is_deleting, name_of, owner_reference, parse_time, scaled_value, uid_of

Obj = dict[str, Any]

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
# Deployment annotations never copied onto its ReplicaSets.
SKIP_COPY = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO})
MAX_REV_HISTORY_CHARS = 2000
MAX_INT32 = 2**31 - 1

ROLLING_UPDATE = "RollingUpdate"
RECREATE = "Recreate"

AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"


class Reason(str, Enum):
    MIN_AVAILABLE = "MinimumReplicasAvailable"
    MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
    NEW_RS_CREATED = "NewReplicaSetCreated"
    FOUND_NEW_RS = "FoundNewReplicaSet"
    RS_UPDATED = "ReplicaSetUpdated"
    NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
    TIMED_OUT = "ProgressDeadlineExceeded"
    PAUSED = "DeploymentPaused"
    RESUMED = "DeploymentResumed"
    FAILED_RS_CREATE = "ReplicaSetCreateError"


# -- reading specs -------------------------------------------------------------------------------
def _spec(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (obj or {}).get("spec") or {}


def _status(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (obj or {}).get("status") or {}


def _int(v: Any, default: int = 0) -> int:
    if isinstance(v, bool):
        return default
    if isinstance(v, int):
        return v
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def annotations_of(obj: Mapping[str, Any] | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("annotations") or {})


def replicas(d: Mapping[str, Any]) -> int:
    """The Deployment's (or ReplicaSet's) `spec.replicas` (the API server defaults it to 1)."""
    return _int(_spec(d).get("replicas", 1), 1)


def rs_replicas(rs: Mapping[str, Any] | None) -> int:
    return 0 if rs is None else replicas(rs)


def min_ready_seconds(obj: Mapping[str, Any]) -> int:
    return _int(_spec(obj).get("minReadySeconds"))


def strategy_type(d: Mapping[str, Any]) -> str:
    return str((_spec(d).get("strategy") or {}).get("type") or ROLLING_UPDATE)


def is_rolling(d: Mapping[str, Any]) -> bool:
    return strategy_type(d) == ROLLING_UPDATE


def is_paused(d: Mapping[str, Any]) -> bool:
    return bool(_spec(d).get("paused"))


def progress_deadline(d: Mapping[str, Any]) -> int | None:
    """`progressDeadlineSeconds`, None when there is none (unset or MaxInt32)."""
    v = _spec(d).get("progressDeadlineSeconds")
    if v is None or isinstance(v, bool) or _int(v, MAX_INT32) == MAX_INT32:
        return None
    return _int(v)


def revision_history_limit(d: Mapping[str, Any]) -> int | None:
    v = _spec(d).get("revisionHistoryLimit")
    if v is None or isinstance(v, bool) or _int(v, MAX_INT32) == MAX_INT32:
        return None
    return _int(v)


def collision_count(d: Mapping[str, Any]) -> int | None:
    v = _status(d).get("collisionCount")
    return None if v is None else _int(v)


# -- fenceposts ----------------------------------------------------------------------------------
def resolve_fenceposts(max_surge: int | str | None, max_unavailable: int | str | None,
                       desired: int) -> tuple[int, int]:
    """(surge, unavailable) for `desired` replicas; both 0 would block a rollout, so unavailable
    becomes 1 (Kubernetes' ResolveFenceposts)."""
    surge = scaled_value(max_surge if max_surge is not None else 0, desired, round_up=True)
    unavailable = scaled_value(max_unavailable if max_unavailable is not None else 0, desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling_params(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return (_spec(d).get("strategy") or {}).get("rollingUpdate") or {}


def max_surge(d: Mapping[str, Any]) -> int:
    if not is_rolling(d):
        return 0
    ru = _rolling_params(d)
    return resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas(d))[0]


def max_unavailable(d: Mapping[str, Any]) -> int:
    """0 for Recreate and for 0 replicas; never more than the replicas."""
    n = replicas(d)
    if not is_rolling(d) or n == 0:
        return 0
    ru = _rolling_params(d)
    return min(resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), n)[1], n)


# -- ReplicaSet counts ---------------------------------------------------------------------------
def spec_total(rss: Iterable[Obj | None]) -> int:
    """Sum of spec.replicas (GetReplicaCountForReplicaSets)."""
    return sum(rs_replicas(rs) for rs in rss if rs is not None)


def status_total(rss: Iterable[Obj | None], field: str = "replicas") -> int:
    return sum(_int(_status(rs).get(field)) for rs in rss if rs is not None)


def _available(rs: Obj | None) -> int:
    """Available pods an RS will have once it has acted on its spec (see the module doc)."""
    if rs is None:
        return 0
    return max(0, min(_int(_status(rs).get("availableReplicas")), rs_replicas(rs)))


def active(rss: Iterable[Obj | None]) -> list[Obj]:
    """ReplicaSets with spec.replicas > 0 (FilterActiveReplicaSets)."""
    return [rs for rs in rss if rs is not None and rs_replicas(rs) > 0]


def _created(rs: Mapping[str, Any]) -> tuple[float, str]:
    t = parse_time((rs.get("metadata") or {}).get("creationTimestamp"))
    return (t.timestamp() if t else 0.0, name_of(rs))


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    """Oldest first; same second: by name (ReplicaSetsByCreationTimestamp)."""
    return sorted(rss, key=_created)


# -- templates and the new ReplicaSet --------------------------------------------------------------
def _without_hash(template: Mapping[str, Any] | None) -> Obj:
    t = copy.deepcopy(dict(template or {}))
    md = dict(t.get("metadata") or {})
    labels = dict(md.get("labels") or {})
    labels.pop(HASH_LABEL, None)
    if labels:
        md["labels"] = labels
    else:
        md.pop("labels", None)
    if md:
        t["metadata"] = md
    else:
        t.pop("metadata", None)
    return t


def _semantic(v: Any) -> Any:
    """`v` without nulls, empty objects and empty lists: what Kubernetes' semantic equality treats as
    unset (kubectl's rollback sends `creationTimestamp: null` in the template's metadata)."""
    if isinstance(v, Mapping):
        out = {k: _semantic(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x is not None and x != {} and x != []}
    if isinstance(v, list):
        return [_semantic(x) for x in v]
    return v


def equal_ignore_hash(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Two pod templates are the same but for their pod-template-hash label (EqualIgnoreHash)."""
    return bool(_semantic(_without_hash(a)) == _semantic(_without_hash(b)))


def template_of(obj: Mapping[str, Any]) -> Obj:
    return dict(_spec(obj).get("template") or {})


def find_new_rs(d: Mapping[str, Any], rss: Iterable[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template is the Deployment's (FindNewReplicaSet)."""
    want = template_of(d)
    for rs in by_creation(rss):
        if equal_ignore_hash(template_of(rs), want):
            return rs
    return None


def find_old_rss(d: Mapping[str, Any], rss: Iterable[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(old ReplicaSets with replicas, every old ReplicaSet) (FindOldReplicaSets)."""
    rss = list(rss)
    new = find_new_rs(d, rss)
    all_old = [rs for rs in rss if new is None or uid_of(rs) != uid_of(new)]
    return [rs for rs in all_old if rs_replicas(rs) != 0], all_old


def new_rs_name(d: Mapping[str, Any], hash_: str) -> str:
    return f"{name_of(d)}-{hash_}"


def new_rs_body(d: Mapping[str, Any], *, hash_: str, replicas_: int, revision: int) -> Obj:
    """A new ReplicaSet for the Deployment's template: named `<deployment>-<hash>`, the hash label
    on its template, selector and itself, a controller reference to the Deployment, and the
    revision and replica annotations."""
    md = d.get("metadata") or {}
    template = copy.deepcopy(template_of(d))
    tmd = template.setdefault("metadata", {})
    labels = dict(tmd.get("labels") or {})
    labels[HASH_LABEL] = hash_
    tmd["labels"] = labels
    selector = copy.deepcopy(dict(_spec(d).get("selector") or {}))
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: hash_}
    spec: Obj = {"replicas": replicas_, "selector": selector, "template": template}
    if min_ready_seconds(d):
        spec["minReadySeconds"] = min_ready_seconds(d)
    annotations, _ = new_rs_annotations(d, {}, str(revision), exists=False)
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": new_rs_name(d, hash_), "namespace": md.get("namespace", ""),
                         "labels": dict(labels), "annotations": annotations,
                         "ownerReferences": [owner_reference(d, "apps/v1", "Deployment")]},
            "spec": spec}


# -- revisions -------------------------------------------------------------------------------------
def revision(rs: Mapping[str, Any] | None) -> int:
    """The revision annotation as a number; 0 when missing or not a number."""
    v = annotations_of(rs).get(REVISION)
    try:
        return int(v) if v is not None else 0
    except ValueError:
        return 0


def max_revision(rss: Iterable[Obj]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def new_rs_annotations(d: Mapping[str, Any], current: Mapping[str, str], new_revision: str, *,
                       exists: bool) -> tuple[dict[str, str], bool]:
    """The new ReplicaSet's annotations and whether they changed (SetNewReplicaSetAnnotations):
    the Deployment's own annotations copied over; the revision raised to `new_revision`, the old
    number appended to revision-history when it had one (a rollback brought it back); replica
    annotations on a ReplicaSet about to be created."""
    out = dict(current)
    changed = False
    for k, v in annotations_of(d).items():
        if k in SKIP_COPY or out.get(k) == v:
            continue
        out[k] = v
        changed = True
    old = out.get(REVISION)
    try:
        old_int = int(old) if old else 0
    except ValueError:
        return out, changed  # an unreadable revision is left alone, as Kubernetes does
    try:
        new_int = int(new_revision)
    except ValueError:
        return out, changed
    if old_int < new_int:
        out[REVISION] = new_revision
        changed = True
        if old is not None:
            history = out.get(REVISION_HISTORY, "")
            if not history:
                out[REVISION_HISTORY] = old
            else:
                parts = history.split(",")
                total = len(history) + len(old) + 1
                start = 0
                while total > MAX_REV_HISTORY_CHARS and start < len(parts):
                    total -= len(parts[start]) + 1
                    start += 1
                if total <= MAX_REV_HISTORY_CHARS:
                    out[REVISION_HISTORY] = ",".join(parts[start:] + [old])
    if not exists:
        out, set_ = set_replicas_annotations(out, replicas(d), replicas(d) + max_surge(d))
        changed = changed or set_
    return out, changed


def replicas_annotations_need_update(rs: Mapping[str, Any], desired: int, max_: int) -> bool:
    ann = annotations_of(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(max_)


def set_replicas_annotations(annotations: Mapping[str, str], desired: int, max_: int) -> tuple[dict[str, str], bool]:
    out = dict(annotations)
    changed = out.get(DESIRED_REPLICAS) != str(desired) or out.get(MAX_REPLICAS) != str(max_)
    out[DESIRED_REPLICAS] = str(desired)
    out[MAX_REPLICAS] = str(max_)
    return out, changed


def desired_annotation(rs: Mapping[str, Any]) -> int | None:
    v = annotations_of(rs).get(DESIRED_REPLICAS)
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def _max_annotation(rs: Mapping[str, Any]) -> int | None:
    v = annotations_of(rs).get(MAX_REPLICAS)
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


# -- scaling ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
    """Set `rs` to `replicas`. With `sync_annotations` the write is made even at the same size when
    the desired/max-replicas annotations are stale (Kubernetes' scaleReplicaSet; without it,
    scaleReplicaSetAndRecordEvent, which does nothing at the same size)."""

    rs: Obj
    replicas: int
    sync_annotations: bool = False

    @property
    def name(self) -> str:
        return name_of(self.rs)


def new_rs_new_replicas(d: Mapping[str, Any], all_rss: Sequence[Obj | None], new_rs: Obj) -> int:
    """How big the new ReplicaSet may be now (NewRSNewReplicas): Recreate, all of it; RollingUpdate,
    up to replicas + maxSurge pods in all and never more than replicas."""
    if not is_rolling(d):
        return replicas(d)
    want = replicas(d)
    surge = scaled_value(_rolling_params(d).get("maxSurge"), want, round_up=True)
    current = spec_total(all_rss)
    max_total = want + surge
    if current >= max_total:
        return rs_replicas(new_rs)
    up = min(max_total - current, want - rs_replicas(new_rs))
    return rs_replicas(new_rs) + up


def reconcile_new_rs(d: Mapping[str, Any], all_rss: Sequence[Obj | None], new_rs: Obj) -> Scale | None:
    """The new ReplicaSet's next size in a rolling update (reconcileNewReplicaSet)."""
    want = replicas(d)
    have = rs_replicas(new_rs)
    if have == want:
        return None
    if have > want:
        return Scale(new_rs, want)
    target = new_rs_new_replicas(d, all_rss, new_rs)
    return Scale(new_rs, target) if target != have else None


def reconcile_old_rss(d: Mapping[str, Any], all_rss: Sequence[Obj | None], old_rss: Sequence[Obj],
                      new_rs: Obj | None) -> list[Scale]:
    """How far the old ReplicaSets shrink (reconcileOldReplicaSets): never below replicas −
    maxUnavailable available pods, counting the new ReplicaSet's unavailable pods against the
    budget; unhealthy old replicas go first (cleanupUnhealthyReplicas), then old ReplicaSets
    oldest first (scaleDownOldReplicaSetsForRollingUpdate). One Scale per ReplicaSet."""
    old_count = spec_total(old_rss)
    if old_count == 0:
        return []
    all_count = spec_total(all_rss)
    min_available = replicas(d) - max_unavailable(d)
    new_unavailable = rs_replicas(new_rs) - _available(new_rs)
    max_scaled_down = all_count - min_available - new_unavailable
    if max_scaled_down <= 0:
        return []
    sizes = {uid_of(rs): rs_replicas(rs) for rs in old_rss}
    ordered = by_creation(old_rss)
    # clean up unhealthy replicas first: they would otherwise block the rollout (kubernetes#16737)
    cleaned = 0
    for rs in ordered:
        if cleaned >= max_scaled_down:
            break
        size, avail = sizes[uid_of(rs)], _available(rs)
        if size == 0 or size == avail:
            continue
        down = min(max_scaled_down - cleaned, size - avail)
        sizes[uid_of(rs)] = size - down
        cleaned += down
    # then scale down old ReplicaSets while enough pods stay available
    available = sum(_available(rs) for rs in all_rss)
    if available > min_available:
        budget = available - min_available
        done = 0
        for rs in ordered:
            if done >= budget:
                break
            size = sizes[uid_of(rs)]
            if size == 0:
                continue
            down = min(size, budget - done)
            sizes[uid_of(rs)] = size - down
            done += down
    return [Scale(rs, sizes[uid_of(rs)]) for rs in ordered if sizes[uid_of(rs)] != rs_replicas(rs)]


def scale_down_for_recreate(old_rss: Iterable[Obj]) -> list[Scale]:
    return [Scale(rs, 0) for rs in old_rss if rs_replicas(rs) != 0]


def old_pods_running(new_rs: Obj | None, old_rss: Iterable[Obj], pods_by_rs: Mapping[str, Iterable[Obj]]) -> bool:
    """Whether Recreate must still wait: an old ReplicaSet reports pods, or a pod of one (not of the
    new ReplicaSet) exists and has not finished — terminating pods count (oldPodsRunning)."""
    if status_total(old_rss) > 0:
        return True
    new_uid = uid_of(new_rs) if new_rs is not None else None
    for rs_uid, pods in pods_by_rs.items():
        if rs_uid == new_uid:
            continue
        for pod in pods:
            if _status(pod).get("phase") not in ("Failed", "Succeeded"):
                return True
    return False


def find_active_or_latest(new_rs: Obj | None, old_rss: Sequence[Obj]) -> Obj | None:
    """The only active ReplicaSet; with none active, the new one or else the newest old one; None
    when several are active (FindActiveOrLatest)."""
    if new_rs is None and not old_rss:
        return None
    newest_first = list(reversed(by_creation(old_rss)))
    act = active(newest_first + [new_rs])
    if not act:
        return new_rs if new_rs is not None else newest_first[0]
    if len(act) == 1:
        return act[0]
    return None


def is_saturated(d: Mapping[str, Any], rs: Obj | None) -> bool:
    """The ReplicaSet runs the Deployment's full count, all available (IsSaturated)."""
    if rs is None:
        return False
    desired = desired_annotation(rs)
    want = replicas(d)
    return (desired is not None and rs_replicas(rs) == want and desired == want
            and _int(_status(rs).get("availableReplicas")) == want)


def is_scaling_event(d: Mapping[str, Any], new_rs: Obj | None, old_rss: Sequence[Obj]) -> bool:
    """An active ReplicaSet was sized for another spec.replicas (isScalingEvent)."""
    want = replicas(d)
    for rs in active(list(old_rss) + [new_rs]):
        desired = desired_annotation(rs)
        if desired is not None and desired != want:
            return True
    return False


def _round(x: float) -> int:
    """Go's math.Round: halves away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def _fraction(rs: Obj, d: Mapping[str, Any]) -> int:
    """How many replicas `rs` gains (or loses) when the Deployment goes from the size it had when
    `rs` was last sized to its current size (getReplicaSetFraction)."""
    if replicas(d) == 0:
        return -rs_replicas(rs)
    max_now = replicas(d) + max_surge(d)
    before = _max_annotation(rs)
    if not before:
        before = _int(_status(d).get("replicas"))
        if before == 0:
            return 0
    return _round(rs_replicas(rs) * max_now / before) - rs_replicas(rs)


def _proportion(rs: Obj, d: Mapping[str, Any], to_add: int, added: int) -> int:
    if rs_replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def scale_plan(d: Mapping[str, Any], new_rs: Obj | None, old_rss: Sequence[Obj]) -> list[Scale]:
    """Kubernetes' `scale`: a lone active ReplicaSet takes the whole count; a saturated new one
    leaves the old ones at 0; otherwise (rolling updates) the difference between replicas +
    maxSurge and what the active ReplicaSets hold is spread over them in proportion to their
    sizes, largest first (newer first when growing, older first when shrinking), the rounding
    leftover going to the first."""
    lone = find_active_or_latest(new_rs, old_rss)
    if lone is not None:
        return [] if rs_replicas(lone) == replicas(d) else [Scale(lone, replicas(d))]
    if is_saturated(d, new_rs):
        return [Scale(rs, 0) for rs in active(old_rss)]
    if not is_rolling(d):
        return []
    rss = active(list(old_rss) + [new_rs])
    allowed = replicas(d) + max_surge(d) if replicas(d) > 0 else 0
    to_add = allowed - spec_total(rss)
    if to_add != 0:  # larger first; same size: newer first when growing, older first when shrinking
        rss.sort(key=_created, reverse=to_add > 0)
        rss.sort(key=lambda rs: -rs_replicas(rs))  # stable: keeps the age order within a size
    added = 0
    sizes: dict[str, int] = {}
    for rs in rss:
        if to_add != 0:
            p = _proportion(rs, d, to_add, added)
            sizes[uid_of(rs)] = rs_replicas(rs) + p
            added += p
        else:
            sizes[uid_of(rs)] = rs_replicas(rs)
    out = []
    for i, rs in enumerate(rss):
        size = sizes[uid_of(rs)]
        if i == 0 and to_add != 0:
            size = max(0, size + to_add - added)
        out.append(Scale(rs, size, sync_annotations=True))
    return out


# -- history ---------------------------------------------------------------------------------------
def history_to_delete(d: Mapping[str, Any], old_rss: Iterable[Obj]) -> list[Obj]:
    """Old ReplicaSets beyond revisionHistoryLimit, lowest revision first, that are empty (spec and
    status), have been observed by their controller and are not being deleted (cleanupDeployment)."""
    limit = revision_history_limit(d)
    if limit is None:
        return []
    alive = [rs for rs in old_rss if not is_deleting(rs)]
    diff = len(alive) - limit
    if diff <= 0:
        return []
    alive.sort(key=lambda rs: (revision(rs), _created(rs)))
    out = []
    for rs in alive[:diff]:
        st = _status(rs)
        generation = _int((rs.get("metadata") or {}).get("generation"))
        if (_int(st.get("replicas")) != 0 or rs_replicas(rs) != 0
                or generation > _int(st.get("observedGeneration"))):
            continue
        out.append(rs)
    return out


# -- conditions ------------------------------------------------------------------------------------
def condition(status: Mapping[str, Any] | None, type_: str) -> Obj | None:
    for c in (status or {}).get("conditions") or []:
        if isinstance(c, Mapping) and c.get("type") == type_:
            return dict(c)
    return None


def new_condition(type_: str, status: str, reason: str, message: str, now: datetime) -> Obj:
    stamp = rfc3339(now)
    return {"type": type_, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": stamp,
            "reason": reason, "message": message}


def set_condition(status: Obj, cond: Obj) -> None:
    """Put `cond` in `status` (SetDeploymentCondition): the same status and reason change nothing;
    the same status keeps its lastTransitionTime."""
    current = condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
        return
    cond = dict(cond)
    if current is not None and current.get("status") == cond["status"]:
        cond["lastTransitionTime"] = current.get("lastTransitionTime")
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != cond["type"]] + [cond]


def remove_condition(status: Obj, type_: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != type_]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


# -- status ----------------------------------------------------------------------------------------
def _generation(d: Mapping[str, Any]) -> int:
    return _int((d.get("metadata") or {}).get("generation"))


def calculate_status(d: Mapping[str, Any], all_rss: Sequence[Obj | None], new_rs: Obj | None,
                     now: datetime) -> Obj:
    """The Deployment's status from its ReplicaSets (calculateStatus), with the Available condition.
    Zero counters are left out, as Kubernetes' omitempty does."""
    rss = [rs for rs in all_rss if rs is not None]
    available = status_total(rss, "availableReplicas")
    unavailable = max(0, spec_total(rss) - available)
    out: Obj = {}
    for key, value in (("observedGeneration", _generation(d)), ("replicas", status_total(rss)),
                       ("updatedReplicas", status_total([new_rs])),
                       ("readyReplicas", status_total(rss, "readyReplicas")),
                       ("availableReplicas", available), ("unavailableReplicas", unavailable)):
        if value:
            out[key] = value
    old = _status(d)
    conds = [dict(c) for c in old.get("conditions") or [] if isinstance(c, Mapping)]
    if conds:
        out["conditions"] = conds
    if old.get("collisionCount") is not None:
        out["collisionCount"] = old["collisionCount"]
    if available >= replicas(d) - max_unavailable(d):
        set_condition(out, new_condition(AVAILABLE, "True", Reason.MIN_AVAILABLE.value,
                                         "Deployment has minimum availability.", now))
    else:
        set_condition(out, new_condition(AVAILABLE, "False", Reason.MIN_UNAVAILABLE.value,
                                         "Deployment does not have minimum availability.", now))
    return out


def _counter(status: Mapping[str, Any], key: str) -> int:
    return _int(status.get(key))


def deployment_complete(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Every replica updated and available, no old ones, this generation observed."""
    want = replicas(d)
    return (_counter(status, "updatedReplicas") == want and _counter(status, "replicas") == want
            and _counter(status, "availableReplicas") == want
            and _counter(status, "observedGeneration") >= _generation(d))


def deployment_progressing(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """More updated, fewer old, more ready or more available replicas than the stored status says."""
    old = _status(d)
    old_old = _counter(old, "replicas") - _counter(old, "updatedReplicas")
    new_old = _counter(status, "replicas") - _counter(status, "updatedReplicas")
    return (_counter(status, "updatedReplicas") > _counter(old, "updatedReplicas") or new_old < old_old
            or _counter(status, "readyReplicas") > _counter(old, "readyReplicas")
            or _counter(status, "availableReplicas") > _counter(old, "availableReplicas"))


def deployment_timed_out(d: Mapping[str, Any], status: Mapping[str, Any], now: datetime) -> bool:
    """No progress reported for progressDeadlineSeconds since the Progressing condition's
    lastUpdateTime (DeploymentTimedOut)."""
    deadline = progress_deadline(d)
    if deadline is None:
        return False
    cond = condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == Reason.NEW_RS_AVAILABLE.value:
        return False
    if cond.get("reason") == Reason.TIMED_OUT.value:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return False
    return since + timedelta(seconds=deadline) < now


def _rs_label(d: Mapping[str, Any], new_rs: Obj | None) -> str:
    return f'ReplicaSet "{name_of(new_rs)}"' if new_rs is not None else f'Deployment "{name_of(d)}"'


def rollout_status(d: Mapping[str, Any], all_rss: Sequence[Obj | None], new_rs: Obj | None,
                   now: datetime) -> Obj:
    """The status after a rollout step (syncRolloutStatus): calculate_status plus the Progressing
    condition (complete, progressing, or timed out) and the ReplicaSets' ReplicaFailure."""
    new = calculate_status(d, all_rss, new_rs, now)
    deadline = progress_deadline(d)
    if deadline is None:
        remove_condition(new, PROGRESSING)
    current = condition(_status(d), PROGRESSING)
    complete_before = (_counter(new, "replicas") == _counter(new, "updatedReplicas") and current is not None
                       and current.get("reason") == Reason.NEW_RS_AVAILABLE.value)
    if deadline is not None and not complete_before:
        what = _rs_label(d, new_rs)
        if deployment_complete(d, new):
            set_condition(new, new_condition(PROGRESSING, "True", Reason.NEW_RS_AVAILABLE.value,
                                             f"{what} has successfully progressed.", now))
        elif deployment_progressing(d, new):
            cond = new_condition(PROGRESSING, "True", Reason.RS_UPDATED.value, f"{what} is progressing.", now)
            # Progressing is special: the same reason still moves lastUpdateTime on progress
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(new, PROGRESSING)
            set_condition(new, cond)
        elif deployment_timed_out(d, new, now):
            set_condition(new, new_condition(PROGRESSING, "False", Reason.TIMED_OUT.value,
                                             f"{what} has timed out progressing.", now))
    failures = replica_failures(all_rss, new_rs)
    if failures:
        set_condition(new, failures[0])
    else:
        remove_condition(new, REPLICA_FAILURE)
    return new


def replica_failures(all_rss: Sequence[Obj | None], new_rs: Obj | None) -> list[Obj]:
    """ReplicaFailure conditions of the ReplicaSets as Deployment conditions, the new one's first."""
    def of(rs: Obj | None) -> list[Obj]:
        out = []
        for c in _status(rs).get("conditions") or []:
            if isinstance(c, Mapping) and c.get("type") == REPLICA_FAILURE:
                out.append({"type": REPLICA_FAILURE, "status": c.get("status"),
                            "lastUpdateTime": c.get("lastTransitionTime"),
                            "lastTransitionTime": c.get("lastTransitionTime"),
                            "reason": c.get("reason"), "message": c.get("message")})
        return out
    first = of(new_rs)
    if first:
        return first
    return [c for rs in all_rss for c in of(rs)]


def stuck_requeue_after(d: Mapping[str, Any], status: Mapping[str, Any], now: datetime) -> float | None:
    """Seconds until the progress deadline falls due (None: nothing to wait for), so a stuck
    rollout is looked at again when it may have timed out (requeueStuckDeployment)."""
    deadline = progress_deadline(d)
    current = condition(_status(d), PROGRESSING)
    if deadline is None or current is None:
        return None
    if deployment_complete(d, status) or current.get("reason") == Reason.TIMED_OUT.value:
        return None
    since = parse_time(current.get("lastUpdateTime"))
    if since is None:
        return None
    return (since + timedelta(seconds=deadline) - now).total_seconds()


def paused_status(d: Mapping[str, Any], now: datetime) -> Obj | None:
    """The status with Progressing Unknown DeploymentPaused / DeploymentResumed when pausing or
    resuming changes it (checkPausedConditions); None when nothing changes. A timed-out rollout
    keeps saying so."""
    if progress_deadline(d) is None:
        return None
    cond = condition(_status(d), PROGRESSING)
    if cond is not None and cond.get("reason") == Reason.TIMED_OUT.value:
        return None
    paused_cond = cond is not None and cond.get("reason") == Reason.PAUSED.value
    status = copy.deepcopy(dict(_status(d)))
    if is_paused(d) and not paused_cond:
        set_condition(status, new_condition(PROGRESSING, "Unknown", Reason.PAUSED.value, "Deployment is paused", now))
        return status
    if not is_paused(d) and paused_cond:
        set_condition(status, new_condition(PROGRESSING, "Unknown", Reason.RESUMED.value, "Deployment is resumed", now))
        return status
    return None
