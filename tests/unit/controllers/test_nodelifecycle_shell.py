"""The node lifecycle shell on in-memory logs and a fake clock: heartbeat bookkeeping, how actions
become API calls, and what a lost compare-and-swap does. (The real API server path is in
tests/integration/controllers.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from bus.apiclient import ApiReplyError
from bus.log import Op
from bus.memory import MemoryLog
from bus.recorder import EventRecorder
from components.controllers.base import ControllerContext, Requeue
from components.clock import FakeClock
from components.controllers.informers import SharedInformers
from components.controllers.nodelifecycle import NodeLifecycleController
from core.keys import ObjectKey
from core.kinds import Stream
from core.nodehealth import EvictPod, ForceDeletePod, Instant, Timing
from tests.unit.controllers.logapi import LogApi, key_of

NODE = ObjectKey("", "nodes", "", "n1")
LEASE = ObjectKey("coordination.k8s.io", "leases", "kube-node-lease", "n1")


class FakeApi(LogApi):
    """Just enough of the API server: compare-and-swap writes into the memory log, calls recorded,
    and an error to raise on demand."""

    def __init__(self, log: MemoryLog) -> None:
        super().__init__(log)
        self.fail_next: ApiReplyError | None = None

    def _maybe_fail(self) -> None:
        if self.fail_next is not None:
            err, self.fail_next = self.fail_next, None
            raise err

    async def update(self, resource: str, namespace: str, name: str, body: dict[str, Any], *,
                     subresource: str = "") -> dict[str, Any]:
        self.calls.append(("update", resource, name, subresource, body["metadata"]["resourceVersion"]))
        self._maybe_fail()
        key = key_of(resource, namespace, name)
        old = await self._current(key)
        if body["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise ApiReplyError(409, {"reason": "Conflict"})
        new = {**old, "status": body["status"]} if subresource == "status" else {**body, "status": old.get("status")}
        return await self._write(key, new, int(old["metadata"]["resourceVersion"]))

    async def patch(self, resource: str, namespace: str, name: str, patch: dict[str, Any], *,
                    subresource: str = "") -> dict[str, Any]:
        self.calls.append(("patch", resource, namespace, name, subresource, patch))
        self._maybe_fail()
        key = key_of(resource, namespace, name)
        old = await self._current(key)
        new = {**old, "status": {**old.get("status", {}), **patch["status"]}}
        return await self._write(key, new, int(old["metadata"]["resourceVersion"]))

    async def delete(self, resource: str, namespace: str, name: str, *, grace_period_seconds: int | None = None,
                     uid: str | None = None) -> dict[str, Any]:
        self.calls.append(("delete", resource, namespace, name, grace_period_seconds, uid))
        self._maybe_fail()
        key = key_of(resource, namespace, name)
        old = await self._current(key)
        if grace_period_seconds == 0:
            return await self._write(key, old, int(old["metadata"]["resourceVersion"]), Op.DELETED)
        new = {**old, "metadata": {**old["metadata"], "deletionTimestamp": "2024-01-01T00:05:00Z"}}
        return await self._write(key, new, int(old["metadata"]["resourceVersion"]))


class Harness:
    def __init__(self) -> None:
        self.objects = MemoryLog("objects")
        self.leases = MemoryLog("leases")
        self.clock = FakeClock()
        self.api = FakeApi(self.objects)
        self.informers = SharedInformers({Stream.OBJECTS: self.objects, Stream.LEASES: self.leases})
        self.recorded: list[tuple[str, str, str, str]] = []
        self.since = float("-inf")  # the manager's last reconnect
        harness = self

        class Recorder(EventRecorder):
            def record(self, obj: dict[str, Any], type_: str, reason: str, message: str, field_path: str = "") -> None:
                harness.recorded.append((obj["metadata"]["name"], type_, reason, message))

        ctx = ControllerContext(informers=self.informers, clock=self.clock,
                                api=lambda name: self.api,  # type: ignore[arg-type,return-value]
                                recorder=lambda c: Recorder(self.api, c),  # type: ignore[arg-type]
                                spawn=lambda coro, name: asyncio.create_task(coro, name=name),
                                observing_since=lambda: self.since)
        self.controller = NodeLifecycleController(ctx, timing=Timing(grace_period=40.0), workers=1)

    async def put(self, log: MemoryLog, key: ObjectKey, obj: dict[str, Any]) -> int:
        latest = await log.latest(key)
        op = Op.ADDED if latest is None else Op.MODIFIED
        entry = await log.append(key, op, orjson.dumps(obj), expected=latest.revision if latest else 0)
        return entry.revision

    async def settle(self, informer_revision: int, which: str = "nodes") -> None:
        inf = {"nodes": self.controller.nodes, "leases": self.controller.leases, "pods": self.controller.pods}[which]
        await inf.wait_for(informer_revision, timeout=2)


def _now(h: Harness) -> Instant:
    return Instant(h.clock.monotonic(), h.clock.wall())


def node(ready: str = "True", heartbeat: str = "2024-01-01T00:00:00Z") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "u-n1"}, "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat,
                                       "lastTransitionTime": "2024-01-01T00:00:00Z"}]}}


def lease(renew: str, holder: str = "n1") -> dict[str, Any]:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "n1", "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": holder, "renewTime": renew}}


def pod(name: str, tolerations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "uid": f"u-{name}"},
            "spec": {"nodeName": "n1", "tolerations": tolerations or [], "containers": [{"name": "c", "image": "x"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness()
    await harness.put(harness.objects, NODE, node())
    await harness.put(harness.leases, LEASE, lease("2024-01-01T00:00:00.000001Z"))
    await harness.informers.start()
    try:
        yield harness
    finally:
        await harness.controller.stop()
        await harness.informers.stop()


async def test_every_node_gets_a_full_grace_period_at_start(h: Harness) -> None:
    assert h.controller.heartbeats == {"n1": h.clock.monotonic()}
    assert h.controller.queue.processing == frozenset() and len(h.controller.queue) == 1


async def test_heartbeats_come_from_lease_renewals_and_kubelet_posts_only(h: Harness) -> None:
    start = h.clock.monotonic()
    h.clock.advance(10)
    rev = await h.put(h.leases, LEASE, lease("2024-01-01T00:00:10.000001Z"))
    await h.settle(rev, "leases")
    assert h.controller.heartbeats["n1"] == start + 10
    h.clock.advance(10)
    rev = await h.put(h.leases, LEASE, lease("2024-01-01T00:00:10.000001Z", holder="someone"))  # not a renewal
    await h.settle(rev, "leases")
    assert h.controller.heartbeats["n1"] == start + 10
    rev = await h.put(h.objects, NODE, node("True", heartbeat="2024-01-01T00:00:20Z"))  # the kubelet posts
    await h.settle(rev)
    assert h.controller.heartbeats["n1"] == start + 20
    h.clock.advance(10)
    rev = await h.put(h.objects, NODE, node("Unknown", heartbeat="2024-01-01T00:00:20Z"))  # what we write
    await h.settle(rev)
    assert h.controller.heartbeats["n1"] == start + 20


async def test_stale_node_becomes_unknown_tainted_with_cas_writes_then_pods_marked(h: Harness) -> None:
    rev = await h.put(h.objects, ObjectKey("", "pods", "default", "p"), pod("p"))
    await h.settle(rev, "pods")
    h.clock.advance(40)
    await h.controller.sync("n1")
    node_rv = "1"
    status_call, taint_call, pod_call = h.api.calls
    assert status_call == ("update", "nodes", "n1", "status", node_rv)
    assert taint_call[:4] == ("update", "nodes", "n1", "") and int(taint_call[4]) > int(node_rv)
    assert pod_call[:5] == ("patch", "pods", "default", "p", "status")
    stored = h.controller.nodes.get("", "n1")
    assert stored is not None  # the shell waited for its own write to come back
    assert [t["key"] for t in stored["spec"]["taints"]] == ["node.kubernetes.io/unreachable"] * 2
    assert h.recorded == [("n1", "Normal", "NodeNotReady", "Node n1 status is now: NodeNotReady"),
                          ("p", "Warning", "NodeNotReady", "Node is not ready")]
    # the next pass evicts the untolerating pod, against the stored taints
    h.api.calls.clear()
    await h.controller.sync("n1")
    assert h.api.calls == [("delete", "pods", "default", "p", None, "u-p")]
    assert h.recorded[-1] == ("p", "Normal", "TaintManagerEviction", "Marking for deletion Pod default/p")


async def test_a_lost_compare_and_swap_requeues_without_recording(h: Harness) -> None:
    h.clock.advance(41)
    h.api.fail_next = ApiReplyError(409, {"reason": "Conflict"})
    with pytest.raises(Requeue):
        await h.controller.sync("n1")
    assert h.recorded == []
    await h.controller.sync("n1")  # a fresh view: it goes through
    assert h.recorded[0][2] == "NodeNotReady"


async def test_deleting_a_pod_that_is_gone_or_replaced_is_not_an_error(h: Harness) -> None:
    view = h.controller.view("n1", _now(h))
    assert view is not None
    for code in (404, 409):
        h.api.fail_next = ApiReplyError(code, {})
        await h.controller.perform("n1", view, [EvictPod("default", "p", "u-p")])
    h.api.fail_next = ApiReplyError(500, {})
    with pytest.raises(ApiReplyError):
        await h.controller.perform("n1", view, [ForceDeletePod("default", "p", "u-p")])
    assert h.recorded == []


async def test_undated_noexecute_taints_are_remembered_from_first_sight(h: Harness) -> None:
    tainted = node()
    tainted["spec"]["taints"] = [{"key": "maintenance", "effect": "NoExecute"}]
    rev = await h.put(h.objects, NODE, tainted)
    await h.settle(rev)
    first = h.clock.wall()
    view = h.controller.view("n1", _now(h))
    assert view is not None and view.taints_seen == {("maintenance", "NoExecute"): first}
    h.clock.advance(5)
    view = h.controller.view("n1", _now(h))
    assert view is not None and view.taints_seen == {("maintenance", "NoExecute"): first}
    rev = await h.put(h.objects, NODE, node())
    await h.settle(rev)
    view = h.controller.view("n1", _now(h))
    assert view is not None and view.taints_seen == {}


async def test_node_deleted_forgets_it(h: Harness) -> None:
    latest = await h.objects.latest(NODE)
    assert latest is not None
    entry = await h.objects.append(NODE, Op.DELETED, latest.data, expected=latest.revision)
    await h.settle(entry.revision)
    assert h.controller.heartbeats == {}
    await h.controller.sync("n1")
    assert h.api.calls == []


async def test_a_reconnect_gives_every_node_a_whole_grace_period_again(h: Harness) -> None:
    h.clock.advance(45)  # no renewal seen for 45 s ...
    h.since = h.clock.monotonic() - 5  # ... but we were cut off from NATS until 5 s ago
    await h.controller.sync("n1")
    assert h.api.calls == []
    assert h.controller.queue.waiting == {"n1": h.clock.monotonic() + 35}
    h.clock.advance(35)
    await h.controller.sync("n1")
    assert [c[0] for c in h.api.calls] == ["update", "update"]
