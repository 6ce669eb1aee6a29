"""One contract for `EventLog`, run against the in-memory log and the real JetStream log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bus.connection import Bus
from bus.log import Compacted, Entry, EventLog, Meta, Op, WrongRevision
from bus.memory import MemoryLog
from bus.server import NatsServer
from core.keys import KeyFilter, ObjectKey
from core.kinds import Stream

POD_A = ObjectKey("", "pods", "default", "a")
POD_B = ObjectKey("", "pods", "default", "b")
POD_X = ObjectKey("", "pods", "other", "x.y.z")
DEPLOY = ObjectKey("apps", "deployments", "default", "a")
NODE = ObjectKey("", "nodes", "", "node-1.example.com")


@pytest.fixture(params=["memory", pytest.param("jetstream", marks=pytest.mark.integration)])
async def log(request: pytest.FixtureRequest, tmp_path, prefix: str) -> AsyncIterator[EventLog]:
    if request.param == "memory":
        yield MemoryLog()
        return
    server = NatsServer(store_dir=tmp_path / "nats")
    await server.start()
    bus = await Bus(server.url, prefix=prefix).connect()
    try:
        yield bus.logs[Stream.OBJECTS]
    finally:
        await bus.close()
        await server.stop()


async def take(it: AsyncIterator[Entry], n: int, timeout: float = 5.0) -> list[Entry]:
    out: list[Entry] = []

    async def run() -> None:
        async for e in it:
            out.append(e)
            if len(out) == n:
                return

    await asyncio.wait_for(run(), timeout)
    return out


async def test_create_is_compare_and_swap_on_absence(log: EventLog) -> None:
    first = await log.append(POD_A, Op.ADDED, b'{"v":1}', expected=0)
    assert first.revision >= 1
    with pytest.raises(WrongRevision) as err:
        await log.append(POD_A, Op.ADDED, b'{"v":2}', expected=0)
    assert err.value.actual == first.revision
    got = await log.latest(POD_A)
    assert got is not None and got.data == b'{"v":1}' and got.op is Op.ADDED


async def test_update_needs_the_last_revision(log: EventLog) -> None:
    a = await log.append(POD_A, Op.ADDED, b"1", expected=0)
    await log.append(POD_B, Op.ADDED, b"1", expected=0)
    b = await log.append(POD_A, Op.MODIFIED, b"2", expected=a.revision)
    assert b.revision > a.revision
    with pytest.raises(WrongRevision) as err:
        await log.append(POD_A, Op.MODIFIED, b"3", expected=a.revision)
    assert err.value.actual == b.revision
    got = await log.latest(POD_A)
    assert got is not None and got.data == b"2" and got.revision == b.revision


async def test_delete_leaves_a_tombstone_that_a_recreate_expects(log: EventLog) -> None:
    a = await log.append(POD_A, Op.ADDED, b"1", expected=0)
    tomb = await log.append(POD_A, Op.DELETED, b"1", expected=a.revision)
    latest = await log.latest(POD_A)
    assert latest is not None and latest.op is Op.DELETED and latest.revision == tomb.revision
    listed, _ = await log.current(KeyFilter("", "pods"))
    assert listed == []
    with pytest.raises(WrongRevision):
        await log.append(POD_A, Op.ADDED, b"2", expected=0)
    again = await log.append(POD_A, Op.ADDED, b"2", expected=tomb.revision)
    listed, rev = await log.current(KeyFilter("", "pods"))
    assert [e.revision for e in listed] == [again.revision] and rev >= again.revision


async def test_current_filters_by_resource_namespace_and_name(log: EventLog) -> None:
    for key in (POD_A, POD_B, POD_X, DEPLOY, NODE):
        await log.append(key, Op.ADDED, str(key).encode(), expected=0)
    pods, rev = await log.current(KeyFilter("", "pods"))
    assert [e.key for e in pods] == [POD_A, POD_B, POD_X]
    assert rev == await log.last_revision()
    assert [e.key for e in (await log.current(KeyFilter("", "pods", "other")))[0]] == [POD_X]
    assert [e.key for e in (await log.current(KeyFilter("", "pods", "other", "x.y.z")))[0]] == [POD_X]
    assert [e.key for e in (await log.current(KeyFilter("", "nodes", "")))[0]] == [NODE]
    assert len((await log.current(KeyFilter()))[0]) == 5
    assert (await log.current(KeyFilter("", "pods", "none")))[0] == []


async def test_watch_yields_exactly_what_follows_a_revision(log: EventLog) -> None:
    a = await log.append(POD_A, Op.ADDED, b"1", expected=0)
    b = await log.append(POD_B, Op.ADDED, b"1", expected=0)
    await log.append(DEPLOY, Op.ADDED, b"1", expected=0)
    c = await log.append(POD_A, Op.MODIFIED, b"2", expected=a.revision)
    watch = log.watch(KeyFilter("", "pods"), a.revision)
    got = await take(watch, 2)
    assert [(e.key, e.revision) for e in got] == [(POD_B, b.revision), (POD_A, c.revision)]
    d = await log.append(POD_B, Op.DELETED, b"1", expected=b.revision)
    (live,) = await take(watch, 1)
    assert live.op is Op.DELETED and live.revision == d.revision
    await watch.aclose()  # type: ignore[attr-defined]


async def test_watch_from_zero_and_from_the_future(log: EventLog) -> None:
    await log.append(POD_A, Op.ADDED, b"1", expected=0)
    everything = await take(log.watch(KeyFilter(), 0), 1)
    assert everything[0].key == POD_A
    last = await log.last_revision()
    future = log.watch(KeyFilter(), last)
    nxt = asyncio.ensure_future(take(future, 1))
    await asyncio.sleep(0.1)
    e = await log.append(POD_B, Op.ADDED, b"1", expected=0)
    assert [x.revision for x in await nxt] == [e.revision]


async def test_meta_round_trips(log: EventLog) -> None:
    meta = Meta(actor="system:kube-scheduler", request_id="r-1", causation="17")
    await log.append(POD_X, Op.ADDED, b"{}", expected=0, meta=meta)
    got = await log.latest(POD_X)
    assert got is not None and got.meta == meta and got.key == POD_X
    (watched,) = await take(log.watch(KeyFilter("", "pods", "other"), 0), 1)
    assert watched.meta == meta and watched.key == POD_X and watched.timestamp > 0


async def test_compaction_is_tracked_and_old_watches_refused(log: EventLog) -> None:
    rev = 0
    for i in range(6):
        rev = (await log.append(POD_A, Op.ADDED if i == 0 else Op.MODIFIED, str(i).encode(), expected=rev)).revision
    other = await log.append(DEPLOY, Op.ADDED, b"d", expected=0)
    assert await log.compacted_revision(KeyFilter("", "pods")) == 0
    removed = await log.compact(keep=2)
    assert removed == 4
    floor = await log.compacted_revision(KeyFilter("", "pods"))
    assert floor >= 4
    with pytest.raises(Compacted) as err:
        await take(log.watch(KeyFilter("", "pods"), 1), 1)
    assert err.value.oldest == floor
    kept = await take(log.watch(KeyFilter("", "pods"), floor), 2)
    assert [e.data for e in kept] == [b"4", b"5"]
    assert (await log.latest(POD_A)).data == b"5"  # type: ignore[union-attr]
    deploys = await take(log.watch(KeyFilter("apps", "deployments"), 0), 1)
    assert deploys[0].revision == other.revision  # other resources keep their whole history


async def test_read_is_a_bounded_range_with_tombstones(log: EventLog) -> None:
    a = await log.append(POD_A, Op.ADDED, b'{"v":1}', expected=0)
    b = await log.append(POD_B, Op.ADDED, b'{"v":1}', expected=0)
    d = await log.append(POD_A, Op.DELETED, b'{"v":1}', expected=a.revision)
    x = await log.append(POD_X, Op.ADDED, b'{"v":1}', expected=0)
    got = [e async for e in log.read(KeyFilter(), a.revision, d.revision)]
    assert [(e.revision, e.op) for e in got] == [(b.revision, Op.ADDED), (d.revision, Op.DELETED)]
    pods_default = [e.revision async for e in log.read(KeyFilter("", "pods", "default"), 0, x.revision)]
    assert pods_default == [a.revision, b.revision, d.revision]
    assert [e async for e in log.read(KeyFilter(), x.revision, x.revision + 10)] == []
    listed, top = await log.current(KeyFilter(), deleted=True)
    assert [(e.key, e.op) for e in listed] == [(POD_B, Op.ADDED), (POD_A, Op.DELETED), (POD_X, Op.ADDED)]
    assert top == x.revision


async def test_revision_at_a_time(log: EventLog) -> None:
    a = await log.append(POD_A, Op.ADDED, b'{"v":1}', expected=0)
    await asyncio.sleep(0.05)
    b = await log.append(POD_B, Op.ADDED, b'{"v":1}', expected=0)
    assert await log.revision_at(b.timestamp - 0.02) == a.revision
    assert await log.revision_at(b.timestamp + 5) == b.revision
    assert await log.revision_at(a.timestamp - 5) == 0


async def test_expired_tombstones_go_and_count_as_compacted(log: EventLog) -> None:
    a = await log.append(POD_A, Op.ADDED, b'{"v":1}', expected=0)
    d = await log.append(POD_A, Op.DELETED, b'{"v":1}', expected=a.revision)
    keep = await log.append(DEPLOY, Op.ADDED, b'{"v":1}', expected=0)
    assert await log.expire_deleted(older_than=d.timestamp - 60) == 0
    assert await log.expire_deleted(older_than=d.timestamp + 60) == 1
    assert await log.latest(POD_A) is None
    assert await log.compacted_revision(KeyFilter("", "pods")) == d.revision
    assert await log.compacted_revision(KeyFilter("apps", "deployments")) == 0
    with pytest.raises(Compacted):
        await take(log.watch(KeyFilter("", "pods"), a.revision), 1)
    again = await log.append(POD_A, Op.ADDED, b'{"v":2}', expected=0)  # the name is free again
    assert again.revision > keep.revision


async def test_a_raised_floor_refuses_every_older_watch(log: EventLog) -> None:
    a = await log.append(POD_A, Op.ADDED, b'{"v":1}', expected=0)
    await log.raise_floor(a.revision + 5)
    assert await log.compacted_revision(KeyFilter("apps", "deployments")) == a.revision + 5
    with pytest.raises(Compacted) as err:
        await take(log.watch(KeyFilter("apps", "deployments"), a.revision), 1)
    assert err.value.oldest == a.revision + 5


async def test_an_entry_by_its_revision(log: EventLog) -> None:
    a = await log.append(POD_A, Op.ADDED, b'{"v":1}', expected=0, meta=Meta("me", "r1", "7"))
    got = await log.entry(a.revision)
    assert got is not None and (got.key, got.op, got.data, got.meta) == (POD_A, Op.ADDED, b'{"v":1}', a.meta)
    assert await log.entry(a.revision + 100) is None
