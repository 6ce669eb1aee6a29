"""The cluster's state at one revision: the last entry of every live key, per stream.

A `State` is built by applying log entries in order (a snapshot is a State written down; the state
at any later revision is that snapshot plus the log after it). Its `digest` is the content hash
that snapshots, backups and replays are checked against: SHA-256 over every live object's key and
body in key order. Bodies never hold resourceVersion, so a restored cluster (whose revisions are
new) has the same digest as the one it came from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from bus.log import Entry, EventLog, Op
from core.keys import KeyFilter, ObjectKey


def key_text(key: ObjectKey) -> str:
    return f"{key.group}/{key.resource}/{key.namespace}/{key.name}"


@dataclass
class StreamState:
    """One stream's live entries at `revision`."""

    revision: int = 0
    entries: dict[ObjectKey, Entry] = field(default_factory=dict)

    def apply(self, entry: Entry) -> None:
        """Apply the next entry of the log (entries at or below `revision` are ignored)."""
        if entry.revision <= self.revision:
            return
        if entry.op is Op.DELETED:
            self.entries.pop(entry.key, None)
        else:
            self.entries[entry.key] = entry
        self.revision = entry.revision

    def merge_listing(self, entry: Entry) -> None:
        """An entry of a last-per-key listing, or of the log read after it: newer than what is
        held for its key wins (a listing taken while writes go on can be newer than the revision
        it started at, so the log after that revision must not overwrite it with older versions)."""
        held = self.entries.get(entry.key)
        if held is None or held.revision < entry.revision:
            if entry.op is Op.DELETED:
                self.entries.pop(entry.key, None)
            else:
                self.entries[entry.key] = entry
        self.revision = max(self.revision, entry.revision)

    def ordered(self) -> list[Entry]:
        return sorted(self.entries.values(), key=lambda e: e.revision)

    def digest(self) -> str:
        h = hashlib.sha256()
        for key in sorted(self.entries, key=key_text):
            h.update(key_text(key).encode())
            h.update(b"\0")
            h.update(self.entries[key].data)
            h.update(b"\0")
        return h.hexdigest()

    def copy(self) -> StreamState:
        return StreamState(self.revision, dict(self.entries))

    def __len__(self) -> int:
        return len(self.entries)


@dataclass
class State:
    """Every stream's state; the objects stream's revision is the cluster's."""

    streams: dict[str, StreamState] = field(default_factory=dict)

    def stream(self, name: str) -> StreamState:
        return self.streams.setdefault(name, StreamState())

    @property
    def revision(self) -> int:
        return self.stream("objects").revision

    def digest(self) -> str:
        """One hash over every stream's digest, streams in name order."""
        return combine({name: s.digest() for name, s in self.streams.items()})

    def counts(self) -> dict[str, int]:
        return {name: len(s) for name, s in sorted(self.streams.items())}

    def __iter__(self) -> Iterator[tuple[str, StreamState]]:
        return iter(sorted(self.streams.items()))


def combine(digests: dict[str, str]) -> str:
    """The cluster digest from the streams' digests (what `State.digest` returns)."""
    h = hashlib.sha256()
    for name in sorted(digests):
        h.update(f"{name}:{digests[name]}\n".encode())
    return h.hexdigest()


def replayed(entries: Iterable[Entry], base: StreamState | None = None, *, until: int | None = None) -> StreamState:
    """`base` (or nothing) with `entries` applied, stopping after revision `until`."""
    state = base.copy() if base is not None else StreamState()
    for e in entries:
        if until is not None and e.revision > until:
            break
        state.apply(e)
    if until is not None:
        state.revision = max(state.revision, until)
    return state


async def read_state(log: EventLog, revision: int, base: StreamState | None = None,
                     flt: KeyFilter = KeyFilter()) -> StreamState:
    """The exact state at `revision`: `base` (a state at a lower revision) plus the log after it.
    The caller makes sure retention kept what this needs (`revision` above the compacted one)."""
    state = base.copy() if base is not None else StreamState()
    async for e in log.read(flt, state.revision, revision):
        state.apply(e)
    state.revision = max(state.revision, revision)
    return state


async def live_state(log: EventLog) -> tuple[StreamState, list[Entry]]:
    """The exact state of a log that keeps being written, without pausing writers: a last-per-key
    listing (fuzzy: it starts at revision r0 and may include newer writes) made exact by applying
    the log (r0, end] read afterwards — a fuzzy checkpoint plus its redo log. Also returns that
    tail, which a backup stores so a restore can check the same arithmetic."""
    start = await log.last_revision()
    listed, _ = await log.current(KeyFilter(), deleted=True)
    end = await log.last_revision()
    state = StreamState(revision=start)
    for e in listed:
        state.merge_listing(e)
    tail = [e async for e in log.read(KeyFilter(), start, end)]
    for e in tail:
        state.merge_listing(e)  # newer than what the listing showed wins, as above
    state.revision = max(end, state.revision)
    return state, tail

