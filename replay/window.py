"""The stretch of recorded log a replay runs over: read from a cluster or an archive, saved as one.

`from_log` takes the objects stream's exact state at `start` (the nearest stored snapshot plus the
log, as `jetkube at` does) and its entries (start, end]; every one of them must still be there (a
window reaching below what compaction removed is refused, naming the oldest revision available).
`from_archive` cuts the same out of a recorded log, a backup or a snapshot file. `save` writes a
window as a recorded log (archive kind `log`: revisions without gaps, checksums, the digest of the
state it ends in) — the golden logs under tests/replay/golden/ are such files.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bus.log import Entry, EventLog
from core.keys import KeyFilter
from core.kinds import Stream
from replay import archive
from replay.archive import Archive, Section
from replay.pointintime import PointInTimeError, Snapshots, build
from replay.sandbox import Window
from replay.state import StreamState, replayed
from replay.when import when_text


class WindowError(Exception):
    """The window asked for cannot be read; the message is one line saying why."""


def _check(start: int, end: int, first: int, last: int, what: str) -> None:
    if start < first:
        raise WindowError(f"--from {start} is before the oldest revision {what} holds ({first})")
    if end > last:
        raise WindowError(f"--to {end} is beyond the last revision {what} holds ({last})")
    if end <= start:
        raise WindowError(f"--to {end} must be after --from {start}")


def _times(base: StreamState, entries: list[Any], fallback: float) -> tuple[float, float]:
    held = [e.timestamp for e in base.entries.values() if e.timestamp]
    start = max(held) if held else (entries[0].timestamp if entries else fallback)
    end = entries[-1].timestamp if entries else start
    return start, max(start, end)


async def from_log(objects: EventLog, start: int, end: int | None = None, *,
                   snapshots: Snapshots | None = None) -> Window:
    last = await objects.last_revision()
    end = last if end is None else end
    compacted = await objects.compacted_revision(KeyFilter())
    _check(start, end, compacted, last, "the cluster's log")
    if start > 0:
        try:
            view = await build({Stream.OBJECTS: objects}, start, snapshots=snapshots)
        except PointInTimeError as e:
            raise WindowError(str(e)) from None
        base, start_time = view.streams[Stream.OBJECTS], view.time
    else:
        base, start_time = StreamState(), 0.0
    entries = [e async for e in objects.read(KeyFilter(), start, end)]
    gap = next((i for i, e in enumerate(entries) if e.revision != start + 1 + i), None)
    if gap is not None or len(entries) != end - start:
        missing = start + 1 + (gap if gap is not None else len(entries))
        raise WindowError(f"revision {missing} is no longer in the log (compacted or purged): replay a later window")
    t0, t1 = _times(base, entries, time.time())
    return Window(base, entries, start, end, start_time or t0, t1)


def revision_in(entries: Sequence[Entry], when: int | float | None) -> int | None:
    """A revision as given, or the last one of `entries` written at or before a time."""
    if when is None or isinstance(when, int):
        return when
    before = [e.revision for e in entries if e.timestamp <= when]
    if not before:
        raise WindowError(f"nothing in the archive was written at or before {when_text(when)}")
    return before[-1]


def from_archive(arc: Archive, start: int | None = None, end: int | None = None) -> Window:
    sec = arc.sections.get("objects")
    if sec is None:
        raise WindowError("the archive holds no objects stream")
    start = sec.base if start is None else start
    end = sec.until if end is None else end
    _check(start, end, sec.base, sec.until, "the archive")
    base = replayed(sec.tail, arc.base_state("objects"), until=start)
    entries = [e for e in sec.tail if start < e.revision <= end]
    at_start = [e.timestamp for e in sec.tail if e.revision == start]
    t0, t1 = _times(base, entries, arc.created)
    return Window(base, entries, start, end, at_start[0] if at_start else t0, t1)


def save(window: Window, path: Path, *, prefix: str, info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write `window` as a recorded log (archive kind `log`); returns the archive's summary."""
    sec = Section("objects", window.start, window.end, window.base.ordered(), list(window.entries))
    return archive.write(path, kind="log", prefix=prefix, created=window.end_time,
                         info={"from": window.start, "to": window.end, **(info or {})}, sections=[sec])
