"""The scheduler against a real nats-server and API server: binding, spreading, failing with the
Kubernetes message, retrying when the cluster changes (nodes added or changed, pods deleted, gates
removed), taints, readiness, condition writes, conflicts, two schedulers at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bus.apiclient import ApiClient
from bus.informer import Informer
from bus.log import Op
from components.scheduler.podinfo import parse_pod
from components.scheduler.queue import QueuedPod
from components.scheduler.service import Scheduler, SchedulerConfig
from core.keys import KeyFilter
from core.kinds import Stream
from tests.integration.conftest import Plane

pytestmark = pytest.mark.integration

Obj = dict[str, Any]


async def until(pred: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `pred` (sync or async) until it returns something truthy, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def add_node(api: ApiClient, name: str, *, cpu: str = "4", memory: str = "8Gi", pods: str = "110",
                   taints: list[Obj] | None = None, labels: dict[str, str] | None = None,
                   ready: str = "True") -> Obj:
    body: Obj = {"apiVersion": "v1", "kind": "Node",
                 "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
                 "spec": {"taints": taints} if taints else {}}
    node = await api.create("nodes", "", body)
    alloc = {"cpu": cpu, "memory": memory, "pods": pods}
    node["status"] = {"capacity": alloc, "allocatable": alloc,
                      "conditions": [{"type": "Ready", "status": ready, "reason": "KubeletReady",
                                      "message": "kubelet is posting ready status"}]}
    return await api.update("nodes", "", name, node, subresource="status")


def pod_body(name: str, *, cpu: str = "", owner: str = "", tolerations: list[Obj] | None = None,
             node_selector: dict[str, str] | None = None, scheduler: str = "") -> Obj:
    container: Obj = {"name": "c", "image": "busybox"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    spec: Obj = {"containers": [container]}
    if tolerations:
        spec["tolerations"] = tolerations
    if node_selector:
        spec["nodeSelector"] = node_selector
    if scheduler:
        spec["schedulerName"] = scheduler
    md: Obj = {"name": name}
    if owner:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": owner,
                                  "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec}


async def pods(api: ApiClient, ns: str = "default") -> dict[str, Obj]:
    return {p["metadata"]["name"]: p for p in (await api.list("pods", ns))["items"]}


async def events(api: ApiClient, ns: str = "default") -> list[Obj]:
    return list((await api.list("events", ns))["items"])


def condition(pod: Obj) -> Obj | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "PodScheduled":
            return c
    return None


@pytest.fixture
async def scheduler(plane: Plane) -> AsyncIterator[Scheduler]:
    s = Scheduler(SchedulerConfig(nats_url=plane.nats_url, prefix=plane.prefix, seed=1, identity="test-a"))
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


async def test_pods_are_bound_and_spread_over_nodes(plane: Plane, scheduler: Scheduler) -> None:
    for n in ("n-1", "n-2", "n-3"):
        await add_node(plane.api, n)
    for i in range(6):
        await plane.api.create("pods", "default", pod_body(f"web-{i}", cpu="100m", owner="rs-uid-1"))

    async def all_bound() -> dict[str, Obj] | None:
        got = await pods(plane.api)
        return got if all(p["spec"].get("nodeName") for p in got.values()) else None
    bound = await until(all_bound, what="every pod bound")
    per_node: dict[str, int] = {}
    for p in bound.values():
        per_node[p["spec"]["nodeName"]] = per_node.get(p["spec"]["nodeName"], 0) + 1
        assert condition(p) is not None and condition(p)["status"] == "True"  # type: ignore[index]
    assert per_node == {"n-1": 2, "n-2": 2, "n-3": 2}
    assert scheduler.counters.scheduled == 6 and scheduler.counters.failed == 0

    async def scheduled_events() -> list[Obj]:
        evs = [e for e in await events(plane.api) if e["reason"] == "Scheduled"]
        return evs if len(evs) == 6 else []
    evs = await until(scheduled_events, what="six Scheduled events")
    messages = {e["message"] for e in evs}
    assert messages == {f"Successfully assigned default/{name} to {p['spec']['nodeName']}"
                        for name, p in bound.items()}
    assert {e["type"] for e in evs} == {"Normal"}
    assert {e["source"]["component"] for e in evs} == {"default-scheduler"}


async def test_too_big_pod_waits_with_condition_and_event_then_fits_a_new_node(plane: Plane,
                                                                               scheduler: Scheduler) -> None:
    await add_node(plane.api, "small-1")
    await add_node(plane.api, "small-2", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}])
    await plane.api.create("pods", "default", pod_body("big", cpu="6"))
    want = ("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
            "{node.kubernetes.io/unreachable: }. preemption: 0/2 nodes are available: "
            "2 Preemption is not helpful for scheduling.")

    async def unschedulable() -> Obj | None:
        c = condition((await pods(plane.api))["big"])
        return c if c is not None and c.get("message") == want else None
    cond = await until(unschedulable, what="PodScheduled=False with the Kubernetes message")
    assert cond["status"] == "False" and cond["reason"] == "Unschedulable"

    async def warning() -> list[Obj]:
        return [e for e in await events(plane.api) if e["reason"] == "FailedScheduling"]
    evs = await until(warning, what="a FailedScheduling event")
    assert evs[0]["type"] == "Warning" and evs[0]["message"] == want
    assert evs[0]["involvedObject"]["name"] == "big"
    assert (await pods(plane.api))["big"]["spec"].get("nodeName") is None

    await add_node(plane.api, "large", cpu="16")  # the change that lets it fit: retried at once

    async def bound() -> str | None:
        return (await pods(plane.api))["big"]["spec"].get("nodeName")
    assert await until(bound, what="the big pod bound") == "large"
    assert condition((await pods(plane.api))["big"])["status"] == "True"  # type: ignore[index]


async def test_a_tainted_node_is_avoided_unless_tolerated(plane: Plane, scheduler: Scheduler) -> None:
    await add_node(plane.api, "gpu", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
                   labels={"pool": "gpu"})
    await add_node(plane.api, "plain")
    for i in range(4):
        await plane.api.create("pods", "default", pod_body(f"p-{i}"))
    await plane.api.create("pods", "default", pod_body(
        "trainer", node_selector={"pool": "gpu"},
        tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]))
    await plane.api.create("pods", "default", pod_body("intruder", node_selector={"pool": "gpu"}))

    async def settled() -> dict[str, Obj] | None:
        got = await pods(plane.api)
        done = all(got[f"p-{i}"]["spec"].get("nodeName") for i in range(4)) and got["trainer"]["spec"].get("nodeName")
        c = condition(got["intruder"])
        return got if done and c is not None and c.get("reason") == "Unschedulable" else None
    got = await until(settled, what="pods placed and the intruder refused")
    assert {got[f"p-{i}"]["spec"]["nodeName"] for i in range(4)} == {"plain"}
    assert got["trainer"]["spec"]["nodeName"] == "gpu"
    assert condition(got["intruder"])["message"] == (  # type: ignore[index]
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: "
        "2 Preemption is not helpful for scheduling.")


async def test_pods_of_other_schedulers_and_not_ready_nodes(plane: Plane, scheduler: Scheduler) -> None:
    await add_node(plane.api, "down", ready="False")
    await plane.api.create("pods", "default", pod_body("theirs", scheduler="my-scheduler"))
    await plane.api.create("pods", "default", pod_body("ours"))

    async def refused() -> Obj | None:
        c = condition((await pods(plane.api))["ours"])
        return c if c is not None and c.get("status") == "False" else None
    c = await until(refused, what="the pod refused by the NotReady node")
    assert c["message"] == ("0/1 nodes are available: 1 node(s) had untolerated taint "
                            "{node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: "
                            "1 Preemption is not helpful for scheduling.")
    node = await plane.api.get("nodes", "", "down")
    node["status"]["conditions"][0]["status"] = "True"
    await plane.api.update("nodes", "", "down", node, subresource="status")

    async def bound() -> str | None:
        return (await pods(plane.api))["ours"]["spec"].get("nodeName")
    assert await until(bound, what="bound once the node is Ready") == "down"
    theirs = (await pods(plane.api))["theirs"]
    assert theirs["spec"].get("nodeName") is None and condition(theirs) is None


async def test_a_binding_conflict_forgets_the_assumption_and_drops_the_pod(plane: Plane,
                                                                           scheduler: Scheduler) -> None:
    """The API server binds with compare-and-swap: a pod bound meanwhile answers 409; the
    scheduler gives the node's resources back and does not queue the pod again."""
    await add_node(plane.api, "n-1")
    await add_node(plane.api, "n-2")
    # (a pod for another scheduler, so that this one only acts when the test says so)
    stale = await plane.api.create("pods", "default", pod_body("racer", cpu="1", scheduler="nobody"))
    info = parse_pod(stale)
    assert scheduler.cache.assume(info, "n-2")  # decided on n-2 ...
    assert scheduler.cache.node("n-2").req_cpu == 1000  # type: ignore[union-attr]
    await plane.api.bind("default", "racer", "n-1")  # ... but someone else binds it first
    await scheduler._bind_slots.acquire()  # the slot a decision holds for its binding
    await scheduler._bind(QueuedPod(info, attempts=1), "n-2")
    assert scheduler.counters.bind_conflicts == 1 and scheduler.counters.scheduled == 0
    assert "racer" not in {k[1] for k in scheduler._inflight}
    assert ("default", "racer") not in scheduler.queue
    await until(lambda: scheduler.cache.node_of(("default", "racer")) == "n-1", what="the log's binding accounted")
    assert scheduler.cache.node("n-2").req_cpu == 0  # type: ignore[union-attr]
    assert (await plane.api.get("pods", "default", "racer"))["spec"]["nodeName"] == "n-1"


