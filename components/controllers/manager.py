"""The controller manager: one process running a set of controllers over shared informers.

`ControllerManager` connects to the bus, builds the controllers named in its config (each asks
the shared informers for what it reads), lists every informer once, starts the controllers, and
guards their root tasks: a worker, monitor or informer task that dies stops the process, loudly.

Adding a controller: write a class with `name`, `start()`, `stop()` that takes a
`ControllerContext` (see base.py), and add a line to `CONTROLLERS` that builds it from the
config. Nothing else here changes.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from bus.apiclient import ApiClient
from bus.connection import Bus
from bus.recorder import EventRecorder
from components.controllers.base import Controller, ControllerContext, ControllerQueue, cancel
from components.clock import Clock, RealClock
from components.controllers.informers import SharedInformers
from components.controllers.nodelifecycle import NodeLifecycleController
from core.nodehealth import Timing

log = structlog.get_logger("controller-manager")


@dataclass
class ManagerConfig:
    nats_url: str
    prefix: str = "jk"
    controllers: tuple[str, ...] = ("nodelifecycle",)
    workers: int = 4  # per controller
    # node lifecycle
    node_monitor_grace_period: float = 40.0
    node_monitor_period: float = 5.0
    node_startup_grace_period: float = 60.0
    # The sharding hook (see base.py): which "namespace/name" keys this process acts on. None: all.
    owns: Callable[[str], bool] | None = None


def _nodelifecycle(ctx: ControllerContext, cfg: ManagerConfig) -> Controller:
    timing = Timing(grace_period=cfg.node_monitor_grace_period, startup_grace_period=cfg.node_startup_grace_period)
    return NodeLifecycleController(ctx, timing=timing, monitor_period=cfg.node_monitor_period, workers=cfg.workers)


Builder = Callable[[ControllerContext, "ManagerConfig"], Controller]

# name → how to build it: a function, or "module:function" imported when the controller is asked
# for. Order is start order (stop is the reverse).
CONTROLLERS: dict[str, Builder | str] = {
    "nodelifecycle": _nodelifecycle,
    "garbagecollector": "components.controllers.garbagecollector:build",
    "namespace": "components.controllers.namespace:build",
    "replicaset": "components.controllers.replicaset:build_replicaset",
    "replicationcontroller": "components.controllers.replicaset:build_replicationcontroller",
    "deployment": "components.controllers.deployment:build",
    "job": "components.controllers.job:build",
    "cronjob": "components.controllers.cronjob:build",
    "daemonset": "components.controllers.daemonset:build",
    "statefulset": "components.controllers.statefulset:build",
}


def available() -> tuple[str, ...]:
    """The controllers whose code is present (all of them, once every module has landed)."""
    return tuple(n for n, e in CONTROLLERS.items()
                 if not isinstance(e, str) or importlib.util.find_spec(e.partition(":")[0]) is not None)


def builder(name: str) -> Builder:
    entry = CONTROLLERS[name]
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        fn: Builder = getattr(importlib.import_module(module), attr)
        return fn
    return entry


class ControllerManager:
    def __init__(self, config: ManagerConfig, *, clock: Clock | None = None, bus: Bus | None = None,
                 rng: random.Random | None = None) -> None:
        """`bus`: one already connected, which the manager then neither connects nor closes (a
        replay sandbox's); `rng` names its Events (seeded there, so two runs write the same)."""
        unknown = [c for c in config.controllers if c not in CONTROLLERS]
        if unknown:
            raise ValueError(f"unknown controllers {unknown}; known: {sorted(CONTROLLERS)}")
        self.config = config
        self.clock: Clock = clock or RealClock()
        self.bus: Bus | None = None
        self._given_bus = bus
        self._rng = rng
        self.informers: SharedInformers | None = None
        self.controllers: list[Controller] = []
        self._recorders: list[EventRecorder] = []
        self._guarded: list[asyncio.Task[None]] = []
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        self._observing_since = float("-inf")
        self.failed: asyncio.Future[str] | None = None
        self._stats_sub: Subscription | None = None

    async def start(self) -> None:
        if self.bus is not None:
            return
        try:
            await self._start()
        except BaseException:
            await self.stop()  # half-started: release the connection and whatever runs already
            raise

    async def _start(self) -> None:
        self._stopping = False
        self.failed = asyncio.get_running_loop().create_future()
        self.bus = self._given_bus or await Bus(self.config.nats_url, prefix=self.config.prefix,
                                                name="controller-manager").connect(provision_streams=False)
        nc = self.bus.nc
        assert nc is not None
        self.informers = SharedInformers(self.bus.logs)

        def api(name: str) -> ApiClient:
            return ApiClient(nc, self.config.prefix, f"system:controller:{name}")

        def recorder(component: str) -> EventRecorder:
            rec = EventRecorder(api(component), component, monotonic=self.clock.monotonic, wall=self.clock.wall,
                                rng=self._rng)
            self._recorders.append(rec)
            return rec

        self._observing_since = self.clock.monotonic()
        ctx = ControllerContext(informers=self.informers, clock=self.clock, api=api, recorder=recorder,
                                spawn=self._spawn, observing_since=lambda: self._observing_since)
        if self.config.owns is not None:
            ctx.owns = self.config.owns
        wanted = [n for n in CONTROLLERS if n in self.config.controllers]
        self.controllers = [builder(n)(ctx, self.config) for n in wanted]
        await self.informers.start()
        for inf in self.informers.informers:
            if inf.task is not None:
                self._guard(inf.task)
        for rec in self._recorders:
            await rec.start()
        self._watcher = self._spawn(self._watch_connection(), "connection-watch")
        self._stats_sub = await nc.subscribe(f"{self.config.prefix}.controllers.stats", cb=self._on_stats)
        for c in self.controllers:
            await c.start()
        log.info("controller manager started", controllers=wanted, prefix=self.config.prefix)

    async def stop(self) -> None:
        self._stopping = True
        if self._stats_sub is not None:
            try:
                await self._stats_sub.unsubscribe()
            except Exception:  # the connection may be gone already
                log.debug("stats unsubscribe failed", exc_info=True)
            self._stats_sub = None
        for c in reversed(self.controllers):
            try:
                await c.stop()
            except Exception:
                log.exception("controller failed to stop", controller=c.name)
        self.controllers = []
        if self._watcher is not None:
            await cancel([self._watcher])
            self._watcher = None
        if self.informers is not None:
            await self.informers.stop()
            self.informers = None
        for rec in self._recorders:
            await rec.stop()
        self._recorders = []
        self._guarded = []
        if self.bus is not None:
            if self.bus is not self._given_bus:
                await self.bus.close()
            self.bus = None

    async def __aenter__(self) -> ControllerManager:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _watch_connection(self, every: float = 0.5) -> None:
        """Move `observing_since` to now while disconnected and after every reconnect (counted, so a
        blip between two looks is not missed)."""
        assert self.bus is not None and self.bus.nc is not None
        nc = self.bus.nc
        seen = nc.stats["reconnects"]
        while True:
            await self.clock.sleep(every)
            reconnects = nc.stats["reconnects"]
            if not nc.is_connected or reconnects != seen:
                if reconnects != seen:
                    log.warning("reconnected to NATS: heartbeats are judged from now", reconnects=reconnects)
                seen = reconnects
                self._observing_since = self.clock.monotonic()

    def stats(self) -> dict[str, dict[str, int]]:
        """Per controller: keys reconciled so far and keys waiting (`<prefix>.controllers.stats`)."""
        out = {}
        for c in self.controllers:
            q = getattr(c, "queue", None)
            if isinstance(q, ControllerQueue):
                out[c.name] = {"syncs": q.syncs, "queued": len(q)}
        return out

    async def _on_stats(self, msg: Msg) -> None:
        if msg.reply:
            await msg.respond(orjson.dumps(self.stats()))

    # -- root tasks -----------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._guard(task)
        return task

    def _guard(self, task: asyncio.Task[None]) -> None:
        self._guarded.append(task)
        task.add_done_callback(self._root_done)

    def _root_done(self, task: asyncio.Task[None]) -> None:
        if self._stopping or task.cancelled():
            return
        exc = task.exception()
        why = f"root task {task.get_name()} ended" + (f": {exc!r}" if exc else "")
        log.error("root task died; stopping", task=task.get_name(), exc_info=exc)
        if self.failed is not None and not self.failed.done():
            self.failed.set_result(why)
