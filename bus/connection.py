"""Connecting to NATS and opening a cluster's logs.

`Bus` is the one object a process needs: a connection with reconnect, the JetStream context,
the cluster's streams provisioned and verified, and one `JetStreamLog` per stream.
"""

from __future__ import annotations

import nats
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError

from bus.acks import AckPipe
from bus.jetstream import JetStreamLog
from bus.streams import StreamSpec, check_server_version, provision, specs
from core.kinds import Stream

log = structlog.get_logger("bus")


class Bus:
    def __init__(self, url: str, *, prefix: str = "jk", name: str = "jetkube", events_ttl: float = 3600.0) -> None:
        self.url = url
        self.prefix = prefix
        self.name = name
        self.specs: dict[Stream, StreamSpec] = specs(prefix, events_ttl=events_ttl)
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self.logs: dict[Stream, JetStreamLog] = {}

    async def connect(self, *, provision_streams: bool = True, quick: bool = False) -> Bus:
        """`quick`: one try to connect, no reconnecting (command-line tools, which must fail fast)."""
        async def _disconnected() -> None:
            log.warning("nats disconnected", url=self.url)

        async def _reconnected() -> None:
            log.info("nats reconnected", url=self.url)

        async def _error(e: Exception) -> None:
            if not quick:  # a command-line tool reports its own one-line error instead
                log.warning("nats error", error=repr(e))

        self.nc = await nats.connect(self.url, name=self.name, max_reconnect_attempts=0 if quick else -1,
                                     allow_reconnect=not quick, connect_timeout=2, reconnect_time_wait=0.5,
                                     disconnected_cb=_disconnected, reconnected_cb=_reconnected, error_cb=_error)
        v = self.nc.connected_server_version
        check_server_version((v.major, v.minor, v.patch))
        self.js = self.nc.jetstream(timeout=10)
        bucket = f"{self.prefix.upper().replace('-', '_')}_KUBE_META"
        try:
            kv = await self.js.key_value(bucket)
        except BucketNotFoundError:
            kv = await self.js.create_key_value(bucket=bucket, history=1)
        acks = AckPipe(self.nc)
        for stream, spec in self.specs.items():
            if provision_streams:
                await provision(self.js, spec)
            self.logs[stream] = JetStreamLog(self.js, spec, kv, acks)
        return self

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.drain()
        self.nc = None

    async def __aenter__(self) -> Bus:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
