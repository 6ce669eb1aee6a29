"""Property: random creates/updates/deletes on random keys, watchers started at random revisions
— every watcher sees exactly the log's entries after its revision, in order, nothing more.

Run against the in-memory log, the real JetStream log, and the API server's watch cache (its
ring backlog plus live events, where a gap would hide)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bus.connection import Bus
from bus.log import Entry, EventLog, Op
from bus.memory import MemoryLog
from bus.server import NatsServer
from components.apiserver.cache import WatchCache, Watcher
from core.keys import KeyFilter, ObjectKey

KEYS = [ObjectKey("", "configmaps", ns, n) for ns in ("a", "b") for n in ("x", "y.z")] + [
    ObjectKey("apps", "deployments", "a", "x")]
FILTERS = [KeyFilter(), KeyFilter("", "configmaps"), KeyFilter("", "configmaps", "a"), KeyFilter("apps", "deployments")]

steps = st.lists(st.tuples(st.sampled_from(["write", "delete", "watch"]), st.integers(0, len(KEYS) - 1),
                           st.integers(0, len(FILTERS) - 1), st.integers(0, 1000)), min_size=1, max_size=40)


async def _write(log: EventLog, key: ObjectKey, delete: bool, n: int) -> Entry | None:
    last = await log.latest(key)
    alive = last is not None and last.op is not Op.DELETED
    expected = last.revision if last else 0
    if delete:
        if not alive:
            return None
        return await log.append(key, Op.DELETED, last.data if last else b"{}", expected=expected)
    return await log.append(key, Op.MODIFIED if alive else Op.ADDED, b'{"n":%d}' % n, expected=expected)


async def _scenario(log: EventLog, plan: list[tuple[str, int, int, int]], *, via_cache: bool) -> None:
    cache = WatchCache(log, ring_size=8) if via_cache else None
    if cache:
        await cache.start()
    written: list[Entry] = []
    watchers: list[tuple[KeyFilter, int, list[int], asyncio.Future[None]]] = []

    async def collect(flt: KeyFilter, after: int, got: list[int], w: Watcher | None, backlog: list[int]) -> None:
        if w is not None:  # the API server's path: backlog, then live
            got += backlog
            while (ev := await w.queue.get()) is not None:
                got.append(ev.revision)
                await asyncio.sleep(0)
            return
        async for e in log.watch(flt, after):
            got.append(e.revision)
            await asyncio.sleep(0)  # a real consumer yields (to write a socket): writes interleave here

    for action, k, f, n in plan:
        if action == "watch":
            start = written[n % len(written)].revision if written and n % 3 else (written[-1].revision if written else 0)
            flt = FILTERS[f]
            got: list[int] = []
            w, backlog = None, []
            if cache is not None:  # as open_watch does: reach the revision, then subscribe with no await between
                await cache.wait_for(start)
                if not cache.covers(start):
                    start = cache.revision  # older watches are the log's to serve (tested without the cache)
                events, w = cache.subscribe(flt, start)
                backlog = [e.revision for e in events]
            watchers.append((flt, start, got, asyncio.ensure_future(collect(flt, start, got, w, backlog))))
            await asyncio.sleep(0)
        else:
            e = await _write(log, KEYS[k], action == "delete", n)
            if e is not None:
                written.append(e)
            if n % 2:
                await asyncio.sleep(0)  # let watchers run between some writes, not others
    if cache is not None and written:
        await cache.wait_for(written[-1].revision)
    await asyncio.sleep(0.05)
    for flt, start, got, task in watchers:
        want = [e.revision for e in written if e.revision > start and flt.matches(e.key)]
        deadline = asyncio.get_running_loop().time() + 5
        while len(got) < len(want) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)  # a watch never ends by itself: wait for what is due
        await asyncio.sleep(0.02)  # and a moment more, so an extra event would show
        task.cancel()
        assert got == want, f"watch {flt} from {start}: got {got}, want {want}"
    if cache:
        await cache.stop()


settings_ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings_
@given(plan=steps)
def test_memory_log_watchers_see_exactly_what_follows(plan: list[tuple[str, int, int, int]]) -> None:
    asyncio.run(_scenario(MemoryLog(), plan, via_cache=False))


@settings_
@given(plan=steps)
def test_watch_cache_backlog_and_live_have_no_gap(plan: list[tuple[str, int, int, int]]) -> None:
    asyncio.run(_scenario(MemoryLog(), plan, via_cache=True))


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = NatsServer(store_dir=tmp_path_factory.mktemp("nats"))
    loop = asyncio.new_event_loop()
    loop.run_until_complete(server.start())
    try:
        yield server.url
    finally:
        loop.run_until_complete(server.stop())
        loop.close()


@pytest.mark.integration
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_jetstream_log_watchers_see_exactly_what_follows(nats_url: str, plan: list[tuple[str, int, int, int]]) -> None:
    async def run() -> None:
        bus = await Bus(nats_url, prefix="p" + uuid.uuid4().hex[:10]).connect()
        try:
            from core.kinds import Stream
            await _scenario(bus.logs[Stream.OBJECTS], plan, via_cache=False)
        finally:
            await bus.close()
    asyncio.run(run())
