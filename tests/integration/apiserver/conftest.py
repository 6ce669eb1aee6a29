"""An in-process API server on a real nats-server, and a small HTTP client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from bus.server import NatsServer
from components.apiserver.server import ApiServer, ApiServerConfig


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def req(self, method: str, path: str, body: Any = None, *, ct: str = "application/json",
                  headers: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
        h = dict(headers or {})
        if data is not None and ct:
            h["Content-Type"] = ct
        async with self.session.request(method, self.base + path, data=data, headers=h) as r:
            text = await r.read()
            try:
                return r.status, orjson.loads(text)
            except orjson.JSONDecodeError:
                return r.status, text.decode()

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.req("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.req("POST", path, body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.req("PUT", path, body, **kw)

    async def patch(self, path: str, body: Any, ct: str = "application/merge-patch+json") -> tuple[int, Any]:
        return await self.req("PATCH", path, body, ct=ct)

    async def delete(self, path: str, body: Any = None) -> tuple[int, Any]:
        return await self.req("DELETE", path, body)


@pytest.fixture
async def apiserver(nats_server: NatsServer, prefix: str) -> AsyncIterator[ApiServer]:
    server = ApiServer(ApiServerConfig(nats_url=nats_server.url, prefix=prefix, port=0))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def client(apiserver: ApiServer) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(session, apiserver.url)


def cm(name: str, data: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name}
    if labels:
        md["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": data or {}}


def pod(name: str, image: str = "nginx", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": image}]}}
