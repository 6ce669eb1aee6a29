"""Waiting for a projection of the log to reach a revision (read-your-writes).

The API server's watch cache and the components' informers both apply the log in order and let
readers wait until a revision they wrote (or must see) has been applied: `wait(revision)` parks a
future, `reached(revision)` — called after each applied entry — releases every waiter at or below it.
"""

from __future__ import annotations

import asyncio


class RevisionWaiters:
    def __init__(self) -> None:
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    async def wait(self, revision: int, *, current: int, timeout: float) -> None:
        """Until `reached(r)` with r ≥ `revision` (at once if `current` already is); TimeoutError."""
        if revision <= current:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((revision, fut))
        await asyncio.wait_for(fut, timeout)

    def reached(self, revision: int) -> None:
        if not self._waiters:
            return
        still = []
        for rev, fut in self._waiters:
            if rev <= revision:
                if not fut.done():
                    fut.set_result(None)
            elif not fut.done():  # a waiter that timed out is dropped here
                still.append((rev, fut))
        self._waiters = still
