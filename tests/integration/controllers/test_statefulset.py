"""The StatefulSet controller against a real nats-server and API server, with the real scheduler
and a simulated kubelet so pods turn Running and Ready.

Order is checked by invariants over quick snapshots of the pod list rather than by timing: in
every snapshot where web-1 exists, web-0 is Ready (OrderedReady creation); while scaling down,
web-1 is never deleting while web-2 still exists; during a rolling update, a lower ordinal never
runs the new template while a higher one still runs the old.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.workload import is_deleting, is_ready
from tests.integration.conftest import Plane, eventually
from tests.integration.controllers.conftest import controllers, get_or_none, sim_cluster

pytestmark = pytest.mark.integration

NS = "default"
SETS = "statefulsets.apps"


def web(replicas: int = 3, *, policy: str = "OrderedReady", image: str = "nginx:1") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "namespace": NS},
            "spec": {"serviceName": "nginx", "replicas": replicas, "podManagementPolicy": policy,
                     "selector": {"matchLabels": {"app": "nginx"}},
                     "template": {"metadata": {"labels": {"app": "nginx"}},
                                  "spec": {"containers": [{"name": "nginx", "image": image}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {
                         "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}


async def snapshot(plane: Plane) -> dict[str, dict[str, Any]]:
    items = (await plane.api.list("pods", NS, label_selector="app=nginx"))["items"]
    return {p["metadata"]["name"]: p for p in items}


class Watcher:
    """Lists the set's pods every few tens of milliseconds and checks an invariant on each snapshot."""

    def __init__(self, plane: Plane, check: Callable[[dict[str, dict[str, Any]]], str | None]) -> None:
        self.plane = plane
        self.check = check
        self.violations: list[str] = []
        self.seen: list[str] = []  # pod names in the order they first appeared
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def _run(self) -> None:
        # Stopped by a flag, not by cancellation: a cancel landing just as a NATS reply arrives
        # can be swallowed (Python 3.11's wait_for), which would leave this loop running.
        while not self._stop.is_set():
            snap = await snapshot(self.plane)
            for name in sorted(snap, key=lambda n: snap[n]["metadata"].get("creationTimestamp", "")):
                if name not in self.seen:
                    self.seen.append(name)
            problem = self.check(snap)
            if problem:
                self.violations.append(problem)
            await asyncio.sleep(0.02)

    async def __aenter__(self) -> Watcher:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._stop.set()
        await self._task


def running_ready(p: dict[str, Any] | None) -> bool:
    return p is not None and (p.get("status") or {}).get("phase") == "Running" and is_ready(p) and not is_deleting(p)


async def all_ready(plane: Plane, n: int, *, image: str | None = None) -> bool:
    snap = await snapshot(plane)
    names = [f"web-{i}" for i in range(n)]
    if sorted(snap) != sorted(names) or not all(running_ready(snap[x]) for x in names):
        return False
    return image is None or all(snap[x]["spec"]["containers"][0]["image"] == image for x in names)


async def set_status(plane: Plane) -> dict[str, Any]:
    return dict((await plane.api.get(SETS, NS, "web")).get("status") or {})


async def test_ordered_creation_identity_claims_and_scale_down(plane: Plane, tmp_path: Path) -> None:
    def ordered(snap: dict[str, dict[str, Any]]) -> str | None:
        for i in (1, 2):
            if f"web-{i}" in snap and not running_ready(snap.get(f"web-{i - 1}")):
                return f"web-{i} exists while web-{i - 1} is not Running and Ready"
        return None

    async with sim_cluster(plane, tmp_path), controllers(plane, "statefulset"):
        async with Watcher(plane, ordered) as w:
            await plane.api.create(SETS, NS, web())
            await eventually(lambda: all_ready(plane, 3), what="web-0..2 Running and Ready")
        assert w.violations == []
        assert w.seen == ["web-0", "web-1", "web-2"]

        snap = await snapshot(plane)
        for i in range(3):
            p = snap[f"web-{i}"]
            assert p["spec"]["hostname"] == f"web-{i}" and p["spec"]["subdomain"] == "nginx"
            labels = p["metadata"]["labels"]
            assert labels["statefulset.kubernetes.io/pod-name"] == f"web-{i}"
            assert labels["apps.kubernetes.io/pod-index"] == str(i)
            ref = p["metadata"]["ownerReferences"][0]
            assert ref["kind"] == "StatefulSet" and ref["name"] == "web" and ref["controller"] is True
            assert {"name": "www", "persistentVolumeClaim": {"claimName": f"www-web-{i}"}} in p["spec"]["volumes"]
            claim = await get_or_none(plane.api, "persistentvolumeclaims", NS, f"www-web-{i}")
            assert claim is not None and claim["metadata"]["labels"] == {"app": "nginx"}

        async def settled() -> bool:
            s = await set_status(plane)
            return (s.get("readyReplicas") == 3 and s.get("replicas") == 3 and s.get("updatedReplicas") == 3
                    and s.get("currentRevision") == s.get("updateRevision") and s.get("observedGeneration") == 1)
        await eventually(settled, what="status of a complete set")
        status = await set_status(plane)
        # a settled set is not rewritten: an unchanged status is not written again
        rv = (await plane.api.get(SETS, NS, "web"))["metadata"]["resourceVersion"]
        await asyncio.sleep(0.5)
        assert (await plane.api.get(SETS, NS, "web"))["metadata"]["resourceVersion"] == rv
        assert status["updateRevision"].startswith("web-")
        assert snap["web-0"]["metadata"]["labels"]["controller-revision-hash"] == status["updateRevision"]
        rev = await plane.api.get("controllerrevisions.apps", NS, status["updateRevision"])
        assert rev["revision"] == 1

        def descending(snap: dict[str, dict[str, Any]]) -> str | None:
            w1 = snap.get("web-1")
            if (w1 is None or is_deleting(w1)) and "web-2" in snap:
                return "web-1 is going while web-2 is still there"
            return None

        async with Watcher(plane, descending) as w:
            await plane.api.patch(SETS, NS, "web", {"spec": {"replicas": 1}})
            await eventually(lambda: all_ready(plane, 1), what="only web-0 left")
        assert w.violations == []
        # claims outlive their pods (persistentVolumeClaimRetentionPolicy Retain)
        for i in range(3):
            assert await get_or_none(plane.api, "persistentvolumeclaims", NS, f"www-web-{i}") is not None

        events = (await plane.api.list("events", NS))["items"]
        messages = {e["message"] for e in events if e.get("reason") in ("SuccessfulCreate", "SuccessfulDelete")}
        assert "create Pod web-0 in StatefulSet web successful" in messages
        assert "create Claim www-web-0 Pod web-0 in StatefulSet web success" in messages
        assert "delete Pod web-2 in StatefulSet web successful" in messages


