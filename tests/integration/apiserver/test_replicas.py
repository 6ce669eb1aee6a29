"""Several API server replicas on one log: any of them can write, and with consistent reads a
read through one sees what another acknowledged just before."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bus.server import NatsServer
from components.apiserver.server import ApiServer, ApiServerConfig
from tests.integration.apiserver.conftest import Client, cm

pytestmark = pytest.mark.integration
CMS = "/api/v1/namespaces/default/configmaps"


async def test_reads_through_one_replica_see_writes_through_another(nats_server: NatsServer, prefix: str) -> None:
    configs = [ApiServerConfig(nats_url=nats_server.url, prefix=prefix, port=0, consistent_reads=True)
               for _ in range(2)]
    async with ApiServer(configs[0]) as a, ApiServer(configs[1]) as b, aiohttp.ClientSession() as session:
        ca, cb = Client(session, a.url), Client(session, b.url)
        for i in range(30):
            code, made = await ca.post(CMS, cm(f"r{i}", {"i": str(i)}))
            assert code == 201
            code, seen = await cb.get(f"{CMS}/r{i}")  # no wait, no retry
            assert code == 200 and seen["metadata"]["resourceVersion"] == made["metadata"]["resourceVersion"]
            code, patched = await cb.patch(f"{CMS}/r{i}", {"data": {"by": "b"}})
            assert code == 200
            code, listed = await ca.get(CMS)
            by_name = {o["metadata"]["name"]: o for o in listed["items"]}
            assert by_name[f"r{i}"]["data"] == {"i": str(i), "by": "b"}


async def test_concurrent_writers_on_two_replicas_never_lose_an_update(nats_server: NatsServer, prefix: str) -> None:
    configs = [ApiServerConfig(nats_url=nats_server.url, prefix=prefix, port=0, consistent_reads=True)
               for _ in range(2)]
    async with ApiServer(configs[0]) as a, ApiServer(configs[1]) as b, aiohttp.ClientSession() as session:
        clients = [Client(session, a.url), Client(session, b.url)]
        await clients[0].post(CMS, cm("counter", {}))

        async def add(n: int) -> None:
            # JSON patch `add` of a new key per writer: the server retries a stale compare-and-swap
            code, _ = await clients[n % 2].patch(f"{CMS}/counter", [{"op": "add", "path": f"/data/k{n}", "value": "1"}],
                                                 ct="application/json-patch+json")
            assert code == 200

        await asyncio.gather(*(add(n) for n in range(40)))
        code, final = await clients[1].get(f"{CMS}/counter")
        assert sorted(final["data"]) == sorted(f"k{n}" for n in range(40))
