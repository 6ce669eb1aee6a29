"""core.ownergraph: what the graph enqueues on each change, and the exact actions `decide` returns."""

from __future__ import annotations

from typing import Any

from core.ownergraph import (
    BACKGROUND_POLICY,
    FOREGROUND,
    FOREGROUND_POLICY,
    ORPHAN,
    Delete,
    LookUp,
    Owner,
    OwnerGraph,
    OwnerRef,
    PatchOwnerRefs,
    Process,
    RemoveFinalizer,
    Target,
    decide,
    judge_live,
    node_of,
    shard_key,
)
from core.workload import owner_reference

NS = "default"
DELETED_AT = "2024-01-01T12:00:00Z"


def obj(kind: str, name: str, uid: str, *owners: dict[str, Any], api_version: str = "v1", ns: str = NS,
        rv: int = 10, deleting: bool = False, finalizers: tuple[str, ...] = ()) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "uid": uid, "resourceVersion": str(rv)}
    if ns:
        md["namespace"] = ns
    if owners:
        md["ownerReferences"] = [dict(o) for o in owners]
    if deleting:
        md["deletionTimestamp"] = DELETED_AT
    if finalizers:
        md["finalizers"] = list(finalizers)
    return {"apiVersion": api_version, "kind": kind, "metadata": md}


def ref(owner: dict[str, Any], *, block: bool = True, controller: bool = True) -> dict[str, Any]:
    return owner_reference(owner, owner["apiVersion"], owner["kind"], controller=controller, block=block)


