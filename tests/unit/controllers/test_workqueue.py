"""The workqueue: dedupe, one worker per key, delays and backoff on a fake clock, shutdown."""

from __future__ import annotations

import asyncio

import pytest

from components.controllers.base import Requeue, run_worker
from components.clock import FakeClock
from components.workqueue import (
    ExponentialBackoff,
    MaxOf,
    ShutDown,
    TokenBucket,
    WorkQueue,
    default_rate_limiter,
)


def queue(clock: FakeClock | None = None, base: float = 1.0, cap: float = 8.0) -> WorkQueue[str]:
    return WorkQueue(clock=clock or FakeClock(), rate_limiter=ExponentialBackoff(base, cap))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_adds_are_deduplicated_and_fifo() -> None:
    q = queue()
    for key in ("a", "b", "a", "c", "b"):
        q.add(key)
    assert len(q) == 3
    assert [await q.get(), await q.get(), await q.get()] == ["a", "b", "c"]


async def test_a_key_being_processed_is_queued_again_only_when_done() -> None:
    q = queue()
    q.add("a")
    assert await q.get() == "a"
    q.add("a")
    q.add("a")
    assert len(q) == 0 and q.processing == {"a"}
    other = asyncio.create_task(q.get())
    await settle()
    assert not other.done()  # a second worker does not get "a" while the first holds it
    q.done("a")
    assert await asyncio.wait_for(other, 1) == "a"
    q.done("a")
    assert len(q) == 0 and q.processing == frozenset()


async def test_done_without_new_adds_drops_the_key() -> None:
    q = queue()
    q.add("a")
    await q.get()
    q.done("a")
    assert len(q) == 0


async def test_waiting_getters_are_woken_in_order() -> None:
    q = queue()
    first, second = asyncio.create_task(q.get()), asyncio.create_task(q.get())
    await settle()
    q.add("a")
    q.add("b")
    assert await asyncio.wait_for(first, 1) == "a"
    assert await asyncio.wait_for(second, 1) == "b"


async def test_a_cancelled_getter_passes_its_wakeup_on() -> None:
    q = queue()
    doomed, survivor = asyncio.create_task(q.get()), asyncio.create_task(q.get())
    await settle()
    q.add("a")  # wakes `doomed` ...
    doomed.cancel()  # ... which is cancelled before it runs
    assert await asyncio.wait_for(survivor, 1) == "a"


async def test_add_after_waits_for_the_clock() -> None:
    clock = FakeClock()
    q = queue(clock)
    q.add_after("a", 5.0)
    assert len(q) == 0 and q.waiting == {"a": clock.monotonic() + 5.0}
    clock.advance(4.9)
    assert len(q) == 0
    clock.advance(0.1)
    assert len(q) == 1 and q.waiting == {}
    q.add_after("b", 0)
    q.add_after("c", -1)
    assert len(q) == 3


async def test_add_after_keeps_the_earliest_due_time() -> None:
    clock = FakeClock()
    q = queue(clock)
    q.add_after("a", 5.0)
    q.add_after("a", 2.0)
    q.add_after("a", 10.0)
    assert clock.pending == 1
    clock.advance(2.0)
    assert len(q) == 1
    assert await q.get() == "a"
    q.done("a")
    clock.advance(20.0)
    assert len(q) == 0  # the later delays were folded into the earliest


async def test_delayed_add_of_a_queued_key_is_deduplicated() -> None:
    clock = FakeClock()
    q = queue(clock)
    q.add("a")
    q.add_after("a", 1.0)
    clock.advance(1.0)
    assert len(q) == 1


async def test_rate_limited_adds_back_off_exponentially_until_forgotten() -> None:
    clock = FakeClock()
    q = queue(clock, base=1.0, cap=8.0)
    delays = []
    for _ in range(5):
        q.add_rate_limited("a")
        delays.append(q.waiting["a"] - clock.monotonic())
        clock.advance(delays[-1])
        assert await q.get() == "a"
        q.done("a")
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert q.num_requeues("a") == 5
    q.forget("a")
    assert q.num_requeues("a") == 0
    q.add_rate_limited("a")
    assert q.waiting["a"] - clock.monotonic() == 1.0


