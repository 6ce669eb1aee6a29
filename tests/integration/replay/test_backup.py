"""Backups and restores against real nats-servers and API servers: online, exact at their end
revision, restorable at a revision inside them, into a fresh store whose revisions continue upward."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import orjson
import pytest

from bus.apiclient import ApiClient
from bus.connection import Bus
from bus.server import NatsServer
from components.apiserver.server import ApiServer, ApiServerConfig
from core.keys import KeyFilter
from core.kinds import Stream
from replay import archive
from replay.backup import create
from replay.restore import RestoreError, restore, target
from replay.state import read_state
from tests.integration.conftest import Plane

pytestmark = pytest.mark.integration


def configmap(name: str, value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}


async def test_backup_under_writes_restores_exactly_with_revisions_moving_up(plane: Plane, tmp_path: Path) -> None:
    for i in range(40):
        await plane.api.create("configmaps", "default", configmap(f"cm-{i}", "0"))
    acked: dict[str, int] = {}
    stop = asyncio.Event()

    async def writer() -> None:
        i = 0
        while not stop.is_set():
            got = await plane.api.create("configmaps", "default", configmap(f"w-{i}", "w"))
            acked[f"w-{i}"] = int(got["metadata"]["resourceVersion"])
            i += 1

    task = asyncio.create_task(writer())
    try:
        await asyncio.sleep(0.1)
        summary = await create(plane.bus, tmp_path / "b.jkb")
        await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task
    end = summary["streams"]["objects"]["revision"]
    objects = plane.bus.logs[Stream.OBJECTS]
    truth = await read_state(objects, end)
    ar = archive.read(tmp_path / "b.jkb")
    assert ar.state_at().streams["objects"].digest() == truth.digest()
    assert all(f"w-{i}" in {k.name for k in truth.entries} for i, (n, rev) in enumerate(acked.items()) if rev <= end)
    assert any(rev > end for rev in acked.values())  # writes went on during and after the backup

    # the state at a revision inside the backup (its snapshot .. its end)
    mid = (ar.sections["objects"].base + end) // 2
    assert ar.state_at(target(ar, mid)).streams["objects"].digest() == (await read_state(objects, mid)).digest()
    with pytest.raises(RestoreError, match="after the last one"):
        target(ar, end + 1)
    with pytest.raises(RestoreError, match="before the oldest"):
        target(ar, ar.sections["objects"].base - 1)

    # into a fresh store
    fresh = NatsServer(store_dir=tmp_path / "fresh")
    await fresh.start()
    try:
        bus = await Bus(fresh.url, prefix=plane.prefix).connect()
        try:
            done = await restore(bus, ar.state_at())
            first, last, n = done.streams["objects"]
            assert first > end and n == len(truth.entries) and last == first + n - 1
            with pytest.raises(RestoreError, match="not fresh"):  # never twice into one store
                await restore(bus, ar.state_at())
        finally:
            await bus.close()
        server = ApiServer(ApiServerConfig(nats_url=fresh.url, prefix=plane.prefix, port=0, compact_every=0))
        await server.start()
        try:
            bus = await Bus(fresh.url, prefix=plane.prefix).connect()
            api = ApiClient(bus.nc, plane.prefix, "test")
            listed, rev = await bus.logs[Stream.OBJECTS].current(KeyFilter("", "configmaps"))
            before = {e.key: e.data for e in truth.entries.values() if e.key.resource == "configmaps"}
            assert {e.key: e.data for e in listed} == before  # identical bodies
            got = await api.get("configmaps", "default", "cm-3")
            assert int(got["metadata"]["resourceVersion"]) >= first and got["data"] == {"v": "0"}
            async with aiohttp.ClientSession() as http:  # a watch from before the restore: 410, re-list
                url = f"{server.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={end}"
                async with http.get(url) as resp:
                    event = orjson.loads(await resp.content.readline())
                assert event["type"] == "ERROR" and event["object"]["code"] == 410
                url = f"{server.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={last}"
                async with http.get(url) as resp:  # from the restored revision: the next change
                    await api.create("configmaps", "default", configmap("after", "1"))
                    event = orjson.loads(await asyncio.wait_for(resp.content.readline(), 10))
                assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "after"
                assert int(event["object"]["metadata"]["resourceVersion"]) == last + 1
            await bus.close()
        finally:
            await server.stop()
    finally:
        await fresh.stop()


async def test_a_damaged_backup_is_refused_before_anything_is_written(plane: Plane, tmp_path: Path) -> None:
    await plane.api.create("configmaps", "default", configmap("a", "1"))
    await create(plane.bus, tmp_path / "b.jkb")
    raw = (tmp_path / "b.jkb").read_bytes()
    (tmp_path / "short.jkb").write_bytes(raw[:-10])
    with pytest.raises(archive.ArchiveError, match="truncated"):
        archive.read(tmp_path / "short.jkb")
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF
    (tmp_path / "bad.jkb").write_bytes(bytes(flipped))
    with pytest.raises(archive.ArchiveError, match="damaged"):
        archive.read(tmp_path / "bad.jkb")
