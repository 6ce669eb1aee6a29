"""Serving one watch: which events a client gets, from where, in what order.

A watch from a revision the cache's ring still covers is served from memory (the backlog, then
live events, with no gap between them); an older one is served from the log itself through its
own consumer, or answered 410 Expired when retention removed what it would need. Selectors turn
a MODIFIED into ADDED or DELETED when an object enters or leaves the selected set, as Kubernetes
does. Optional BOOKMARKs carry the cache's revision when the watcher has nothing pending.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bus.log import Compacted, Entry, EventLog, LogError, Op
from components.apiserver.cache import CacheEvent, WatchCache, Watcher, decode
from components.apiserver.resources import Resources
from core import errors
from core.keys import KeyFilter, ObjectKey
from core.kinds import Kind
from core.selectors import FieldSelector, LabelSelector, parse_field_selector, parse_label_selector

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass
class WatchRequest:
    kind: Kind
    namespace: str | None
    label_selector: str = ""
    field_selector: str = ""
    resource_version: str = ""
    send_initial_events: bool | None = None
    allow_bookmarks: bool = False
    timeout: float | None = None
    bookmark_interval: float = 5.0


def _expired(message: str) -> tuple[str, dict[str, Any]]:
    return "ERROR", errors.Expired(message).to_status()


def _bookmark(kind: Kind, revision: int, *, initial_end: bool = False) -> tuple[str, dict[str, Any]]:
    md: dict[str, Any] = {"resourceVersion": str(revision)}
    if initial_end:
        md["annotations"] = {INITIAL_EVENTS_END: "true"}
    return "BOOKMARK", {"kind": kind.kind, "apiVersion": kind.api_version, "metadata": md}


class Selection:
    def __init__(self, resources: Resources, req: WatchRequest) -> None:
        self.labels: LabelSelector | None = parse_label_selector(req.label_selector) if req.label_selector else None
        self.fields: FieldSelector | None = parse_field_selector(req.field_selector) if req.field_selector else None
        self.filter = resources.filter_for(req.kind, req.namespace, self.fields)

    def match(self, obj: dict[str, Any] | None) -> bool:
        return obj is not None and Resources.matches(obj, self.labels, self.fields)

    def translate(self, ev: CacheEvent) -> str | None:
        new_in = self.match(ev.obj)
        old_in = self.match(ev.prev)
        if ev.op is Op.DELETED:
            return "DELETED" if (new_in or old_in) else None
        if new_in:
            return "MODIFIED" if old_in else "ADDED"
        return "DELETED" if old_in else None


async def open_watch(resources: Resources, req: WatchRequest) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Check the request (bad selectors and revisions are plain 4xx replies), fix the starting
    point, and return the stream of (type, object) pairs, which ends at the timeout."""
    sel = Selection(resources, req)
    cache = resources.cache(req.kind)
    rv = req.resource_version
    initial = req.send_initial_events if req.send_initial_events is not None else rv in ("", "0")
    if rv not in ("", "0"):
        try:
            after = int(rv)
        except ValueError:
            raise errors.BadRequest(f"invalid resourceVersion {rv!r}") from None
        if after > cache.revision:
            try:
                await cache.wait_for(after, timeout=3)
            except TimeoutError:
                raise errors.Timeout(f"Too large resource version: {after}, current: {cache.revision}",
                                     retry_after=1) from None
    else:
        await cache.fresh()
        after = cache.revision
    loop = asyncio.get_running_loop()
    deadline = loop.time() + req.timeout if req.timeout else None
    if initial:
        after = cache.revision  # the snapshot taken with the subscription is exact at this revision
    elif not cache.covers(after):
        return _from_log(resources, req, sel, after, deadline)
    snapshot = [obj for _, obj in cache.select(sel.filter) if sel.match(obj)] if initial else []
    backlog, watcher = cache.subscribe(sel.filter, after)  # no await since `after` was fixed
    return _from_cache(req, sel, cache, snapshot, backlog, watcher, after, deadline, initial)


