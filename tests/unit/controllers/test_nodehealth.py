"""core.nodehealth.decide: exact actions for each situation a node and its pods can be in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from core.nodehealth import (
    Event,
    EvictPod,
    ForceDeletePod,
    Instant,
    MarkPodNotReady,
    NodeView,
    Recheck,
    Ref,
    Timing,
    UpdateNode,
    controller_taints,
    decide,
    eviction_time,
)

T0 = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
MONO0 = 5000.0
TIMING = Timing(grace_period=40.0, startup_grace_period=60.0)
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
HB = "2024-01-01T11:59:50Z"  # the kubelet's last heartbeat stamp
CREATED = "2024-01-01T10:00:00Z"


def at(seconds: float) -> Instant:
    """`seconds` after T0 on both clocks."""
    return Instant(MONO0 + seconds, T0 + timedelta(seconds=seconds))


def stamp(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def kubelet_conditions(ready: str = "True") -> list[dict[str, Any]]:
    def c(type_: str, status: str, reason: str) -> dict[str, Any]:
        return {"type": type_, "status": status, "reason": reason, "message": f"{reason} message",
                "lastHeartbeatTime": HB, "lastTransitionTime": CREATED}
    return [c("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            c("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            c("PIDPressure", "False", "KubeletHasSufficientPID"),
            c("Ready", ready, "KubeletReady" if ready == "True" else "KubeletNotReady")]


def node(*, conditions: list[dict[str, Any]] | None = None, taints: list[dict[str, Any]] | None = None,
         rv: str = "10") -> dict[str, Any]:
    n: dict[str, Any] = {"apiVersion": "v1", "kind": "Node",
                         "metadata": {"name": "n1", "uid": "node-uid", "resourceVersion": rv,
                                      "creationTimestamp": CREATED},
                         "spec": {}, "status": {"conditions": kubelet_conditions() if conditions is None else conditions,
                                                "nodeInfo": {"kubeletVersion": "v1.32.0"}}}
    if taints is not None:
        n["spec"]["taints"] = taints
    return n


def pod(name: str, *, tolerations: list[dict[str, Any]] | None = None, ready: str | None = "True",
        deletion: str | None = None, rv: str = "20") -> dict[str, Any]:
    conditions = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": CREATED}]
    if ready is not None:
        conditions += [{"type": "Initialized", "status": "True", "lastTransitionTime": CREATED},
                       {"type": "Ready", "status": ready, "lastTransitionTime": CREATED},
                       {"type": "ContainersReady", "status": ready, "lastTransitionTime": CREATED}]
    md: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": rv}
    if deletion is not None:
        md["deletionTimestamp"] = deletion
        md["deletionGracePeriodSeconds"] = 30
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}],
                     "tolerations": tolerations if tolerations is not None else []},
            "status": {"phase": "Running", "conditions": conditions}}


def tol(key: str, seconds: int | None = None, effect: str = "NoExecute") -> dict[str, Any]:
    t: dict[str, Any] = {"key": key, "operator": "Exists", "effect": effect}
    if seconds is not None:
        t["tolerationSeconds"] = seconds
    return t


def unknown_conditions(now: float) -> list[dict[str, Any]]:
    out = kubelet_conditions()
    for c in out:
        c.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.",
                 lastTransitionTime=stamp(now))
    return out


UNREACHABLE_TAINTS = [{"key": UNREACHABLE, "effect": "NoSchedule"},
                      {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": stamp(0)}]
NOT_READY_TAINTS = [{"key": NOT_READY, "effect": "NoSchedule"},
                    {"key": NOT_READY, "effect": "NoExecute", "timeAdded": stamp(0)}]
NODE_REF = Ref("Node", "n1", uid="node-uid")


def pod_ref(name: str) -> Ref:
    return Ref("Pod", name, "default", f"uid-{name}")


def not_ready_event(name: str) -> Event:
    return Event(pod_ref(name), "Warning", "NodeNotReady", "Node is not ready")


def eviction_event(name: str) -> Event:
    return Event(pod_ref(name), "Normal", "TaintManagerEviction", f"Marking for deletion Pod default/{name}")


def marked(p: dict[str, Any], now: float) -> tuple[dict[str, Any], ...]:
    out = []
    for c in p["status"]["conditions"]:
        if c["type"] in ("Ready", "ContainersReady"):
            c = {**c, "status": "False", "lastTransitionTime": stamp(now)}
        out.append(c)
    return tuple(out)


# -- health ------------------------------------------------------------------------------------
def test_healthy_node_only_rechecks_at_its_deadline() -> None:
    view = NodeView(node(), heartbeat=MONO0 + 5, pods=(pod("a"),))
    assert decide(view, at(15), TIMING) == [Recheck(30.0)]


def test_stale_lease_marks_unknown_taints_unreachable_and_marks_pods() -> None:
    p = pod("a", tolerations=[tol(UNREACHABLE, 300)])
    view = NodeView(node(taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
                    heartbeat=MONO0, pods=(p,))
    actions = decide(view, at(40), TIMING)
    conditions = unknown_conditions(40)
    status = {"conditions": conditions, "nodeInfo": {"kubeletVersion": "v1.32.0"}}
    assert actions == [
        UpdateNode("n1", "10", status=status,
                   taints=({"key": "dedicated", "value": "db", "effect": "NoSchedule"},
                           {"key": UNREACHABLE, "effect": "NoSchedule"},
                           {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": stamp(40)}),
                   events=(Event(NODE_REF, "Normal", "NodeNotReady", "Node n1 status is now: NodeNotReady"),)),
        MarkPodNotReady("default", "a", "20", marked(p, 40), events=(not_ready_event("a"),)),
    ]
    # lastHeartbeatTime is what the kubelet last posted, not now
    assert {c["lastHeartbeatTime"] for c in conditions} == {HB}


def test_just_before_the_grace_period_nothing_happens() -> None:
    view = NodeView(node(), heartbeat=MONO0, pods=())
    assert decide(view, at(39.5), TIMING) == [Recheck(0.5)]


def test_missing_pressure_conditions_are_added_as_never_updated() -> None:
    ready_only = [c for c in kubelet_conditions() if c["type"] == "Ready"]
    view = NodeView(node(conditions=ready_only, taints=UNREACHABLE_TAINTS), heartbeat=MONO0)
    [action] = decide(view, at(41), TIMING)
    assert isinstance(action, UpdateNode) and action.status is not None and action.taints is None
    assert action.status["conditions"] == [
        {**ready_only[0], "status": "Unknown", "reason": "NodeStatusUnknown",
         "message": "Kubelet stopped posting node status.", "lastTransitionTime": stamp(41)},
        *({"type": t, "status": "Unknown", "lastHeartbeatTime": CREATED, "lastTransitionTime": stamp(41),
           "reason": "NodeStatusNeverUpdated", "message": "Kubelet never posted node status."}
          for t in ("MemoryPressure", "DiskPressure", "PIDPressure")),
    ]


def test_node_that_never_posted_gets_the_startup_grace_period() -> None:
    view = NodeView(node(conditions=[]), heartbeat=MONO0)
    assert decide(view, at(45), TIMING) == [Recheck(15.0)]
    actions = decide(view, at(60), TIMING)
    never = [{"type": t, "status": "Unknown", "lastHeartbeatTime": CREATED, "lastTransitionTime": stamp(60),
              "reason": "NodeStatusNeverUpdated", "message": "Kubelet never posted node status."}
             for t in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")]
    assert actions == [UpdateNode("n1", "10", status={"conditions": never, "nodeInfo": {"kubeletVersion": "v1.32.0"}},
                                  taints=({"key": UNREACHABLE, "effect": "NoSchedule"},
                                          {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": stamp(60)}))]


def test_without_a_ready_condition_taints_are_left_alone() -> None:
    admission_taint = [{"key": NOT_READY, "effect": "NoSchedule"}]
    view = NodeView(node(conditions=[], taints=admission_taint), heartbeat=MONO0)
    assert decide(view, at(1), TIMING) == [Recheck(59.0)]


def test_already_unknown_and_tainted_writes_nothing() -> None:
    view = NodeView(node(conditions=unknown_conditions(0), taints=UNREACHABLE_TAINTS), heartbeat=MONO0)
    assert decide(view, at(100), TIMING) == []


def test_kubelet_reports_not_ready_taints_not_ready_and_marks_pods() -> None:
    p = pod("a", tolerations=[tol(NOT_READY, 300)])
    view = NodeView(node(conditions=kubelet_conditions("False")), heartbeat=MONO0 + 10, pods=(p,))
    assert decide(view, at(20), TIMING) == [
        UpdateNode("n1", "10", taints=({"key": NOT_READY, "effect": "NoSchedule"},
                                       {"key": NOT_READY, "effect": "NoExecute", "timeAdded": stamp(20)})),
        MarkPodNotReady("default", "a", "20", marked(p, 20), events=(not_ready_event("a"),)),
        Recheck(30.0),
    ]


def test_not_ready_then_unreachable_keeps_the_noexecute_time() -> None:
    since = [{"key": NOT_READY, "effect": "NoSchedule"},
             {"key": NOT_READY, "effect": "NoExecute", "timeAdded": stamp(-100)}]
    view = NodeView(node(conditions=kubelet_conditions("False"), taints=since), heartbeat=MONO0)
    [update] = decide(view, at(40), TIMING)
    assert isinstance(update, UpdateNode)
    assert update.taints == ({"key": UNREACHABLE, "effect": "NoSchedule"},
                             {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": stamp(-100)})
    assert update.events == ()  # Ready was False, not True: the kubelet already reported NotReady


def test_recovery_removes_only_our_taints() -> None:
    user = {"key": "dedicated", "value": "db", "effect": "NoExecute", "timeAdded": stamp(-5)}
    view = NodeView(node(taints=[UNREACHABLE_TAINTS[0], user, UNREACHABLE_TAINTS[1], NOT_READY_TAINTS[0]]),
                    heartbeat=MONO0 + 1, pods=())
    assert decide(view, at(2), TIMING) == [UpdateNode("n1", "10", taints=(user,)), Recheck(39.0)]


def test_recovery_with_no_other_taints_clears_the_list() -> None:
    view = NodeView(node(taints=UNREACHABLE_TAINTS), heartbeat=MONO0, pods=())
    assert decide(view, at(1), TIMING) == [UpdateNode("n1", "10", taints=()), Recheck(39.0)]


def test_lease_renewed_but_ready_still_unknown_keeps_the_taints() -> None:
    view = NodeView(node(conditions=unknown_conditions(0), taints=UNREACHABLE_TAINTS), heartbeat=MONO0 + 50)
    assert decide(view, at(51), TIMING) == [Recheck(39.0)]


def test_pods_already_not_ready_or_without_conditions_are_not_patched() -> None:
    done = pod("done", ready="False", tolerations=[tol(UNREACHABLE)])
    bare = pod("bare", ready=None, tolerations=[tol(UNREACHABLE)])
    view = NodeView(node(conditions=unknown_conditions(0), taints=UNREACHABLE_TAINTS), heartbeat=MONO0,
                    pods=(done, bare))
    assert decide(view, at(50), TIMING) == []


# -- eviction ------------------------------------------------------------------------------------
def test_eviction_per_toleration() -> None:
    specs = (pod("untolerated"),
            pod("two", tolerations=[tol(UNREACHABLE, 2)]),
            pod("five-min", tolerations=[tol(UNREACHABLE, 300)]),
            pod("forever", tolerations=[tol(UNREACHABLE)]),
            pod("zero", tolerations=[tol(UNREACHABLE, 0)]),
            pod("wrong-effect", tolerations=[tol(UNREACHABLE, effect="NoSchedule")]),
            pod("everything", tolerations=[{"operator": "Exists"}]))
    pods = tuple({**p, "status": {"phase": "Running", "conditions": []}} for p in specs)
    view = NodeView(node(conditions=unknown_conditions(0), taints=UNREACHABLE_TAINTS), heartbeat=MONO0 - 100,
                    pods=pods)
    # the taint was added at T0; at T0+1 the 2 s pod is not yet due
    assert decide(view, at(1), TIMING) == [
        EvictPod("default", "untolerated", "uid-untolerated", events=(eviction_event("untolerated"),)),
        EvictPod("default", "wrong-effect", "uid-wrong-effect", events=(eviction_event("wrong-effect"),)),
        EvictPod("default", "zero", "uid-zero", events=(eviction_event("zero"),)),
        Recheck(1.0),
    ]
    assert decide(view, at(2), TIMING) == [
        EvictPod("default", "two", "uid-two", events=(eviction_event("two"),)),
        EvictPod("default", "untolerated", "uid-untolerated", events=(eviction_event("untolerated"),)),
        EvictPod("default", "wrong-effect", "uid-wrong-effect", events=(eviction_event("wrong-effect"),)),
        EvictPod("default", "zero", "uid-zero", events=(eviction_event("zero"),)),
        Recheck(298.0),
    ]
    assert EvictPod("default", "five-min", "uid-five-min", events=(eviction_event("five-min"),)) in decide(
        view, at(300), TIMING)


def test_eviction_counts_from_the_taint_not_from_now() -> None:
    old_taints = [{"key": UNREACHABLE, "effect": "NoSchedule"},
                  {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": stamp(-299)}]
    p = pod("a", tolerations=[tol(UNREACHABLE, 300)], ready="False")
    view = NodeView(node(conditions=unknown_conditions(-299), taints=old_taints), heartbeat=MONO0, pods=(p,))
    assert decide(view, at(0), TIMING) == [Recheck(1.0)]
    assert decide(view, at(1), TIMING) == [EvictPod("default", "a", "uid-a", events=(eviction_event("a"),)),
                                           Recheck(39.0)]


def test_evictions_read_stored_taints_not_the_ones_being_written() -> None:
    p = pod("a", ready="False")  # no toleration at all
    view = NodeView(node(), heartbeat=MONO0, pods=(p,))
    actions = decide(view, at(40), TIMING)
    assert [type(a) for a in actions] == [UpdateNode]


def test_any_noexecute_taint_evicts_and_the_earliest_wins() -> None:
    taints = [*UNREACHABLE_TAINTS, {"key": "maintenance", "effect": "NoExecute", "timeAdded": stamp(0)}]
    tolerant = pod("t", ready="False", tolerations=[tol(UNREACHABLE, 100), tol("maintenance", 10)])
    half = pod("h", ready="False", tolerations=[tol(UNREACHABLE)])  # does not tolerate maintenance
    view = NodeView(node(conditions=unknown_conditions(0), taints=taints), heartbeat=MONO0, pods=(tolerant, half))
    assert decide(view, at(5), TIMING) == [EvictPod("default", "h", "uid-h", events=(eviction_event("h"),)),
                                           Recheck(5.0)]


def test_user_noexecute_taint_on_a_healthy_node_evicts() -> None:
    taints = [{"key": "maintenance", "effect": "NoExecute", "timeAdded": stamp(0)}]
    p = pod("a", tolerations=[tol("maintenance", 60)])
    view = NodeView(node(taints=taints), heartbeat=MONO0, pods=(p,))
    assert decide(view, at(10), TIMING) == [Recheck(30.0)]
    assert decide(view, at(60), TIMING) == [
        UpdateNode("n1", "10", status={"conditions": unknown_conditions(60), "nodeInfo": {"kubeletVersion": "v1.32.0"}},
                   taints=(taints[0], {"key": UNREACHABLE, "effect": "NoSchedule"},
                           {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": stamp(60)}),
                   events=(Event(NODE_REF, "Normal", "NodeNotReady", "Node n1 status is now: NodeNotReady"),)),
        MarkPodNotReady("default", "a", "20", marked(p, 60), events=(not_ready_event("a"),)),
        EvictPod("default", "a", "uid-a", events=(eviction_event("a"),)),
    ]


def test_undated_taint_counts_from_when_first_seen() -> None:
    taints = [{"key": "maintenance", "effect": "NoExecute"}]
    p = pod("a", tolerations=[tol("maintenance", 60)])
    seen = {("maintenance", "NoExecute"): T0 + timedelta(seconds=5)}
    view = NodeView(node(taints=taints), heartbeat=MONO0 + 10, pods=(p,), taints_seen=seen)
    assert decide(view, at(20), TIMING) == [Recheck(30.0)]
    assert decide(view, at(45), TIMING) == [Recheck(5.0)]  # the heartbeat deadline comes first
    unseen = NodeView(node(taints=taints), heartbeat=MONO0 + 100, pods=(p,))
    assert decide(unseen, at(100), TIMING) == [Recheck(40.0)]  # counted from now: due at 160


def test_terminating_pods_are_not_evicted_again() -> None:
    p = pod("a", ready="False", deletion=stamp(30))
    view = NodeView(node(taints=[{"key": "maintenance", "effect": "NoExecute", "timeAdded": stamp(0)}]),
                    heartbeat=MONO0, pods=(p,))
    assert decide(view, at(5), TIMING) == [Recheck(35.0)]


# -- force deletion ------------------------------------------------------------------------------
def test_grace_period_over_on_an_unreachable_node_force_deletes() -> None:
    p = pod("a", ready="False", tolerations=[tol(UNREACHABLE, 2)], deletion=stamp(32))
    view = NodeView(node(conditions=unknown_conditions(0), taints=UNREACHABLE_TAINTS), heartbeat=MONO0 - 40,
                    pods=(p,))
    assert decide(view, at(10), TIMING) == [Recheck(22.0)]
    assert decide(view, at(32), TIMING) == [ForceDeletePod("default", "a", "uid-a")]


def test_no_force_delete_while_the_node_has_a_heartbeat() -> None:
    p = pod("a", ready="False", deletion=stamp(0))
    # the kubelet reports NotReady but is alive: it finishes the deletion itself
    view = NodeView(node(conditions=kubelet_conditions("False"), taints=NOT_READY_TAINTS), heartbeat=MONO0 + 5,
                    pods=(p,))
    assert decide(view, at(10), TIMING) == [Recheck(35.0)]
    # lease renewed again, Ready not re-posted yet: still no force
    view = NodeView(node(conditions=unknown_conditions(0), taints=UNREACHABLE_TAINTS), heartbeat=MONO0 + 5,
                    pods=(p,))
    assert decide(view, at(10), TIMING) == [Recheck(35.0)]


def test_unreadable_deletion_timestamp_on_an_unreachable_node_force_deletes() -> None:
    p = pod("a", ready="False", deletion="soon")
    view = NodeView(node(conditions=unknown_conditions(0), taints=UNREACHABLE_TAINTS), heartbeat=MONO0, pods=(p,))
    assert decide(view, at(41), TIMING) == [ForceDeletePod("default", "a", "uid-a")]


# -- pieces ----------------------------------------------------------------------------------------
def test_controller_taints_are_ordered_and_idempotent() -> None:
    now = T0
    once = controller_taints([], "Unknown", now)
    assert once == [{"key": UNREACHABLE, "effect": "NoSchedule"},
                    {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": stamp(0)}]
    assert controller_taints(once, "Unknown", now + timedelta(seconds=9)) == once
    assert controller_taints(once, "True", now) == []
    assert controller_taints(once, None, now) == once
    assert controller_taints(once, "Weird", now) == once


def test_eviction_time_is_none_when_everything_is_tolerated_for_ever() -> None:
    p = pod("a", tolerations=[tol(UNREACHABLE)])
    assert eviction_time(p, [UNREACHABLE_TAINTS[1]], {}, T0) is None
    assert eviction_time(p, [], {}, T0) is None
