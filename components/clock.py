"""Time for components: a real clock, and a fake one that tests move by hand.

Shared plumbing (like `components/runtime.py`), not a component.

Controllers read time only through `Clock`, so their timing (workqueue delays and backoff,
heartbeat deadlines, eviction times) is tested by advancing a `FakeClock`, never by sleeping.
`monotonic` measures ages the process saw itself; `wall` (aware, UTC) stamps what it writes.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def wall(self) -> datetime: ...
    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer: ...
    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(timezone.utc)

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(max(delay, 0.0), fn)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _FakeTimer:
    def __init__(self, when: float, fn: Callable[[], None]) -> None:
        self.when = when
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """Time stands still until `advance`; timers due by then fire in time order."""

    def __init__(self, mono: float = 1000.0, wall: datetime | None = None) -> None:
        self._start = mono
        self._now = mono
        self._wall0 = wall or datetime(2024, 1, 1, tzinfo=timezone.utc)
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def wall(self) -> datetime:
        return self._wall0 + timedelta(seconds=self._now - self._start)

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        timer = _FakeTimer(self._now + max(delay, 0.0), fn)
        heapq.heappush(self._timers, (timer.when, next(self._seq), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        timer = self.call_later(seconds, wake)
        try:
            await fut
        finally:
            timer.cancel()

    def advance(self, seconds: float) -> None:
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, timer = heapq.heappop(self._timers)
            self._now = max(self._now, when)
            if not timer.cancelled:
                timer.fn()
        self._now = target

    @property
    def pending(self) -> int:
        """Timers not yet fired or cancelled."""
        return sum(1 for _, _, t in self._timers if not t.cancelled)
