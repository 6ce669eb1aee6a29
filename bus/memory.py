"""An in-memory `EventLog` with the same contract as the JetStream one.

For unit tests and replay sandboxes: no server, deterministic, but it behaves like the real log
— per-key compare-and-swap, tombstones, watches from a revision, compaction tracked per resource.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from bus.log import Compacted, Entry, Meta, Op, WrongRevision
from core.keys import KeyFilter, ObjectKey


class MemoryLog:
    def __init__(self, name: str = "memory", *, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self._clock = clock
        self._entries: dict[int, Entry] = {}  # revision → entry; compaction deletes from here
        self._last: dict[ObjectKey, int] = {}  # key → its last revision
        self._revision = 0
        self._compacted: dict[tuple[str | None, str | None], int] = {}  # (None, None): every resource
        self._changed = asyncio.Condition()

    async def append(self, key: ObjectKey, op: Op, data: bytes, *, expected: int, meta: Meta = Meta()) -> Entry:
        actual = self._last.get(key, 0)
        if actual != expected:
            raise WrongRevision(key, expected, actual)
        self._revision += 1
        entry = Entry(self._revision, key, op, data, self._clock(), meta)
        self._entries[entry.revision] = entry
        self._last[key] = entry.revision
        async with self._changed:
            self._changed.notify_all()
        return entry

    async def latest(self, key: ObjectKey) -> Entry | None:
        rev = self._last.get(key)
        return self._entries.get(rev) if rev else None

    async def entry(self, revision: int) -> Entry | None:
        return self._entries.get(revision)

    async def current(self, flt: KeyFilter, *, deleted: bool = False) -> tuple[list[Entry], int]:
        out = [self._entries[rev] for key, rev in self._last.items() if flt.matches(key) and rev in self._entries]
        return sorted((e for e in out if deleted or e.op is not Op.DELETED), key=lambda e: e.revision), self._revision

    async def read(self, flt: KeyFilter, after: int, until: int) -> AsyncIterator[Entry]:
        for rev in sorted(r for r in self._entries if after < r <= until):
            entry = self._entries.get(rev)
            if entry is not None and flt.matches(entry.key):
                yield entry

    async def revision_at(self, when: float) -> int:
        return max((rev for rev, e in self._entries.items() if e.timestamp <= when), default=0)

    async def last_revision(self) -> int:
        return self._revision

    async def compacted_revision(self, flt: KeyFilter) -> int:
        return max((rev for (g, r), rev in self._compacted.items()
                    if (g is None or flt.group is None or flt.group == g)
                    and (r is None or flt.resource is None or flt.resource == r)), default=0)

    async def expire_deleted(self, *, older_than: float) -> int:
        gone = [self._entries[rev] for rev in self._last.values()
                if rev in self._entries and self._entries[rev].op is Op.DELETED
                and self._entries[rev].timestamp < older_than]
        for tomb in gone:
            for rev in [r for r, e in self._entries.items() if e.key == tomb.key and r <= tomb.revision]:
                del self._entries[rev]
            if self._last.get(tomb.key) == tomb.revision:
                del self._last[tomb.key]
            gr = (tomb.key.group, tomb.key.resource)
            self._compacted[gr] = max(self._compacted.get(gr, 0), tomb.revision)
        return len(gone)

    async def raise_floor(self, revision: int) -> None:
        self._compacted[(None, None)] = max(self._compacted.get((None, None), 0), revision)
        self._revision = max(self._revision, revision)

    async def watch(self, flt: KeyFilter, after: int) -> AsyncIterator[Entry]:
        oldest = await self.compacted_revision(flt)
        if after < oldest:
            raise Compacted(after, oldest)
        position = after
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: self._revision > position)
            end = self._revision
            for rev in range(position + 1, end + 1):
                entry = self._entries.get(rev)
                if entry is not None and flt.matches(entry.key):
                    yield entry
            position = end  # not self._revision: appends made while we were suspended come next

    async def compact(self, *, keep: int) -> int:
        by_key: dict[ObjectKey, list[int]] = {}
        for rev, entry in self._entries.items():
            by_key.setdefault(entry.key, []).append(rev)
        removed = 0
        for key, revs in by_key.items():
            drop = sorted(revs)[:-keep] if keep > 0 else sorted(revs)
            for rev in drop:
                del self._entries[rev]
                removed += 1
            if drop:  # as on JetStream: the first revision kept, less one
                gr = (key.group, key.resource)
                kept = sorted(revs)[-keep:] if keep > 0 else []
                self._compacted[gr] = max(self._compacted.get(gr, 0), (kept[0] - 1) if kept else max(drop))
        return removed
