"""A log that stopped: one stream's state at a revision, served through the `EventLog` contract.

`FrozenLog` holds a `replay.state.StreamState` (the live entries at one revision, built by
`replay.pointintime`) and answers the reads an API server makes — `current`, `latest`, `entry`,
`read` over what it holds — as if the log had ended there. Nothing is ever appended (`append`
raises `ReadOnly`) and a watch yields nothing more, ever: it blocks until its consumer cancels it.
What it does not hold (the versions before the state, tombstones) it cannot answer: a watch from
before the floor it was given raises `Compacted`, as a real log does for history retention removed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from bus.log import Compacted, Entry, LogError, Meta, Op
from core.keys import KeyFilter, ObjectKey
from replay.state import StreamState


class ReadOnly(LogError):
    """A write to a log that shows the past."""


class FrozenLog:
    """`EventLog` over a fixed state. `compacted` is the revision below which history is gone
    (0: callers never ask for older watches; the state's revision: every older watch is 410)."""

    def __init__(self, state: StreamState, *, name: str = "frozen", compacted: int = 0, message: str = "") -> None:
        self.name = name
        self.state = state
        self.compacted = min(compacted, state.revision)
        self.message = message or f"{name} is frozen at revision {state.revision}; it is read-only"
        self._by_revision = {e.revision: e for e in state.entries.values()}

    @property
    def revision(self) -> int:
        return self.state.revision

    async def append(self, key: ObjectKey, op: Op, data: bytes, *, expected: int, meta: Meta = Meta()) -> Entry:
        raise ReadOnly(self.message)

    async def latest(self, key: ObjectKey) -> Entry | None:
        return self.state.entries.get(key)

    async def entry(self, revision: int) -> Entry | None:
        return self._by_revision.get(revision)

    async def current(self, flt: KeyFilter, *, deleted: bool = False) -> tuple[list[Entry], int]:
        # A frozen state holds no tombstones, so `deleted` changes nothing.
        return [e for e in self.state.ordered() if flt.matches(e.key)], self.state.revision

    async def read(self, flt: KeyFilter, after: int, until: int) -> AsyncIterator[Entry]:
        for e in self.state.ordered():
            if after < e.revision <= until and flt.matches(e.key):
                yield e

    async def revision_at(self, when: float) -> int:
        return max((e.revision for e in self.state.entries.values() if e.timestamp <= when), default=0)

    async def last_revision(self) -> int:
        return self.state.revision

    async def compacted_revision(self, flt: KeyFilter) -> int:
        return self.compacted

    async def watch(self, flt: KeyFilter, after: int) -> AsyncIterator[Entry]:
        if after < self.compacted:
            raise Compacted(after, self.compacted)
        await asyncio.Event().wait()  # nothing happens after the point in time: wait to be cancelled
        return
        yield  # an async generator, so callers iterate it like a real log's watch

    async def compact(self, *, keep: int) -> int:
        return 0  # retention never runs on the past

    async def expire_deleted(self, *, older_than: float) -> int:
        return 0

    async def raise_floor(self, revision: int) -> None:
        raise ReadOnly(self.message)
