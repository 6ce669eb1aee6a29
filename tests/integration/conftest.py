"""Fixtures shared by integration suites of the components: a control plane in this process.

`plane` is a real nats-server, an API server on a free port and a connected `Bus` with an
`ApiClient`: what a scheduler, kubelet or controller needs to run against, with nothing mocked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bus.apiclient import ApiClient
from bus.connection import Bus
from bus.server import NatsServer
from components.apiserver.server import ApiServer, ApiServerConfig


@dataclass
class Plane:
    nats_url: str
    prefix: str
    apiserver: ApiServer
    bus: Bus
    api: ApiClient


@pytest.fixture
async def plane(nats_server: NatsServer, prefix: str) -> AsyncIterator[Plane]:
    server = ApiServer(ApiServerConfig(nats_url=nats_server.url, prefix=prefix, port=0))
    await server.start()
    bus = await Bus(nats_server.url, prefix=prefix, name="test").connect()
    assert bus.nc is not None
    try:
        yield Plane(nats_server.url, prefix, server, bus, ApiClient(bus.nc, prefix, "test"))
    finally:
        await bus.close()
        await server.stop()