def test_exponential_backoff_is_per_key() -> None:
    b = ExponentialBackoff(0.005, 1000.0)
    assert [b.when("a") for _ in range(3)] == [0.005, 0.01, 0.02]
    assert b.when("b") == 0.005
    for _ in range(100):
        b.when("a")
    assert b.when("a") == 1000.0
    assert b.retries("b") == 1


def test_token_bucket_limits_overall_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(clock, qps=1.0, burst=2)
    assert [bucket.when(k) for k in "abcd"] == [0.0, 0.0, 1.0, 2.0]
    clock.advance(10.0)  # refills, but never past the burst
    assert [bucket.when(k) for k in "abc"] == [0.0, 0.0, 1.0]
    assert bucket.retries("a") == 0


def test_max_of_takes_the_longest_delay() -> None:
    clock = FakeClock()
    limiter = MaxOf(ExponentialBackoff(1.0, 100.0), TokenBucket(clock, qps=1.0, burst=1))
    assert limiter.when("a") == 1.0
    assert limiter.when("b") == 1.0  # the bucket is empty: 1 s
    assert limiter.when("a") == 2.0
    assert limiter.retries("a") == 2
    limiter.forget("a")
    assert limiter.retries("a") == 0
    default = default_rate_limiter(clock)
    assert default.when("x") == 0.005


async def test_shutdown_ends_getters_drops_delays_and_refuses_adds() -> None:
    clock = FakeClock()
    q = queue(clock)
    getter = asyncio.create_task(q.get())
    await settle()
    q.add_after("late", 5.0)
    q.shutdown()
    with pytest.raises(ShutDown):
        await asyncio.wait_for(getter, 1)
    assert clock.pending == 0
    q.add("a")
    q.add_after("b", 1.0)
    assert len(q) == 0 and q.shutting_down
    with pytest.raises(ShutDown):
        await q.get()


async def test_fake_clock_sleep_and_timer_order() -> None:
    clock = FakeClock()
    fired: list[str] = []
    clock.call_later(2.0, lambda: fired.append("two"))
    clock.call_later(1.0, lambda: fired.append("one"))
    clock.call_later(3.0, lambda: fired.append("three")).cancel()
    sleeper = asyncio.create_task(clock.sleep(1.5))
    await settle()
    clock.advance(1.5)
    await asyncio.wait_for(sleeper, 1)
    assert fired == ["one"]
    clock.advance(10.0)
    assert fired == ["one", "two"]
    start = clock.wall()
    clock.advance(60.0)
    assert (clock.wall() - start).total_seconds() == 60.0


# -- the worker loop -----------------------------------------------------------------------------
async def test_worker_retries_with_backoff_and_forgets_on_success() -> None:
    clock = FakeClock()
    q = queue(clock, base=1.0)
    calls: list[str] = []
    outcomes = [Requeue("lost a race"), RuntimeError("bug"), None]

    async def sync(key: str) -> None:
        calls.append(key)
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    worker = asyncio.create_task(run_worker(q, sync, controller="test"))
    try:
        q.add("a")
        await settle()
        assert calls == ["a"] and q.waiting == {"a": clock.monotonic() + 1.0}
        clock.advance(1.0)
        await settle()
        assert calls == ["a", "a"] and q.waiting == {"a": clock.monotonic() + 2.0}
        clock.advance(2.0)
        await settle()
        assert calls == ["a", "a", "a"] and q.waiting == {}
        assert q.num_requeues("a") == 0 and q.processing == frozenset()
    finally:
        q.shutdown()
        await asyncio.wait_for(worker, 1)


async def test_two_workers_never_sync_one_key_at_once() -> None:
    q = queue()
    running: set[str] = set()
    overlaps: list[str] = []
    release = asyncio.Event()
    calls: list[str] = []

    async def sync(key: str) -> None:
        if key in running:
            overlaps.append(key)
        running.add(key)
        calls.append(key)
        await release.wait()
        running.discard(key)

    workers = [asyncio.create_task(run_worker(q, sync, controller="test")) for _ in range(2)]
    try:
        q.add("a")
        await settle()
        q.add("a")  # changed while being synced
        q.add("b")
        await settle()
        assert calls == ["a", "b"]  # the second worker took "b", not "a" again
        release.set()
        await settle()
        assert calls == ["a", "b", "a"]  # "a" synced once more, after the first pass
        assert overlaps == []
    finally:
        q.shutdown()
        await asyncio.wait_for(asyncio.gather(*workers), 1)
