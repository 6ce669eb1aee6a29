"""core/daemons.py: which nodes run a daemon pod, the pod body, manage, rolling updates, status,
history and the failed-pod backoff. Objects in, exact decisions out."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from core.daemons import (
    DAEMON_TOLERATIONS,
    FailedPodBackoff,
    DaemonView,
    Placement,
    daemon_pod,
    daemon_status,
    daemon_tolerations,
    decide,
    history_to_delete,
    manage,
    next_available_in,
    nodes_to_pods,
    pin_to_node,
    placement,
    plan_history,
    rolling_update,
    surge_and_unavailable,
    target_node,
)
from core.history import template_hash, template_patch
from core.nodeaffinity import parse_node_affinity
from core.workload import scaled_value

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
Obj = dict[str, Any]


def ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def node(name: str, labels: dict[str, str] | None = None, taints: list[Obj] | None = None,
         deleting: bool = False) -> Obj:
    md: Obj = {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}}
    if deleting:
        md["deletionTimestamp"] = ts(NOW)
    return {"kind": "Node", "metadata": md, "spec": {"taints": taints} if taints else {}}


def make_ds(*, spec_extra: Obj | None = None, strategy: Obj | None = None, generation: int = 1,
            min_ready: int = 0, image: str = "busybox:1") -> Obj:
    pod_spec: Obj = {"containers": [{"name": "c", "image": image}], **(spec_extra or {})}
    spec: Obj = {"selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}}, "spec": pod_spec},
                 "updateStrategy": strategy or {"type": "RollingUpdate",
                                                "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                 "revisionHistoryLimit": 10}
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "d", "namespace": "ns", "uid": "ds-uid", "generation": generation},
            "spec": spec, "status": {}}


def hash_of(ds: Obj) -> str:
    return template_hash(ds["spec"]["template"])


def pod(name: str, node_name: str, hash_: str, *, phase: str = "Running", ready: bool = True,
        created: datetime | None = None, ready_since: datetime | None = None, deleting: bool = False,
        bound: bool = True) -> Obj:
    md: Obj = {"name": name, "namespace": "ns", "uid": f"uid-{name}",
               "labels": {"app": "d", "controller-revision-hash": hash_},
               "creationTimestamp": ts(created or NOW - timedelta(hours=1))}
    if deleting:
        md["deletionTimestamp"] = ts(NOW)
    spec: Obj = {"affinity": pin_to_node(None, node_name)}
    if bound:
        spec["nodeName"] = node_name
    conds = [{"type": "Ready", "status": "True" if ready else "False",
              "lastTransitionTime": ts(ready_since or NOW - timedelta(minutes=30))}]
    return {"metadata": md, "spec": spec, "status": {"phase": phase, "conditions": conds}}


def view(ds: Obj, nodes: list[Obj], pods: list[Obj], *, hash_: str | None = None,
         backoff: dict[str, float] | None = None) -> DaemonView:
    return DaemonView(ds, nodes, pods, hash_ if hash_ is not None else hash_of(ds), NOW, backoff or {})


NODES = [node("n1"), node("n2"), node("n3")]


# -- placement --------------------------------------------------------------------------------
def test_every_plain_node_runs_the_daemon() -> None:
    assert placement(make_ds(), node("n1")) == Placement(True, True)


def test_node_selector_limits_nodes() -> None:
    ds = make_ds(spec_extra={"nodeSelector": {"disk": "ssd"}})
    assert placement(ds, node("n1", {"disk": "ssd"})) == Placement(True, True)
    assert placement(ds, node("n2", {"disk": "hdd"})) == Placement(False, False)
    assert placement(ds, node("n3")) == Placement(False, False)


def test_required_node_affinity_limits_nodes() -> None:
    aff = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}}
    ds = make_ds(spec_extra={"affinity": aff})
    assert placement(ds, node("n1", {"zone": "a"})).should_run
    assert placement(ds, node("n2", {"zone": "c"})) == Placement(False, False)


def test_template_node_name_pins_the_daemon() -> None:
    ds = make_ds(spec_extra={"nodeName": "n2"})
    assert placement(ds, node("n2")).should_run
    assert placement(ds, node("n1")) == Placement(False, False)


def test_untolerated_no_schedule_taint_stops_new_pods_but_lets_existing_stay() -> None:
    t = [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
    assert placement(make_ds(), node("n1", taints=t)) == Placement(False, True)


def test_untolerated_no_execute_taint_removes_the_daemon() -> None:
    t = [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]
    assert placement(make_ds(), node("n1", taints=t)) == Placement(False, False)


def test_prefer_no_schedule_taint_is_ignored() -> None:
    t = [{"key": "dedicated", "effect": "PreferNoSchedule"}]
    assert placement(make_ds(), node("n1", taints=t)) == Placement(True, True)


def test_template_tolerations_count() -> None:
    t = [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]
    ds = make_ds(spec_extra={"tolerations": [{"key": "dedicated", "operator": "Exists"}]})
    assert placement(ds, node("n1", taints=t)) == Placement(True, True)


@pytest.mark.parametrize("key,effect", [
    ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule")])
def test_daemons_tolerate_node_trouble(key: str, effect: str) -> None:
    assert placement(make_ds(), node("n1", taints=[{"key": key, "effect": effect}])) == Placement(True, True)


def test_network_unavailable_is_tolerated_only_by_host_network_daemons() -> None:
    t = [{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}]
    assert placement(make_ds(), node("n1", taints=t)) == Placement(False, True)
    assert placement(make_ds(spec_extra={"hostNetwork": True}), node("n1", taints=t)) == Placement(True, True)


def test_a_node_being_deleted_runs_nothing() -> None:
    assert placement(make_ds(), node("n1", deleting=True)) == Placement(False, False)


def test_daemon_tolerations_replace_a_same_toleration_with_seconds() -> None:
    spec = {"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 30}, {"key": "x", "operator": "Exists"}]}
    got = daemon_tolerations(spec)
    assert got[0] == {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}
    assert got[1] == {"key": "x", "operator": "Exists"}
    assert got[2:] == list(DAEMON_TOLERATIONS[1:])


# -- the pod ----------------------------------------------------------------------------------
def test_daemon_pod_body() -> None:
    ds = make_ds(generation=3, spec_extra={"hostNetwork": True})
    p = daemon_pod(ds, "n2", "hh")
    md = p["metadata"]
    assert md["generateName"] == "d-"
    assert md["namespace"] == "ns"
    assert md["labels"] == {"app": "d", "controller-revision-hash": "hh", "pod-template-generation": "3"}
    assert md["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "d", "uid": "ds-uid",
                                      "controller": True, "blockOwnerDeletion": True}]
    assert p["spec"]["affinity"] == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]}}}
    assert p["spec"]["tolerations"] == list(DAEMON_TOLERATIONS) + [
        {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"}]
    assert "nodeName" not in p["spec"]
    assert ds["spec"]["template"]["spec"].get("tolerations") is None  # the DaemonSet is untouched
    aff = parse_node_affinity(p["spec"])
    assert aff.matches({}, "n2") and not aff.matches({}, "n1")
    assert target_node(p) == "n2"


def test_pinning_replaces_required_terms_and_keeps_the_rest() -> None:
    aff: Obj = {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["old"]}]},
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]},
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {
            "matchExpressions": [{"key": "x", "operator": "Exists"}]}}]},
        "podAntiAffinity": {"x": 1}}
    before = copy.deepcopy(aff)
    got = pin_to_node(aff, "n1")
    assert got["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}
    assert got["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] == \
        aff["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert got["podAntiAffinity"] == {"x": 1}
    assert aff == before


def test_nodes_to_pods_groups_by_target_and_drops_finished_deleting() -> None:
    h = "h"
    pods = [pod("a", "n1", h), pod("b", "n2", h, bound=False), pod("c", "n1", h, phase="Failed", deleting=True),
            pod("d", "n3", h, deleting=True)]
    got = nodes_to_pods(pods)
    assert {k: [p["metadata"]["name"] for p in v] for k, v in got.items()} == {"n1": ["a"], "n2": ["b"], "n3": ["d"]}


# -- manage -----------------------------------------------------------------------------------
def names(pods: list[Obj]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def test_creates_one_pod_per_eligible_node() -> None:
    ds = make_ds(spec_extra={"nodeSelector": {"role": "x"}})
    nodes = [node("n1", {"role": "x"}), node("n2"), node("n3", {"role": "x"})]
    plan = decide(view(ds, nodes, []))
    assert plan.create_on == ["n1", "n3"] and plan.delete == []


def test_nothing_to_do_when_every_node_has_its_pod() -> None:
    ds = make_ds()
    h = hash_of(ds)
    plan = decide(view(ds, NODES, [pod("a", "n1", h), pod("b", "n2", h), pod("c", "n3", h)]))
    assert plan.empty


def test_surplus_pods_are_deleted_keeping_the_oldest() -> None:
    ds = make_ds()
    h = hash_of(ds)
    pods = [pod("young", "n1", h, created=NOW - timedelta(minutes=1)),
            pod("old", "n1", h, created=NOW - timedelta(hours=2)),
            pod("mid", "n1", h, created=NOW - timedelta(hours=1))]
    plan = manage(view(ds, [node("n1")], pods))
    assert names(plan.delete) == ["mid", "young"]


def test_pods_on_nodes_no_longer_eligible_are_deleted() -> None:
    ds = make_ds(spec_extra={"nodeSelector": {"role": "x"}})
    h = hash_of(ds)
    plan = manage(view(ds, [node("n1")], [pod("a", "n1", h), pod("gone", "n1", h, deleting=True)]))
    assert names(plan.delete) == ["a"] and plan.create_on == []


def test_pod_stays_on_a_node_with_an_untolerated_no_schedule_taint() -> None:
    ds = make_ds()
    h = hash_of(ds)
    n = node("n1", taints=[{"key": "k", "effect": "NoSchedule"}])
    assert manage(view(ds, [n], [pod("a", "n1", h)])).empty
    assert manage(view(ds, [n], [])).empty  # but no new one goes there


def test_pod_is_removed_from_a_node_with_an_untolerated_no_execute_taint() -> None:
    ds = make_ds()
    h = hash_of(ds)
    n = node("n1", taints=[{"key": "k", "effect": "NoExecute"}])
    assert names(manage(view(ds, [n], [pod("a", "n1", h)])).delete) == ["a"]


def test_a_deleting_pod_blocks_the_replacement_until_it_is_gone() -> None:
    ds = make_ds()
    h = hash_of(ds)
    assert manage(view(ds, [node("n1")], [pod("a", "n1", h, deleting=True)])).empty


def test_failed_pod_is_deleted_with_an_event_and_then_backs_off() -> None:
    ds = make_ds()
    h = hash_of(ds)
    failed = pod("f", "n1", h, phase="Failed")
    plan = manage(view(ds, [node("n1")], [failed]))
    assert names(plan.delete) == ["f"]
    assert [(f.node, f.message) for f in plan.failed] == [
        ("n1", "Found failed daemon pod ns/f on node n1, will try to kill it")]
    assert plan.create_on == []  # recreated once the failed pod is gone
    held = manage(view(ds, [node("n1")], [failed], backoff={"n1": 4.0}))
    assert held.empty and held.recheck_after == 4.0


def test_succeeded_pod_is_deleted_without_backoff() -> None:
    ds = make_ds()
    h = hash_of(ds)
    plan = manage(view(ds, [node("n1")], [pod("s", "n1", h, phase="Succeeded")], backoff={"n1": 9.0}))
    assert names(plan.delete) == ["s"] and plan.failed == []


def test_unscheduled_pod_for_a_vanished_node_is_deleted() -> None:
    ds = make_ds()
    h = hash_of(ds)
    plan = manage(view(ds, [node("n1")], [pod("a", "n1", h), pod("lost", "n9", h, bound=False),
                                           pod("bound", "n8", h)]))
    assert names(plan.delete) == ["lost"]  # a bound one is the pod GC's


def test_surge_keeps_new_and_ready_old_until_the_new_is_available() -> None:
    ds = make_ds(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
    h = hash_of(ds)
    old = pod("old", "n1", "oldhash", created=NOW - timedelta(hours=2))
    new_unready = pod("new", "n1", h, ready=False, created=NOW - timedelta(minutes=1))
    assert manage(view(ds, [node("n1")], [old, new_unready])).empty
    new_ready = pod("new", "n1", h, created=NOW - timedelta(minutes=1))
    assert names(manage(view(ds, [node("n1")], [old, new_ready])).delete) == ["old"]
    old_unready = pod("old", "n1", "oldhash", ready=False, created=NOW - timedelta(hours=2))
    assert names(manage(view(ds, [node("n1")], [old_unready, new_unready])).delete) == ["old"]


def test_surge_recreates_when_no_pod_runs() -> None:
    ds = make_ds(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
    plan = manage(view(ds, [node("n1")], [pod("f", "n1", "x", phase="Succeeded")]))
    assert plan.create_on == ["n1"] and names(plan.delete) == ["f"]


# -- rolling update ---------------------------------------------------------------------------
@pytest.mark.parametrize("value,total,want", [(1, 10, 1), ("10%", 10, 1), ("25%", 10, 3), ("0%", 10, 0),
                                              ("50%", 3, 2), (None, 5, 0)])
def test_scaled_rounds_up(value: Any, total: int, want: int) -> None:
    assert scaled_value(value, total, round_up=True) == want


def test_surge_and_unavailable_defaults_to_one_unavailable() -> None:
    ds = make_ds(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "0%", "maxSurge": 0}})
    assert surge_and_unavailable(ds, 4) == (0, 1)
    assert surge_and_unavailable(make_ds(strategy={"type": "OnDelete"}), 4) == (0, 0)


def test_rolling_update_deletes_one_old_pod_at_a_time() -> None:
    ds = make_ds()
    pods = [pod("a", "n1", "old"), pod("b", "n2", "old"), pod("c", "n3", "old")]
    plan = decide(view(ds, NODES, pods))
    assert names(plan.delete) == ["a"] and plan.create_on == []


def test_rolling_update_waits_while_a_new_pod_is_unavailable() -> None:
    ds = make_ds()
    h = hash_of(ds)
    pods = [pod("a", "n1", h, ready=False), pod("b", "n2", "old"), pod("c", "n3", "old")]
    assert decide(view(ds, NODES, pods)).empty


def test_rolling_update_counts_a_node_between_pods_as_unavailable() -> None:
    ds = make_ds()
    pods = [pod("a", "n1", "old", deleting=True), pod("b", "n2", "old"), pod("c", "n3", "old")]
    assert decide(view(ds, NODES, pods)).empty


def test_rolling_update_replaces_unavailable_old_pods_for_free() -> None:
    ds = make_ds()
    h = hash_of(ds)
    pods = [pod("a", "n1", h, ready=False), pod("b", "n2", "old", ready=False), pod("c", "n3", "old")]
    assert names(decide(view(ds, NODES, pods)).delete) == ["b"]


def test_rolling_update_percent_of_desired() -> None:
    ds = make_ds(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%", "maxSurge": 0}})
    nodes = [node(f"n{i}") for i in range(4)]
    pods = [pod(f"p{i}", f"n{i}", "old") for i in range(4)]
    assert names(decide(view(ds, nodes, pods)).delete) == ["p0", "p1"]


def test_rolling_update_respects_min_ready_seconds() -> None:
    ds = make_ds(min_ready=60)
    h = hash_of(ds)
    fresh = pod("a", "n1", h, ready_since=NOW - timedelta(seconds=10))
    pods = [fresh, pod("b", "n2", "old"), pod("c", "n3", "old")]
    v = view(ds, NODES, pods)
    assert decide(v).empty
    assert next_available_in(v) == pytest.approx(50.0)
    aged = pod("a", "n1", h, ready_since=NOW - timedelta(seconds=61))
    assert names(decide(view(ds, NODES, [aged, pods[1], pods[2]])).delete) == ["b"]


def test_pod_template_generation_label_counts_as_updated() -> None:
    ds = make_ds(generation=4)
    p = pod("a", "n1", "stale")
    p["metadata"]["labels"]["pod-template-generation"] = "4"
    assert decide(view(ds, [node("n1")], [p])).empty


def test_on_delete_never_replaces_old_pods() -> None:
    ds = make_ds(strategy={"type": "OnDelete"})
    pods = [pod("a", "n1", "old"), pod("b", "n2", "old"), pod("c", "n3", "old")]
    assert decide(view(ds, NODES, pods)).empty
    assert decide(view(ds, NODES, pods[1:])).create_on == ["n1"]  # the user deleted one


def test_surge_creates_the_new_pod_first_then_deletes_the_old() -> None:
    ds = make_ds(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
    h = hash_of(ds)
    pods = [pod("a", "n1", "old"), pod("b", "n2", "old"), pod("c", "n3", "old")]
    step1 = rolling_update(view(ds, NODES, pods))
    assert step1.create_on == ["n1"] and step1.delete == []
    waiting = pods + [pod("a2", "n1", h, ready=False)]
    assert rolling_update(view(ds, NODES, waiting)).empty
    ready = pods + [pod("a2", "n1", h)]
    step3 = rolling_update(view(ds, NODES, ready))
    assert names(step3.delete) == ["a"] and step3.create_on == ["n2"]


def test_surge_deletes_unavailable_old_pod_on_a_node_that_should_not_run() -> None:
    ds = make_ds(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
    n = node("n1", taints=[{"key": "k", "effect": "NoSchedule"}])
    plan = rolling_update(view(ds, [n], [pod("a", "n1", "old", ready=False)]))
    assert names(plan.delete) == ["a"] and plan.create_on == []


# -- status -----------------------------------------------------------------------------------
def test_status_counts() -> None:
    ds = make_ds(spec_extra={"nodeSelector": {"role": "x"}}, generation=5, min_ready=60)
    ds["status"] = {"collisionCount": 2, "observedGeneration": 4}
    h = hash_of(ds)
    nodes = [node("n1", {"role": "x"}), node("n2", {"role": "x"}), node("n3", {"role": "x"}), node("n4"),
             node("n5", {"role": "x"})]
    pods = [pod("a", "n1", h), pod("b", "n2", "old", ready_since=NOW - timedelta(seconds=5)),
            pod("c", "n3", h, ready=False), pod("d", "n4", h)]
    st = daemon_status(view(ds, nodes, pods), observed_generation=5)
    assert st == {"collisionCount": 2, "observedGeneration": 5, "desiredNumberScheduled": 4,
                  "currentNumberScheduled": 3, "numberMisscheduled": 1, "numberReady": 2,
                  "updatedNumberScheduled": 2, "numberAvailable": 1, "numberUnavailable": 3}
    assert daemon_status(view(ds, nodes, pods), observed_generation=None)["observedGeneration"] == 4


def test_status_judges_the_oldest_pod_of_a_node() -> None:
    ds = make_ds()
    h = hash_of(ds)
    pods = [pod("new", "n1", h, ready=False, created=NOW - timedelta(minutes=1)),
            pod("old", "n1", "old", created=NOW - timedelta(hours=1))]
    st = daemon_status(view(ds, [node("n1")], pods), observed_generation=1)
    assert (st["numberReady"], st["updatedNumberScheduled"], st["currentNumberScheduled"]) == (1, 0, 1)


# -- history ----------------------------------------------------------------------------------
def revision(ds: Obj, template: Obj, number: int, hash_: str) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": f"d-{hash_}", "namespace": "ns", "labels": {"app": "d", "controller-revision-hash": hash_}},
            "data": template_patch(template), "revision": number}


def test_first_revision_is_created() -> None:
    ds = make_ds()
    plan = plan_history(ds, [])
    h = hash_of(ds)
    assert plan.hash == h and plan.current is None and plan.old == []
    assert plan.create is not None
    assert plan.create["metadata"]["name"] == f"d-{h}"
    assert plan.create["metadata"]["labels"] == {"app": "d", "controller-revision-hash": h}
    assert plan.create["metadata"]["ownerReferences"][0]["uid"] == "ds-uid"
    assert plan.create["revision"] == 1
    assert plan.create["data"] == template_patch(ds["spec"]["template"])


def test_changed_template_gets_the_next_revision() -> None:
    old_ds = make_ds(image="busybox:1")
    ds = make_ds(image="busybox:2")
    r1 = revision(old_ds, old_ds["spec"]["template"], 1, hash_of(old_ds))
    plan = plan_history(ds, [r1])
    assert plan.create is not None and plan.create["revision"] == 2 and plan.old == [r1]


def test_current_revision_is_found_and_rollback_renumbers_it() -> None:
    v1, v2 = make_ds(image="busybox:1"), make_ds(image="busybox:2")
    r1 = revision(v1, v1["spec"]["template"], 1, "h1")
    r2 = revision(v2, v2["spec"]["template"], 2, "h2")
    plan = plan_history(v2, [r1, r2])
    assert plan.current == r2 and plan.create is None and plan.renumber is None and plan.hash == "h2"
    back = plan_history(v1, [r1, r2])
    assert back.current == r1 and back.renumber == 3 and back.hash == "h1" and back.old == [r2]


def test_collision_count_changes_the_hash() -> None:
    ds = make_ds()
    ds["status"] = {"collisionCount": 1}
    plan = plan_history(ds, [])
    assert plan.hash == template_hash(ds["spec"]["template"], 1) != hash_of(ds)


def test_history_keeps_the_limit_and_revisions_pods_use() -> None:
    old = [{"metadata": {"name": f"r{i}", "labels": {"controller-revision-hash": f"h{i}"}}, "revision": i}
           for i in range(1, 6)]
    pods = [pod("a", "n1", "h2")]
    assert names(history_to_delete(old, 2, pods)) == ["r1", "r3", "r4"]
    assert history_to_delete(old, 5, pods) == []
    assert names(history_to_delete(old, 0, [])) == ["r1", "r2", "r3", "r4", "r5"]


# -- backoff ----------------------------------------------------------------------------------
def test_failed_pod_backoff_doubles_to_the_maximum_and_resets() -> None:
    b = FailedPodBackoff(initial=1.0, maximum=4.0)
    assert b.remaining("u", "n1", 0.0) == 0.0
    b.step("u", "n1", 0.0)
    assert b.remaining("u", "n1", 0.5) == 0.5
    assert b.waits("u", 0.5) == {"n1": 0.5} and b.waits("other", 0.5) == {}
    b.step("u", "n1", 1.0)
    assert b.remaining("u", "n1", 1.0) == 2.0
    b.step("u", "n1", 3.0)
    b.step("u", "n1", 7.0)
    assert b.remaining("u", "n1", 7.0) == 4.0
    b.step("u", "n1", 100.0)  # idle for more than twice the maximum: start over
    assert b.remaining("u", "n1", 100.0) == 1.0
    b.forget("u")
    assert b.waits("u", 100.0) == {}
