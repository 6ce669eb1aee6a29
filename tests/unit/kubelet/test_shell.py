"""The async pieces without servers: the work queue, the sim runtime on a fake clock, and a node
agent driving the sim runtime against a fake API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bus.apiclient import ApiReplyError
from bus.log import Op
from components.kubelet.backoff import BackoffPolicy
from components.kubelet.node import NodeAgent, Shared
from components.kubelet.runtime import ContainerConfig, PodIdentity, SandboxConfig
from components.kubelet.sim_runtime import SimRuntime
from components.workqueue import ShutDown, WorkQueue
from core.podstatus import EXITED, PENDING, READY, RUNNING
from tests.unit.kubelet.helpers import pod


# -- work queue ----------------------------------------------------------------------------------
async def test_queue_deduplicates_and_requeues_keys_changed_while_held() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    q.add("b")
    q.add("a")
    assert len(q) == 2
    assert await q.get() == "a"
    q.add("a")  # changed while a worker holds it: not handed out twice at once…
    assert await q.get() == "b"
    assert len(q) == 0
    q.done("a")  # …but queued again when the worker is done
    assert await q.get() == "a"
    q.done("a")
    q.done("b")
    assert len(q) == 0


async def test_queue_delayed_adds_keep_the_earliest_time() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_after("a", 30)
    q.add_after("a", 60)
    first = q.waiting["a"]
    q.add_after("a", 10)
    assert q.waiting["a"] < first
    q.add_after("b", 0)
    assert await q.get() == "b"
    q.shutdown()
    assert q.waiting == {}
    with pytest.raises(ShutDown):
        await q.get()


# -- sim runtime ---------------------------------------------------------------------------------
class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


POD = PodIdentity("uid-1", "p", "ns")


async def test_sim_sandbox_becomes_ready_after_the_delay() -> None:
    clock = Clock()
    rt = SimRuntime("n1", start_delay=1.5, stop_delay=0, clock=clock)
    sid = await rt.create_sandbox(SandboxConfig(POD, 0, "10.0.0.2", "p"))
    assert (await rt.observe("uid-1")).sandbox.state == PENDING  # type: ignore[union-attr]
    clock.t += 1.5
    assert (await rt.observe("uid-1")).sandbox.state == READY  # type: ignore[union-attr]
    cid = await rt.create_container(ContainerConfig(POD, "c", 0, False, sid, 0, "nginx", "h"))
    await rt.start_container(cid)
    o = await rt.observe("uid-1")
    assert o.scheme == "sim" and o.containers[0].state == RUNNING and o.containers[0].started_at == clock.t
    assert await rt.sandbox_ips() == {"uid-1": "10.0.0.2"}
    assert await rt.pods() == {"uid-1": ("ns", "p")}
    await rt.stop_container(cid, 30)
    assert (await rt.observe("uid-1")).containers[0].state == EXITED
    await rt.remove_container(cid)
    await rt.remove_container(sid)
    assert (await rt.observe("uid-1")).empty and await rt.pods() == {}


async def test_sim_ids_are_stable_across_runs() -> None:
    a, b = SimRuntime("n1", start_delay=0), SimRuntime("n1", start_delay=0)
    cfg = SandboxConfig(POD, 0, "10.0.0.2", "p")
    assert await a.create_sandbox(cfg) == await b.create_sandbox(cfg)


def test_sim_adopts_what_the_status_says() -> None:
    rt = SimRuntime("n1")
    p = pod(status={"phase": "Running", "podIP": "10.0.0.7", "startTime": "2027-01-01T00:00:00Z",
                    "containerStatuses": [{"name": "c", "restartCount": 2, "containerID": "sim://abc",
                                           "image": "nginx:latest", "imageID": "sha256:1",
                                           "state": {"running": {"startedAt": "2027-01-01T00:00:05Z"}}}]})
    rt.adopt(p)
    o = asyncio.run(rt.observe(p["metadata"]["uid"]))
    assert o.sandbox is not None and o.sandbox.ip == "10.0.0.7" and o.sandbox.state == READY
    (c,) = o.containers
    assert (c.id, c.attempt, c.state, c.hash) == ("abc", 2, RUNNING, "")


# -- a node agent on the sim runtime -------------------------------------------------------------
class FakeApi:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.patches: list[tuple[str, dict[str, Any]]] = []
        self.deleted: list[tuple[str, str, dict[str, Any]]] = []
        self.rv = 100

    async def get(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        obj = self.objects.get((resource, namespace, name))
        if obj is None:
            raise ApiReplyError(404, {"reason": "NotFound", "message": f'{resource} "{name}" not found'})
        return obj

    async def patch(self, resource: str, namespace: str, name: str, body: Any, **kw: Any) -> dict[str, Any]:
        obj = await self.get(resource, namespace, name)
        self.patches.append((name, body))
        self.rv += 1
        obj = {**obj, "status": {**obj.get("status", {}), **body["status"]},
               "metadata": {**obj["metadata"], "resourceVersion": str(self.rv)}}
        self.objects[(resource, namespace, name)] = obj
        return obj

    async def delete(self, resource: str, namespace: str, name: str, **kw: Any) -> dict[str, Any]:
        self.deleted.append((resource, name, kw))
        return self.objects.pop((resource, namespace, name), {})


async def test_agent_runs_and_deletes_a_pod_on_the_sim_runtime(tmp_path: Any) -> None:
    clock = Clock(1_800_000_000.0)
    api = FakeApi()
    queued: list[tuple[str, float]] = []
    shared = Shared(api=api, enqueue=lambda n, u: queued.append((u, 0.0)),  # type: ignore[arg-type]
                    enqueue_after=lambda n, u, d: queued.append((u, d)), policy=BackoffPolicy(),
                    root_dir=tmp_path, clock=clock)
    rt = SimRuntime("n1", start_delay=2.0, stop_delay=0, clock=clock)
    agent = NodeAgent("n1", rt, shared, pod_cidr="10.244.3.0/24", node_ip="10.244.3.1",
                      allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"})
    p = pod()
    uid = p["metadata"]["uid"]
    api.objects[("pods", "ns", "p")] = p
    agent.on_pod(Op.ADDED, None, p)
    assert queued == [(uid, 0.0)]

    await agent.sync(uid)  # sandbox created; pending for 2 s
    assert queued[-1] == (uid, pytest.approx(2.0))
    assert "phase" not in api.patches[-1][1]["status"]  # only what changed is sent
    first = api.objects[("pods", "ns", "p")]["status"]
    assert first["phase"] == "Pending" and first["hostIP"] == "10.244.3.1" and "podIP" not in first
    assert first["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}

    clock.t += 2.0
    await agent.sync(uid)
    st = api.objects[("pods", "ns", "p")]["status"]
    assert st["phase"] == "Running" and st["podIP"] == "10.244.3.2"
    assert st["containerStatuses"][0]["containerID"].startswith("sim://")
    writes = len(api.patches)
    await agent.sync(uid)  # nothing changed: nothing written
    assert len(api.patches) == writes

    # Our own write coming back through the informer does not enqueue the pod again.
    queued.clear()
    agent.on_pod(Op.MODIFIED, p, api.objects[("pods", "ns", "p")])
    assert queued == []

    deleting = {**api.objects[("pods", "ns", "p")]}
    deleting["metadata"] = {**deleting["metadata"], "deletionTimestamp": "2027-01-01T00:00:30Z",
                            "deletionGracePeriodSeconds": 30}
    agent.on_pod(Op.MODIFIED, p, deleting)
    await agent.sync(uid)
    assert api.deleted == [("pods", "p", {"grace_period_seconds": 0, "uid": uid})]
    assert (await rt.observe(uid)).empty and uid not in agent.ipam.by_uid
    agent.on_pod(Op.DELETED, deleting, None)
    await agent.sync(uid)
    assert uid not in agent.mem


async def test_agent_rejects_a_pod_whose_host_port_is_taken(tmp_path: Any) -> None:
    api = FakeApi()
    shared = Shared(api=api, enqueue=lambda n, u: None, enqueue_after=lambda n, u, d: None,  # type: ignore[arg-type]
                    policy=BackoffPolicy(), root_dir=tmp_path, clock=Clock())
    agent = NodeAgent("n1", SimRuntime("n1", start_delay=0), shared, pod_cidr="10.244.3.0/24", node_ip="h",
                      allocatable={"pods": "110"})
    ports = [{"containerPort": 80, "hostPort": 80}]
    for name, uid in (("a", "uid-a"), ("b", "uid-b")):
        body = pod({"name": "c", "image": "nginx", "ports": ports})
        body["metadata"].update(name=name, uid=uid)
        api.objects[("pods", "ns", name)] = body
        agent.on_pod(Op.ADDED, None, body)
        await agent.sync(uid)
    assert api.objects[("pods", "ns", "a")]["status"]["phase"] == "Running"
    b = api.objects[("pods", "ns", "b")]["status"]
    assert b["phase"] == "Failed" and b["reason"] == "NodePorts"
    assert (await agent.runtime.observe("uid-b")).empty
