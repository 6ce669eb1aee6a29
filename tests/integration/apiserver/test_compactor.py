"""The API server's compactor bounds history per object, and old watches then answer 410."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest

from bus.server import NatsServer
from components.apiserver.server import ApiServer, ApiServerConfig
from core.keys import KeyFilter
from core.kinds import Stream
from tests.integration.apiserver.conftest import Client, cm

pytestmark = pytest.mark.integration
CMS = "/api/v1/namespaces/default/configmaps"


async def test_compactor_keeps_history_bounded(nats_server: NatsServer, prefix: str) -> None:
    config = ApiServerConfig(nats_url=nats_server.url, prefix=prefix, port=0, history=2, compact_every=0.2)
    async with ApiServer(config) as server, aiohttp.ClientSession() as session:
        client = Client(session, server.url)
        _, first = await client.post(CMS, cm("h", {"v": "0"}))
        for i in range(1, 6):
            await client.patch(f"{CMS}/h", {"data": {"v": str(i)}})
        log = server.bus.logs[Stream.OBJECTS]
        for _ in range(100):
            if await log.compacted_revision(KeyFilter("", "configmaps")) > 0:
                break
            await asyncio.sleep(0.05)
        floor = await log.compacted_revision(KeyFilter("", "configmaps"))
        assert floor > int(first["metadata"]["resourceVersion"])
        info = await server.bus.js.stream_info(log.name, subjects_filter=">")  # type: ignore[union-attr]
        assert max((info.state.subjects or {}).values()) <= 2
        for cache in server.caches.values():  # as after a restart: the ring no longer covers it
            cache.ring.clear()
            cache.ring_floor = cache.revision
        async with session.get(f"{server.url}{CMS}?watch=true&resourceVersion={first['metadata']['resourceVersion']}") as r:
            event = orjson.loads(await asyncio.wait_for(r.content.readline(), 5))
        assert event["type"] == "ERROR" and event["object"]["code"] == 410
        _, got = await client.get(f"{CMS}/h")
        assert got["data"] == {"v": "5"}  # the current version is never compacted
