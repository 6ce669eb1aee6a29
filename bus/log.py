"""The event log contract: one append-only log of object versions with compare-and-swap.

Every write is an `append` of a whole object version at an expected revision (the revision of
the last message for that key, 0 for a key never written); every read is a `latest` get, a
`current` listing (last version per key, tombstones skipped) or a `watch` that yields every
entry after a revision. The log's sequence number is the resourceVersion.

Two implementations keep this contract: `bus.jetstream.JetStreamLog` (the real one) and
`bus.memory.MemoryLog` (unit tests, replay sandboxes); `tests/unit/bus/test_log_contract.py` runs
the same suite against both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from core.keys import KeyFilter, ObjectKey


class Op(str, Enum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class Meta:
    """Who wrote an entry and why: carried as message headers, never in the body."""

    actor: str = ""
    request_id: str = ""
    causation: str = ""  # the revision that made a controller act


@dataclass(frozen=True, slots=True)
class Entry:
    revision: int
    key: ObjectKey
    op: Op
    data: bytes  # the object as JSON, without metadata.resourceVersion
    timestamp: float = 0.0  # seconds since the epoch, as the log stamped it
    meta: Meta = Meta()


class LogError(Exception):
    """Base of the bus's own errors."""


class WrongRevision(LogError):
    """Compare-and-swap failed: the key's last revision is `actual`, not the one expected."""

    def __init__(self, key: ObjectKey, expected: int, actual: int) -> None:
        super().__init__(f"{key}: expected revision {expected}, log has {actual}")
        self.key = key
        self.expected = expected
        self.actual = actual


class Compacted(LogError):
    """The revision asked for is older than what retention still holds."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"revision {requested} has been compacted; the oldest available is {oldest}")
        self.requested = requested
        self.oldest = oldest


class Unavailable(LogError):
    """The log cannot be reached right now (transient)."""


class EventLog(Protocol):
    """One stream of object versions. See the module docstring for the contract."""

    name: str

    async def append(self, key: ObjectKey, op: Op, data: bytes, *, expected: int, meta: Meta = Meta()) -> Entry:
        """Append a version if the key's last revision is `expected` (0: never written).

        Raises `WrongRevision` otherwise. Returns the stored entry (its revision is new).
        """
        ...

    async def latest(self, key: ObjectKey) -> Entry | None:
        """The key's last entry, a tombstone included; None if the key has no entry."""
        ...

    async def entry(self, revision: int) -> Entry | None:
        """The entry at exactly `revision`, if retention kept it."""
        ...

    async def current(self, flt: KeyFilter, *, deleted: bool = False) -> tuple[list[Entry], int]:
        """The last entry of every matching key that is not a tombstone (with `deleted`:
        tombstones too), in revision order, and the highest revision the listing saw.

        Writes made while listing are included, so the listing is exact at that revision only
        for keys nobody wrote meanwhile; `read` of the revisions in between makes it exact."""
        ...

    def read(self, flt: KeyFilter, after: int, until: int) -> AsyncIterator[Entry]:
        """Every retained matching entry with `after` < revision ≤ `until`, tombstones included,
        in order; ends there (or earlier when the log holds nothing more)."""
        ...

    async def revision_at(self, when: float) -> int:
        """The last revision written at or before `when` (seconds since the epoch); 0 if none."""
        ...

    def watch(self, flt: KeyFilter, after: int) -> AsyncIterator[Entry]:
        """Every matching entry with revision > `after`, in order, forever.

        Raises `Compacted` (on first iteration) if retention removed an entry after `after`
        that the watcher could have needed.
        """
        ...

    async def last_revision(self) -> int:
        ...

    async def compacted_revision(self, flt: KeyFilter) -> int:
        """Highest revision retention may have removed for keys of this filter (0: none)."""
        ...

    async def compact(self, *, keep: int) -> int:
        """Drop all but the last `keep` versions of every key; returns how many were removed."""
        ...

    async def expire_deleted(self, *, older_than: float) -> int:
        """Drop every version of keys whose tombstone was written before `older_than` (seconds
        since the epoch); the revisions removed count as compacted. Returns how many keys went."""
        ...

    async def raise_floor(self, revision: int) -> None:
        """Nothing at or below `revision` can be read or watched any more (a restored log starts
        above the revisions of the cluster it came from)."""
        ...