async def test_two_schedulers_never_bind_a_pod_twice(plane: Plane) -> None:
    for n in ("n-1", "n-2", "n-3", "n-4"):
        await add_node(plane.api, n, cpu="64", pods="500")
    count = 120
    for i in range(count):
        await plane.api.create("pods", "default", pod_body(f"p-{i}", cpu="10m"))
    assignments: dict[str, list[str]] = {}

    def record(op: Op, old: Obj | None, new: Obj | None) -> None:
        if new is not None and new["spec"].get("nodeName"):
            before = (old or {}).get("spec", {}).get("nodeName")
            if before != new["spec"]["nodeName"]:
                assignments.setdefault(new["metadata"]["name"], []).append(new["spec"]["nodeName"])
    watch = Informer(plane.bus.logs[Stream.OBJECTS], KeyFilter("", "pods"))
    watch.add_handler(record)
    await watch.start()
    a = Scheduler(SchedulerConfig(nats_url=plane.nats_url, prefix=plane.prefix, seed=1, identity="a"))
    b = Scheduler(SchedulerConfig(nats_url=plane.nats_url, prefix=plane.prefix, seed=2, identity="b"))
    try:
        await asyncio.gather(a.start(), b.start())
        await until(lambda: len(assignments) == count, timeout=60, what="every pod bound")
        await until(lambda: not a._inflight and not b._inflight, what="bindings settled")
        assert all(len(v) == 1 for v in assignments.values())
        # each pod was accepted exactly once, whichever scheduler sent it
        assert a.counters.scheduled + b.counters.scheduled == count
        assert a.counters.bind_errors == b.counters.bind_errors == 0
    finally:
        await asyncio.gather(a.stop(), b.stop())
        await watch.stop()


