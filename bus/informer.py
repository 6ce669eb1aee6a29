"""A local projection of one resource, fed straight from the log: list once, then follow.

Scheduler, controllers and kubelets read through informers, never through the API server: the
current state comes from the log's last-version-per-key listing, then the log is followed from
that revision. Handlers run synchronously, in log order, on every change, and must not block
(they enqueue work). If retention overtakes the follower (a long stall), the informer lists again
and reports the difference as ordinary changes, so handlers never miss a transition to a final
state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import structlog

from bus.log import Compacted, Entry, EventLog, Op, Unavailable
from bus.revisions import RevisionWaiters
from core.keys import KeyFilter, ObjectKey

log = structlog.get_logger("informer")

Obj = dict[str, Any]
# (op, old, new): ADDED has old None, DELETED has new None (old is the last known version).
Handler = Callable[[Op, Obj | None, Obj | None], None]


def decode(entry: Entry) -> Obj:
    obj: Obj = orjson.loads(entry.data)
    obj.setdefault("metadata", {})["resourceVersion"] = str(entry.revision)
    return obj


class Informer:
    def __init__(self, log_: EventLog, flt: KeyFilter, *, name: str = "",
                 keep: Callable[[Obj], bool] | None = None) -> None:
        """`keep`, if given, decides which objects the projection holds (say, the pods bound to one
        node); a version that stops matching is reported as DELETED, one that starts as ADDED."""
        self.log = log_
        self.filter = flt
        self.name = name or str(flt.resource)
        self.keep = keep
        self.objects: dict[ObjectKey, Obj] = {}
        self.revision = 0
        self.synced = asyncio.Event()
        self._handlers: list[Handler] = []
        self._task: asyncio.Task[None] | None = None
        self._waiters = RevisionWaiters()

    def add_handler(self, handler: Handler) -> None:
        self._handlers.append(handler)

    # -- reads ----------------------------------------------------------------------------
    def get(self, namespace: str, name: str) -> Obj | None:
        g, r = self.filter.group or "", self.filter.resource or ""
        return self.objects.get(ObjectKey(g, r, namespace, name))

    def items(self) -> Iterator[Obj]:
        return iter(list(self.objects.values()))

    async def wait_for(self, revision: int, timeout: float = 10.0) -> None:
        """Until the projection has applied `revision` (a write this process just made)."""
        await self._waiters.wait(revision, current=self.revision, timeout=timeout)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            await self._list()
            self._task = asyncio.create_task(self._follow(), name=f"informer-{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # bounded: a cancellation swallowed inside the log client must not hang a stopping process
            await asyncio.wait([task], timeout=5)

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def _list(self) -> None:
        entries, revision = await self.log.current(self.filter)
        fresh = {}
        for e in entries:
            obj = decode(e)
            if self.keep is None or self.keep(obj):
                fresh[e.key] = obj
        old, self.objects = self.objects, fresh
        self.revision = max(self.revision, revision)
        if self.synced.is_set():  # a re-list: report what changed while we were not looking
            for key, prev in old.items():
                if key not in fresh:
                    self._emit(Op.DELETED, prev, None)
            for key, obj in fresh.items():
                before = old.get(key)
                if before is None:
                    self._emit(Op.ADDED, None, obj)
                elif before["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                    self._emit(Op.MODIFIED, before, obj)
        else:
            for obj in fresh.values():
                self._emit(Op.ADDED, None, obj)
        self.synced.set()
        self._waiters.reached(self.revision)

    async def _follow(self) -> None:
        while True:
            try:
                async for entry in self.log.watch(self.filter, self.revision):
                    self.apply(entry)
            except Compacted:
                log.warning("informer fell behind compaction; listing again", informer=self.name)
                await self._list()
            except Unavailable:
                await asyncio.sleep(0.5)
                await self._list()

    def apply(self, entry: Entry) -> None:
        if entry.revision <= self.revision:
            return
        self.revision = entry.revision
        prev = self.objects.get(entry.key)
        if entry.op is Op.DELETED:
            if prev is not None:
                del self.objects[entry.key]
                self._emit(Op.DELETED, prev, None)
        else:
            obj = decode(entry)
            if self.keep is not None and not self.keep(obj):
                if prev is not None:
                    del self.objects[entry.key]
                    self._emit(Op.DELETED, prev, None)
            else:
                self.objects[entry.key] = obj
                self._emit(Op.ADDED if prev is None else Op.MODIFIED, prev, obj)
        self._waiters.reached(self.revision)

    def _emit(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        for h in self._handlers:
            try:
                h(op, old, new)
            except Exception:  # a handler's bug must not stop the feed for everyone
                log.exception("informer handler failed", informer=self.name)
