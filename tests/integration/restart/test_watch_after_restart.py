"""Watches from a revision older than a restarted API server's ring are served from the log itself;
in process, to look at them closely: they replay exactly what followed the revision, and they end
when the server stops (as the ring's own watches do), so they never hold up `jetkube down`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bus.server import NatsServer
from components.apiserver.resources import WriteContext
from components.apiserver.server import ApiServer, ApiServerConfig
from components.apiserver.watch import WatchRequest, open_watch
from core.kinds import REGISTRY

pytestmark = pytest.mark.integration

CONFIGMAPS = REGISTRY.by_resource("", "v1", "configmaps")


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def test_log_served_watch_replays_then_ends_with_the_server(nats_server: NatsServer, prefix: str) -> None:
    assert CONFIGMAPS is not None
    first = ApiServer(ApiServerConfig(nats_url=nats_server.url, prefix=prefix, port=0))
    await first.start()
    try:
        assert first.resources is not None
        res, ctx = first.resources, WriteContext()
        await res.create(CONFIGMAPS, "default", _cm("a", v="1"), ctx)
        r = (await res.list(CONFIGMAPS, "default")).resource_version
        b = await res.create(CONFIGMAPS, "default", _cm("b", v="1"), ctx)
        a2 = await res.patch(CONFIGMAPS, "default", "a", "application/merge-patch+json", b'{"data":{"v":"2"}}', ctx)
        await res.delete(CONFIGMAPS, "default", "b", {}, ctx)
    finally:
        await first.stop()

    second = ApiServer(ApiServerConfig(nats_url=nats_server.url, prefix=prefix, port=0))  # a restart
    await second.start()
    stopped = False
    try:
        assert second.resources is not None
        cache = second.resources.cache(CONFIGMAPS)
        assert not cache.covers(r), "the restarted server's ring should start after R"
        stream = await open_watch(second.resources, WatchRequest(kind=CONFIGMAPS, namespace="default",
                                                                 resource_version=str(r)))
        got: list[tuple[str, str, str]] = []
        ended = asyncio.Event()

        async def consume() -> None:
            async for etype, obj in stream:
                got.append((etype, obj["metadata"]["name"], obj["metadata"]["resourceVersion"]))
            ended.set()

        reader = asyncio.create_task(consume())
        try:
            for _ in range(200):  # wait for the replay (bounded; the replay is three events)
                if len(got) >= 3 or reader.done():
                    break
                await asyncio.sleep(0.05)
            assert [g[:2] for g in got] == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")], got
            assert got[0][2] == b["metadata"]["resourceVersion"] and got[1][2] == a2["metadata"]["resourceVersion"]
            assert not ended.is_set()  # still following the log
            await cache.stop()  # what ApiServer.stop() does first
            await asyncio.wait_for(reader, 30)  # a watch served from the log must end with its cache
            assert ended.is_set()
        finally:
            if not reader.done():
                reader.cancel()
                try:
                    await reader
                except asyncio.CancelledError:
                    pass
            await stream.aclose()  # type: ignore[attr-defined]
        await second.stop()
        stopped = True
    finally:
        if not stopped:
            await second.stop()


async def test_log_served_watch_with_a_selector(nats_server: NatsServer, prefix: str) -> None:
    """As from the ring: an object leaving the selection is DELETED, one entering it ADDED."""
    assert CONFIGMAPS is not None
    merge = "application/merge-patch+json"
    first = ApiServer(ApiServerConfig(nats_url=nats_server.url, prefix=prefix, port=0))
    await first.start()
    try:
        assert first.resources is not None
        res, ctx = first.resources, WriteContext()
        for name, sel in (("x", "yes"), ("y", "no"), ("z", "no")):
            body = _cm(name, v="1")
            body["metadata"]["labels"] = {"sel": sel}
            await res.create(CONFIGMAPS, "default", body, ctx)
        r = (await res.list(CONFIGMAPS, "default")).resource_version
        await res.patch(CONFIGMAPS, "default", "x", merge, b'{"metadata":{"labels":{"sel":"no"}}}', ctx)  # leaves
        await res.patch(CONFIGMAPS, "default", "z", merge, b'{"data":{"v":"2"}}', ctx)  # never selected
        await res.patch(CONFIGMAPS, "default", "y", merge, b'{"metadata":{"labels":{"sel":"yes"}}}', ctx)  # enters
        await res.patch(CONFIGMAPS, "default", "y", merge, b'{"data":{"v":"2"}}', ctx)
        await res.delete(CONFIGMAPS, "default", "y", {}, ctx)
    finally:
        await first.stop()

    second = ApiServer(ApiServerConfig(nats_url=nats_server.url, prefix=prefix, port=0))
    await second.start()
    try:
        assert second.resources is not None
        assert not second.resources.cache(CONFIGMAPS).covers(r)
        stream = await open_watch(second.resources, WatchRequest(
            kind=CONFIGMAPS, namespace="default", label_selector="sel=yes", resource_version=str(r), timeout=30))
        got: list[tuple[str, str, dict[str, str]]] = []
        try:
            async for etype, obj in stream:
                got.append((etype, obj["metadata"]["name"], obj["metadata"]["labels"]))
                if len(got) == 4:
                    break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        assert got == [("DELETED", "x", {"sel": "no"}), ("ADDED", "y", {"sel": "yes"}),
                       ("MODIFIED", "y", {"sel": "yes"}), ("DELETED", "y", {"sel": "yes"})], got
    finally:
        await second.stop()