async def test_stats_over_the_bus(plane: Plane, scheduler: Scheduler) -> None:
    import orjson
    await add_node(plane.api, "n-1")
    await plane.api.create("pods", "default", pod_body("one"))
    await until(lambda: scheduler.counters.scheduled == 1, what="one pod scheduled")
    assert plane.bus.nc is not None
    reply = await plane.bus.nc.request(f"{plane.prefix}.scheduler.stats", b"", timeout=5)
    stats = orjson.loads(reply.data)
    assert stats["scheduled"] == 1 and stats["failed"] == 0 and stats["bind_conflicts"] == 0
    assert stats["identity"] == "test-a" and stats["nodes"] == 1


async def test_deleting_a_pod_makes_room_for_a_waiting_one(plane: Plane, scheduler: Scheduler) -> None:
    await add_node(plane.api, "n-1", cpu="1")
    await plane.api.create("pods", "default", pod_body("first", cpu="1"))
    await until(lambda: scheduler.counters.scheduled == 1, what="the first pod bound")
    await plane.api.create("pods", "default", pod_body("second", cpu="1"))
    await until(lambda: scheduler.counters.failed >= 1, what="the second refused")
    await plane.api.delete("pods", "default", "first", grace_period_seconds=0)

    async def bound() -> str | None:
        return (await plane.api.get("pods", "default", "second"))["spec"].get("nodeName")
    assert await until(bound, what="the second bound once the first is gone") == "n-1"


