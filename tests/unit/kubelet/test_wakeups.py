"""A pod being started wakes no extra syncs: its own status patch coming back through the informer
(even before the patch's reply) and docker's "start" events for containers the kubelet itself
started are not news; every other docker event still is."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

from bus.log import Op
from components.kubelet.backoff import BackoffPolicy
from components.kubelet.docker_runtime import DockerRuntime
from components.kubelet.node import NodeAgent, Shared
from components.kubelet.runtime import UID_LABEL
from components.kubelet.sim_runtime import SimRuntime
from tests.unit.kubelet.helpers import pod
from tests.unit.kubelet.test_shell import Clock, FakeApi


class EchoingApi(FakeApi):
    """Delivers the patched pod to the agent's informer handler before the patch returns."""

    agent: NodeAgent

    async def patch(self, resource: str, namespace: str, name: str, body: Any, **kw: Any) -> dict[str, Any]:
        old = self.objects[(resource, namespace, name)]
        new = await super().patch(resource, namespace, name, body, **kw)
        self.agent.on_pod(Op.MODIFIED, old, new)
        return new


async def test_own_status_patch_seen_before_its_reply_enqueues_nothing(tmp_path: Any) -> None:
    clock = Clock(1_800_000_000.0)
    api = EchoingApi()
    queued: list[tuple[str, float]] = []
    shared = Shared(api=api, enqueue=lambda n, u: queued.append((u, 0.0)),  # type: ignore[arg-type]
                    enqueue_after=lambda n, u, d: queued.append((u, d)), policy=BackoffPolicy(),
                    root_dir=tmp_path, clock=clock)
    agent = NodeAgent("n1", SimRuntime("n1", start_delay=0, clock=clock), shared, pod_cidr="10.244.3.0/24",
                      node_ip="10.244.3.1", allocatable={"pods": "110"})
    api.agent = agent
    p = pod()
    uid = p["metadata"]["uid"]
    api.objects[("pods", "ns", "p")] = p
    agent.on_pod(Op.ADDED, None, p)
    queued.clear()
    await agent.sync(uid)
    assert api.objects[("pods", "ns", "p")]["status"]["phase"] == "Running"
    assert [d for u, d in queued if d == 0.0] == []  # the echo of our own patch woke nothing
    assert agent.sending == {}

    # A status someone else wrote is still a change.
    other = {**api.objects[("pods", "ns", "p")]}
    other["status"] = {**other["status"], "phase": "Unknown"}
    agent.on_pod(Op.MODIFIED, api.objects[("pods", "ns", "p")], other)
    assert queued[-1] == (uid, 0.0)


class FakeDocker:
    """docker-py's low-level API, as far as `start` and `events` go."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events_list = events
        self.started: list[str] = []
        self.release = threading.Event()
        self.calls = 0

    def start(self, cid: str) -> None:
        self.started.append(cid)

    def events(self, **kw: Any) -> Iterator[dict[str, Any]]:
        self.calls += 1
        if self.calls > 1:  # a reconnect after the stream ended: wait for close
            self.release.wait()
            return iter(())
        return iter(self.events_list)

    def close(self) -> None:
        self.release.set()


def _event(action: str, cid: str, uid: str) -> dict[str, Any]:
    return {"Type": "container", "Action": action, "status": action, "id": cid,
            "Actor": {"ID": cid, "Attributes": {UID_LABEL: uid}}}


async def test_start_events_of_containers_we_started_wake_nothing() -> None:
    fake = FakeDocker([_event("start", "ours", "u1"), _event("start", "theirs", "u2"), _event("die", "ours", "u1"),
                       _event("destroy", "gone", "u3")])
    rt = DockerRuntime(prefix="t", node="n1", network="net", threads=2)
    rt._api = fake
    rt._start_own("ours")
    assert fake.started == ["ours"] and "ours" in rt._starting
    woken: list[str] = []
    done = asyncio.Event()

    def on_uid(uid: str) -> None:
        woken.append(uid)
        if uid == "u3":
            done.set()
    rt.watch(on_uid)
    try:
        await asyncio.wait_for(done.wait(), 30)
    finally:
        fake.release.set()
        await rt.close()
    assert woken == ["u2", "u1", "u3"]  # our own start skipped; its death and others' events seen
    assert rt._starting == {} and rt._stale == {"theirs", "ours", "gone"}


def test_a_failed_start_leaves_no_mark() -> None:
    class Failing(FakeDocker):
        def start(self, cid: str) -> None:
            raise RuntimeError("no")
    rt = DockerRuntime(prefix="t", node="n1", network="net", threads=1)
    rt._api = Failing([])
    try:
        rt._start_own("c")
    except RuntimeError:
        pass
    assert rt._starting == {}
    rt._pool.shutdown()