async def test_rolling_update_from_the_top_and_recreation(plane: Plane, tmp_path: Path) -> None:
    async with sim_cluster(plane, tmp_path), controllers(plane, "statefulset"):
        await plane.api.create(SETS, NS, web())
        await eventually(lambda: all_ready(plane, 3), what="web-0..2 Running and Ready")
        before = await set_status(plane)

        def top_down(snap: dict[str, dict[str, Any]]) -> str | None:
            def new(i: int) -> bool:
                p = snap.get(f"web-{i}")
                return p is not None and p["spec"]["containers"][0]["image"] == "nginx:2"
            for i in (0, 1):
                if new(i) and not new(i + 1):
                    return f"web-{i} updated before web-{i + 1}"
            return None

        async with Watcher(plane, top_down) as w:
            await plane.api.patch(SETS, NS, "web", {"spec": {"template": {"spec": {"containers": [
                {"name": "nginx", "image": "nginx:2"}]}}}})
            await eventually(lambda: all_ready(plane, 3, image="nginx:2"), what="every pod on nginx:2")
        assert w.violations == []

        async def rolled() -> dict[str, Any] | None:
            s = await set_status(plane)
            done = (s.get("updatedReplicas") == 3 and s.get("currentRevision") == s.get("updateRevision")
                    and s.get("observedGeneration") == 2)
            return s if done else None
        after = await eventually(rolled, what="status after the rollout")
        assert after["updateRevision"] != before["updateRevision"]
        revs = (await plane.api.list("controllerrevisions.apps", NS))["items"]
        assert sorted(r["revision"] for r in revs) == [1, 2]

        # a deleted pod comes back with the same name (and a new uid)
        old = await plane.api.get("pods", NS, "web-1")
        await plane.api.delete("pods", NS, "web-1")

        async def back() -> bool:
            p = await get_or_none(plane.api, "pods", NS, "web-1")
            return p is not None and p["metadata"]["uid"] != old["metadata"]["uid"] and running_ready(p)
        await eventually(back, what="web-1 recreated")
        p = await plane.api.get("pods", NS, "web-1")
        assert p["spec"]["hostname"] == "web-1"
        assert p["metadata"]["labels"]["controller-revision-hash"] == after["updateRevision"]


async def test_parallel_creates_all_at_once_and_adopts_an_orphan(plane: Plane, tmp_path: Path) -> None:
    async with sim_cluster(plane, tmp_path, start_delay=1.0), controllers(plane, "statefulset"):
        orphan = await plane.api.create("pods", NS, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "labels": {"app": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:2"}]}})
        await plane.api.create(SETS, NS, web(policy="Parallel"))

        async def all_there() -> bool:
            snap = await snapshot(plane)
            return sorted(snap) == ["web-0", "web-1", "web-2"]
        await eventually(all_there, what="three pods")
        # with a one-second sandbox start, the new ones exist before any of them could be Ready
        snap = await snapshot(plane)
        assert not running_ready(snap["web-0"]) and not running_ready(snap["web-2"])

        async def adopted() -> bool:
            p = await plane.api.get("pods", NS, "web-1")
            refs = p["metadata"].get("ownerReferences") or []
            return p["metadata"]["uid"] == orphan["metadata"]["uid"] and [r["kind"] for r in refs] == ["StatefulSet"]
        await eventually(adopted, what="the orphan web-1 adopted")
        await eventually(lambda: all_ready(plane, 3), what="all Ready")
