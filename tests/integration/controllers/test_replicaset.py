"""The ReplicaSet and ReplicationController controllers against a real nats-server and API server,
with the real scheduler and a simulated kubelet so that pods turn Running and Ready.

Each test makes its own set in `default`; everything is polled with a deadline (`eventually`),
nothing asserts how long it took.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bus.apiclient import ApiClient
from bus.log import Entry
from core.keys import KeyFilter
from core.kinds import Stream
from core.workload import controller_ref, is_active, is_ready
from tests.integration.conftest import Plane, eventually
from tests.integration.controllers.conftest import controllers, get_or_none, pods_of, sim_cluster

pytestmark = pytest.mark.integration

NS = "default"
RS = "replicasets.apps"
RC = "replicationcontrollers"


def template(labels: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"labels": labels},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "c", "image": "busybox"}]}}


def replicaset(name: str, replicas: int, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template(labels)}}


def selector(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


async def owned_pods(api: ApiClient, owner: dict[str, Any], labels: dict[str, str]) -> list[dict[str, Any]]:
    uid = owner["metadata"]["uid"]
    return [p for p in await pods_of(api, NS, selector(labels))
            if (controller_ref(p) or {}).get("uid") == uid and is_active(p)]


async def settled(api: ApiClient, resource: str, name: str, labels: dict[str, str], n: int) -> Any:
    """The set has exactly `n` active owned pods, all Ready, and a status saying so; returns them."""
    s = await api.get(resource, NS, name)
    pods = await owned_pods(api, s, labels)
    if len(pods) != n or not all(is_ready(p) for p in pods):
        return None
    st = s.get("status") or {}
    if (st.get("replicas", 0), st.get("readyReplicas", 0), st.get("availableReplicas", 0)) != (n, n, n):
        return None
    if st.get("observedGeneration") != s["metadata"].get("generation"):
        return None
    return pods


async def scale(api: ApiClient, resource: str, name: str, replicas: int) -> None:
    await api.patch(resource, NS, name, {"spec": {"replicas": replicas}})


async def test_replicaset_runs_its_replicas_and_reports_status(plane: Plane, tmp_path: Path) -> None:
    labels = {"app": "web"}
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "replicaset"):
        rs = await plane.api.create(RS, NS, replicaset("web", 3, labels))
        pods = await eventually(lambda: settled(plane.api, RS, "web", labels, 3), what="3 ready pods")
        for p in pods:
            assert p["metadata"]["name"].startswith("web-")
            ref = controller_ref(p)
            assert ref == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                           "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
        got = await plane.api.get(RS, NS, "web")
        assert got["status"]["fullyLabeledReplicas"] == 3
        assert got["status"]["observedGeneration"] == got["metadata"]["generation"]

        async def created_events() -> Any:
            evs = (await plane.api.list("events", NS))["items"]
            return [e for e in evs if e.get("reason") == "SuccessfulCreate"
                    and e["involvedObject"].get("name") == "web"] or None
        evs = await eventually(created_events, what="SuccessfulCreate events")
        assert all(e["message"].startswith("Created pod: web-") for e in evs)
        assert evs[0]["source"]["component"] == "replicaset-controller"


async def test_a_created_pod_carries_its_cause(plane: Plane, tmp_path: Path) -> None:
    labels = {"app": "caused"}
    async with controllers(plane, "replicaset"):
        rs = await plane.api.create(RS, NS, replicaset("caused", 1, labels))

        async def one_pod() -> Any:
            pods = await pods_of(plane.api, NS, selector(labels))
            return pods[0] if pods else None
        pod = await eventually(one_pod, what="a pod")

    first = await _first_entry(plane, pod["metadata"]["name"])
    assert first.meta.actor == "system:controller:replicaset"
    assert first.meta.causation.isdigit() and int(first.meta.causation) > 0
    # the sync that made it was enqueued by the ReplicaSet's creation
    assert first.meta.causation == rs["metadata"]["resourceVersion"]
    assert int(first.meta.causation) < first.revision


async def _first_entry(plane: Plane, pod: str) -> Entry:
    """The pod's first log entry (its creation), with the Meta the log recorded for it."""
    entries = plane.bus.logs[Stream.OBJECTS].watch(KeyFilter("", "pods", NS, pod), 0)
    try:
        return await asyncio.wait_for(entries.__anext__(), 10)
    finally:
        aclose = getattr(entries, "aclose", None)
        if aclose is not None:
            await aclose()


