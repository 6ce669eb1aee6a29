"""Fixtures shared by integration suites of the components: a control plane in this process.

`plane` is a real nats-server, an API server on a free port and a connected `Bus` with an
`ApiClient`: what a scheduler, kubelet or controller needs to run against, with nothing mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

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


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 30.0, every: float = 0.1,
                     what: str = "") -> Any:
    """Poll `check` until it returns something truthy (its value), or fail with the last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"timed out waiting for {what or check}: last saw {last!r}")


# -- docker ------------------------------------------------------------------------------------
PREFIX_LABEL = "io.jetkube.prefix"  # every container and network a kubelet makes carries it


@pytest.fixture(scope="session")
def docker_client():  # type: ignore[no-untyped-def]
    """The real dockerd, with the pause and busybox images built; fails loudly if dockerd is down."""
    import docker

    from ops import images
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as e:  # no skip: these tests claim containers really run
        pytest.fail(f"dockerd is not reachable ({e}); `make test` starts it (see .ci/run)")
    images.ensure(("pause", "busybox"), client)
    yield client
    client.close()


def free_cluster_cidr(client) -> str:  # type: ignore[no-untyped-def]
    """A 10.x.0.0/16 no docker network uses, so concurrent clusters never overlap."""
    import random
    used = set()
    for net in client.networks.list():
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
            sub = cfg.get("Subnet", "")
            if sub.startswith("10."):
                used.add(sub.split(".")[1])
    choices = [str(i) for i in range(100, 250) if str(i) not in used]
    return f"10.{random.choice(choices)}.0.0/16"


def remove_prefix_objects(client, prefix: str) -> None:  # type: ignore[no-untyped-def]
    """Remove every container and network labelled with this test's prefix (as `jetkube down` does)."""
    from ops.dockerhost import remove_cluster_objects
    remove_cluster_objects(client, prefix)
