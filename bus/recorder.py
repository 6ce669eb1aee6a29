"""Sending Events without slowing the sender: fire and forget, a bounded backlog, repeats folded.

A component reports `record(obj, type, reason, message)` and goes on; a background task creates the
Events through the bus API. The same (object, reason, message) repeated within a short window
bumps `count` and `lastTimestamp` on the existing Event instead of writing a new one, as
Kubernetes' event correlator does, so a crash loop does not flood the log.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import structlog

from bus.apiclient import CAUSE, ApiClient, ApiReplyError
from core.events import make_event
from core.meta import rfc3339

log = structlog.get_logger("recorder")

FOLD_WINDOW = 600.0  # seconds during which a repeat updates the first Event


class EventRecorder:
    def __init__(self, api: ApiClient, component: str, host: str = "", *, backlog: int = 10_000,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 rng: random.Random | None = None) -> None:
        """`monotonic`, `wall` and `rng` (Event name suffixes) are the sender's: a replay sandbox
        passes its virtual clock and a seeded generator."""
        self.api = api
        self.component = component
        self.host = host
        self._monotonic = monotonic
        self._wall = wall
        self._rng = rng
        self._queue: asyncio.Queue[tuple[dict[str, Any], str, str, str, str, str]] = asyncio.Queue(backlog)
        self._task: asyncio.Task[None] | None = None
        self._seen: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}
        self.dropped = 0

    def record(self, obj: dict[str, Any], type_: str, reason: str, message: str, field_path: str = "") -> None:
        try:
            # the cause of the caller's sync travels with the Event, though it is written later
            self._queue.put_nowait((obj, type_, reason, message, field_path, CAUSE.get()))
        except asyncio.QueueFull:
            self.dropped += 1

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"recorder-{self.component}")

    async def stop(self, *, flush: float = 2.0) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), flush)
        except asyncio.TimeoutError:
            pass
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            token = CAUSE.set(item[5])
            try:
                await self._send(*item[:5])
            except Exception as e:  # Events are best effort: never let one stop the component
                log.debug("event not recorded", error=str(e), reason=item[2])
            finally:
                CAUSE.reset(token)
                self._queue.task_done()

    async def _send(self, obj: dict[str, Any], type_: str, reason: str, message: str, field_path: str) -> None:
        md = obj.get("metadata") or {}
        fold = (md.get("uid", "") or f"{md.get('namespace')}/{md.get('name')}", reason, message)
        now = self._monotonic()
        seen = self._seen.get(fold)
        if seen is not None and now - seen[0] < FOLD_WINDOW:
            ev = seen[1]
            ev["count"] = int(ev.get("count", 1)) + 1
            ev["lastTimestamp"] = rfc3339(self._wall())
            try:
                patch = {"count": ev["count"], "lastTimestamp": ev["lastTimestamp"]}
                await self.api.patch("events", ev["metadata"]["namespace"], ev["metadata"]["name"], patch)
                return
            except ApiReplyError:
                pass  # expired or gone: write a fresh one
        ev = make_event(obj, type_, reason, message, component=self.component, host=self.host,
                        now=self._wall(), field_path=field_path, rng=self._rng)
        created = await self.api.create("events", ev["metadata"]["namespace"], ev)
        self._seen[fold] = (now, created)
        if len(self._seen) > 5000:
            cutoff = now - FOLD_WINDOW
            self._seen = {k: v for k, v in self._seen.items() if v[0] >= cutoff}
