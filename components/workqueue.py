"""A deduplicating, delaying, rate-limited workqueue, as client-go's `util/workqueue`.

Shared plumbing (like `components/runtime.py`): the controllers' reconcile loops and the
kubelet's pod workers both use it.

Informer handlers `add` keys; workers `get` a key, reconcile it, then call `done`. The queue
guarantees:
- a key waiting in the queue is there once, however often it is added (dedupe);
- a key is never handed to two workers at once: added while being processed, it is queued again
  only when that worker calls `done`, so the next pass sees everything that happened meanwhile;
- `add_after(key, delay)` adds it later (several pending delays for one key keep the earliest);
- `add_rate_limited(key)` adds it after the rate limiter's delay — per key exponential backoff
  (5 ms doubling to 1000 s, as client-go) and an overall token bucket (10/s, burst 100); `forget`
  resets a key's backoff once it reconciles cleanly.
Time comes from a `Clock`, so delays and backoff are tested with a fake clock.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from components.clock import Clock, RealClock, Timer

K = TypeVar("K", bound=Hashable)


class ShutDown(Exception):
    """The queue was shut down: a worker's `get` ends with this."""


class RateLimiter(Protocol):
    def when(self, key: Hashable) -> float: ...
    def forget(self, key: Hashable) -> None: ...
    def retries(self, key: Hashable) -> int: ...


class ExponentialBackoff:
    """base · 2^failures, capped: client-go's ItemExponentialFailureRateLimiter."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        self.base = base
        self.cap = cap
        self._failures: dict[Hashable, int] = {}

    def when(self, key: Hashable) -> float:
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        if n > 60:  # far past any sensible cap; keeps 2**n from overflowing a float
            return self.cap
        return min(self.base * (2 ** n), self.cap)

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def retries(self, key: Hashable) -> int:
        return self._failures.get(key, 0)


class TokenBucket:
    """An overall limit on retries: `qps` tokens a second, at most `burst` saved up. Each `when`
    takes a token and answers how long until it is really there (client-go's BucketRateLimiter)."""

    def __init__(self, clock: Clock, qps: float = 10.0, burst: int = 100) -> None:
        self.clock = clock
        self.qps = qps
        self.burst = burst
        self._tokens = float(burst)
        self._last = clock.monotonic()

    def when(self, key: Hashable) -> float:
        now = self.clock.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, key: Hashable) -> None:
        pass

    def retries(self, key: Hashable) -> int:
        return 0


class MaxOf:
    """The longest delay of several limiters (client-go's MaxOfRateLimiter)."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, key: Hashable) -> float:
        return max(lim.when(key) for lim in self.limiters)

    def forget(self, key: Hashable) -> None:
        for lim in self.limiters:
            lim.forget(key)

    def retries(self, key: Hashable) -> int:
        return max(lim.retries(key) for lim in self.limiters)


def default_rate_limiter(clock: Clock) -> RateLimiter:
    return MaxOf(ExponentialBackoff(0.005, 1000.0), TokenBucket(clock, 10.0, 100))


class WorkQueue(Generic[K]):
    def __init__(self, *, clock: Clock | None = None, rate_limiter: RateLimiter | None = None,
                 name: str = "") -> None:
        self.clock: Clock = clock or RealClock()
        self.limiter: RateLimiter = rate_limiter or default_rate_limiter(self.clock)
        self.name = name
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()  # wants processing (queued, or queued again after `done`)
        self._processing: set[K] = set()
        self._waiting: dict[K, tuple[float, Timer]] = {}  # add_after: key → (due, timer)
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False

    # -- adding ---------------------------------------------------------------------------
    def add(self, key: K) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # `done` queues it again
        self._queue.append(key)
        self._wake_one()

    def add_after(self, key: K, delay: float) -> None:
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        due = self.clock.monotonic() + delay
        pending = self._waiting.get(key)
        if pending is not None:
            if pending[0] <= due:
                return
            pending[1].cancel()
        self._waiting[key] = (due, self.clock.call_later(delay, lambda: self._due(key)))

    def add_rate_limited(self, key: K) -> None:
        self.add_after(key, self.limiter.when(key))

    def forget(self, key: K) -> None:
        """The key reconciled cleanly: its next failure starts the backoff from the beginning."""
        self.limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self.limiter.retries(key)

    def _due(self, key: K) -> None:
        self._waiting.pop(key, None)
        self.add(key)

    # -- processing -----------------------------------------------------------------------
    async def get(self) -> K:
        """The next key, marked as being processed until `done(key)`. Raises ShutDown."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(self.name)
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(fut)
            try:
                await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._wake_one()  # we were woken for a key we will not take: pass it on
                else:
                    fut.cancel()
                raise
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one()

    def _wake_one(self) -> None:
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    # -- lifecycle ------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Refuse new keys, drop delayed ones, end every waiting `get` with ShutDown."""
        self._shutting_down = True
        for _, timer in self._waiting.values():
            timer.cancel()
        self._waiting.clear()
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def processing(self) -> frozenset[K]:
        return frozenset(self._processing)

    @property
    def waiting(self) -> dict[K, float]:
        """Keys added with a delay that is not over yet → when they are due (monotonic)."""
        return {k: due for k, (due, _) in self._waiting.items()}