async def _from_cache(req: WatchRequest, sel: Selection, cache: WatchCache, snapshot: list[dict[str, Any]],
                      backlog: list[CacheEvent], watcher: Watcher, after: int, deadline: float | None,
                      initial: bool) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    loop = asyncio.get_running_loop()
    try:
        for obj in sorted(snapshot, key=lambda o: int(o["metadata"]["resourceVersion"])):
            yield "ADDED", obj
        if initial and req.send_initial_events:
            yield _bookmark(req.kind, after, initial_end=True)
        for past in backlog:
            t = sel.translate(past)
            if t:
                yield t, past.obj
        while True:
            wait = req.bookmark_interval if req.allow_bookmarks else None
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    return
                wait = left if wait is None else min(wait, left)
            try:
                ev: CacheEvent | None = await asyncio.wait_for(watcher.queue.get(), wait)
            except TimeoutError:
                if req.allow_bookmarks and watcher.queue.empty():
                    yield _bookmark(req.kind, cache.revision)
                continue
            if ev is None:
                if watcher.overflowed:
                    yield _expired("the watch fell too far behind; re-list and watch again")
                return
            t = sel.translate(ev)
            if t:
                yield t, ev.obj
    finally:
        cache.unsubscribe(watcher)


async def _from_log(resources: Resources, req: WatchRequest, sel: Selection, after: int,
                    deadline: float | None) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A watch older than the ring: its own consumer on the log. With a selector, each key's
    version before its first event is read from the key's history, so an object leaving or
    entering the selection is DELETED or ADDED, as from the ring. It ends with the cache, as the
    cache's own watchers do, so a stopping server is not held up by it."""
    log = resources.logs[req.kind.stream]
    stream = log.watch(sel.filter, after)
    cache = resources.cache(req.kind)
    selective = sel.labels is not None or sel.fields is not None
    last: dict[ObjectKey, dict[str, Any] | None] = {}  # each key's latest version seen here (None: gone)
    stopped = asyncio.ensure_future(cache.closed.wait())
    pending: asyncio.Future[Entry] | None = None
    loop = asyncio.get_running_loop()
    try:
        while True:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return
            if pending is None:
                pending = asyncio.ensure_future(stream.__anext__())
            waits: set[asyncio.Future[Any]] = {pending, stopped}
            done, _ = await asyncio.wait(waits, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            if stopped in done or pending not in done:  # the server stops, or the timeout came
                return
            try:
                entry = pending.result()
            except Compacted as e:
                yield _expired(f"too old resource version: {after} ({e.oldest})")
                return
            except StopAsyncIteration:
                return
            pending = None
            obj = decode(entry)
            if not selective:
                yield entry.op.value, obj
                continue
            if entry.key in last:
                prev = last[entry.key]
            else:
                prev = None if entry.op is Op.ADDED else await _version_before(log, entry)
            last[entry.key] = None if entry.op is Op.DELETED else obj
            etype = sel.translate(CacheEvent(entry.revision, entry.op, entry.key, obj, prev))
            if etype:
                yield etype, obj
    finally:
        stopped.cancel()
        if pending is not None and not pending.done():
            pending.cancel()  # ends the log consumer inside the generator
            try:
                await pending
            except (asyncio.CancelledError, StopAsyncIteration, LogError):
                pass
        await stream.aclose()  # type: ignore[attr-defined]


async def _version_before(log: EventLog, entry: Entry) -> dict[str, Any] | None:
    """The key's version just before `entry` (None if it did not exist), read from the key's own
    history since what retention removed (compaction keeps the newest versions of each key)."""
    key = entry.key
    flt = KeyFilter(key.group, key.resource, key.namespace, key.name)
    history = log.watch(flt, await log.compacted_revision(flt))
    prev: Entry | None = None
    try:
        async for e in history:
            if e.revision >= entry.revision:
                break
            prev = None if e.op is Op.DELETED else e
    except Compacted:
        return None
    finally:
        await history.aclose()  # type: ignore[attr-defined]
    return decode(prev) if prev is not None else None
