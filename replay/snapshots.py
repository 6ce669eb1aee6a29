"""Snapshots: the cluster's exact state at one revision, kept in a JetStream object store bucket.

`capture` takes every stream's state while writers go on (a last-per-key listing made exact by
the log read after it, see `replay.state.live_state`); a snapshot is that state written as an
archive (`replay.archive`, kind `snapshot`: base sections only) and put into the bucket
`<PREFIX>_KUBE_SNAPSHOTS` under `rev-<objects revision>-<unix ms>`, with a one-line JSON summary as
the object's description so listing never downloads a snapshot. The state at any later revision is
a snapshot plus the log after it (`nearest`), which is how point-in-time reads and backups avoid
reading the log from its first revision. `Scheduler` takes one every `every` seconds when the
cluster changed, and keeps the newest `keep` scheduled ones.
"""

from __future__ import annotations

import asyncio
import builtins
import io
import time
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from nats.js.api import ObjectMeta
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError

from bus.connection import Bus
from core.kinds import Stream
from replay import archive
from replay.archive import Archive, ArchiveError, Section
from replay.state import live_state

log = structlog.get_logger("replay.snapshots")


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    revision: int  # the objects stream's revision
    created: float
    size: int
    objects: int
    digest: str
    reason: str  # "scheduled", "on demand", "backup"
    revisions: dict[str, int]  # every stream's revision

    def summary(self) -> str:
        return orjson.dumps({"revision": self.revision, "created": self.created, "objects": self.objects,
                             "digest": self.digest, "reason": self.reason, "revisions": self.revisions}).decode()

    @classmethod
    def parse(cls, name: str, size: int, description: str | None) -> SnapshotInfo | None:
        try:
            d = orjson.loads(description or "")
            return cls(name, int(d["revision"]), float(d["created"]), size, int(d["objects"]), str(d["digest"]),
                       str(d.get("reason", "")), {k: int(v) for k, v in d.get("revisions", {}).items()})
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None


async def capture(bus: Bus) -> list[Section]:
    """Every stream's exact state now, as archive sections (no tail)."""
    out = []
    for stream in (Stream.OBJECTS, Stream.LEASES, Stream.EVENTS):
        state, _ = await live_state(bus.logs[stream])
        out.append(Section(stream.value, state.revision, state.revision, state.ordered()))
    return out


def bucket_name(prefix: str) -> str:
    return f"{prefix.upper().replace('-', '_')}_KUBE_SNAPSHOTS"


class SnapshotStore:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.bucket = bucket_name(bus.prefix)
        self._obs: Any = None

    async def _store(self, *, create: bool = True) -> Any:
        if self._obs is None:
            assert self.bus.js is not None
            try:
                self._obs = await self.bus.js.object_store(self.bucket)
            except (BucketNotFoundError, NotFoundError):
                if not create:
                    return None
                self._obs = await self.bus.js.create_object_store(self.bucket, description="jetkube snapshots")
        return self._obs

    async def create(self, *, reason: str = "on demand") -> SnapshotInfo:
        return (await self.take(reason=reason))[0]

    async def take(self, *, reason: str) -> tuple[SnapshotInfo, Archive]:
        """Capture, store, and also hand back the snapshot itself (a backup builds on it at once;
        reading it back from the bucket would only cost time)."""
        sections = await capture(self.bus)
        created = time.time()
        raw, summary = archive.to_bytes(kind="snapshot", prefix=self.bus.prefix, created=created,
                                        info={"reason": reason}, sections=sections)
        revisions = {s.stream: s.until for s in sections}
        info = SnapshotInfo(f"rev-{revisions['objects']}-{int(created * 1000)}", revisions["objects"], created,
                            len(raw), sum(v["objects"] for v in summary["streams"].values()), summary["digest"], reason,
                            revisions)
        obs = await self._store()
        await obs.put(info.name, raw, meta=ObjectMeta(name=info.name, description=info.summary()))
        log.info("snapshot stored", name=info.name, revision=info.revision, objects=info.objects, bytes=len(raw))
        return info, Archive("snapshot", self.bus.prefix, created, {"reason": reason},
                             {s.stream: s for s in sections})

    async def list(self) -> list[SnapshotInfo]:
        """Every snapshot, oldest revision first."""
        obs = await self._store(create=False)
        if obs is None:
            return []
        try:
            objects = await obs.list()
        except NotFoundError:
            return []
        out = [SnapshotInfo.parse(o.name, o.size or 0, o.description) for o in objects if not o.deleted]
        return sorted((i for i in out if i is not None), key=lambda i: (i.revision, i.created))

    async def remove(self, name: str) -> None:
        obs = await self._store(create=False)
        try:
            if obs is None:
                raise ObjectNotFoundError
            await obs.delete(name)
        except (ObjectNotFoundError, NotFoundError):
            raise KeyError(name) from None

    async def load(self, name: str) -> Archive:
        obs = await self._store(create=False)
        buf = io.BytesIO()
        try:
            if obs is None:
                raise ObjectNotFoundError
            # writeinto: nats-py otherwise grows one bytes object chunk by chunk (quadratic)
            await obs.get(name, writeinto=buf)
        except (ObjectNotFoundError, NotFoundError):
            raise KeyError(name) from None
        return archive.parse(buf.getvalue(), f"snapshot {name}")

    async def nearest(self, revision: int) -> Archive | None:
        """The newest readable snapshot at or below `revision` (objects stream), if any."""
        for info in reversed(await self.list()):
            if info.revision <= revision:
                try:
                    return await self.load(info.name)
                except (KeyError, ArchiveError) as e:
                    log.warning("snapshot unreadable; trying an older one", name=info.name, error=str(e))
        return None

    async def prune(self, keep: int, *, reason: str = "scheduled") -> builtins.list[str]:
        """Remove all but the newest `keep` snapshots taken for `reason`."""
        mine = [i for i in await self.list() if i.reason == reason]
        gone = [i.name for i in mine[:max(len(mine) - keep, 0)]]
        for name in gone:
            await self.remove(name)
        return gone


class Scheduler:
    """A snapshot every `every` seconds when the objects stream moved; the newest `keep` stay."""

    def __init__(self, bus: Bus, *, every: float, keep: int) -> None:
        self.store = SnapshotStore(bus)
        self.every = every
        self.keep = keep
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.every > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="snapshots")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        last = 0
        while True:
            await asyncio.sleep(self.every)
            try:
                now = await self.store.bus.logs[Stream.OBJECTS].last_revision()
                if now != last:
                    last = (await self.store.create(reason="scheduled")).revision
                    await self.store.prune(self.keep)
            except Exception as e:  # a failed snapshot is retried next time, never fatal
                log.warning("scheduled snapshot failed", error=repr(e))
