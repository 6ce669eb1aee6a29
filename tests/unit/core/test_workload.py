"""Owner references, claiming, pod readiness and the deletion order shared by the workload controllers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from core.selectors import LabelSelector
from core.workload import (available_in, claim, controller_ref, deletion_order, generate_name_prefix, is_active,
                           is_available, owner_reference, pod_from_template, with_owner, without_owner)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(name: str, *, labels: dict[str, str] | None = None, owner: str | None = None, node: str = "",
        phase: str = "Running", ready: bool | None = True, ready_since: datetime = NOW - timedelta(minutes=5),
        created: datetime = NOW - timedelta(minutes=10), restarts: int = 0, deleting: bool = False) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "labels": labels or {"app": "a"},
                          "creationTimestamp": stamp(created)}
    if owner:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "uid": owner,
                                  "controller": True}]
    if deleting:
        md["deletionTimestamp"] = stamp(NOW)
    status: dict[str, Any] = {"phase": phase, "containerStatuses": [{"restartCount": restarts}]}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False",
                                 "lastTransitionTime": stamp(ready_since)}]
    return {"metadata": md, "spec": {"nodeName": node}, "status": status}


RS: dict[str, Any] = {"metadata": {"name": "rs", "namespace": "ns", "uid": "rs"}}
SEL = LabelSelector.from_labels({"app": "a"})


def test_owner_reference_and_controller_ref() -> None:
    ref = owner_reference(RS, "apps/v1", "ReplicaSet")
    assert ref == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs", "controller": True,
                   "blockOwnerDeletion": True}
    p = pod("p", owner="rs")
    assert (controller_ref(p) or {}).get("uid") == "rs"
    assert controller_ref(pod("q")) is None
    assert [r["uid"] for r in with_owner(p, {"uid": "x"})] == ["rs", "x"]
    assert without_owner(p, "rs") == []


def test_claim_sorts_owned_adopt_release_and_ignores_others() -> None:
    mine = pod("mine", owner="rs")
    strayed = pod("strayed", owner="rs", labels={"app": "b"})
    orphan = pod("orphan")
    orphan_other = pod("orphan-other", labels={"app": "b"})
    others = pod("others", owner="other")
    dying_orphan = pod("dying", deleting=True)
    c = claim(RS, SEL, [mine, strayed, orphan, orphan_other, others, dying_orphan])
    assert [p["metadata"]["name"] for p in c.owned] == ["mine"]
    assert [p["metadata"]["name"] for p in c.adopt] == ["orphan"]
    assert [p["metadata"]["name"] for p in c.release] == ["strayed"]
    assert claim(RS, SEL, [orphan], can_adopt=False).adopt == []
    deleting_rs = {"metadata": {**RS["metadata"], "deletionTimestamp": stamp(NOW)}}
    c = claim(deleting_rs, SEL, [orphan, strayed])
    assert c.adopt == [] and c.release == []


def test_activity_and_availability() -> None:
    assert is_active(pod("p")) and not is_active(pod("p", phase="Succeeded")) and not is_active(pod("p", deleting=True))
    fresh = pod("p", ready_since=NOW - timedelta(seconds=3))
    assert is_available(fresh, 0, NOW) and not is_available(fresh, 10, NOW) and is_available(fresh, 3, NOW)
    assert available_in(fresh, 10, NOW) == 7.0 and available_in(pod("p", ready=False), 10, NOW) is None
    assert not is_available(pod("p", ready=False), 0, NOW)


def test_deletion_order_is_kubernetes_active_pods_order() -> None:
    pods = [
        pod("ready-old", node="n", ready_since=NOW - timedelta(hours=1), created=NOW - timedelta(hours=2)),
        pod("ready-new", node="n", ready_since=NOW - timedelta(minutes=1), created=NOW - timedelta(hours=2)),
        pod("unscheduled", phase="Pending", ready=None),
        pod("pending", node="n", phase="Pending", ready=None),
        pod("not-ready", node="n", ready=False),
        pod("restarted", node="n", ready_since=NOW - timedelta(hours=1), restarts=3, created=NOW - timedelta(hours=2)),
    ]
    assert [p["metadata"]["name"] for p in deletion_order(pods)] == [
        "unscheduled", "pending", "not-ready", "ready-new", "restarted", "ready-old"]


def test_pod_from_template() -> None:
    tpl: dict[str, Any] = {"metadata": {"labels": {"app": "a"}, "annotations": {"x": "y"}, "name": "ignored"},
           "spec": {"containers": [{"name": "c", "image": "i"}]}}
    ref = owner_reference(RS, "apps/v1", "ReplicaSet")
    body = pod_from_template(tpl, ref, generate_name="rs-", extra_labels={"h": "1"})
    assert body == {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"generateName": "rs-", "labels": {"app": "a", "h": "1"}, "annotations": {"x": "y"},
                                 "ownerReferences": [ref]},
                    "spec": {"containers": [{"name": "c", "image": "i"}]}}
    body["spec"]["containers"][0]["image"] = "changed"
    assert tpl["spec"]["containers"][0]["image"] == "i"  # a copy, never the template itself
    assert pod_from_template(tpl, None, name="web-0")["metadata"]["name"] == "web-0"
    assert generate_name_prefix("x" * 80) == "x" * 58 and generate_name_prefix("web") == "web-"


def test_controller_key_names_the_controller_of_one_kind() -> None:
    from core.workload import controller_key
    pod = {"metadata": {"namespace": "ns", "ownerReferences": [
        {"kind": "Node", "name": "n", "uid": "1"},
        {"kind": "Job", "name": "pi", "uid": "2", "controller": True}]}}
    assert controller_key(pod, "Job") == "ns/pi"
    assert controller_key(pod, "ReplicaSet") is None
    assert controller_key({"metadata": {"ownerReferences": [{"kind": "Job", "name": "pi"}]}}, "Job") is None
