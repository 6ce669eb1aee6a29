"""An asyncio event loop on virtual time: the replay sandbox's clock.

`VirtualLoop.time()` is a number the loop moves itself. When no callback is ready, instead of
blocking until the earliest timer is due, the loop jumps to it. A component that sleeps 30 s, a
backoff of 10 s, a timeout of 5 minutes: each costs what its callbacks cost, not the wait.

With no real I/O in the loop (the sandbox's logs are in memory and its API calls are function
calls), a run is a pure function of its inputs: callbacks run in FIFO order, timers in (time,
scheduling order), and the clock reads the same at the same step of every run. Waiting for
something that nothing scheduled (no ready callback, no timer, no I/O) would block forever on a
real loop; here it raises `Deadlock`, naming the stall instead of hanging.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

T = TypeVar("T")


class Deadlock(RuntimeError):
    """Every task waits and nothing is scheduled to wake any of them."""


class _VirtualSelector(selectors.DefaultSelector):
    """Reports I/O that is already there (the loop's own wake-up pipe); never waits for more."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise Deadlock("the replay sandbox stalled: every task waits and no timer is due")
        assert self.loop is not None
        self.loop.advance_to_next_timer(timeout)
        return []


class VirtualLoop(asyncio.SelectorEventLoop):
    """`time()` starts at 0 and moves only when the loop is idle; `wall()` is `start` (seconds since
    the epoch) plus that. (Loop time stays small: near 1.7e9 a float's step is 2.4e-7 s, coarser
    than the loop's clock resolution, and a timer due "now" would never count as due.)"""

    def __init__(self, start: float = 0.0) -> None:
        selector = _VirtualSelector()
        super().__init__(selector)
        selector.loop = self
        self._now = 0.0
        self.start = float(start)

    def time(self) -> float:
        return self._now

    def advance_to_next_timer(self, at_most: float) -> None:
        """Jump to the earliest timer (exactly its time, so it counts as due), or `at_most` on."""
        timers: list[asyncio.TimerHandle] = getattr(self, "_scheduled")
        target = self._now + max(at_most, 0.0)
        if timers:
            target = min(target, max(self._now, timers[0].when()))
        self._now = target

    def wall(self) -> datetime:
        """The virtual time as an aware UTC datetime."""
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=self.start + self._now)

    def epoch(self) -> float:
        """The virtual time in seconds since the epoch."""
        return self.start + self._now


def run(main: Coroutine[Any, Any, T], *, start: float) -> T:
    """`asyncio.run` on a fresh `VirtualLoop` whose clock starts at `start`."""
    loop = VirtualLoop(start)
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


class LoopClock:
    """`components.clock.Clock` read from a `VirtualLoop`: what the sandbox's controllers run on."""

    def __init__(self, loop: VirtualLoop) -> None:
        self.loop = loop

    def monotonic(self) -> float:
        return self.loop.time()

    def wall(self) -> datetime:
        return self.loop.wall()

    def call_later(self, delay: float, fn: Callable[[], None]) -> asyncio.TimerHandle:
        return self.loop.call_later(max(delay, 0.0), fn)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
