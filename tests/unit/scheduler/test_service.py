"""The service's handlers and its one-pod step, with fakes for the API and the log (no servers):
what goes to the queue, the cache, the API and the Events for each change the log reports."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from bus.apiclient import ApiReplyError
from bus.log import Op
from components.scheduler.queue import Where
from components.scheduler.service import Scheduler, SchedulerConfig
from tests.unit.scheduler.helpers import node_obj, pod_obj

Obj = dict[str, Any]


class FakeApi:
    def __init__(self) -> None:
        self.binds: list[tuple[str, str, str]] = []
        self.patches: list[tuple[str, str, Obj]] = []
        self.bind_error: ApiReplyError | None = None
        self.objects: dict[tuple[str, str], Obj] = {}

    async def bind(self, namespace: str, pod: str, node: str, *, uid: str | None = None) -> Obj:
        self.binds.append((namespace, pod, node))
        if self.bind_error is not None:
            raise self.bind_error
        return {"status": "Success"}

    async def get(self, resource: str, namespace: str, name: str) -> Obj:
        if (namespace, name) not in self.objects:
            raise ApiReplyError(404, {"reason": "NotFound"})
        return self.objects[(namespace, name)]

    async def patch(self, resource: str, namespace: str, name: str, patch: Obj, **kw: Any) -> Obj:
        self.patches.append((namespace, name, patch))
        return {}


class FakeRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []

    def record(self, obj: Obj, type_: str, reason: str, message: str, field_path: str = "") -> None:
        self.events.append((obj["metadata"]["name"], type_, reason, message))


class FakeInformer:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], Obj] = {}

    def get(self, namespace: str, name: str) -> Obj | None:
        return self.objects.get((namespace, name))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> tuple[Scheduler, FakeApi, FakeRecorder, FakeInformer, Clock]:
    clock = Clock()
    s = Scheduler(SchedulerConfig(nats_url="nats://unused", identity="unit"), clock=clock)
    api, rec, pods = FakeApi(), FakeRecorder(), FakeInformer()
    s.api, s.recorder, s._pods = api, rec, pods  # type: ignore[assignment]
    return s, api, rec, pods, clock


def pod_added(s: Scheduler, pods: FakeInformer, obj: Obj, old: Obj | None = None) -> None:
    pods.objects[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj
    s._on_pod(Op.ADDED if old is None else Op.MODIFIED, old, obj)


async def schedule_next(s: Scheduler, clock: Clock) -> None:
    await s._bind_slots.acquire()
    qp = s.queue.pop(clock())
    assert qp is not None
    s._schedule_one(qp, clock())
    await asyncio.gather(*s._bind_tasks)


async def test_a_pending_pod_is_bound_with_an_event(world: Any) -> None:
    s, api, rec, pods, clock = world
    s._on_node(Op.ADDED, None, node_obj("n1"))
    assert s._move_requested
    pod_added(s, pods, pod_obj("p", cpu="1"))
    assert ("default", "p") in s.queue
    await schedule_next(s, clock)
    assert api.binds == [("default", "p", "n1")]
    assert s.counters.scheduled == 1 and s.counters.attempts == 1
    assert rec.events == [("p", "Normal", "Scheduled", "Successfully assigned default/p to n1")]
    assert s.cache.is_assumed(("default", "p")) and s.cache.node("n1").req_cpu == 1000  # type: ignore[union-attr]
    # an older version still coming through the log does not queue the pod again
    pod_added(s, pods, pod_obj("p", cpu="1"), old=pod_obj("p", cpu="1"))
    assert ("default", "p") not in s.queue
    # the log shows the binding: confirmed, counted once
    bound = pod_obj("p", cpu="1", node_name="n1")
    pod_added(s, pods, bound, old=pod_obj("p", cpu="1"))
    assert not s.cache.is_assumed(("default", "p")) and s.cache.node("n1").pod_count == 1  # type: ignore
    # a status update of the bound pod changes nothing
    running = copy.deepcopy(bound)
    running["status"]["phase"] = "Running"
    pod_added(s, pods, running, old=bound)
    assert s.cache.node("n1").pod_count == 1  # type: ignore[union-attr]


async def test_an_unschedulable_pod_gets_a_condition_and_a_rate_limited_warning(world: Any) -> None:
    s, api, rec, pods, clock = world
    s._on_node(Op.ADDED, None, node_obj("n1", cpu="1"))
    pod_added(s, pods, pod_obj("big", cpu="2"))
    await schedule_next(s, clock)
    msg = ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
           "1 Preemption is not helpful for scheduling.")
    assert rec.events == [("big", "Warning", "FailedScheduling", msg)]
    assert s._status_pending == {("default", "big"): ("Unschedulable", msg, 0)}
    assert s.queue.get(("default", "big")).where is Where.UNSCHEDULABLE  # type: ignore[union-attr]
    assert s.counters.failed == 1 and api.binds == []

    # a status-only update (say, the condition written) does not bring it back
    written = copy.deepcopy(pods.objects[("default", "big")])
    written["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                        "message": msg}]
    pod_added(s, pods, written, old=pods.objects[("default", "big")])
    assert s.queue.get(("default", "big")).where is Where.UNSCHEDULABLE  # type: ignore[union-attr]

    # the same failure again soon: no second Warning; the condition already says it
    s._status_pending.clear()
    s.queue.move_all(clock.now + 2)
    clock.now += 2
    await schedule_next(s, clock)
    assert len(rec.events) == 1 and s._status_pending == {}
    # ... but after a minute, the Warning again (the recorder folds it into a count)
    clock.now += 61
    s.queue.move_all(clock.now)
    await schedule_next(s, clock)
    assert len(rec.events) == 2


async def test_a_relevant_update_retries_an_unschedulable_pod(world: Any) -> None:
    s, api, rec, pods, clock = world
    s._on_node(Op.ADDED, None, node_obj("n1", taints=[{"key": "k", "effect": "NoSchedule"}]))
    old = pod_obj("p")
    pod_added(s, pods, old)
    await schedule_next(s, clock)
    assert api.binds == []
    new = pod_obj("p", tolerations=[{"key": "k", "operator": "Exists"}])
    clock.now += 5
    pod_added(s, pods, new, old=old)
    await schedule_next(s, clock)
    assert api.binds == [("default", "p", "n1")]


async def test_a_failed_binding_requeues_with_backoff_and_a_warning(world: Any) -> None:
    s, api, rec, pods, clock = world
    s._on_node(Op.ADDED, None, node_obj("n1"))
    obj = pod_obj("p", cpu="1")
    pod_added(s, pods, obj)
    api.objects[("default", "p")] = obj
    api.bind_error = ApiReplyError(500, {"reason": "InternalError", "message": "boom"})
    await schedule_next(s, clock)
    assert s.counters.bind_errors == 1 and s.counters.scheduled == 0
    assert s.cache.node("n1").req_cpu == 0 and not s.cache.is_assumed(("default", "p"))  # type: ignore[union-attr]
    assert s.queue.get(("default", "p")).where is Where.BACKOFF  # type: ignore[union-attr]
    assert rec.events == [("p", "Warning", "FailedScheduling", "Binding rejected: 500 InternalError: boom")]
    assert s._inflight == {}


async def test_a_conflict_for_a_pod_bound_elsewhere_drops_it(world: Any) -> None:
    s, api, rec, pods, clock = world
    s._on_node(Op.ADDED, None, node_obj("n1"))
    pod_added(s, pods, pod_obj("p"))
    api.objects[("default", "p")] = pod_obj("p", node_name="elsewhere")
    api.bind_error = ApiReplyError(409, {"reason": "Conflict"})
    await schedule_next(s, clock)
    assert s.counters.bind_conflicts == 1 and ("default", "p") not in s.queue and rec.events == []


async def test_deleting_a_bound_pod_asks_for_a_retry_of_waiting_ones(world: Any) -> None:
    s, api, rec, pods, clock = world
    bound = pod_obj("a", node_name="n1", cpu="1")
    pod_added(s, pods, bound)
    s._move_requested = False
    s._on_pod(Op.DELETED, bound, None)
    assert s._move_requested and s.cache.pod_count == 0
    s._move_requested = False
    pending = pod_obj("b")
    pod_added(s, pods, pending)
    s._on_pod(Op.DELETED, pending, None)  # a pending pod frees nothing
    assert not s._move_requested and ("default", "b") not in s.queue


async def test_pods_not_ours_are_left_alone(world: Any) -> None:
    s, api, rec, pods, clock = world
    other = pod_obj("o")
    other["spec"]["schedulerName"] = "someone-else"
    pod_added(s, pods, other)
    gated = pod_obj("g")
    gated["spec"]["schedulingGates"] = [{"name": "x"}]
    pod_added(s, pods, gated)
    assert len(s.queue) == 0
    assert s._status_pending == {("default", "g"): ("SchedulingGated",
                                                    "Scheduling is blocked due to non-empty scheduling gates", 0)}


async def test_condition_writes_are_conditional_and_skip_pods_being_bound(world: Any) -> None:
    s, api, rec, pods, clock = world
    obj = pod_obj("p")
    pods.objects[("default", "p")] = obj
    s._set_condition(("default", "p"), obj, "Unschedulable", "no")
    writer = asyncio.create_task(s._status_writer())
    for _ in range(20):
        await asyncio.sleep(0)
    assert api.patches and api.patches[0][2]["metadata"] == {"resourceVersion": "1"}
    cond = api.patches[0][2]["status"]["conditions"][0]
    assert {k: cond[k] for k in ("type", "status", "reason", "message")} == {
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "no"}
    assert s._status_written[("default", "p")] == ("Unschedulable", "no")
    s._set_condition(("default", "p"), obj, "Unschedulable", "no")  # already written
    assert s._status_pending == {}
    pods.objects[("default", "p")] = pod_obj("p", node_name="n1")  # bound meanwhile
    s._set_condition(("default", "p"), obj, "Unschedulable", "other")
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(api.patches) == 1
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer
