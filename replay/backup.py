"""Online backups: a snapshot plus the log after it, in one archive file.

`create` never pauses writers. Its base is the newest stored snapshot whose log is still complete
after it (every stream's compacted revision at or below the snapshot's), or a snapshot taken now;
then, per stream, the log from that base to the stream's last revision is appended as the tail.
So the file is exact at its end revision — every write acknowledged before the backup read that
revision is in it — and can also be restored at any revision in between (`replay.restore`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import structlog

from bus.connection import Bus
from core.keys import KeyFilter
from core.kinds import Stream
from replay import archive
from replay.archive import Archive, Section
from replay.snapshots import SnapshotStore

log = structlog.get_logger("replay.backup")

STREAMS = (Stream.OBJECTS, Stream.LEASES, Stream.EVENTS)


async def _base(bus: Bus, store: SnapshotStore) -> Archive:
    floors = {s.value: await bus.logs[s].compacted_revision(KeyFilter()) for s in STREAMS}
    for info in reversed(await store.list()):
        if all(info.revisions.get(name, -1) >= floor for name, floor in floors.items()):
            try:
                return await store.load(info.name)
            except (KeyError, archive.ArchiveError) as e:
                log.warning("snapshot unusable for a backup", name=info.name, error=str(e))
    return (await store.take(reason="backup"))[1]


async def create(bus: Bus, path: Path, *, info: dict[str, Any] | None = None,
                 fresh: bool = False) -> dict[str, Any]:
    """Write a backup of the cluster on `bus` to `path`; returns a summary (revisions, counts,
    sizes, the base snapshot). `fresh`: take a new snapshot as the base instead of a stored one."""
    store = SnapshotStore(bus)
    started = time.time()
    base = (await store.take(reason="backup"))[1] if fresh else await _base(bus, store)
    sections = []
    for stream in STREAMS:
        lg = bus.logs[stream]
        sec = base.sections[stream.value]
        until = max(await lg.last_revision(), sec.base)
        tail = [e async for e in lg.read(KeyFilter(), sec.base, until)]
        sections.append(Section(stream.value, sec.base, until, sec.state, tail))
    summary = archive.write(path, kind="backup", prefix=bus.prefix, created=time.time(),
                            info={**(info or {}), "base_created": base.created}, sections=sections)
    summary.update(path=str(path), bytes=path.stat().st_size, seconds=time.time() - started,
                   base={s.stream: s.base for s in sections}, tail={s.stream: len(s.tail) for s in sections})
    log.info("backup written", path=str(path), revision=summary["streams"]["objects"]["revision"],
             bytes=summary["bytes"])
    return summary
