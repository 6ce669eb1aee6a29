"""Point in time: the cluster as it was at one revision, served read-only to kubectl.

`build` makes every stream's state at objects revision R: the objects stream exactly at R; the
leases and events streams (separate sequence spaces) at the *time* of R, the timestamp of the
objects entry at R turned into their own revisions with `revision_at`. Each state starts from the
nearest stored snapshot when one is usable (`replay.snapshots.SnapshotStore.nearest`) plus the log
after it, else from the log's start (`replay.state.read_state`). R is refused, with one line
saying why, when it is below 1, beyond the last revision, or at or below what compaction removed —
unless a snapshot was stored at exactly R.

`PointInTimeServer` wires the API server's own pieces over those states: a `replay.frozen.FrozenLog`
per stream, a `WatchCache` on each, `Resources`, and `HttpApi` with `read_only` set (every write
is 405), on an aiohttp site. Nothing is written to the running cluster: it only reads its log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from aiohttp import web

from bus.log import EventLog
from components.apiserver.cache import WatchCache
from components.apiserver.http import HttpApi
from components.apiserver.resources import Resources, Settings
from core.keys import KeyFilter
from core.kinds import REGISTRY, Stream
from replay.archive import Archive
from replay.frozen import FrozenLog
from replay.state import StreamState, read_state
from replay.when import when_text

log = structlog.get_logger("replay.pointintime")


class PointInTimeError(Exception):
    """The point in time asked for cannot be served; the message is one line saying why."""


class Snapshots(Protocol):
    async def nearest(self, revision: int) -> Archive | None: ...


@dataclass
class PointInTime:
    revision: int  # the objects stream's: the cluster's revision
    time: float  # when revision was written (seconds since the epoch)
    streams: dict[Stream, StreamState] = field(default_factory=dict)
    snapshot: int | None = None  # the revision of the snapshot the objects state started from

    @property
    def message(self) -> str:
        return (f"this API server shows the cluster as it was at revision {self.revision} "
                f"({when_text(self.time)}); it is read-only")

    def counts(self) -> dict[str, int]:
        """Live objects per kind (`Deployment`, ...), every stream, largest first."""
        out: dict[str, int] = {}
        for state in self.streams.values():
            for key in state.entries:
                version = REGISTRY.version_of(key.group, key.resource)
                kind = REGISTRY.by_resource(key.group, version, key.resource) if version else None
                name = kind.kind if kind else str(key).split("/")[0]
                out[name] = out.get(name, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


async def revision_for(objects: EventLog, when: int | float, *, now: float | None = None) -> int:
    """A revision as given, or the last revision written at or before a time (epoch seconds)."""
    if isinstance(when, int):
        return when
    now = time.time() if now is None else now
    if when > now:
        raise PointInTimeError(f"{when_text(when)} is in the future (now is {when_text(now)})")
    revision = await objects.revision_at(when)
    if revision < 1:
        raise PointInTimeError(f"nothing was written at or before {when_text(when)}: the cluster's log starts later")
    return revision


async def build(logs: Mapping[Stream, EventLog], revision: int, *, snapshots: Snapshots | None = None) -> PointInTime:
    """Every stream's state at objects revision `revision` (see the module docstring)."""
    objects = logs[Stream.OBJECTS]
    if revision < 1:
        raise PointInTimeError(f"revision {revision} does not exist: revisions start at 1")
    last = await objects.last_revision()
    if revision > last:
        raise PointInTimeError(f"revision {revision} is in the future: the cluster's last revision is {last}")
    compacted = await objects.compacted_revision(KeyFilter())
    snap = await snapshots.nearest(revision) if snapshots is not None else None
    exact = snap is not None and "objects" in snap.sections and snap.sections["objects"].base == revision
    if revision <= compacted and not exact:
        raise PointInTimeError(f"revision {revision} has been compacted away; the oldest revision still available "
                               f"is {compacted + 1}")
    base: StreamState | None = None
    if snap is not None and "objects" in snap.sections:
        # A snapshot older than what retention removed may hold a key whose tombstone was
        # purged since: its later history would be missing, so it is no base then.
        candidate = snap.base_state("objects")
        if candidate.revision == revision or candidate.revision >= compacted:
            base = candidate
    state = await read_state(objects, revision, base)
    when = await _time_of(objects, revision, state, snap)
    view = PointInTime(revision, when, {Stream.OBJECTS: state}, base.revision if base is not None else None)
    for stream in (Stream.LEASES, Stream.EVENTS):
        lg = logs.get(stream)
        if lg is None:
            continue
        # Leases and Events count their own revisions: take theirs at the time of `revision`.
        at = await lg.revision_at(when)
        other = None
        if snap is not None and stream.value in snap.sections and snap.sections[stream.value].base <= at:
            other = snap.base_state(stream.value)
        view.streams[stream] = await read_state(lg, at, other)
    log.info("point in time built", revision=revision, snapshot=view.snapshot,
             objects=len(state), at=when_text(when))
    return view


async def _time_of(objects: EventLog, revision: int, state: StreamState, snap: Archive | None) -> float:
    """When `revision` was written: its entry's timestamp; if compaction took the entry (a
    snapshot at exactly that revision is served), the newest write the state holds."""
    entry = await objects.entry(revision)
    if entry is not None:
        return entry.timestamp
    held = [e.timestamp for e in state.entries.values() if e.timestamp]
    if held:
        return max(held)
    return snap.created if snap is not None else 0.0


class PointInTimeServer:
    """A read-only API server over a `PointInTime`: `start()`, `stop()`, `async with`; `url`."""

    def __init__(self, view: PointInTime, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.view = view
        self.host = host
        self.port = port
        self.ready = asyncio.Event()
        self.caches: dict[Stream, WatchCache] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        if self._runner is not None:
            return
        logs: dict[Stream, EventLog] = {}
        for stream in Stream:
            state = self.view.streams.get(stream) or StreamState(0)
            # compacted = the state's revision: the frozen log holds no history before it, so a
            # watch from an older resourceVersion is 410 (re-list), not a silent empty stream.
            logs[stream] = FrozenLog(state, name=f"{stream.value}@{self.view.revision}", compacted=state.revision,
                                     message=self.view.message)
            cache = WatchCache(logs[stream], name=stream.value)
            await cache.start()
            self.caches[stream] = cache
        resources = Resources(logs, self.caches, settings=Settings())
        http = HttpApi(resources, REGISTRY, ready=self.ready, streams=None, read_only=self.view.message)
        runner = web.AppRunner(http.app, access_log=None, handle_signals=False, handler_cancellation=True,
                               shutdown_timeout=2)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            await self._stop_caches()
            raise
        self._runner = runner
        sockets = getattr(site._server, "sockets", None)  # the port, when 0 asked for any
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self.ready.set()
        log.info("point in time served", url=self.url, revision=self.view.revision)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _stop_caches(self) -> None:
        for cache in self.caches.values():  # ends every open watch, so HTTP can close at once
            await cache.stop()
        self.caches = {}

    async def stop(self) -> None:
        self.ready.clear()
        await self._stop_caches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> PointInTimeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