async def test_a_deleted_pod_is_replaced(plane: Plane, tmp_path: Path) -> None:
    labels = {"app": "heal"}
    async with sim_cluster(plane, tmp_path, nodes=2), controllers(plane, "replicaset"):
        await plane.api.create(RS, NS, replicaset("heal", 2, labels))
        pods = await eventually(lambda: settled(plane.api, RS, "heal", labels, 2), what="2 ready pods")
        victim = pods[0]["metadata"]["name"]
        await plane.api.delete("pods", NS, victim)
        after = await eventually(lambda: settled(plane.api, RS, "heal", labels, 2), what="a replacement")
        assert victim not in {p["metadata"]["name"] for p in after}


async def test_scale_up_then_down_deletes_the_cheapest_pods(plane: Plane, tmp_path: Path) -> None:
    labels = {"app": "scale"}
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "replicaset"):
        await plane.api.create(RS, NS, replicaset("scale", 2, labels))
        await eventually(lambda: settled(plane.api, RS, "scale", labels, 2), what="2 ready pods")
        await scale(plane.api, RS, "scale", 5)
        pods = await eventually(lambda: settled(plane.api, RS, "scale", labels, 5), what="5 ready pods")
        # the pod that costs most to delete is the one kept (controller.kubernetes.io/pod-deletion-cost)
        keep = pods[3]["metadata"]["name"]
        await plane.api.patch("pods", NS, keep, {"metadata": {"annotations": {
            "controller.kubernetes.io/pod-deletion-cost": "100"}}})
        await scale(plane.api, RS, "scale", 1)
        left = await eventually(lambda: settled(plane.api, RS, "scale", labels, 1), what="1 ready pod")
        assert [p["metadata"]["name"] for p in left] == [keep]

        async def deletions() -> Any:
            evs = (await plane.api.list("events", NS))["items"]
            dels = [e for e in evs if e.get("reason") == "SuccessfulDelete" and e["involvedObject"]["name"] == "scale"]
            return dels if len(dels) >= 4 else None
        dels = await eventually(deletions, what="4 SuccessfulDelete events")
        assert all(e["message"].startswith("Deleted pod: scale-") for e in dels)
        assert all(keep not in e["message"] for e in dels)


async def test_an_orphan_is_adopted_and_counts(plane: Plane, tmp_path: Path) -> None:
    labels = {"app": "adopt"}
    async with sim_cluster(plane, tmp_path, nodes=2), controllers(plane, "replicaset"):
        orphan = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray", "labels": labels},
                  "spec": template(labels)["spec"]}
        await plane.api.create("pods", NS, orphan)
        rs = await plane.api.create(RS, NS, replicaset("adopt", 2, labels))
        pods = await eventually(lambda: settled(plane.api, RS, "adopt", labels, 2), what="2 ready pods")
        assert "stray" in {p["metadata"]["name"] for p in pods}
        stray = await plane.api.get("pods", NS, "stray")
        assert (controller_ref(stray) or {}).get("uid") == rs["metadata"]["uid"]
        # only one pod was made: the orphan counted
        assert len(await pods_of(plane.api, NS, selector(labels))) == 2


async def test_a_relabelled_pod_is_released_and_replaced(plane: Plane, tmp_path: Path) -> None:
    labels = {"app": "rel"}
    async with sim_cluster(plane, tmp_path, nodes=2), controllers(plane, "replicaset"):
        await plane.api.create(RS, NS, replicaset("rel", 2, labels))
        pods = await eventually(lambda: settled(plane.api, RS, "rel", labels, 2), what="2 ready pods")
        moved = pods[0]["metadata"]["name"]
        await plane.api.patch("pods", NS, moved, {"metadata": {"labels": {"app": "elsewhere"}}})

        async def released() -> Any:
            p = await get_or_none(plane.api, "pods", NS, moved)
            return p is not None and controller_ref(p) is None and p
        await eventually(released, what="the relabelled pod released")
        after = await eventually(lambda: settled(plane.api, RS, "rel", labels, 2), what="a replacement")
        assert moved not in {p["metadata"]["name"] for p in after}


async def test_a_replicationcontroller_works_the_same_way(plane: Plane, tmp_path: Path) -> None:
    labels = {"app": "legacy"}
    body = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "legacy", "namespace": NS},
            "spec": {"replicas": 2, "selector": labels, "template": template(labels)}}
    async with sim_cluster(plane, tmp_path, nodes=2), controllers(plane, "replicationcontroller"):
        rc = await plane.api.create(RC, NS, body)
        pods = await eventually(lambda: settled(plane.api, RC, "legacy", labels, 2), what="2 ready pods")
        for p in pods:
            assert controller_ref(p) == {"apiVersion": "v1", "kind": "ReplicationController", "name": "legacy",
                                         "uid": rc["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
        await plane.api.delete("pods", NS, pods[0]["metadata"]["name"])
        await scale(plane.api, RC, "legacy", 1)
        await eventually(lambda: settled(plane.api, RC, "legacy", labels, 1), what="1 ready pod")
