"""Snapshots against a real nats-server and API server: exact while writers go on, stored in the
object store bucket, listed without downloading, removed, and the nearest one found."""

from __future__ import annotations

import asyncio

import pytest

from core.kinds import Stream
from replay.snapshots import SnapshotStore
from replay.state import read_state
from tests.integration.conftest import Plane

pytestmark = pytest.mark.integration


def configmap(name: str, value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}


async def test_a_snapshot_taken_under_writes_is_the_exact_state_at_its_revision(plane: Plane) -> None:
    for i in range(50):
        await plane.api.create("configmaps", "default", configmap(f"cm-{i}", "0"))
    stop = asyncio.Event()

    async def writer() -> None:
        i = 0
        while not stop.is_set():
            await plane.api.create("configmaps", "default", configmap(f"w-{i}", "w"))
            if i % 3 == 0 and i < 150:
                await plane.api.delete("configmaps", "default", f"cm-{i // 3}")
            i += 1

    task = asyncio.create_task(writer())
    try:
        await asyncio.sleep(0.2)
        store = SnapshotStore(plane.bus)
        info = await store.create()
    finally:
        stop.set()
        await task
    objects = plane.bus.logs[Stream.OBJECTS]
    truth = await read_state(objects, info.revision)  # the log from its start: the slow, sure way
    snap = await store.load(info.name)
    assert snap.base_state("objects").digest() == truth.digest()
    assert snap.base_state("objects").revision == info.revision
    assert {e.key for e in snap.sections["objects"].state} == set(truth.entries)
    listed = await store.list()
    assert [i.name for i in listed] == [info.name] and listed[0].objects == info.objects
    later = await store.create()
    assert (await store.nearest(later.revision - 1)).revision == info.revision  # type: ignore[union-attr]
    assert await store.nearest(info.revision - 1) is None
    await store.remove(info.name)
    assert [i.name for i in await store.list()] == [later.name]
    with pytest.raises(KeyError):
        await store.remove(info.name)
