"""The frozen log (a state at one revision behind the `EventLog` contract), the point in time built
on the in-memory log (exact state, refusals), and the read-only API server over it."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest

from bus.log import Compacted, LogError, Op
from bus.memory import MemoryLog
from core.keys import KeyFilter, ObjectKey
from core.kinds import Stream
from replay.frozen import FrozenLog, ReadOnly
from replay.pointintime import PointInTimeError, PointInTimeServer, build, revision_for
from replay.state import read_state

CM = ("", "configmaps")


def cm(name: str, value: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
                         "data": {"v": value}})


def key(name: str, resource: str = "configmaps", group: str = "") -> ObjectKey:
    return ObjectKey(group, resource, "default", name)


async def history(clock: list[float] | None = None) -> MemoryLog:
    """a: 1 (ADDED), b: 2, a: 3 (MODIFIED), b: 4 (DELETED), c: 5; a Deployment d: 6."""
    t = clock if clock is not None else [1000.0]

    def tick() -> float:
        t[0] += 10
        return t[0]

    lg = MemoryLog("objects", clock=tick)
    await lg.append(key("a"), Op.ADDED, cm("a", "1"), expected=0)
    await lg.append(key("b"), Op.ADDED, cm("b", "1"), expected=0)
    await lg.append(key("a"), Op.MODIFIED, cm("a", "2"), expected=1)
    await lg.append(key("b"), Op.DELETED, cm("b", "1"), expected=2)
    await lg.append(key("c"), Op.ADDED, cm("c", "1"), expected=0)
    await lg.append(key("d", "deployments", "apps"), Op.ADDED, b'{"metadata":{"name":"d","namespace":"default"}}',
                    expected=0)
    return lg


async def frozen_at(revision: int, *, compacted: int = 0) -> FrozenLog:
    return FrozenLog(await read_state(await history(), revision), name="objects", compacted=compacted)


# -- FrozenLog ---------------------------------------------------------------------------------
async def test_current_lists_the_live_entries_at_its_revision() -> None:
    lg = await frozen_at(4)
    entries, revision = await lg.current(KeyFilter())
    assert revision == 4 and await lg.last_revision() == 4
    assert [(e.key.name, e.revision) for e in entries] == [("a", 3)]
    assert (await lg.current(KeyFilter(resource="deployments")))[0] == []
    later = await frozen_at(6)
    assert [e.key.name for e in (await later.current(KeyFilter(*CM)))[0]] == ["a", "c"]
    assert [e.key.name for e in (await later.current(KeyFilter("apps", "deployments")))[0]] == ["d"]


async def test_latest_and_entry_answer_from_the_state() -> None:
    lg = await frozen_at(4)
    a = await lg.latest(key("a"))
    assert a is not None and a.revision == 3 and orjson.loads(a.data)["data"] == {"v": "2"}
    assert await lg.latest(key("b")) is None  # deleted at 4
    assert await lg.latest(key("c")) is None  # created after
    assert (await lg.entry(3)) == a
    assert await lg.entry(1) is None and await lg.entry(5) is None


async def test_read_covers_what_it_holds_in_the_range() -> None:
    lg = await frozen_at(6)
    assert [e.revision async for e in lg.read(KeyFilter(), 0, 6)] == [3, 5, 6]
    assert [e.revision async for e in lg.read(KeyFilter(), 3, 5)] == [5]
    assert [e.revision async for e in lg.read(KeyFilter("apps", "deployments"), 0, 6)] == [6]


async def test_writes_raise_read_only() -> None:
    lg = FrozenLog(await read_state(await history(), 6), name="objects", message="frozen at 6")
    with pytest.raises(ReadOnly, match="frozen at 6") as info:
        await lg.append(key("z"), Op.ADDED, cm("z", "1"), expected=0)
    assert isinstance(info.value, LogError)
    with pytest.raises(ReadOnly):
        await lg.raise_floor(3)
    assert await lg.compact(keep=1) == 0 and await lg.expire_deleted(older_than=1e12) == 0
    assert [e.revision for e in (await lg.current(KeyFilter()))[0]] == [3, 5, 6]


async def test_watch_yields_nothing_and_blocks_until_cancelled() -> None:
    lg = await frozen_at(6)
    stream = lg.watch(KeyFilter(), 6)
    task = asyncio.ensure_future(stream.__anext__())
    done, _ = await asyncio.wait({task}, timeout=0.2)
    assert not done
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_watch_from_before_its_floor_is_compacted() -> None:
    lg = await frozen_at(6, compacted=6)
    assert await lg.compacted_revision(KeyFilter()) == 6
    with pytest.raises(Compacted) as info:
        await lg.watch(KeyFilter(), 2).__anext__()
    assert info.value.requested == 2 and info.value.oldest == 6
    assert await (await frozen_at(6)).compacted_revision(KeyFilter()) == 0


async def test_revision_at_is_the_last_held_write_by_then() -> None:
    lg = await frozen_at(6)  # timestamps 1010..1060, one per revision
    assert await lg.revision_at(1035) == 3
    assert await lg.revision_at(1005) == 0


# -- build over the in-memory log ----------------------------------------------------------------
async def test_build_is_the_exact_state_at_the_revision_with_its_time() -> None:
    objects = await history()
    view = await build({Stream.OBJECTS: objects}, 4)
    assert view.revision == 4 and view.time == 1040.0 and view.snapshot is None
    assert {k.name for k in view.streams[Stream.OBJECTS].entries} == {"a"}
    assert view.counts() == {"ConfigMap": 1}
    assert "revision 4 (1970-01-01T00:17:20Z); it is read-only" in view.message
    assert (await build({Stream.OBJECTS: objects}, 6)).counts() == {"ConfigMap": 2, "Deployment": 1}


async def test_leases_and_events_are_taken_at_the_time_of_the_revision() -> None:
    clock = [1000.0]
    objects = await history(clock)  # revisions 1..6 at 1010..1060
    leases = MemoryLog("leases", clock=lambda: clock[0])
    clock[0] = 1025.0
    await leases.append(ObjectKey("coordination.k8s.io", "leases", "kube-node-lease", "n1"), Op.ADDED, b"{}",
                        expected=0)
    clock[0] = 1055.0
    await leases.append(ObjectKey("coordination.k8s.io", "leases", "kube-node-lease", "n2"), Op.ADDED, b"{}",
                        expected=0)
    logs = {Stream.OBJECTS: objects, Stream.LEASES: leases}
    assert len((await build(logs, 2)).streams[Stream.LEASES]) == 0
    assert {k.name for k in (await build(logs, 4)).streams[Stream.LEASES].entries} == {"n1"}
    assert {k.name for k in (await build(logs, 6)).streams[Stream.LEASES].entries} == {"n1", "n2"}


async def test_build_refuses_what_it_cannot_serve() -> None:
    objects = await history()
    logs = {Stream.OBJECTS: objects}
    with pytest.raises(PointInTimeError, match="revision 7 is in the future: the cluster's last revision is 6"):
        await build(logs, 7)
    with pytest.raises(PointInTimeError, match="revision 0 does not exist"):
        await build(logs, 0)
    await objects.compact(keep=1)  # versions 1 (a) and 2 (b) go; b's first kept is 4: compacted revision 3
    for revision in (1, 2, 3):  # at 3, b (whose version 2 is gone) was alive
        with pytest.raises(PointInTimeError, match=f"revision {revision} has been compacted away; the oldest "
                                                   "revision still available is 4"):
            await build(logs, revision)
    assert {k.name for k in (await build(logs, 5)).streams[Stream.OBJECTS].entries} == {"a", "c"}


async def test_times_become_revisions_and_the_future_is_refused() -> None:
    objects = await history()
    assert await revision_for(objects, 5) == 5
    assert await revision_for(objects, 1035.0, now=2000.0) == 3
    with pytest.raises(PointInTimeError, match="in the future"):
        await revision_for(objects, 3000.0, now=2000.0)
    with pytest.raises(PointInTimeError, match="nothing was written at or before"):
        await revision_for(objects, 500.0, now=2000.0)


# -- the read-only API server ------------------------------------------------------------------
async def test_the_server_reads_the_past_and_refuses_writes() -> None:
    view = await build({Stream.OBJECTS: await history()}, 4)
    async with PointInTimeServer(view) as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/v1/namespaces/default/configmaps") as r:
            body = await r.json()
            assert r.status == 200 and body["metadata"]["resourceVersion"] == "4"
            assert [i["metadata"]["name"] for i in body["items"]] == ["a"]
            assert body["items"][0]["data"] == {"v": "2"}
        async with http.get(f"{server.url}/api/v1/namespaces/default/configmaps/b") as r:
            assert r.status == 404
        async with http.get(f"{server.url}/readyz") as r:
            assert r.status == 200
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            async with http.request(method, f"{server.url}/api/v1/namespaces/default/configmaps/a",
                                    data=b"{}") as r:
                status = await r.json()
                assert r.status == 405, method
                assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "reason": "MethodNotAllowed", "code": 405, "message": view.message}
        async with http.get(f"{server.url}/api/v1/namespaces/default/configmaps",
                            params={"watch": "true", "resourceVersion": "2"}) as r:
            line = orjson.loads(await r.content.readline())  # older than the frozen state: 410, re-list
            assert line["type"] == "ERROR" and line["object"]["code"] == 410
