"""The API server service: bus connection, one watch cache per stream, HTTP and bus fronts.

`ApiServer` has the one shape every jetkube service has: `start()` (idempotent), `stop()`,
`async with`. Its root tasks (the watch caches' feeds) are guarded: if one dies the server logs it
and stops rather than serving stale data. `python -m components.apiserver` runs it standalone.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog
from aiohttp import web

from bus.connection import Bus
from bus.log import Unavailable
from components.apiserver.busapi import BusApi
from components.apiserver.cache import WatchCache
from components.apiserver.http import HttpApi
from components.apiserver.resources import Resources, Settings
from components.apiserver.streaming import PodStreams
from core.kinds import REGISTRY, Stream

log = structlog.get_logger("apiserver")


@dataclass
class ApiServerConfig:
    nats_url: str
    prefix: str = "jk"
    host: str = "127.0.0.1"
    port: int = 6443
    service_cidr: str = "10.96.0.0/12"
    ring_size: int = 10_000
    reuse_port: bool = False
    consistent_reads: bool = False  # on when several replicas serve one cluster
    history: int = 64  # versions kept per object; older ones are compacted away
    deleted_horizon: float = 3600.0  # seconds a deleted object's versions stay (0: forever)
    compact_every: float = 300.0  # seconds between compactions (0: never)
    not_ready_toleration_seconds: int = 300  # DefaultTolerationSeconds for new pods
    unreachable_toleration_seconds: int = 300


class ApiServer:
    def __init__(self, config: ApiServerConfig) -> None:
        self.config = config
        self.bus = Bus(config.nats_url, prefix=config.prefix, name="jetkube-apiserver")
        self.caches: dict[Stream, WatchCache] = {}
        self.ready = asyncio.Event()
        self.failed: asyncio.Future[BaseException] | None = None
        self._runner: web.AppRunner | None = None
        self._busapi: BusApi | None = None
        self._compactor: asyncio.Task[None] | None = None
        self.resources: Resources | None = None
        self.port = config.port

    async def start(self) -> None:
        if self._runner is not None:
            return
        self.failed = asyncio.get_running_loop().create_future()
        await self.bus.connect()
        for stream, lg in self.bus.logs.items():
            cache = WatchCache(lg, ring_size=self.config.ring_size, name=stream.value,
                               consistent=self.config.consistent_reads)
            await cache.start()
            assert cache.task is not None
            cache.task.add_done_callback(self._guard)
            self.caches[stream] = cache
        self.resources = Resources(dict(self.bus.logs), self.caches,
                                   settings=Settings(service_cidr=self.config.service_cidr, toleration_seconds=(
                                       self.config.not_ready_toleration_seconds,
                                       self.config.unreachable_toleration_seconds)))
        await self.resources.ensure_initial_namespaces()
        assert self.bus.nc is not None
        http = HttpApi(self.resources, REGISTRY, ready=self.ready,
                       streams=PodStreams(self.resources, self.bus.nc, self.config.prefix))
        self._runner = web.AppRunner(http.app, access_log=None, handle_signals=False, handler_cancellation=True,
                                     shutdown_timeout=5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, reuse_port=self.config.reuse_port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)  # the port, when 0 asked for any
        if sockets:
            self.port = sockets[0].getsockname()[1]
        assert self.bus.nc is not None
        self._busapi = BusApi(self.bus.nc, self.config.prefix, self.resources, REGISTRY)
        await self._busapi.start()
        if self.config.compact_every > 0:
            self._compactor = asyncio.create_task(self._compact_forever(), name="compactor")
            self._compactor.add_done_callback(self._guard)
        self.ready.set()
        log.info("apiserver ready", url=self.url, prefix=self.config.prefix)

    async def _compact_forever(self) -> None:
        """Bound the object history: keep `history` versions per object, and none of an object
        deleted more than `deleted_horizon` seconds ago. The log records what each pass removed,
        so reads and watches older than that answer 410 instead of skipping versions. Every
        replica may run it; a pass over already-compacted subjects removes nothing."""
        objects = self.bus.logs[Stream.OBJECTS]
        while True:
            await asyncio.sleep(self.config.compact_every)
            try:
                removed = await objects.compact(keep=self.config.history)
                expired = 0
                if self.config.deleted_horizon > 0:
                    expired = await objects.expire_deleted(older_than=time.time() - self.config.deleted_horizon)
            except Unavailable as e:
                log.warning("compaction skipped", error=str(e))
                continue
            if removed or expired:
                log.info("compacted object history", removed=removed, keep=self.config.history,
                         deleted_objects_expired=expired)

    def _guard(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self.failed is None or self.failed.done():
            return
        exc = task.exception() or RuntimeError(f"{task.get_name()} ended")
        log.error("root task died; the API server stops", task=task.get_name(), error=repr(exc))
        self.ready.clear()
        self.failed.set_result(exc)

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    async def stop(self) -> None:
        self.ready.clear()
        if self._compactor is not None:
            self._compactor.cancel()
            self._compactor = None
        if self._busapi is not None:
            await self._busapi.stop()
            self._busapi = None
        for cache in self.caches.values():  # ends every open watch first, so HTTP can close at once
            await cache.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.caches = {}
        await self.bus.close()

    async def __aenter__(self) -> ApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