async def test_the_condition_follows_the_message_and_is_not_rewritten(plane: Plane, scheduler: Scheduler) -> None:
    await add_node(plane.api, "small-1", cpu="1")
    await plane.api.create("pods", "default", pod_body("big", cpu="2"))
    one = ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
           "1 Preemption is not helpful for scheduling.")

    async def says(msg: str) -> Obj | None:
        pod = await plane.api.get("pods", "default", "big")
        c = condition(pod)
        return pod if c is not None and c.get("message") == msg else None
    pod = await until(lambda: says(one), what="the first message")
    rv = pod["metadata"]["resourceVersion"]
    since = condition(pod)["lastTransitionTime"]  # type: ignore[index]
    node = await plane.api.get("nodes", "", "small-1")
    node["metadata"]["labels"]["touched"] = "yes"  # a change that moves the pod but does not help it
    await plane.api.update("nodes", "", "small-1", node)
    await until(lambda: scheduler.counters.failed >= 2, what="a second attempt")
    await until(lambda: not scheduler._status_pending, what="condition writes settled")
    assert (await plane.api.get("pods", "default", "big"))["metadata"]["resourceVersion"] == rv

    await add_node(plane.api, "small-2", cpu="1")
    two = ("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
           "2 Preemption is not helpful for scheduling.")
    pod = await until(lambda: says(two), what="the message for two nodes")
    assert condition(pod)["lastTransitionTime"] == since  # type: ignore[index]  # still False: no transition
    warnings = [e for e in await events(plane.api) if e["reason"] == "FailedScheduling"]
    assert {e["message"] for e in warnings} == {one, two}


async def test_a_gated_pod_waits_for_its_gates(plane: Plane, scheduler: Scheduler) -> None:
    await add_node(plane.api, "n-1")
    body = pod_body("gated")
    body["spec"]["schedulingGates"] = [{"name": "example.com/wait"}]
    await plane.api.create("pods", "default", body)

    async def says_gated() -> Obj | None:
        pod = await plane.api.get("pods", "default", "gated")
        c = condition(pod)
        return pod if c is not None and c.get("reason") == "SchedulingGated" else None
    pod = await until(says_gated, what="the SchedulingGated condition")
    assert condition(pod)["message"] == "Scheduling is blocked due to non-empty scheduling gates"  # type: ignore[index]
    assert pod["spec"].get("nodeName") is None and scheduler.counters.attempts == 0
    pod["spec"]["schedulingGates"] = []
    await plane.api.update("pods", "default", "gated", pod)

    async def bound() -> str | None:
        return (await plane.api.get("pods", "default", "gated"))["spec"].get("nodeName")
    assert await until(bound, what="bound once the gates are gone") == "n-1"
