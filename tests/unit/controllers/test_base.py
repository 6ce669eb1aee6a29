"""The controller queue (ownership hook, causes) and expectations, on a fake clock."""

from __future__ import annotations

import asyncio

from bus.apiclient import CAUSE
from components.clock import FakeClock
from components.controllers.base import ControllerQueue, Expectations, object_key, run_worker, split_key


def test_keys() -> None:
    assert object_key({"metadata": {"namespace": "ns", "name": "a"}}) == "ns/a"
    assert object_key({"metadata": {"name": "node"}}) == "node"
    assert split_key("ns/a") == ("ns", "a") and split_key("node") == ("", "node")


async def test_queue_drops_keys_it_does_not_own_and_keeps_the_newest_cause() -> None:
    q = ControllerQueue(owns=lambda k: k.startswith("mine/"), clock=FakeClock())
    q.enqueue("theirs/x", 5)
    q.enqueue("mine/a", 7)
    q.enqueue("mine/a", 3)
    q.enqueue_object({"metadata": {"namespace": "mine", "name": "a", "resourceVersion": "9"}})
    assert len(q) == 1
    seen: list[tuple[str, str]] = []

    async def sync(key: str) -> None:
        seen.append((key, CAUSE.get()))
        q.shutdown()

    await asyncio.wait_for(run_worker(q, sync, controller="t"), 5)
    assert seen == [("mine/a", "9")]
    assert CAUSE.get() == ""  # reset after the sync


async def test_expectations_wait_for_observations_and_expire() -> None:
    clock = FakeClock()
    e = Expectations(clock)
    assert e.satisfied("k")
    e.expect("k", creations=2, deletions=["u1"])
    assert not e.satisfied("k") and e.pending("k") == (2, 1)
    e.creation_observed("k")
    e.creations_failed("k")
    assert not e.satisfied("k")
    e.deletion_observed("k", "u1")
    assert e.satisfied("k")
    e.expect("k", creations=1)
    clock.advance(Expectations.TTL + 1)
    assert e.satisfied("k")  # a lost event does not wedge the key forever
    e.forget("k")
    assert e.pending("k") == (0, 0)
