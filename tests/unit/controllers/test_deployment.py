"""core/rollout.py: the Deployment controller's decisions, checked against Kubernetes' own cases
(fenceposts, NewRSNewReplicas, reconcileOldReplicaSets, proportional scaling from the docs,
revision history, conditions and the progress deadline)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from core import rollout as r
from core.history import template_hash

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
Obj = dict[str, Any]


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(replicas: int = 10, *, surge: int | str | None = "25%", unavailable: int | str | None = "25%",
               strategy: str = "RollingUpdate", generation: int = 1, status: Obj | None = None,
               annotations: dict[str, str] | None = None, deadline: int | None = 600, paused: bool = False,
               history: int | None = 10, image: str = "nginx:1") -> Obj:
    spec: Obj = {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": image}]}},
                 "strategy": {"type": strategy}}
    if strategy == "RollingUpdate":
        ru: Obj = {}
        if surge is not None:
            ru["maxSurge"] = surge
        if unavailable is not None:
            ru["maxUnavailable"] = unavailable
        spec["strategy"]["rollingUpdate"] = ru
    if deadline is not None:
        spec["progressDeadlineSeconds"] = deadline
    if history is not None:
        spec["revisionHistoryLimit"] = history
    if paused:
        spec["paused"] = True
    md: Obj = {"name": "web", "namespace": "default", "uid": "d-uid", "generation": generation}
    if annotations:
        md["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md, "spec": spec, "status": status or {}}


def rs(name: str, replicas: int, *, available: int | None = None, status_replicas: int | None = None,
       ready: int | None = None, created: int = 0, revision: int | None = None, image: str = "nginx:1",
       desired: int | None = None, max_: int | None = None, generation: int = 1, observed: int = 1) -> Obj:
    ann: dict[str, str] = {}
    if revision is not None:
        ann[r.REVISION] = str(revision)
    if desired is not None:
        ann[r.DESIRED_REPLICAS] = str(desired)
    if max_ is not None:
        ann[r.MAX_REPLICAS] = str(max_)
    st_replicas = replicas if status_replicas is None else status_replicas
    avail = st_replicas if available is None else available
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "default", "uid": f"{name}-uid", "annotations": ann,
                         "creationTimestamp": stamp(NOW + timedelta(seconds=created)), "generation": generation},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web", "pod-template-hash": name}},
                     "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": name}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}},
            "status": {"replicas": st_replicas, "availableReplicas": avail,
                       "readyReplicas": avail if ready is None else ready, "observedGeneration": observed}}


def sizes(scales: list[r.Scale]) -> dict[str, int]:
    return {s.name: s.replicas for s in scales}


# -- fenceposts --------------------------------------------------------------------------------
@pytest.mark.parametrize(("surge", "unavailable", "desired", "want"), [
    ("25%", "25%", 10, (3, 2)),  # surge rounds up, unavailable down
    ("0%", "0%", 0, (0, 1)),  # both zero: one may be unavailable
    ("39%", "39%", 10, (4, 3)),
    (None, "39%", 10, (0, 3)),
    ("39%", None, 10, (4, 0)),
    (None, None, 10, (0, 1)),
    (0, 0, 5, (0, 1)),
    (1, 0, 3, (1, 0)),
    (2, "50%", 3, (2, 1)),
    ("25%", "25%", 1, (1, 0)),
    ("100%", "100%", 7, (7, 7)),
])
def test_resolve_fenceposts(surge: Any, unavailable: Any, desired: int, want: tuple[int, int]) -> None:
    assert r.resolve_fenceposts(surge, unavailable, desired) == want


@pytest.mark.parametrize(("surge", "unavailable"), [("oops", "39%"), ("55%", "urg"), ("5", 1)])
def test_resolve_fenceposts_rejects_non_percentages(surge: Any, unavailable: Any) -> None:
    with pytest.raises(ValueError):
        r.resolve_fenceposts(surge, unavailable, 10)


def test_max_surge_and_unavailable_of_a_deployment() -> None:
    assert (r.max_surge(deployment(10)), r.max_unavailable(deployment(10))) == (3, 2)
    assert (r.max_surge(deployment(3, strategy="Recreate")), r.max_unavailable(deployment(3, strategy="Recreate"))) == (0, 0)
    assert r.max_unavailable(deployment(0)) == 0
    assert r.max_unavailable(deployment(2, surge=0, unavailable=5)) == 2  # never more than the replicas


# -- new ReplicaSet ----------------------------------------------------------------------------
@pytest.mark.parametrize(("strategy", "dep", "new", "surge", "want"), [
    ("RollingUpdate", 1, 5, 1, 5),  # cannot scale up: already over replicas + surge
    ("RollingUpdate", 6, 2, 10, 6),  # scale up, never past replicas
    ("Recreate", 3, 1, 1, 3),
])
def test_new_rs_new_replicas(strategy: str, dep: int, new: int, surge: int, want: int) -> None:
    d = deployment(dep, surge=surge, unavailable=0, strategy=strategy)
    n = rs("new", new)
    assert r.new_rs_new_replicas(d, [n], n) == want


def test_new_rs_scale_up_is_bounded_by_surge_over_all_replica_sets() -> None:
    d = deployment(3, surge=1, unavailable=0)
    old, new = rs("old", 3), rs("new", 0, created=5)
    assert r.new_rs_new_replicas(d, [old, new], new) == 1
    assert sizes([s for s in [r.reconcile_new_rs(d, [old, new], new)] if s]) == {"new": 1}
    # 10 replicas at 25%: up to 13 pods
    d10 = deployment(10)
    assert r.new_rs_new_replicas(d10, [rs("old", 10), rs("new", 0)], rs("new", 0)) == 3
    # the new RS above replicas is scaled down to replicas
    assert sizes([r.reconcile_new_rs(d, [rs("new", 5)], rs("new", 5))]) == {"new": 3}  # type: ignore[list-item]
    assert r.reconcile_new_rs(d, [rs("new", 3)], rs("new", 3)) is None


def test_new_rs_body_carries_the_hash_everywhere() -> None:
    d = deployment(3, annotations={"kubernetes.io/change-cause": "v1", r.LAST_APPLIED: "{}", r.REVISION: "7"})
    h = template_hash(d["spec"]["template"])
    body = r.new_rs_body(d, hash_=h, replicas_=1, revision=1)
    md = body["metadata"]
    assert md["name"] == f"web-{h}"
    assert md["labels"] == {"app": "web", "pod-template-hash": h}
    assert body["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
    assert body["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": h}}
    assert md["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-uid",
                                      "controller": True, "blockOwnerDeletion": True}]
    assert md["annotations"] == {"kubernetes.io/change-cause": "v1", r.REVISION: "1", r.DESIRED_REPLICAS: "3",
                                 r.MAX_REPLICAS: "4"}
    assert body["spec"]["replicas"] == 1
    assert d["spec"]["template"]["metadata"]["labels"] == {"app": "web"}  # the deployment is untouched
    assert r.equal_ignore_hash(body["spec"]["template"], d["spec"]["template"])


def test_find_new_and_old_ignore_the_hash_label() -> None:
    d = deployment(3, image="nginx:2")
    a, b, c = rs("a", 0, image="nginx:1"), rs("b", 3, image="nginx:2", created=5), rs("c", 2, image="nginx:3")
    assert r.find_new_rs(d, [a, b, c]) is b
    with_replicas, all_old = r.find_old_rss(d, [a, b, c])
    assert [x["metadata"]["name"] for x in with_replicas] == ["c"]
    assert [x["metadata"]["name"] for x in all_old] == ["a", "c"]
    # two matches: the oldest is the new one
    b2 = rs("b2", 1, image="nginx:2", created=1)
    assert r.find_new_rs(d, [b, b2]) is b2
    assert r.find_new_rs(deployment(3, image="other"), [a, b]) is None


def test_equal_ignore_hash_with_no_other_labels() -> None:
    assert r.equal_ignore_hash({"metadata": {"labels": {"pod-template-hash": "x"}}, "spec": {}}, {"spec": {}})
    assert not r.equal_ignore_hash({"metadata": {"labels": {"a": "1"}}, "spec": {}}, {"spec": {}})
    # what kubectl's rollback sends: nulls and empty objects are unset
    assert r.equal_ignore_hash({"metadata": {"creationTimestamp": None, "labels": {"a": "1"}},
                                "spec": {"containers": [{"name": "c", "resources": {}}]}},
                               {"metadata": {"labels": {"a": "1", "pod-template-hash": "h"}},
                                "spec": {"containers": [{"name": "c"}]}})
    assert not r.equal_ignore_hash({"spec": {"containers": [{"name": "c", "image": "a"}]}},
                                   {"spec": {"containers": [{"name": "c", "image": "b"}]}})


# -- revisions ---------------------------------------------------------------------------------
def test_revision_annotations_for_a_new_and_a_rolled_back_replica_set() -> None:
    d = deployment(3, annotations={"kubernetes.io/change-cause": "roll back"})
    ann, changed = r.new_rs_annotations(d, {r.REVISION: "1", r.DESIRED_REPLICAS: "3", r.MAX_REPLICAS: "4"}, "3",
                                        exists=True)
    assert changed
    assert ann[r.REVISION] == "3" and ann[r.REVISION_HISTORY] == "1"
    assert ann["kubernetes.io/change-cause"] == "roll back"
    ann2, _ = r.new_rs_annotations(d, ann, "5", exists=True)
    assert ann2[r.REVISION] == "5" and ann2[r.REVISION_HISTORY] == "1,3"
    # already at that revision: nothing changes
    assert r.new_rs_annotations(d, ann2, "5", exists=True) == (ann2, False)
    # a lower revision never lowers it
    assert r.new_rs_annotations(d, ann2, "2", exists=True)[0][r.REVISION] == "5"
    # a brand new RS: no history, replica annotations added
    fresh, changed = r.new_rs_annotations(d, {}, "4", exists=False)
    assert changed and r.REVISION_HISTORY not in fresh and fresh[r.DESIRED_REPLICAS] == "3"


def test_revision_history_is_bounded() -> None:
    long = ",".join(str(i) for i in range(1, 600))  # > 2000 chars
    ann, _ = r.new_rs_annotations(deployment(3), {r.REVISION: "600", r.REVISION_HISTORY: long}, "601", exists=True)
    hist = ann[r.REVISION_HISTORY]
    assert len(hist) <= r.MAX_REV_HISTORY_CHARS and hist.endswith(",600") and not hist.startswith("1,")


def test_max_revision_ignores_garbage() -> None:
    bad = rs("bad", 0)
    bad["metadata"]["annotations"][r.REVISION] = "x"
    assert r.max_revision([rs("a", 0, revision=2), rs("b", 0, revision=7), bad, rs("c", 0)]) == 7
    assert r.max_revision([]) == 0


# -- old replica sets ----------------------------------------------------------------------------
@pytest.mark.parametrize(("unavailable", "old", "new", "old_ready", "new_ready", "want"), [
    (0, 10, 0, 10, 0, 9),  # 0/0 fenceposts: one may go
    (2, 10, 0, 10, 0, 8),
    (2, 10, 0, 8, 0, 8),  # the unhealthy two are cleaned up first
    (2, 10, 0, 9, 0, 8),  # one unhealthy cleaned up, one ready scaled down
    (2, 8, 2, 8, 0, None),  # the new RS's unavailable pods use up the budget
])
def test_reconcile_old_replica_sets(unavailable: int, old: int, new: int, old_ready: int, new_ready: int,
                                    want: int | None) -> None:
    d = deployment(10, surge=0, unavailable=unavailable)
    o = rs("old", old, available=old_ready)
    n = rs("new", new, available=new_ready, created=5)
    got = sizes(r.reconcile_old_rss(d, [o, n], r.active([o]), n))
    assert got == ({} if want is None else {"old": want})


def test_reconcile_old_scales_the_oldest_first() -> None:
    d = deployment(10, surge=0, unavailable=3)
    a, b = rs("a", 4, created=0), rs("b", 6, created=1)
    n = rs("n", 0, created=2)
    assert sizes(r.reconcile_old_rss(d, [a, b, n], [a, b], n)) == {"a": 1}
    d5 = deployment(10, surge=0, unavailable=5)
    assert sizes(r.reconcile_old_rss(d5, [a, b, n], [a, b], n)) == {"a": 0, "b": 5}


def test_reconcile_old_never_counts_pods_beyond_spec_as_available() -> None:
    # old was just scaled 3 → 2 and its status still says 3 available: only 2 count
    d = deployment(3, surge=1, unavailable=0)
    o = rs("old", 2, available=3, status_replicas=3)
    n = rs("new", 2, available=1, created=5)
    assert r.reconcile_old_rss(d, [o, n], [o], n) == []
    n2 = rs("new", 2, available=2, created=5)
    assert sizes(r.reconcile_old_rss(d, [o, n2], [o], n2)) == {"old": 1}


def test_rolling_update_with_max_unavailable_zero_steps() -> None:
    """3 replicas, surge 1, unavailable 0: up one, down one, never fewer than 3 available."""
    d = deployment(3, surge=1, unavailable=0)
    old, new = rs("old", 3), rs("new", 0, created=5)
    step = r.reconcile_new_rs(d, [old, new], new)
    assert step is not None and step.replicas == 1
    new = rs("new", 1, available=0, created=5)
    assert r.reconcile_new_rs(d, [old, new], new) is None
    assert r.reconcile_old_rss(d, [old, new], [old], new) == []  # new pod not available yet
    new = rs("new", 1, available=1, created=5)
    assert sizes(r.reconcile_old_rss(d, [old, new], [old], new)) == {"old": 2}


# -- recreate ------------------------------------------------------------------------------------
def test_recreate_waits_for_old_pods() -> None:
    old, new = rs("old", 0, status_replicas=0), rs("new", 0, created=5)
    assert r.scale_down_for_recreate([rs("a", 2), rs("b", 0)]) == [r.Scale(rs("a", 2), 0)]
    assert r.old_pods_running(new, [rs("old", 0, status_replicas=1)], {})
    running = {"status": {"phase": "Running"}, "metadata": {"deletionTimestamp": "x"}}
    done = {"status": {"phase": "Succeeded"}}
    assert r.old_pods_running(new, [old], {"old-uid": [running]})
    assert not r.old_pods_running(new, [old], {"old-uid": [done], "new-uid": [running]})
    assert not r.old_pods_running(None, [old], {})


# -- proportional scaling ------------------------------------------------------------------------
def test_proportional_scale_up_mid_rollout_as_documented() -> None:
    """Kubernetes' docs: 10 replicas, maxSurge 3, old RS 8 and new RS 5 (13 pods), scaled to 15:
    the 5 extra replicas go 3 to the old RS and 2 to the new one."""
    d = deployment(15, surge=3, unavailable=2)
    old = rs("old", 8, created=0, desired=10, max_=13, revision=1)
    new = rs("new", 5, created=5, desired=10, max_=13, revision=2)
    assert r.is_scaling_event(d, new, [old])
    plan = r.scale_plan(d, new, [old])
    assert sizes(plan) == {"old": 11, "new": 7}
    assert all(s.sync_annotations for s in plan)


def test_proportional_scale_down_and_leftovers() -> None:
    d = deployment(10, surge="25%", unavailable="25%")  # 13 allowed
    old = rs("old", 15, desired=20, max_=25)
    new = rs("new", 10, created=5, desired=20, max_=25)
    assert sizes(r.scale_plan(d, new, [old])) == {"old": 8, "new": 5}
    # three equal RSs growing: rounding leftover goes to the first (the newest when growing)
    d2 = deployment(4, surge=0, unavailable=1)
    a, b, c = rs("a", 1, created=0, max_=3), rs("b", 1, created=1, max_=3), rs("c", 1, created=2, max_=3)
    plan = r.scale_plan(d2, c, [a, b])
    assert sum(s.replicas for s in plan) == 4 and plan[0].name == "c" and sizes(plan) == {"c": 2, "b": 1, "a": 1}
    # to zero
    assert sizes(r.scale_plan(deployment(0), new, [old])) == {"old": 0, "new": 0}


def test_scale_plan_lone_and_saturated() -> None:
    d = deployment(5)
    lone = rs("only", 3)
    assert sizes(r.scale_plan(d, lone, [rs("old", 0)])) == {"only": 5}
    assert r.scale_plan(deployment(3), lone, []) == []
    # none active: the new one, else the newest old one
    assert sizes(r.scale_plan(d, None, [rs("a", 0, created=0), rs("b", 0, created=1)])) == {"b": 5}
    # a saturated new RS leaves the old ones at 0
    new = rs("new", 5, desired=5, created=3)
    assert sizes(r.scale_plan(d, new, [rs("old", 2)])) == {"old": 0}
    assert not r.is_scaling_event(d, new, [rs("old", 2)])


# -- history -------------------------------------------------------------------------------------
def test_history_to_delete() -> None:
    olds = [rs("r1", 0, revision=1), rs("r2", 0, revision=2), rs("r3", 0, revision=3), rs("r4", 1, revision=4)]
    assert [x["metadata"]["name"] for x in r.history_to_delete(deployment(history=1), olds)] == ["r1", "r2", "r3"]
    assert [x["metadata"]["name"] for x in r.history_to_delete(deployment(history=2), olds)] == ["r1", "r2"]
    assert r.history_to_delete(deployment(history=10), olds) == []
    assert r.history_to_delete(deployment(history=None), olds) == []
    # not yet observed, still has pods, or being deleted: kept
    unobserved = rs("u", 0, revision=1, generation=3, observed=2)
    pods_left = rs("p", 0, revision=2, status_replicas=1)
    deleting = rs("x", 0, revision=0)
    deleting["metadata"]["deletionTimestamp"] = stamp(NOW)
    assert r.history_to_delete(deployment(history=0), [unobserved, pods_left, deleting]) == []


# -- conditions and status ---------------------------------------------------------------------------
def test_set_condition_keeps_the_same_reason_and_transition_time() -> None:
    st: Obj = {}
    r.set_condition(st, r.new_condition("Available", "True", "A", "m", NOW))
    r.set_condition(st, r.new_condition("Available", "True", "A", "other", NOW + timedelta(seconds=5)))
    assert st["conditions"][0]["message"] == "m"
    r.set_condition(st, r.new_condition("Available", "True", "B", "m2", NOW + timedelta(seconds=5)))
    c = st["conditions"][0]
    assert (c["reason"], c["lastTransitionTime"], c["lastUpdateTime"]) == ("B", stamp(NOW), stamp(NOW + timedelta(seconds=5)))
    r.set_condition(st, r.new_condition("Available", "False", "C", "m3", NOW + timedelta(seconds=9)))
    assert st["conditions"][0]["lastTransitionTime"] == stamp(NOW + timedelta(seconds=9))


def test_calculate_status_counts_and_available() -> None:
    d = deployment(3, surge=1, unavailable=0, generation=4)
    old = rs("old", 1, status_replicas=2, available=2)
    new = rs("new", 3, status_replicas=3, available=1, ready=2, created=5)
    st = r.calculate_status(d, [old, new], new, NOW)
    assert {k: v for k, v in st.items() if k != "conditions"} == {
        "observedGeneration": 4, "replicas": 5, "updatedReplicas": 3, "readyReplicas": 4, "availableReplicas": 3,
        "unavailableReplicas": 1}
    assert st["conditions"] == [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                                 "message": "Deployment has minimum availability.", "lastUpdateTime": stamp(NOW),
                                 "lastTransitionTime": stamp(NOW)}]
    st2 = r.calculate_status(d, [rs("n", 3, available=2)], None, NOW)
    assert "updatedReplicas" not in st2  # omitempty
    assert r.condition(st2, "Available") == {  # type: ignore[comparison-overlap]
        "type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
        "message": "Deployment does not have minimum availability.", "lastUpdateTime": stamp(NOW),
        "lastTransitionTime": stamp(NOW)}
    d["status"]["collisionCount"] = 2
    assert r.calculate_status(d, [], None, NOW)["collisionCount"] == 2


def progressing(reason: str, status: str = "True", at: datetime = NOW, since: datetime = NOW) -> Obj:
    return {"type": "Progressing", "status": status, "reason": reason, "message": "m",
            "lastUpdateTime": stamp(at), "lastTransitionTime": stamp(since)}


def test_rollout_status_complete() -> None:
    d = deployment(3, surge=1, unavailable=0, status={
        "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 2,
        "conditions": [progressing("ReplicaSetUpdated")]})
    new = rs("web-abc", 3, created=5)
    st = r.rollout_status(d, [new], new, NOW + timedelta(seconds=30))
    c = r.condition(st, "Progressing")
    assert c is not None
    assert (c["status"], c["reason"], c["message"]) == ("True", "NewReplicaSetAvailable",
                                                        'ReplicaSet "web-abc" has successfully progressed.')
    assert c["lastTransitionTime"] == stamp(NOW)
    assert r.stuck_requeue_after(d, st, NOW) is None
    # once complete, the condition stays as it is
    d["status"] = st
    assert r.rollout_status(d, [new], new, NOW + timedelta(seconds=60)) == st


def test_rollout_status_progress_moves_last_update_time_only() -> None:
    d = deployment(3, surge=1, unavailable=0, status={
        "observedGeneration": 1, "replicas": 4, "updatedReplicas": 1, "availableReplicas": 3, "readyReplicas": 3,
        "conditions": [progressing("NewReplicaSetCreated")]})
    old = rs("old", 2, status_replicas=3)
    new = rs("web-abc", 2, status_replicas=2, available=1, created=5)
    later = NOW + timedelta(seconds=20)
    st = r.rollout_status(d, [old, new], new, later)
    c = r.condition(st, "Progressing")
    assert c == {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                 "message": 'ReplicaSet "web-abc" is progressing.', "lastUpdateTime": stamp(later),
                 "lastTransitionTime": stamp(NOW)}


def test_rollout_status_times_out_and_requeues_for_the_deadline() -> None:
    status = {"observedGeneration": 1, "replicas": 4, "updatedReplicas": 1, "availableReplicas": 3,
              "readyReplicas": 3, "conditions": [progressing("ReplicaSetUpdated")]}
    d = deployment(3, surge=1, unavailable=0, deadline=10, status=status)
    old = rs("old", 3)
    new = rs("web-abc", 1, status_replicas=1, available=0, created=5)
    # no progress, deadline not reached: unchanged, look again when it falls due
    st = r.rollout_status(d, [old, new], new, NOW + timedelta(seconds=4))
    assert r.condition(st, "Progressing") == r.condition(status, "Progressing")
    assert r.stuck_requeue_after(d, st, NOW + timedelta(seconds=4)) == pytest.approx(6.0)
    # past it
    st = r.rollout_status(d, [old, new], new, NOW + timedelta(seconds=11))
    c = r.condition(st, "Progressing")
    assert c is not None
    assert (c["status"], c["reason"], c["message"]) == ("False", "ProgressDeadlineExceeded",
                                                        'ReplicaSet "web-abc" has timed out progressing.')
    d["status"] = st
    assert r.stuck_requeue_after(d, st, NOW + timedelta(seconds=12)) is None
    # exactly at the deadline is not past it
    assert not r.deployment_timed_out(deployment(3, deadline=10), status, NOW + timedelta(seconds=10))


def test_rollout_status_without_deadline_drops_progressing() -> None:
    d = deployment(1, deadline=None, status={"conditions": [progressing("ReplicaSetUpdated")]})
    st = r.rollout_status(d, [rs("n", 1)], rs("n", 1), NOW)
    assert r.condition(st, "Progressing") is None
    d2 = deployment(1, deadline=2**31 - 1)
    assert r.progress_deadline(d2) is None


def test_replica_failure_is_copied_from_the_new_replica_set_first() -> None:
    d = deployment(1)
    old, new = rs("old", 1), rs("new", 1, created=3)
    fail = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "quota",
            "lastTransitionTime": stamp(NOW)}
    old["status"]["conditions"] = [dict(fail, message="old")]
    new["status"]["conditions"] = [fail]
    st = r.rollout_status(d, [old, new], new, NOW)
    assert r.condition(st, "ReplicaFailure") == {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                                 "message": "quota", "lastUpdateTime": stamp(NOW),
                                                 "lastTransitionTime": stamp(NOW)}
    new["status"]["conditions"] = []
    old["status"]["conditions"] = []
    d["status"] = st
    assert r.condition(r.rollout_status(d, [old, new], new, NOW), "ReplicaFailure") is None


def test_paused_and_resumed_conditions() -> None:
    d = deployment(3, paused=True, status={"conditions": [progressing("NewReplicaSetAvailable")]})
    st = r.paused_status(d, NOW)
    assert st is not None
    c = r.condition(st, "Progressing")
    assert c is not None and (c["status"], c["reason"], c["message"]) == ("Unknown", "DeploymentPaused",
                                                                         "Deployment is paused")
    d["status"] = st
    assert r.paused_status(d, NOW) is None
    d["spec"]["paused"] = False
    st = r.paused_status(d, NOW)
    assert st is not None
    c = r.condition(st, "Progressing")
    assert c is not None and (c["reason"], c["message"]) == ("DeploymentResumed", "Deployment is resumed")
    # a timed-out rollout keeps saying so
    timed = deployment(3, paused=True, status={"conditions": [progressing("ProgressDeadlineExceeded", "False")]})
    assert r.paused_status(timed, NOW) is None
    assert r.paused_status(deployment(3, paused=True, deadline=None), NOW) is None
