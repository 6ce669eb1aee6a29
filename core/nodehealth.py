"""Node lifecycle decisions: from a node, its heartbeat and its pods to the writes that follow.

Pure: `decide(view, now, timing)` returns the exact actions; the controller shell
(components/controllers/nodelifecycle.py) builds the view from its informers and performs them.
What it decides, per node, in one pass (Kubernetes' node lifecycle controller and its NoExecute
taint manager folded together):

1. Health. A node whose heartbeat (its Lease renewed, or its Ready condition's heartbeat moved)
   has not been seen for `grace_period` gets its Ready, MemoryPressure, DiskPressure and PIDPressure
   conditions set to Unknown ("Kubelet stopped posting node status."); a node that never posted a
   Ready condition gets the same after `startup_grace_period` ("Kubelet never posted node status.").
   The heartbeat is when this controller saw it, on its own monotonic clock, never the remote
   timestamp, so clock skew between machines does not matter.
2. Taints. Ready=False → `node.kubernetes.io/not-ready`, Ready=Unknown →
   `node.kubernetes.io/unreachable`, each as NoSchedule and NoExecute (the NoExecute one with
   `timeAdded`); Ready=True removes them. Any other taint on the node is kept as it is. When one
   NoExecute taint replaces the other (not-ready ↔ unreachable), the new one keeps the old one's
   `timeAdded`: Kubernetes' taint manager also keeps an eviction's earlier start when it is
   re-scheduled, so a kubelet that reports NotReady and then dies does not buy its pods more time.
3. Pods on a node that is not Ready get their Ready and ContainersReady conditions set to False.
4. Eviction, for every NoExecute taint stored on the node (ours or anybody's): a pod without a
   matching toleration is deleted now; one whose first matching toleration has tolerationSeconds is
   deleted at the taint's `timeAdded` + tolerationSeconds (when the taint has no `timeAdded`: when
   this controller first saw it); one without tolerationSeconds stays. Eviction is an ordinary
   graceful delete with a "TaintManagerEviction" Event. It reads the taints as stored, not the ones
   this pass is about to write, so nothing is evicted for a taint that never reached the log.
5. Force deletion — a deliberate departure from Kubernetes. A pod being deleted whose grace period
   (its `deletionTimestamp`) has passed while its node is still unreachable (no heartbeat within the
   grace period) is deleted with grace 0. Kubernetes waits for the kubelet or for an
   `out-of-service` taint put on by an operator, so a dead node's pods stay Terminating for ever and
   a ReplicaSet never replaces them. Here the object goes, its controller can create a replacement,
   and when the node's kubelet comes back it finds containers for pods that no longer exist and
   kills them (a kubelet reconciles what runs against what is bound to it). The risk is the one
   Kubernetes avoids: for a node that is partitioned rather than dead, the old containers run on
   until the partition heals, side by side with their replacements.

Each pass ends with at most one `Recheck` saying when something next becomes due (the heartbeat
deadline, an eviction, a force deletion), so the shell need not poll.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.defaults import NOT_READY_TAINT, UNREACHABLE_TAINT
from core.meta import rfc3339
from core.taints import NO_EXECUTE, NO_SCHEDULE, parse_time, time_added, toleration_seconds

Obj = dict[str, Any]

NODE_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
POD_READY_CONDITIONS = ("Ready", "ContainersReady")
STOPPED_POSTING = "Kubelet stopped posting node status."
NEVER_POSTED = "Kubelet never posted node status."
# The taints this controller owns, by the Ready condition's status that calls for them.
TAINTS_FOR: dict[str, tuple[tuple[str, str], ...]] = {
    "True": (),
    "False": ((NOT_READY_TAINT, NO_SCHEDULE), (NOT_READY_TAINT, NO_EXECUTE)),
    "Unknown": ((UNREACHABLE_TAINT, NO_SCHEDULE), (UNREACHABLE_TAINT, NO_EXECUTE)),
}
MANAGED_TAINTS = frozenset(t for ts in TAINTS_FOR.values() for t in ts)


@dataclass(frozen=True)
class Timing:
    grace_period: float = 40.0  # --node-monitor-grace-period
    startup_grace_period: float = 60.0  # --node-startup-grace-period: a node that never posted Ready


@dataclass(frozen=True)
class Instant:
    """Now, on the two clocks: `mono` for ages this controller measured itself, `wall` (aware, UTC)
    for the timestamps it writes and for those written by others (taints' timeAdded,
    deletionTimestamp)."""

    mono: float
    wall: datetime


@dataclass(frozen=True)
class NodeView:
    node: Obj
    heartbeat: float  # monotonic: when this controller last saw the node alive (or first saw it)
    pods: Sequence[Obj] = ()  # the pods bound to it (spec.nodeName)
    # (key, effect) → when this controller first saw a NoExecute taint that has no timeAdded
    taints_seen: Mapping[tuple[str, str], datetime] = field(default_factory=dict)


# -- actions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ref:
    """Who an Event is about."""

    kind: str
    name: str
    namespace: str = ""
    uid: str = ""
    api_version: str = "v1"


@dataclass(frozen=True)
class Event:
    ref: Ref
    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class UpdateNode:
    """Compare-and-swap at `resource_version`: first the whole `status` (if not None) through the
    status subresource, then `spec.taints` (if not None) on the version that write returned.
    `events` are recorded once the writes succeed."""

    name: str
    resource_version: str
    status: Obj | None = None
    taints: tuple[Obj, ...] | None = None
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class MarkPodNotReady:
    """Status patch of the whole conditions list, compare-and-swap at `resource_version`."""

    namespace: str
    name: str
    resource_version: str
    conditions: tuple[Obj, ...]
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class EvictPod:
    """Graceful delete, precondition uid (never a newer pod of the same name)."""

    namespace: str
    name: str
    uid: str
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class ForceDeletePod:
    """Delete with grace 0, precondition uid."""

    namespace: str
    name: str
    uid: str


@dataclass(frozen=True)
class Recheck:
    """Look at this node again in `after` seconds."""

    after: float


Action = UpdateNode | MarkPodNotReady | EvictPod | ForceDeletePod | Recheck


# -- the decision -----------------------------------------------------------------------------
def decide(view: NodeView, now: Instant, timing: Timing) -> list[Action]:
    node = view.node
    md = node.get("metadata") or {}
    name = str(md.get("name", ""))
    status = node.get("status") or {}
    conditions: list[Obj] = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    ready = condition(conditions, "Ready")
    grace = timing.grace_period if ready is not None else timing.startup_grace_period
    deadline = view.heartbeat + grace
    stale = now.mono >= deadline
    actions: list[Action] = []
    due: list[float] = [] if stale else [deadline - now.mono]

    new_status: Obj | None = None
    events: list[Event] = []
    if stale:
        marked = conditions_unknown(conditions, now.wall, created=md.get("creationTimestamp"))
        if marked != conditions:
            new_status = {**status, "conditions": marked}
            if ready is not None and ready.get("status") == "True":
                events.append(Event(node_ref(node), "Normal", "NodeNotReady",
                                    f"Node {name} status is now: NodeNotReady"))
        conditions = marked
    ready_status = (condition(conditions, "Ready") or {}).get("status")
    stored_taints = [t for t in ((node.get("spec") or {}).get("taints") or []) if isinstance(t, dict)]
    taints = controller_taints(stored_taints, ready_status, now.wall)
    if new_status is not None or taints != stored_taints:
        actions.append(UpdateNode(name, str(md.get("resourceVersion", "")), status=new_status,
                                  taints=tuple(taints) if taints != stored_taints else None, events=tuple(events)))

    no_execute = [t for t in stored_taints if t.get("effect") == NO_EXECUTE]
    for pod in sorted(view.pods, key=_pod_order):
        pmd = pod.get("metadata") or {}
        ns, pname, uid = str(pmd.get("namespace", "")), str(pmd.get("name", "")), str(pmd.get("uid", ""))
        if ready_status in ("False", "Unknown"):
            pconds = pod_conditions_not_ready((pod.get("status") or {}).get("conditions") or [], now.wall)
            if pconds is not None:
                actions.append(MarkPodNotReady(ns, pname, str(pmd.get("resourceVersion", "")), tuple(pconds),
                                               events=(Event(pod_ref(pod), "Warning", "NodeNotReady",
                                                             "Node is not ready"),)))
        if pmd.get("deletionTimestamp"):
            if stale:
                at = parse_time(pmd["deletionTimestamp"])
                if at is None or now.wall >= at:
                    actions.append(ForceDeletePod(ns, pname, uid))
                else:
                    due.append((at - now.wall).total_seconds())
            continue
        evict_at = eviction_time(pod, no_execute, view.taints_seen, now.wall)
        if evict_at is None:
            continue
        if now.wall >= evict_at:
            actions.append(EvictPod(ns, pname, uid, events=(Event(
                pod_ref(pod), "Normal", "TaintManagerEviction", f"Marking for deletion Pod {ns}/{pname}"),)))
        else:
            due.append((evict_at - now.wall).total_seconds())
    if due:
        actions.append(Recheck(max(min(due), 0.0)))
    return actions


def condition(conditions: Sequence[Obj], type_: str) -> Obj | None:
    for c in conditions:
        if c.get("type") == type_:
            return c
    return None


def conditions_unknown(conditions: Sequence[Obj], now: datetime, *, created: object) -> list[Obj]:
    """The node's conditions once the kubelet is presumed gone: the four kubelet-owned ones Unknown
    (added if missing), lastHeartbeatTime kept, lastTransitionTime now when the status changes."""
    stamp = rfc3339(now)
    out = [dict(c) for c in conditions]
    for type_ in NODE_CONDITIONS:
        c = condition(out, type_)
        if c is None:
            out.append({"type": type_, "status": "Unknown", "lastHeartbeatTime": created,
                        "lastTransitionTime": stamp, "reason": "NodeStatusNeverUpdated", "message": NEVER_POSTED})
        elif c.get("status") != "Unknown":
            c.update(status="Unknown", reason="NodeStatusUnknown", message=STOPPED_POSTING, lastTransitionTime=stamp)
    return out


def controller_taints(taints: Sequence[Obj], ready_status: object, now: datetime) -> list[Obj]:
    """`taints` with this controller's own set made to match the Ready status; others untouched.

    No Ready condition (a node that has not posted yet) leaves the set as it is.
    """
    want = TAINTS_FOR.get(str(ready_status)) if ready_status is not None else None
    if want is None:
        return list(taints)
    kept: list[Obj] = []
    carried: str | None = None
    for t in taints:
        pair = (t.get("key") or "", t.get("effect") or "")
        if pair in MANAGED_TAINTS and pair not in want:
            if pair[1] == NO_EXECUTE and isinstance(t.get("timeAdded"), str):
                carried = min(carried or t["timeAdded"], t["timeAdded"], key=_time_key)
            continue
        kept.append(t)
    have = {(t.get("key") or "", t.get("effect") or "") for t in kept}
    for key, effect in want:
        if (key, effect) not in have:
            taint: Obj = {"key": key, "effect": effect}
            if effect == NO_EXECUTE:
                taint["timeAdded"] = carried or rfc3339(now)
            kept.append(taint)
    return kept


def pod_conditions_not_ready(conditions: Sequence[Obj], now: datetime) -> list[Obj] | None:
    """The pod's conditions with Ready and ContainersReady False (others kept), or None if they
    already are (or the pod has neither)."""
    stamp = rfc3339(now)
    changed = False
    out: list[Obj] = []
    for c in conditions:
        if isinstance(c, dict) and c.get("type") in POD_READY_CONDITIONS and c.get("status") != "False":
            c = {**c, "status": "False", "lastTransitionTime": stamp}
            changed = True
        out.append(c)
    return out if changed else None


def eviction_time(pod: Obj, no_execute: Sequence[Obj], taints_seen: Mapping[tuple[str, str], datetime],
                  now: datetime) -> datetime | None:
    """When the NoExecute taints evict this pod: the earliest over the taints, None for never."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    earliest: datetime | None = None
    for taint in no_execute:
        seconds = toleration_seconds(tolerations, taint)
        if seconds is None:
            continue
        if seconds <= 0:
            return now
        added = time_added(taint) or taints_seen.get((taint.get("key") or "", taint.get("effect") or "")) or now
        when = added + timedelta(seconds=seconds)
        if earliest is None or when < earliest:
            earliest = when
    return earliest


def node_ref(node: Obj) -> Ref:
    md = node.get("metadata") or {}
    return Ref("Node", str(md.get("name", "")), uid=str(md.get("uid", "")))


def pod_ref(pod: Obj) -> Ref:
    md = pod.get("metadata") or {}
    return Ref("Pod", str(md.get("name", "")), str(md.get("namespace", "")), str(md.get("uid", "")))


def _pod_order(pod: Obj) -> tuple[str, str]:
    md = pod.get("metadata") or {}
    return str(md.get("namespace", "")), str(md.get("name", ""))


def _time_key(raw: str) -> float:
    t = parse_time(raw)
    return t.timestamp() if t is not None else float("inf")