def cm(name: str, uid: str, *owners: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return obj("ConfigMap", name, uid, *owners, **kw)


def rs(name: str, uid: str, *owners: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return obj("ReplicaSet", name, uid, *owners, api_version="apps/v1", **kw)


def pod(name: str, uid: str, *owners: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return obj("Pod", name, uid, *owners, **kw)


def target(o: dict[str, Any]) -> Target:
    md = o["metadata"]
    return Target(o["apiVersion"], o["kind"], md.get("namespace", ""), md["name"], md["uid"])


def graph(*objs: dict[str, Any]) -> OwnerGraph:
    g = OwnerGraph()
    for o in objs:
        g.observe(o)
    return g


def as_ref(r: dict[str, Any]) -> OwnerRef:
    return OwnerRef(r["apiVersion"], r["kind"], r["name"], r["uid"], bool(r.get("controller")),
                    bool(r.get("blockOwnerDeletion")))


# -- the graph -------------------------------------------------------------------------------------
def test_node_of_reads_identity_refs_and_deletion() -> None:
    owner = rs("web", "u-rs")
    n = node_of(pod("p", "u-p", ref(owner), deleting=True, finalizers=(FOREGROUND,), rv=7))
    assert n is not None
    assert (n.kind, n.namespace, n.name, n.resource_version) == ("Pod", NS, "p", "7")
    assert n.owners == (OwnerRef("apps/v1", "ReplicaSet", "web", "u-rs", True, True),)
    assert n.deleting and n.waiting_for_dependents and not n.orphaning
    assert node_of({"kind": "Pod", "metadata": {"name": "no-uid"}}) is None


def test_observe_enqueues_new_dependents_and_gc_finalized_objects_only() -> None:
    g = OwnerGraph()
    owner = cm("owner", "u-o")
    assert g.observe(owner) == []
    assert g.observe(cm("dep", "u-d", ref(owner))) == ["u-d"]
    assert g.observe(cm("deleting", "u-x", deleting=True, finalizers=(ORPHAN,))) == ["u-x"]
    assert g.observe(cm("plain-deleting", "u-y", deleting=True, finalizers=("example.com/x",))) == []


def test_status_only_changes_enqueue_nothing() -> None:
    owner = cm("owner", "u-o")
    g = graph(owner, cm("dep", "u-d", ref(owner)))
    assert g.observe(cm("dep", "u-d", ref(owner), rv=11)) == []


def test_changed_references_enqueue_the_dependent() -> None:
    a, b = cm("a", "u-a"), cm("b", "u-b")
    g = graph(a, b, cm("dep", "u-d", ref(a)))
    assert g.observe(cm("dep", "u-d", ref(a), ref(b, controller=False), rv=11)) == ["u-d"]
    assert [d.uid for d in g.dependents("u-b")] == ["u-d"]
    assert g.observe(cm("dep", "u-d", ref(b, controller=False), rv=12)) == ["u-d"]
    assert g.dependents("u-a") == []


def test_unblocking_a_reference_enqueues_the_waiting_owner() -> None:
    owner = cm("owner", "u-o", deleting=True, finalizers=(FOREGROUND,))
    other = cm("other", "u-b")
    g = graph(owner, other, cm("dep", "u-d", ref(owner), ref(other, controller=False)))
    unblocked = {**ref(owner), "blockOwnerDeletion": False}
    assert g.observe(cm("dep", "u-d", unblocked, ref(other, controller=False), rv=11)) == ["u-d", "u-o"]


def test_becoming_deleting_with_a_gc_finalizer_enqueues_the_owner() -> None:
    g = graph(cm("owner", "u-o"))
    assert g.observe(cm("owner", "u-o", deleting=True, finalizers=(ORPHAN,), rv=11)) == ["u-o"]
    # the same state again (a label change): nothing new to decide
    assert g.observe(cm("owner", "u-o", deleting=True, finalizers=(ORPHAN,), rv=12)) == []


def test_starting_foreground_deletion_enqueues_the_owner_and_its_dependents() -> None:
    owner = cm("owner", "u-o")
    g = graph(owner, cm("d1", "u-d1", ref(owner)), cm("d2", "u-d2", ref(owner, block=False)))
    assert g.observe(cm("owner", "u-o", deleting=True, finalizers=(FOREGROUND,), rv=11)) == ["u-o", "u-d1", "u-d2"]
    # seen first while already waiting (a restart): the same
    g2 = graph(cm("d1", "u-d1", ref(owner)))
    assert g2.observe(cm("owner", "u-o", deleting=True, finalizers=(FOREGROUND,))) == ["u-o", "u-d1"]


def test_forget_enqueues_dependents_and_waiting_owners() -> None:
    top = rs("top", "u-top", deleting=True, finalizers=(FOREGROUND,))
    mid = cm("mid", "u-mid", ref(top))
    g = graph(top, mid, cm("leaf1", "u-l1", ref(mid)), cm("leaf2", "u-l2", ref(mid)))
    assert g.forget(mid) == ["u-l1", "u-l2", "u-top"]
    assert g.node("u-mid") is None
    # the dependents still point at the gone owner
    assert [d.uid for d in g.dependents("u-mid")] == ["u-l1", "u-l2"]
    assert g.forget(mid) == []


def test_shard_key_follows_the_controller() -> None:
    owner = rs("web", "u-rs")
    other = cm("other", "u-b")
    n = node_of(pod("p", "u-p", ref(other, controller=False), ref(owner)))
    assert n is not None and shard_key(n) == "default/web"
    lone = node_of(cm("lone", "u-l"))
    assert lone is not None and shard_key(lone) == "default/lone"
    node_owned = node_of(pod("q", "u-q", {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "u-n"}))
    assert node_owned is not None and shard_key(node_owned) == "n1"


# -- decisions: dependents -------------------------------------------------------------------------
def test_all_owners_present_means_nothing() -> None:
    owner = cm("owner", "u-o")
    g = graph(owner, cm("dep", "u-d", ref(owner)))
    assert decide(g, "u-d") == []
    assert decide(g, "u-o") == []
    assert decide(g, "u-unknown") == []


def test_missing_owner_is_looked_up_first() -> None:
    owner = cm("owner", "u-o")
    g = graph(cm("dep", "u-d", ref(owner)))
    assert decide(g, "u-d") == [LookUp("u-d", (as_ref(ref(owner)),))]


def test_absent_owner_after_look_up_deletes_in_background() -> None:
    owner = cm("owner", "u-o")
    dep = cm("dep", "u-d", ref(owner))
    g = graph(dep)
    assert decide(g, "u-d", {"u-o": Owner.ABSENT}) == [
        Delete(target(dep), BACKGROUND_POLICY, expect_refs=(ref(owner),), why="all owners are gone")]


def test_owner_found_live_is_solid() -> None:
    owner = cm("owner", "u-o")
    g = graph(cm("dep", "u-d", ref(owner)))
    assert decide(g, "u-d", {"u-o": Owner.SOLID}) == []


def test_dangling_reference_removed_when_another_owner_remains() -> None:
    a, b = cm("a", "u-a"), cm("b", "u-b")
    dep = cm("dep", "u-d", ref(a), ref(b, controller=False), rv=42)
    g = graph(b, dep)
    assert decide(g, "u-d", {"u-a": Owner.ABSENT}) == [
        PatchOwnerRefs(target(dep), "42", (ref(b, controller=False),), why="dangling references removed")]


def test_owner_with_matching_uid_but_other_name_counts_as_absent() -> None:
    owner = cm("owner", "u-o")
    renamed = {**ref(owner), "name": "not-the-owner"}
    g = graph(owner, cm("dep", "u-d", renamed))
    assert decide(g, "u-d") == [LookUp("u-d", (as_ref(renamed),))]


def test_owner_in_another_namespace_counts_as_absent() -> None:
    owner = cm("owner", "u-o", ns="elsewhere")
    g = graph(owner, cm("dep", "u-d", ref(owner)))
    assert decide(g, "u-d") == [LookUp("u-d", (as_ref(ref(owner)),))]


def test_namespaced_owner_of_a_cluster_scoped_object_is_dangling() -> None:
    owner = cm("owner", "u-o")
    pv = obj("PersistentVolume", "pv1", "u-pv", ref(owner), ns="")
    g = graph(owner, pv)
    assert decide(g, "u-pv") == [Delete(target(pv), BACKGROUND_POLICY, expect_refs=(ref(owner),),
                                        why="all owners are gone")]


def test_unknown_owner_kind_is_never_collected_on() -> None:
    weird = {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "u-w"}
    g = graph(cm("dep", "u-d", weird))
    assert decide(g, "u-d") == []


def test_judge_live() -> None:
    r = as_ref(ref(cm("owner", "u-o")))
    assert judge_live(r, None) is Owner.ABSENT
    assert judge_live(r, cm("owner", "u-other")) is Owner.ABSENT
    assert judge_live(r, cm("owner", "u-o")) is Owner.SOLID
    assert judge_live(r, cm("owner", "u-o", deleting=True, finalizers=(ORPHAN,))) is Owner.SOLID
    assert judge_live(r, cm("owner", "u-o", deleting=True, finalizers=(FOREGROUND,))) is Owner.WAITING


def test_deleting_dependent_is_left_alone() -> None:
    owner = cm("owner", "u-o")
    g = graph(cm("dep", "u-d", ref(owner), deleting=True))
    assert decide(g, "u-d") == []


# -- decisions: foreground -------------------------------------------------------------------------
def test_foreground_owner_processes_its_dependents() -> None:
    owner = rs("web", "u-rs", deleting=True, finalizers=(FOREGROUND,))
    g = graph(owner, pod("p1", "u-p1", ref(owner)), pod("p2", "u-p2", ref(owner, block=False)),
              pod("p3", "u-p3", ref(owner), deleting=True))
    assert decide(g, "u-rs") == [Process(("u-p1", "u-p2"))]


def test_foreground_owner_waits_for_terminating_dependents() -> None:
    owner = rs("web", "u-rs", deleting=True, finalizers=(FOREGROUND,))
    g = graph(owner, pod("p1", "u-p1", ref(owner), deleting=True))
    assert decide(g, "u-rs") == []


def test_foreground_owner_without_blocking_dependents_is_released() -> None:
    owner = rs("web", "u-rs", deleting=True, finalizers=("example.com/x", FOREGROUND), rv=9)
    g = graph(owner, pod("p1", "u-p1", ref(owner, block=False)))
    assert decide(g, "u-rs") == [RemoveFinalizer(target(owner), "9", FOREGROUND, ("example.com/x",))]
    assert decide(graph(owner), "u-rs") == [RemoveFinalizer(target(owner), "9", FOREGROUND, ("example.com/x",))]


def test_dependent_of_a_foreground_owner_is_deleted_in_background_when_it_has_no_dependents() -> None:
    owner = rs("web", "u-rs", deleting=True, finalizers=(FOREGROUND,))
    p = pod("p1", "u-p1", ref(owner))
    g = graph(owner, p)
    assert decide(g, "u-p1") == [Delete(target(p), BACKGROUND_POLICY, expect_refs=(ref(owner),),
                                        why="owners deleting in the foreground")]


def test_dependent_with_dependents_of_a_foreground_owner_is_deleted_in_foreground() -> None:
    deploy = obj("Deployment", "web", "u-dep", api_version="apps/v1", deleting=True, finalizers=(FOREGROUND,))
    r = rs("web-1", "u-rs", ref(deploy))
    g = graph(deploy, r, pod("p1", "u-p1", ref(r)))
    assert decide(g, "u-rs") == [Delete(target(r), FOREGROUND_POLICY, expect_refs=(ref(deploy),),
                                        why="owners deleting in the foreground")]
    # the ReplicaSet, once waiting itself, keeps the Deployment waiting
    g.observe(rs("web-1", "u-rs", ref(deploy), deleting=True, finalizers=(FOREGROUND,), rv=11))
    assert decide(g, "u-dep") == []
    assert decide(g, "u-rs") == [Process(("u-p1",))]


def test_waiting_owner_is_unblocked_when_a_solid_owner_remains() -> None:
    owner = cm("owner", "u-o", deleting=True, finalizers=(FOREGROUND,))
    other = cm("other", "u-b")
    dep = cm("dep", "u-d", ref(owner), ref(other, controller=False), rv=30)
    g = graph(owner, other, dep)
    assert decide(g, "u-d") == [PatchOwnerRefs(
        target(dep), "30", ({**ref(owner), "blockOwnerDeletion": False}, ref(other, controller=False)),
        why="owners deleting in the foreground unblocked")]
    # a non-blocking reference to the waiting owner needs nothing
    g2 = graph(owner, other, cm("dep", "u-d", ref(owner, block=False), ref(other, controller=False)))
    assert decide(g2, "u-d") == []


def test_waiting_owner_found_live() -> None:
    owner = cm("owner", "u-o")
    dep = cm("dep", "u-d", ref(owner))
    g = graph(dep)
    assert decide(g, "u-d", {"u-o": Owner.WAITING}) == [
        Delete(target(dep), BACKGROUND_POLICY, expect_refs=(ref(owner),), why="owners deleting in the foreground")]


# -- decisions: orphan -----------------------------------------------------------------------------
def test_orphan_removes_the_reference_from_every_dependent_then_the_finalizer() -> None:
    owner = cm("owner", "u-o", deleting=True, finalizers=(ORPHAN,), rv=5)
    other = cm("other", "u-b")
    d1 = cm("d1", "u-d1", ref(owner), rv=6)
    d2 = cm("d2", "u-d2", ref(other, controller=False), ref(owner), rv=7)
    g = graph(owner, other, d1, d2)
    assert decide(g, "u-o") == [
        PatchOwnerRefs(target(d1), "6", (), why="orphaned by ConfigMap owner"),
        PatchOwnerRefs(target(d2), "7", (ref(other, controller=False),), why="orphaned by ConfigMap owner"),
        RemoveFinalizer(target(owner), "5", ORPHAN, ()),
    ]


def test_orphan_without_dependents_only_removes_the_finalizer() -> None:
    owner = cm("owner", "u-o", deleting=True, finalizers=(ORPHAN, "example.com/x"), rv=5)
    assert decide(graph(owner), "u-o") == [RemoveFinalizer(target(owner), "5", ORPHAN, ("example.com/x",))]


def test_deleting_owner_without_gc_finalizers_needs_nothing() -> None:
    owner = cm("owner", "u-o", deleting=True, finalizers=("example.com/x",))
    g = graph(owner, cm("dep", "u-d", ref(owner)))
    assert decide(g, "u-o") == []
    assert decide(g, "u-d") == []  # its owner still exists: solid
