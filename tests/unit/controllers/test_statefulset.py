"""The StatefulSet decisions (core/statefulsets.py): identity, revisions, the exact plans for
OrderedReady and Parallel, scale-down order, rolling updates with a partition, status."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

from core.history import template_hash, template_of
from core.statefulsets import (
    CreateClaims,
    CreatePod,
    DeletePod,
    OwnClaims,
    Revisions,
    claim_bodies,
    ordinal_of,
    pod_body,
    plan,
    prunable,
    revisions,
    status,
)

NOW = datetime(2027, 1, 15, 8, 0, 0, tzinfo=timezone.utc)
T1: dict[str, Any] = {"metadata": {"labels": {"app": "nginx"}},
                      "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}],
                               "volumes": [{"name": "www", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}]}}
T2: dict[str, Any] = copy.deepcopy(T1)
T2["spec"]["containers"][0]["image"] = "nginx:2"
OLD, NEW = "web-old", "web-new"
SAME = Revisions(NEW, NEW, T2, T2, 0)
ROLL = Revisions(OLD, NEW, T1, T2, 0)


def sts(replicas: int = 3, *, policy: str = "OrderedReady", strategy: str = "RollingUpdate", partition: int = 0,
        claims: bool = True, start: int | None = None, min_ready: int = 0, template: dict[str, Any] | None = None,
        status_: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"replicas": replicas, "serviceName": "nginx", "podManagementPolicy": policy,
                            "selector": {"matchLabels": {"app": "nginx"}}, "template": template or T2,
                            "updateStrategy": {"type": strategy}, "minReadySeconds": min_ready,
                            "revisionHistoryLimit": 2, **extra}
    if strategy == "RollingUpdate":
        spec["updateStrategy"]["rollingUpdate"] = {"partition": partition}
    if claims:
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "www", "labels": {"tier": "db"}},
                                         "spec": {"accessModes": ["ReadWriteOnce"],
                                                  "resources": {"requests": {"storage": "1Gi"}}}}]
    if start is not None:
        spec["ordinals"] = {"start": start}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "ns", "uid": "set-uid", "generation": 4, "resourceVersion": "9"},
            "spec": spec, "status": status_ or {}}


def pod(i: int, *, phase: str = "Running", ready: bool = True, rev: str = NEW, deleting: bool = False,
        ready_for: float = 3600.0) -> dict[str, Any]:
    md: dict[str, Any] = {"name": f"web-{i}", "namespace": "ns", "uid": f"uid-{i}",
                          "labels": {"app": "nginx", "controller-revision-hash": rev}}
    if deleting:
        md["deletionTimestamp"] = "2027-01-15T07:59:00Z"
    since = (NOW - timedelta(seconds=ready_for)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"metadata": md, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": since}]}}


def claims_for(*ordinals: int, deleting: bool = False) -> dict[str, dict[str, Any]]:
    out = {}
    for i in ordinals:
        md: dict[str, Any] = {"name": f"www-web-{i}", "namespace": "ns", "uid": f"claim-{i}"}
        if deleting:
            md["deletionTimestamp"] = "2027-01-15T07:59:00Z"
        out[f"www-web-{i}"] = {"metadata": md}
    return out


ALL = claims_for(0, 1, 2, 3, 4)


def summary(actions: list[Any]) -> list[tuple[str, str]]:
    out = []
    for a in actions:
        if isinstance(a, CreatePod):
            out.append(("create", a.pod["metadata"]["name"]))
        elif isinstance(a, DeletePod):
            out.append((f"delete:{a.why}", a.name))
        elif isinstance(a, CreateClaims):
            out.append(("claims", a.pod))
        elif isinstance(a, OwnClaims):
            out.append(("own-claims", a.pod))
    return out


# -- identity ---------------------------------------------------------------------------------------
def test_pod_identity_labels_volumes_and_owner() -> None:
    p = pod_body(sts(), T2, 1, NEW)
    md = p["metadata"]
    assert md["name"] == "web-1" and md["namespace"] == "ns"
    assert md["labels"] == {"app": "nginx", "statefulset.kubernetes.io/pod-name": "web-1",
                            "apps.kubernetes.io/pod-index": "1", "controller-revision-hash": NEW}
    assert md["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                                      "uid": "set-uid", "controller": True, "blockOwnerDeletion": True}]
    assert p["spec"]["hostname"] == "web-1" and p["spec"]["subdomain"] == "nginx"
    # the claim replaces the template's volume of the same name; the others stay
    assert p["spec"]["volumes"] == [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-1"}},
                                    {"name": "cfg", "configMap": {"name": "c"}}]
    assert p["spec"]["containers"][0]["image"] == "nginx:2"
    assert T2["spec"]["volumes"][0] == {"name": "www", "emptyDir": {}}  # the template is not touched


def test_claims_take_template_and_selector_labels_and_retention_owner() -> None:
    (c,) = claim_bodies(sts(), 2)
    assert c["metadata"] == {"name": "www-web-2", "namespace": "ns", "labels": {"tier": "db", "app": "nginx"}}
    assert c["spec"]["resources"] == {"requests": {"storage": "1Gi"}}
    (d,) = claim_bodies(sts(persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete"}), 0)
    assert d["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                                                 "uid": "set-uid", "blockOwnerDeletion": True}]
    assert claim_bodies(sts(claims=False), 0) == []


def test_membership_is_by_name() -> None:
    s = sts()
    assert ordinal_of(s, {"metadata": {"name": "web-12"}}) == 12
    assert ordinal_of(s, {"metadata": {"name": "web2-1"}}) is None
    assert ordinal_of(s, {"metadata": {"name": "web-x"}}) is None
    assert ordinal_of(s, {"metadata": {"name": "other-web-1"}}) is None


# -- revisions ----------------------------------------------------------------------------------------
def test_first_revision_is_created_and_is_current_and_update() -> None:
    r = revisions(sts(), [])
    name = f"web-{template_hash(T2)}"
    assert (r.current, r.update, r.collision_count) == (name, name, 0)
    assert r.create is not None and r.create["metadata"]["name"] == name and r.create["revision"] == 1
    assert r.create["metadata"]["labels"] == {"app": "nginx", "controller-revision-hash": template_hash(T2)}
    assert template_of(r.create) == T2
    assert r.create["metadata"]["ownerReferences"][0]["uid"] == "set-uid"


def test_existing_revision_is_reused_and_a_new_template_makes_the_next() -> None:
    first = revisions(sts(template=T1), []).create
    assert first is not None
    again = revisions(sts(template=T1, status_={"currentRevision": first["metadata"]["name"]}), [first])
    assert again.create is None and again.update == again.current == first["metadata"]["name"]
    changed = revisions(sts(template=T2, status_={"currentRevision": first["metadata"]["name"]}), [first])
    assert changed.create is not None and changed.create["revision"] == 2
    assert changed.current == first["metadata"]["name"] and changed.current_template == T1
    assert changed.update == changed.create["metadata"]["name"] != changed.current
    # rolling back to T1 reuses the first revision
    back = revisions(sts(template=T1, status_={"currentRevision": changed.update}), [first, changed.create])
    assert back.create is None and back.update == first["metadata"]["name"] and back.current == changed.update


def test_a_name_taken_by_another_template_bumps_the_collision_count() -> None:
    squatter = revisions(sts(template=T1), []).create
    assert squatter is not None
    squatter["metadata"]["name"] = f"web-{template_hash(T2)}"  # holds T1 under T2's name
    r = revisions(sts(template=T2), [squatter])
    assert r.collision_count == 1 and r.update == f"web-{template_hash(T2, 1)}"
    assert r.create is not None and r.create["revision"] == 2


def test_prune_keeps_live_revisions_and_the_newest_history() -> None:
    revs = [{"metadata": {"name": f"web-r{i}"}, "revision": i} for i in range(1, 7)]
    pods = [pod(0, rev="web-r2")]
    gone = prunable(sts(), revs, pods, "web-r5", "web-r6")  # limit 2: r3, r4 kept; r2 used by a pod
    assert [r["metadata"]["name"] for r in gone] == ["web-r1"]
    assert prunable(sts(), revs[:3], [], "web-r3", "web-r3") == []


# -- OrderedReady ---------------------------------------------------------------------------------------
def test_ordered_ready_creates_one_at_a_time_after_its_predecessor_is_ready() -> None:
    s = sts()
    p = plan(s, [], SAME, {}, NOW)
    assert summary(p.actions) == [("create", "web-0")]
    (a,) = p.actions
    assert isinstance(a, CreatePod) and [c["metadata"]["name"] for c in a.claims] == ["www-web-0"]
    assert plan(s, [pod(0, phase="Pending", ready=False)], SAME, claims_for(0), NOW).actions == []
    assert plan(s, [pod(0, ready=False)], SAME, claims_for(0), NOW).actions == []
    p = plan(s, [pod(0)], SAME, claims_for(0), NOW)
    assert summary(p.actions) == [("create", "web-1")] and p.waiting_on == "web-1 to be created"
    assert summary(plan(s, [pod(0), pod(1)], SAME, claims_for(0, 1), NOW).actions) == [("create", "web-2")]
    assert plan(s, [pod(0), pod(1), pod(2)], SAME, ALL, NOW).actions == []


def test_existing_claim_is_not_created_again_and_a_terminating_one_blocks_the_pod() -> None:
    (a,) = plan(sts(), [], SAME, claims_for(0), NOW).actions
    assert isinstance(a, CreatePod) and a.claims == ()
    p = plan(sts(), [], SAME, claims_for(0, deleting=True), NOW)
    assert p.actions == [] and "www-web-0" in p.waiting_on
    # a running pod whose claim went missing gets it back
    assert summary(plan(sts(1), [pod(0)], SAME, {}, NOW).actions) == [("claims", "web-0")]


def test_a_gap_is_filled_first_and_a_predecessor_gone_bad_stops_progress() -> None:
    s = sts()
    assert summary(plan(s, [pod(1), pod(2)], SAME, ALL, NOW).actions) == [("create", "web-0")]
    assert plan(s, [pod(0, ready=False), pod(1)], SAME, ALL, NOW).actions == []
    assert plan(s, [pod(0, deleting=True), pod(1)], SAME, ALL, NOW).actions == []


def test_failed_pod_is_deleted_then_recreated() -> None:
    s = sts()
    p = plan(s, [pod(0), pod(1, phase="Failed", ready=False), pod(2)], SAME, ALL, NOW)
    assert summary(p.actions) == [("delete:failed", "web-1")]
    assert plan(s, [pod(0), pod(1, phase="Failed", ready=False, deleting=True), pod(2)], SAME, ALL, NOW).actions == []
    assert summary(plan(s, [pod(0), pod(2)], SAME, ALL, NOW).actions) == [("create", "web-1")]
    succeeded = plan(s, [pod(0, phase="Succeeded", ready=False)], SAME, ALL, NOW)
    assert summary(succeeded.actions) == [("delete:failed", "web-0")]


def test_min_ready_seconds_holds_the_next_pod_and_asks_to_look_again() -> None:
    s = sts(min_ready=10)
    p = plan(s, [pod(0, ready_for=4)], SAME, ALL, NOW)
    assert p.actions == [] and p.requeue_after == 6.0
    assert summary(plan(s, [pod(0, ready_for=10)], SAME, ALL, NOW).actions) == [("create", "web-1")]


def test_scale_down_from_the_highest_one_at_a_time() -> None:
    s = sts(1)
    three = [pod(0), pod(1), pod(2)]
    assert summary(plan(s, three, SAME, ALL, NOW).actions) == [("delete:condemned", "web-2")]
    assert plan(s, [pod(0), pod(1), pod(2, deleting=True)], SAME, ALL, NOW).actions == []
    assert summary(plan(s, [pod(0), pod(1)], SAME, ALL, NOW).actions) == [("delete:condemned", "web-1")]
    # nothing goes while a remaining replica is not Running and Ready
    assert plan(s, [pod(0, ready=False), pod(1), pod(2)], SAME, ALL, NOW).actions == []
    # an unhealthy condemned pod goes first only if it is the first unhealthy one
    assert summary(plan(s, [pod(0), pod(1), pod(2, ready=False)], SAME, ALL, NOW).actions) == [
        ("delete:condemned", "web-2")]
    assert plan(s, [pod(0), pod(1, ready=False), pod(2, ready=False)], SAME, ALL, NOW).actions == []
    # scaling to zero
    assert summary(plan(sts(0), [pod(0)], SAME, ALL, NOW).actions) == [("delete:condemned", "web-0")]


def test_scale_down_when_scaled_delete_hands_claims_to_the_pod_first() -> None:
    s = sts(1, persistentVolumeClaimRetentionPolicy={"whenDeleted": "Retain", "whenScaled": "Delete"})
    p = plan(s, [pod(0), pod(1)], SAME, ALL, NOW)
    assert summary(p.actions) == [("own-claims", "web-1"), ("delete:condemned", "web-1")]
    assert p.actions[0] == OwnClaims("web-1", "uid-1", ("www-web-1",))
    owned = claims_for(0, 1)
    owned["www-web-1"]["metadata"]["ownerReferences"] = [{"kind": "Pod", "name": "web-1", "uid": "uid-1"}]
    assert summary(plan(s, [pod(0), pod(1)], SAME, owned, NOW).actions) == [("delete:condemned", "web-1")]


def test_start_ordinal_shifts_the_range() -> None:
    s = sts(2, start=5)
    assert summary(plan(s, [], SAME, {}, NOW).actions) == [("create", "web-5")]
    assert summary(plan(s, [pod(5), pod(6), pod(0)], SAME, {}, NOW).actions)[-1] == ("delete:condemned", "web-0")


# -- Parallel ------------------------------------------------------------------------------------------
def test_parallel_creates_and_deletes_all_at_once() -> None:
    s = sts(policy="Parallel")
    assert summary(plan(s, [], SAME, {}, NOW).actions) == [("create", "web-0"), ("create", "web-1"),
                                                           ("create", "web-2")]
    assert summary(plan(s, [pod(0, phase="Pending", ready=False)], SAME, ALL, NOW).actions) == [
        ("create", "web-1"), ("create", "web-2")]
    down = sts(1, policy="Parallel")
    assert summary(plan(down, [pod(0, ready=False), pod(1), pod(2, ready=False)], SAME, ALL, NOW).actions) == [
        ("delete:condemned", "web-2"), ("delete:condemned", "web-1")]
    failed = plan(s, [pod(0, phase="Failed"), pod(1)], SAME, ALL, NOW)
    assert summary(failed.actions) == [("delete:failed", "web-0"), ("create", "web-2")]


def test_parallel_still_updates_one_pod_at_a_time() -> None:
    s = sts(policy="Parallel")
    old = [pod(0, rev=OLD), pod(1, rev=OLD), pod(2, rev=OLD)]
    assert summary(plan(s, old, ROLL, ALL, NOW).actions) == [("delete:update", "web-2")]


# -- rolling update ------------------------------------------------------------------------------------
def test_rolling_update_goes_from_the_highest_ordinal_down_waiting_for_each() -> None:
    s = sts()
    assert summary(plan(s, [pod(0, rev=OLD), pod(1, rev=OLD), pod(2, rev=OLD)], ROLL, ALL, NOW).actions) == [
        ("delete:update", "web-2")]
    assert plan(s, [pod(0, rev=OLD), pod(1, rev=OLD), pod(2, rev=OLD, deleting=True)], ROLL, ALL, NOW).actions == []
    (create,) = plan(s, [pod(0, rev=OLD), pod(1, rev=OLD)], ROLL, ALL, NOW).actions
    assert isinstance(create, CreatePod) and create.ordinal == 2
    assert create.pod["metadata"]["labels"]["controller-revision-hash"] == NEW
    assert create.pod["spec"]["containers"][0]["image"] == "nginx:2"
    assert plan(s, [pod(0, rev=OLD), pod(1, rev=OLD), pod(2, ready=False)], ROLL, ALL, NOW).actions == []
    assert summary(plan(s, [pod(0, rev=OLD), pod(1, rev=OLD), pod(2)], ROLL, ALL, NOW).actions) == [
        ("delete:update", "web-1")]
    assert summary(plan(s, [pod(0, rev=OLD), pod(1), pod(2)], ROLL, ALL, NOW).actions) == [
        ("delete:update", "web-0")]
    assert plan(s, [pod(0), pod(1), pod(2)], ROLL, ALL, NOW).actions == []


def test_partition_keeps_lower_ordinals_on_the_current_revision() -> None:
    s = sts(partition=2)
    assert summary(plan(s, [pod(0, rev=OLD), pod(1, rev=OLD), pod(2, rev=OLD)], ROLL, ALL, NOW).actions) == [
        ("delete:update", "web-2")]
    assert plan(s, [pod(0, rev=OLD), pod(1, rev=OLD), pod(2)], ROLL, ALL, NOW).actions == []
    # a lost pod below the partition comes back at the current revision, with its template
    (create,) = plan(s, [pod(1, rev=OLD), pod(2)], ROLL, ALL, NOW).actions
    assert isinstance(create, CreatePod) and create.ordinal == 0
    assert create.pod["metadata"]["labels"]["controller-revision-hash"] == OLD
    assert create.pod["spec"]["containers"][0]["image"] == "nginx:1"


def test_on_delete_only_recreates_what_the_user_deleted() -> None:
    s = sts(strategy="OnDelete")
    assert plan(s, [pod(0, rev=OLD), pod(1, rev=OLD), pod(2, rev=OLD)], ROLL, ALL, NOW).actions == []
    (create,) = plan(s, [pod(0, rev=OLD), pod(2, rev=OLD)], ROLL, ALL, NOW).actions
    assert isinstance(create, CreatePod) and create.pod["metadata"]["labels"]["controller-revision-hash"] == NEW


def test_scale_down_comes_before_the_update() -> None:
    s = sts(2)
    old = [pod(0, rev=OLD), pod(1, rev=OLD), pod(2, rev=OLD)]
    assert summary(plan(s, old, ROLL, ALL, NOW).actions) == [("delete:condemned", "web-2")]


def test_a_set_being_deleted_does_nothing() -> None:
    s = sts()
    s["metadata"]["deletionTimestamp"] = "2027-01-15T07:00:00Z"
    assert plan(s, [], SAME, {}, NOW).actions == []


# -- status --------------------------------------------------------------------------------------------
def test_status_counts_and_revisions() -> None:
    s = sts(min_ready=60, status_={"collisionCount": 0, "conditions": [{"type": "X"}]})
    pods = [pod(0, rev=OLD), pod(1, rev=OLD, ready_for=10), pod(2, phase="Pending", ready=False),
            pod(3, rev=OLD, deleting=True), {"metadata": {"name": "stray", "labels": {}}}]
    st = status(s, pods, ROLL, NOW)
    assert st == {"replicas": 4, "readyReplicas": 3, "availableReplicas": 2, "currentReplicas": 2,
                  "updatedReplicas": 1, "observedGeneration": 4, "currentRevision": OLD, "updateRevision": NEW,
                  "collisionCount": 0, "conditions": [{"type": "X"}]}


def test_status_completes_the_rolling_update_when_every_pod_is_updated_and_ready() -> None:
    st = status(sts(), [pod(0), pod(1), pod(2)], ROLL, NOW)
    assert st["currentRevision"] == NEW and st["currentReplicas"] == 3 and st["updatedReplicas"] == 3
    partial = status(sts(), [pod(0, rev=OLD), pod(1), pod(2)], ROLL, NOW)
    assert partial["currentRevision"] == OLD and partial["currentReplicas"] == 1
    on_delete = status(sts(strategy="OnDelete"), [pod(0), pod(1), pod(2)], ROLL, NOW)
    assert on_delete["currentRevision"] == OLD and on_delete["currentReplicas"] == 0
