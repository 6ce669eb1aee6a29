"""Restore: an archive's state at a chosen revision, written into a fresh store.

Revisions never move backwards. Each restored stream starts at the archive's revision plus a
`bump` (default one billion, so it also clears every revision the lost cluster may have issued
after the backup), the log's floor is raised below that start — any watch or read from an older
resourceVersion answers 410 and clients re-list — and the objects are written in their original
order, with their bodies unchanged (so the content digest is the archive's). Each entry carries actor
`jetkube-restore` and request id `restored:<revision in the archive>`.

Nothing is written unless the archive was read and checked whole and every stream of the target
store is empty; the target is a store no cluster is running on.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog

from bus.connection import Bus
from bus.log import Entry, Op
from core.kinds import Stream
from replay.archive import Archive
from replay.state import State
from replay.when import when_text

log = structlog.get_logger("replay.restore")

BUMP = 1_000_000_000
ACTOR = "jetkube-restore"


class RestoreError(Exception):
    """The restore cannot go ahead; the message says why in one line."""


def _time_of(archive: Archive, stream: str, revision: int) -> float:
    sec = archive.sections[stream]
    best = archive.info.get("base_created", archive.created) if revision <= sec.base else 0.0
    for e in sec.tail:
        if e.revision > revision:
            break
        best = e.timestamp
    return float(best)


def _revision_at(archive: Archive, stream: str, when: float) -> int:
    sec = archive.sections[stream]
    rev = sec.base
    for e in sec.tail:
        if e.timestamp > when:
            break
        rev = e.revision
    return rev


def target(archive: Archive, at: int | float | None) -> dict[str, int]:
    """Each stream's revision for `at`: None (the archive's end), a revision of the objects stream
    (int), or a time (float, seconds since the epoch). The other streams follow by time."""
    objects = archive.sections["objects"]
    if at is None:
        return {name: sec.until for name, sec in archive.sections.items()}
    base_time = float(archive.info.get("base_created", archive.created))
    if isinstance(at, int):
        if at > objects.until:
            raise RestoreError(f"revision {at} is after the last one this backup holds ({objects.until})")
        if at < objects.base:
            raise RestoreError(f"revision {at} is before the oldest one this backup holds ({objects.base}, "
                               f"its snapshot)")
        when = _time_of(archive, "objects", at)
        rev = at
    else:
        if at > archive.created:
            raise RestoreError(f"{when_text(at)} is after this backup was taken ({when_text(archive.created)})")
        if at < base_time:
            raise RestoreError(f"{when_text(at)} is before the oldest state this backup holds "
                               f"(its snapshot, {when_text(base_time)})")
        when = at
        rev = _revision_at(archive, "objects", at)
    out = {"objects": rev}
    for name in archive.sections:
        if name != "objects":
            out[name] = archive.sections[name].until if at is None else _revision_at(archive, name, when)
    return out


@dataclass
class Restored:
    streams: dict[str, tuple[int, int, int]]  # name → (first revision, last revision, objects)
    digest: str
    seconds: float

    @property
    def revision(self) -> int:
        return self.streams["objects"][1]


async def _check_fresh(bus: Bus) -> None:
    assert bus.js is not None
    for stream, spec in bus.specs.items():
        st = (await bus.js.stream_info(spec.name)).state
        if st.messages or st.last_seq:
            raise RestoreError(f"the store is not fresh: stream {spec.name} already holds revisions up to "
                               f"{st.last_seq} ({st.messages} messages); restore writes only into an empty store")


async def _write(bus: Bus, stream: Stream, entries: list[Entry], first: int) -> None:
    assert bus.js is not None and bus.nc is not None
    spec = bus.specs[stream]
    lg = bus.logs[stream]
    await bus.js.purge_stream(spec.name, seq=first)  # an empty stream whose next sequence is `first`
    await lg.raise_floor(first - 1)
    for i, e in enumerate(entries):
        # Plain publishes, acknowledged in bulk below: a fresh store has no one to race with, and
        # per-message acks would make this ten times slower.
        await bus.nc.publish(spec.subjects.subject(e.key), e.data, headers={
            "Jk-Op": Op.ADDED.value, "Jk-Actor": ACTOR, "Jk-Request": f"restored:{e.revision}",
            "Nats-Expected-Stream": spec.name})
        if i % 2000 == 1999:
            await bus.nc.flush()
    await bus.nc.flush()
    deadline = time.monotonic() + 60
    while True:
        st = (await bus.js.stream_info(spec.name)).state
        if st.messages >= len(entries):
            break
        if time.monotonic() > deadline:
            raise RestoreError(f"stream {spec.name} stored {st.messages} of {len(entries)} restored objects")
        await asyncio.sleep(0.01)
    if st.messages != len(entries) or (entries and st.last_seq != first + len(entries) - 1):
        raise RestoreError(f"stream {spec.name} holds {st.messages} messages up to {st.last_seq} after the restore; "
                           f"expected {len(entries)} up to {first + len(entries) - 1}")


async def restore(bus: Bus, state: State, *, bump: int = BUMP) -> Restored:
    """Write `state` into the empty streams of `bus`, each starting `bump` above its revision."""
    if bump < 1:
        raise RestoreError("the revision bump must be at least 1")
    started = time.monotonic()
    await _check_fresh(bus)
    out: dict[str, tuple[int, int, int]] = {}
    for stream in (Stream.OBJECTS, Stream.LEASES, Stream.EVENTS):
        st = state.streams.get(stream.value)
        if st is None:
            continue
        entries = st.ordered()
        first = st.revision + bump
        await _write(bus, stream, entries, first)
        out[stream.value] = (first, first + len(entries) - 1 if entries else first - 1, len(entries))
        log.info("stream restored", stream=stream.value, first=first, objects=len(entries))
    return Restored(out, state.digest(), time.monotonic() - started)
