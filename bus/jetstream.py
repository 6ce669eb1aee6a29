"""The event log on a JetStream stream: the real implementation of `bus.log.EventLog`.

Appends are publishes with `Nats-Expected-Last-Subject-Sequence` (per-subject compare-and-swap);
the stream sequence is the revision. Headers carry the operation and who/why (`Jk-Op`,
`Jk-Actor`, `Jk-Request`, `Jk-Cause`); the body is the object JSON. Listing the current state is
an ordered consumer with deliver policy last-per-subject; a watch is an ordered consumer from a
start sequence. What the compactor removed is recorded per resource in a small KV bucket so a
watch older than it answers `Compacted` instead of silently skipping versions.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js import api as jsapi
from nats.js.errors import APIError, KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from bus.acks import AckPipe
from bus.log import Compacted, Entry, LogError, Meta, Op, Unavailable, WrongRevision
from bus.streams import StreamSpec
from core.keys import KeyFilter, ObjectKey

_WRONG_SEQ = re.compile(r"wrong last sequence: (\d+)")
_COMPACTED_KEY = "compacted"
_ALL = "*"  # a marker for every resource of the stream (a restore's floor)
_TRANSIENT = (NatsTimeout, NoRespondersError, ConnectionClosedError, asyncio.TimeoutError)


def _headers(op: Op, expected: int, meta: Meta) -> dict[str, str]:
    h = {"Nats-Expected-Last-Subject-Sequence": str(expected), "Jk-Op": op.value}
    if meta.actor:
        h["Jk-Actor"] = meta.actor
    if meta.request_id:
        h["Jk-Request"] = meta.request_id
    if meta.causation:
        h["Jk-Cause"] = meta.causation
    return h


def _meta(headers: dict[str, str] | None) -> tuple[Op, Meta]:
    h = headers or {}
    return Op(h.get("Jk-Op", "MODIFIED")), Meta(h.get("Jk-Actor", ""), h.get("Jk-Request", ""), h.get("Jk-Cause", ""))


class JetStreamLog:
    def __init__(self, js: JetStreamContext, spec: StreamSpec, meta_kv: KeyValue, acks: AckPipe) -> None:
        self.js = js
        self._acks = acks
        self.spec = spec
        self.name = spec.name
        self._subjects = spec.subjects
        self._kv = meta_kv
        self._kv_key = f"{_COMPACTED_KEY}.{spec.stream.value}"

    # -- writes ---------------------------------------------------------------------------
    async def append(self, key: ObjectKey, op: Op, data: bytes, *, expected: int, meta: Meta = Meta()) -> Entry:
        subject = self._subjects.subject(key)
        headers = _headers(op, expected, meta)
        headers["Nats-Expected-Stream"] = self.name
        try:
            reply = await self._acks.publish(subject, data, headers)
        except _TRANSIENT as e:
            raise Unavailable(f"append to {self.name}: {e!r}") from e
        err = reply.get("error")
        if err:
            m = _WRONG_SEQ.search(err.get("description", ""))
            if err.get("err_code") == 10071 and m:
                raise WrongRevision(key, expected, int(m.group(1)))
            raise LogError(f"append to {self.name} refused: {err.get('description')} (code {err.get('err_code')})")
        return Entry(int(reply["seq"]), key, op, data, time.time(), meta)

    # -- point reads ----------------------------------------------------------------------
    async def latest(self, key: ObjectKey) -> Entry | None:
        try:
            raw = await self.js.get_msg(self.name, subject=self._subjects.subject(key))
        except NotFoundError:
            return None
        except _TRANSIENT as e:
            raise Unavailable(f"get from {self.name}: {e!r}") from e
        op, meta = _meta(raw.headers)
        ts = raw.time.timestamp() if raw.time else 0.0
        return Entry(raw.seq or 0, key, op, raw.data or b"", ts, meta)

    async def entry(self, revision: int) -> Entry | None:
        try:
            raw = await self.js.get_msg(self.name, seq=revision)
        except NotFoundError:
            return None
        except _TRANSIENT as e:
            raise Unavailable(f"get from {self.name}: {e!r}") from e
        if not raw.subject:
            return None
        op, meta = _meta(raw.headers)
        ts = raw.time.timestamp() if raw.time else 0.0
        return Entry(raw.seq or revision, self._subjects.key(raw.subject), op, raw.data or b"", ts, meta)

    async def last_revision(self) -> int:
        info = await self.js.stream_info(self.name)
        return info.state.last_seq

    # -- listing and watching -------------------------------------------------------------
    def _entry(self, msg: Msg) -> Entry:
        op, meta = _meta(msg.headers)
        md = msg.metadata
        return Entry(md.sequence.stream, self._subjects.key(msg.subject), op, msg.data, md.timestamp.timestamp(), meta)

    async def _drain(self, flt: KeyFilter, policy: jsapi.DeliverPolicy, *, until: int = 0,
                     headers_only: bool = False, **cfg: Any) -> AsyncIterator[Msg]:
        """What an ordered consumer holds right now (up to `until` if given), then stop."""
        queue: asyncio.Queue[Msg] = asyncio.Queue()
        config = jsapi.ConsumerConfig(headers_only=headers_only or None, **cfg)
        sub = await self.js.subscribe(self._subjects.filter(flt), ordered_consumer=True, cb=self._enqueue(queue),
                                      deliver_policy=policy, config=config,
                                      pending_msgs_limit=-1, pending_bytes_limit=-1)
        try:
            info = await sub.consumer_info()
            # A push consumer may have delivered some messages before the info came back.
            if (info.num_pending or 0) + (info.delivered.consumer_seq if info.delivered else 0) == 0:
                return
            while True:
                # wait_for only when the queue is empty: a timer per message costs ~20% of a bulk read
                msg = queue.get_nowait() if not queue.empty() else await asyncio.wait_for(queue.get(), 30)
                yield msg
                md = msg.metadata
                if md.num_pending == 0 or (until and md.sequence.stream >= until):
                    return
        except asyncio.TimeoutError as e:
            raise Unavailable(f"reading {self.name}: no message for 30 s") from e
        finally:
            try:
                await sub.unsubscribe()
            except ConnectionClosedError:
                pass

    async def current(self, flt: KeyFilter, *, deleted: bool = False) -> tuple[list[Entry], int]:
        top = await self.last_revision()
        newest: dict[ObjectKey, Entry] = {}
        async for msg in self._drain(flt, jsapi.DeliverPolicy.LAST_PER_SUBJECT):
            entry = self._entry(msg)
            top = max(top, entry.revision)
            newest[entry.key] = entry  # a message newer than the snapshot replaces it
        entries = sorted((e for e in newest.values() if deleted or e.op is not Op.DELETED), key=lambda e: e.revision)
        return entries, top

    async def read(self, flt: KeyFilter, after: int, until: int) -> AsyncIterator[Entry]:
        if until <= after:
            return
        async for msg in self._drain(flt, jsapi.DeliverPolicy.BY_START_SEQUENCE, until=until, opt_start_seq=after + 1):
            entry = self._entry(msg)
            if entry.revision > until:
                return
            yield entry

    async def revision_at(self, when: float) -> int:
        after = when + 1e-6  # the first entry written after `when` (a float loses the nanoseconds)
        start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(after)) + f".{int((after % 1) * 1e9):09d}Z"
        async for msg in self._drain(KeyFilter(), jsapi.DeliverPolicy.BY_START_TIME, headers_only=True,
                                     opt_start_time=start):
            return max(msg.metadata.sequence.stream - 1, 0)  # the first one written after `when`, less one
        return await self.last_revision()

    async def watch(self, flt: KeyFilter, after: int) -> AsyncIterator[Entry]:
        oldest = await self.compacted_revision(flt)
        if after < oldest:
            raise Compacted(after, oldest)
        cfg = jsapi.ConsumerConfig(opt_start_seq=after + 1)
        # A callback feeding a queue: nats-py's `sub.messages` iterator makes a task and an
        # asyncio.wait per message, several times slower than this at cache-feed rates.
        queue: asyncio.Queue[Msg] = asyncio.Queue()
        sub = await self.js.subscribe(self._subjects.filter(flt), ordered_consumer=True, cb=self._enqueue(queue),
                                      deliver_policy=jsapi.DeliverPolicy.BY_START_SEQUENCE, config=cfg,
                                      pending_msgs_limit=-1, pending_bytes_limit=-1)
        try:
            while True:
                yield self._entry(await queue.get())
        finally:
            try:
                await sub.unsubscribe()
            except ConnectionClosedError:
                pass

    @staticmethod
    def _enqueue(queue: asyncio.Queue[Msg]) -> Callable[[Msg], Awaitable[None]]:
        async def cb(msg: Msg) -> None:
            queue.put_nowait(msg)
        return cb

    # -- retention ------------------------------------------------------------------------
    async def _markers(self) -> tuple[dict[str, int], int]:
        try:
            got = await self._kv.get(self._kv_key)
            return orjson.loads(got.value or b"{}"), got.revision or 0
        except KeyNotFoundError:
            return {}, 0

    async def compacted_revision(self, flt: KeyFilter) -> int:
        floor = 0
        if self.spec.max_age:  # expiry removes a prefix of the stream, whatever the key
            info = await self.js.stream_info(self.name)
            floor = max(info.state.first_seq - 1, 0)
        # Leases (server keeps one version per key) are not floored: a watcher still gets the
        # newest version of every lease changed since its revision; only heartbeats coalesce.
        markers, _ = await self._markers()
        if flt.resource is None:
            return max([floor, *markers.values()])
        return max(floor, markers.get(_ALL, 0), markers.get(f"{flt.group or ''}/{flt.resource}", 0))

    async def compact(self, *, keep: int) -> int:
        """Purge all but `keep` versions of every subject; record per resource the highest
        revision that may have gone (the first kept revision minus one)."""
        info = await self.js.stream_info(self.name, subjects_filter=self._subjects.all)
        counts: dict[str, int] = info.state.subjects or {}
        removed = 0
        raised: dict[str, int] = {}
        for subject, count in counts.items():
            if count <= keep:
                continue
            await self.js.purge_stream(self.name, subject=subject, keep=keep)
            removed += count - keep
            first = await self.js.get_msg(self.name, seq=1, subject=subject, next=True)
            key = self._subjects.key(subject)
            gr = f"{key.group}/{key.resource}"
            raised[gr] = max(raised.get(gr, 0), (first.seq or 1) - 1)
        if raised:
            await self._raise_markers(raised)
        return removed

    async def expire_deleted(self, *, older_than: float) -> int:
        """Tombstones are found by a headers-only last-per-subject scan; each key is purged below
        its tombstone's revision + 1, so a key created again meanwhile keeps its new versions."""
        gone: list[Msg] = []
        async for msg in self._drain(KeyFilter(), jsapi.DeliverPolicy.LAST_PER_SUBJECT, headers_only=True):
            if (msg.headers or {}).get("Jk-Op") == Op.DELETED.value and msg.metadata.timestamp.timestamp() < older_than:
                gone.append(msg)
        raised: dict[str, int] = {}
        for msg in gone:
            seq = msg.metadata.sequence.stream
            await self.js.purge_stream(self.name, subject=msg.subject, seq=seq + 1)
            key = self._subjects.key(msg.subject)
            gr = f"{key.group}/{key.resource}"
            raised[gr] = max(raised.get(gr, 0), seq)
        if raised:
            await self._raise_markers(raised)
        return len(gone)

    async def raise_floor(self, revision: int) -> None:
        await self._raise_markers({_ALL: revision})

    async def _raise_markers(self, raised: dict[str, int]) -> None:
        for _ in range(20):
            markers, rev = await self._markers()
            merged: dict[str, Any] = dict(markers)
            for gr, value in raised.items():
                merged[gr] = max(int(merged.get(gr, 0)), value)
            try:
                if rev:
                    await self._kv.update(self._kv_key, orjson.dumps(merged), last=rev)
                else:
                    await self._kv.create(self._kv_key, orjson.dumps(merged))
                return
            except APIError:
                continue  # another compactor raced us: re-read and merge again
        raise Unavailable("could not record compaction markers")
