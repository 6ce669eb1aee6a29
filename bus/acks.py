"""Pipelined JetStream publishes: many appends in flight on one connection, each awaiting its ack.

One wildcard inbox subscription per connection; each publish carries a reply subject with its
own token and awaits a future the inbox callback completes. This is what nats-py's
`publish_async` does, but its reply handler raises (instead of returning) the API error for a
failed compare-and-swap, so the future is never completed; here the raw reply is handed back and
the caller reads `error` itself. Cheaper than `js.publish` too: no task or timer per request
beyond one `asyncio.timeout`.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError


class AckPipe:
    def __init__(self, nc: Client, *, timeout: float = 10.0) -> None:
        self.nc = nc
        self.timeout = timeout
        self._prefix = ""
        self._futures: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    async def _start(self) -> None:
        async with self._lock:
            if not self._prefix:
                prefix = self.nc.new_inbox()
                await self.nc.subscribe(prefix + ".*", cb=self._on_reply)
                self._prefix = prefix

    async def _on_reply(self, msg: Msg) -> None:
        fut = self._futures.get(msg.subject[len(self._prefix) + 1:])
        if fut is None or fut.done():
            return
        if msg.headers and msg.headers.get("Status") == "503":
            fut.set_exception(NoRespondersError())
            return
        try:
            fut.set_result(orjson.loads(msg.data))
        except orjson.JSONDecodeError as e:
            fut.set_exception(e)

    async def publish(self, subject: str, data: bytes, headers: dict[str, str]) -> dict[str, Any]:
        """Publish and return the server's JSON reply (`{"seq": …}` or `{"error": {…}}`)."""
        if not self._prefix:
            await self._start()
        token = str(next(self._ids))
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._futures[token] = fut
        try:
            await self.nc.publish(subject, data, reply=f"{self._prefix}.{token}", headers=headers)
            async with asyncio.timeout(self.timeout):
                return await fut
        finally:
            self._futures.pop(token, None)
