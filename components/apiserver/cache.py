"""The watch cache: one feed over a whole stream, the current objects, and a ring of recent events.

It lists the stream's current state once (last version per key, never the whole log), then
follows the log from that revision. Gets and lists are answered from memory after waiting until
the cache has applied the revision the caller must see (read-your-writes); watches newer than the
ring's start are served from the ring and live events; older ones are the caller's to serve from
the log itself. Decoding happens once per event here, not once per watcher.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from bus.log import Compacted, Entry, EventLog, Op
from bus.revisions import RevisionWaiters
from core.keys import KeyFilter, ObjectKey

log = structlog.get_logger("apiserver.cache")


@dataclass(frozen=True, slots=True)
class CacheEvent:
    revision: int
    op: Op
    key: ObjectKey
    obj: dict[str, Any]  # resourceVersion stamped
    prev: dict[str, Any] | None  # the version before, when the cache knew it


def decode(entry: Entry) -> dict[str, Any]:
    obj: dict[str, Any] = orjson.loads(entry.data)
    obj.setdefault("metadata", {})["resourceVersion"] = str(entry.revision)
    return obj


class Watcher:
    """A live subscription: events pushed by the cache, in order."""

    def __init__(self, flt: KeyFilter, limit: int = 10_000) -> None:
        self.filter = flt
        self.queue: asyncio.Queue[CacheEvent | None] = asyncio.Queue()
        self.limit = limit
        self.overflowed = False

    def push(self, event: CacheEvent) -> None:
        if self.queue.qsize() >= self.limit:
            self.overflowed = True  # a watcher too slow to keep up is ended, not buffered forever
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(event)


class WatchCache:
    def __init__(self, log: EventLog, *, ring_size: int = 10_000, name: str = "", consistent: bool = False) -> None:
        self.log = log
        self.name = name or log.name
        self.objects: dict[ObjectKey, dict[str, Any]] = {}
        self.revision = 0
        self.ring: collections.deque[CacheEvent] = collections.deque(maxlen=ring_size)
        self.ring_floor = 0  # events with revision > ring_floor are all in the ring
        self._watchers: set[Watcher] = set()
        self._waiters = RevisionWaiters()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.closed = asyncio.Event()  # set by stop(): watches served from the log end with it
        self.max_written = 0
        self.consistent = consistent  # reads see every replica's writes, not only this one's
        self._probe: asyncio.Future[int] | None = None  # in flight, started before some waiting reader
        self._next_probe: asyncio.Future[int] | None = None  # the one those readers wait for

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            return
        await self._load()
        self._task = asyncio.create_task(self._follow(), name=f"watch-cache:{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        for w in list(self._watchers):
            w.queue.put_nowait(None)
        self.closed.set()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def _load(self) -> None:
        entries, revision = await self.log.current(KeyFilter())
        self.objects = {e.key: decode(e) for e in entries}
        self.revision = revision
        self.ring.clear()
        self.ring_floor = revision
        self._ready.set()
        log.info("watch cache loaded", stream=self.name, objects=len(self.objects), revision=revision)

    async def _follow(self) -> None:
        while True:
            try:
                async for entry in self.log.watch(KeyFilter(), self.revision):
                    self._apply(entry)
            except Compacted:
                # Retention overtook us (only after a long stall): start again from current state.
                log.warning("watch cache fell behind compaction; reloading", stream=self.name)
                await self._load()
                for w in list(self._watchers):
                    w.queue.put_nowait(None)

    def _apply(self, entry: Entry) -> None:
        if entry.revision <= self.revision:
            return
        obj = decode(entry)
        prev = self.objects.get(entry.key)
        if entry.op is Op.DELETED:
            self.objects.pop(entry.key, None)
        else:
            self.objects[entry.key] = obj
        self.revision = entry.revision
        event = CacheEvent(entry.revision, entry.op, entry.key, obj, prev)
        if len(self.ring) == self.ring.maxlen:
            self.ring_floor = self.ring[0].revision
        self.ring.append(event)
        for w in self._watchers:
            if w.filter.matches(entry.key):
                w.push(event)
        self._waiters.reached(self.revision)

    # -- reads ----------------------------------------------------------------------------
    def note_write(self, revision: int) -> None:
        """This replica wrote `revision`: reads after it must see it."""
        if revision > self.max_written:
            self.max_written = revision

    async def wait_for(self, revision: int, timeout: float = 10.0) -> None:
        await self._waiters.wait(revision, current=self.revision, timeout=timeout)

    async def fresh(self) -> None:
        """Wait until every acknowledged write a read must see is applied: this replica's own
        writes, and with `consistent` (several replicas) every write acknowledged before the read
        began — the log's last revision, learned by a probe that started after the read arrived."""
        if self.consistent:
            await self.wait_for(max(await self._last_revision(), self.max_written))
        else:
            await self.wait_for(self.max_written)

    async def _last_revision(self) -> int:
        """Concurrent readers share probes: one arriving while a probe is in flight waits for the
        next one (the in-flight probe may predate a write the reader must see)."""
        loop = asyncio.get_running_loop()
        if self._probe is None:
            self._probe = loop.create_future()
            loop.create_task(self._run_probe(self._probe))
            return await asyncio.shield(self._probe)
        if self._next_probe is None:
            self._next_probe = loop.create_future()
        return await asyncio.shield(self._next_probe)

    async def _run_probe(self, fut: asyncio.Future[int]) -> None:
        while True:
            try:
                fut.set_result(await self.log.last_revision())
            except Exception as e:  # handed to every reader waiting on this probe
                fut.set_exception(e)
                fut.exception()  # retrieved here too, so an unwaited failure is not logged as lost
            self._probe, self._next_probe = self._next_probe, None
            if self._probe is None:
                return
            fut = self._probe

    def get(self, key: ObjectKey) -> dict[str, Any] | None:
        return self.objects.get(key)

    def select(self, flt: KeyFilter) -> Iterator[tuple[ObjectKey, dict[str, Any]]]:
        if flt.name is not None and flt.namespace is not None and flt.resource is not None:
            key = ObjectKey(flt.group or "", flt.resource, flt.namespace, flt.name)
            obj = self.objects.get(key)
            if obj is not None:
                yield key, obj
            return
        for key, obj in self.objects.items():
            if flt.matches(key):
                yield key, obj

    # -- watches --------------------------------------------------------------------------
    def covers(self, revision: int) -> bool:
        """Can a watch from `revision` be served from memory?"""
        return revision >= self.ring_floor

    def subscribe(self, flt: KeyFilter, after: int) -> tuple[list[CacheEvent], Watcher]:
        """Events after `after` already in the ring, and a watcher for what comes next —
        taken together with no await in between, so nothing falls in the gap."""
        backlog = [e for e in self.ring if e.revision > after and flt.matches(e.key)]
        w = Watcher(flt)
        self._watchers.add(w)
        return backlog, w

    def unsubscribe(self, w: Watcher) -> None:
        self._watchers.discard(w)
