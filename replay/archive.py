"""The archive file format shared by snapshots, backups and recorded replay logs.

    file    := MAGIC frame*
    frame   := u32 length · u8 type · payload[length] · u32 crc32(type · payload)

Frames, in order:
- `H` header (JSON): format version, kind (`snapshot`, `backup`, `log`), cluster prefix, creation
  time, free-form `info` (settings, what made it);
- per stream: `B` base section (JSON: stream, revision) with the `R` records of the state at that
  revision, then `T` tail section (JSON: stream, after, until) with the `R` records of the log in
  (after, until];
- `Z` end (JSON): records per section, the SHA-256 of every byte before this frame, and per stream
  the revision, object count and digest of the state the archive rebuilds.

A record is `u32 n · JSON[n] · body`: the JSON is `[revision, group, resource, namespace, name, op,
timestamp, actor, request, cause]`, the body the object as stored. Reading checks every frame's
CRC, the end frame, the file hash, that tail revisions rise inside their section (in a recorded
log, kind `log`, that they follow each other with no gap), and (by
rebuilding) every stream's digest; any failure is an `ArchiveError` with one line saying what is
wrong and where. Nothing is written to a cluster before a whole archive has been read and checked.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from bus.log import Entry, Meta, Op
from core.keys import ObjectKey
from replay.state import State, StreamState, combine, replayed

MAGIC = b"JETKUBE-ARCHIVE\n"
FORMAT = 1
_HEAD = struct.Struct(">IB")
_CRC = struct.Struct(">I")
_N = struct.Struct(">I")
_OPS = {Op.ADDED: "A", Op.MODIFIED: "M", Op.DELETED: "D"}
_OPS_BACK = {v: k for k, v in _OPS.items()}
MAX_FRAME = 64 << 20


class ArchiveError(Exception):
    """The archive cannot be used; the message is one line saying why."""


@dataclass
class Section:
    stream: str
    base: int  # the revision of the base state
    until: int  # the last revision the tail covers
    state: list[Entry] = field(default_factory=list)  # live entries at `base`
    tail: list[Entry] = field(default_factory=list)  # the log in (base, until]


@dataclass
class Archive:
    kind: str
    prefix: str
    created: float
    info: dict[str, Any]
    sections: dict[str, Section]
    end: dict[str, Any] = field(default_factory=dict)

    def base_state(self, stream: str) -> StreamState:
        sec = self.sections[stream]
        return StreamState(sec.base, {e.key: e for e in sec.state})

    def state_at(self, revisions: dict[str, int] | None = None) -> State:
        """The state the archive holds at the given revision per stream (default: its end)."""
        out = State()
        for name, sec in self.sections.items():
            until = min((revisions or {}).get(name, sec.until), sec.until)
            out.streams[name] = replayed(sec.tail, self.base_state(name), until=until)
        return out

    @property
    def revision(self) -> int:
        return self.sections["objects"].until if "objects" in self.sections else 0


def encode_record(e: Entry) -> bytes:
    k = e.key
    head = orjson.dumps([e.revision, k.group, k.resource, k.namespace, k.name, _OPS[e.op], e.timestamp,
                         e.meta.actor, e.meta.request_id, e.meta.causation])
    return _N.pack(len(head)) + head + e.data


def decode_record(payload: bytes) -> Entry:
    (n,) = _N.unpack_from(payload)
    rev, group, resource, ns, name, op, ts, actor, req, cause = orjson.loads(payload[4:4 + n])
    return Entry(int(rev), ObjectKey(group, resource, ns, name), _OPS_BACK[op], payload[4 + n:], float(ts),
                 Meta(actor, req, cause))


class Writer:
    """Frames to a binary file, hashing as it goes."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.records: dict[str, int] = {}
        self._section = ""
        self._put(MAGIC)

    def _put(self, raw: bytes) -> None:
        self.out.write(raw)
        self.sha.update(raw)

    def frame(self, kind: bytes, payload: bytes) -> None:
        self._put(_HEAD.pack(len(payload), kind[0]) + payload + _CRC.pack(zlib.crc32(kind + payload)))

    def header(self, *, kind: str, prefix: str, created: float, info: dict[str, Any]) -> None:
        self.frame(b"H", orjson.dumps({"format": FORMAT, "kind": kind, "prefix": prefix, "created": created,
                                       "info": info}))

    def base(self, stream: str, revision: int, entries: Iterable[Entry]) -> None:
        self.frame(b"B", orjson.dumps({"stream": stream, "revision": revision}))
        self._section = f"{stream}/base"
        self._records(entries)

    def tail(self, stream: str, after: int, until: int, entries: Iterable[Entry]) -> None:
        self.frame(b"T", orjson.dumps({"stream": stream, "after": after, "until": until}))
        self._section = f"{stream}/tail"
        self._records(entries)

    def _records(self, entries: Iterable[Entry]) -> None:
        n = 0
        for e in entries:
            self.frame(b"R", encode_record(e))
            n += 1
        self.records[self._section] = self.records.get(self._section, 0) + n

    def end(self, state: State) -> dict[str, str]:
        """The end frame; returns every stream's digest (computed once, they are not cheap)."""
        digest = self.sha.hexdigest()
        digests = {name: s.digest() for name, s in state}
        streams = {name: {"revision": s.revision, "objects": len(s), "digest": digests[name]} for name, s in state}
        self.frame(b"Z", orjson.dumps({"records": self.records, "sha256": digest, "streams": streams}))
        return digests


def dump(out: IO[bytes], *, kind: str, prefix: str, created: float, info: dict[str, Any],
         sections: Iterable[Section]) -> dict[str, Any]:
    """Write a whole archive to `out`; returns what its end frame says of it."""
    w = Writer(out)
    w.header(kind=kind, prefix=prefix, created=created, info=info)
    state = State()
    for sec in sections:
        w.base(sec.stream, sec.base, sec.state)
        w.tail(sec.stream, sec.base, sec.until, sec.tail)
        state.streams[sec.stream] = replayed(sec.tail, StreamState(sec.base, {e.key: e for e in sec.state}),
                                             until=sec.until)
    digests = w.end(state)
    return {"sha256": w.sha.hexdigest(), "digest": combine(digests),
            "streams": {n: {"revision": s.revision, "objects": len(s)} for n, s in state}}


def write(path: Path, **kw: Any) -> dict[str, Any]:
    """`dump` to `path`.partial, renamed to `path` once complete (a crash leaves no torn archive)."""
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as f:
        summary = dump(f, **kw)
    tmp.replace(path)
    return summary


def to_bytes(**kw: Any) -> tuple[bytes, dict[str, Any]]:
    buf = io.BytesIO()
    summary = dump(buf, **kw)
    return buf.getvalue(), summary


def _frames(raw: bytes, name: str) -> Iterator[tuple[int, bytes, bytes, int]]:
    """(offset, type, payload, end) of each frame; ArchiveError on a torn or damaged one."""
    pos = len(MAGIC)
    n = 0
    while pos < len(raw):
        if pos + _HEAD.size > len(raw):
            raise ArchiveError(f"{name} is truncated: it ends inside the header of frame {n} (byte {pos})")
        length, kind = _HEAD.unpack_from(raw, pos)
        body_at = pos + _HEAD.size
        end = body_at + length + _CRC.size
        if length > MAX_FRAME or end > len(raw):
            raise ArchiveError(f"{name} is truncated: frame {n} at byte {pos} needs {length} bytes, "
                               f"the file has {max(len(raw) - body_at, 0)} left")
        kb = bytes([kind])
        payload = raw[body_at:body_at + length]
        (crc,) = _CRC.unpack_from(raw, body_at + length)
        if zlib.crc32(kb + payload) != crc:
            raise ArchiveError(f"{name} is damaged: frame {n} at byte {pos} fails its checksum")
        yield pos, kb, payload, end
        pos = end
        n += 1


def parse(raw: bytes, name: str = "archive", *, check_digests: bool = True) -> Archive:
    """Read and check a whole archive held in memory."""
    if not raw.startswith(MAGIC):
        raise ArchiveError(f"{name} is not a jetkube archive (no {MAGIC.strip().decode()} marker at its start)")
    header: dict[str, Any] | None = None
    sections: dict[str, Section] = {}
    current: Section | None = None
    in_tail = False
    contiguous = False  # a recorded log (kind "log") has every revision: a hole is a gap
    counts: dict[str, int] = {}
    end: dict[str, Any] | None = None
    for pos, kind, payload, stop in _frames(raw, name):
        if end is not None:
            raise ArchiveError(f"{name} is damaged: data follows its end marker at byte {pos}")
        if header is None:
            if kind != b"H":
                raise ArchiveError(f"{name} is damaged: it does not begin with a header frame")
            header = orjson.loads(payload)
            fmt = header.get("format")
            if not isinstance(fmt, int) or fmt > FORMAT:
                raise ArchiveError(f"{name} is format {fmt}, newer than this jetkube reads (format {FORMAT}); "
                                   f"use a newer jetkube")
            contiguous = header.get("kind") == "log"
            continue
        if kind == b"R":
            if current is None:
                raise ArchiveError(f"{name} is damaged: a record at byte {pos} belongs to no section")
            e = decode_record(payload)
            if in_tail:
                last = current.tail[-1].revision if current.tail else current.base
                if contiguous and e.revision != last + 1 and last < e.revision <= current.until:
                    raise ArchiveError(f"{name} has a gap: {current.stream} log record at byte {pos} has revision "
                                       f"{e.revision} right after {last} (a recorded log holds every revision)")
                if e.revision <= last or e.revision > current.until:
                    raise ArchiveError(f"{name} is damaged: {current.stream} log record at byte {pos} has revision "
                                       f"{e.revision} after {last} (its section covers {current.base + 1}"
                                       f"..{current.until})")
                current.tail.append(e)
            else:
                if e.revision > current.base:
                    raise ArchiveError(f"{name} is damaged: {current.stream} state record at byte {pos} has revision "
                                       f"{e.revision}, above the state's revision {current.base}")
                current.state.append(e)
            key = f"{current.stream}/{'tail' if in_tail else 'base'}"
            counts[key] = counts.get(key, 0) + 1
        elif kind == b"B":
            b = orjson.loads(payload)
            current = Section(b["stream"], int(b["revision"]), int(b["revision"]))
            sections[current.stream] = current
            in_tail = False
        elif kind == b"T":
            t = orjson.loads(payload)
            if current is None or t["stream"] != current.stream or int(t["after"]) != current.base:
                raise ArchiveError(f"{name} is damaged: the log section at byte {pos} does not follow its state")
            current.until = int(t["until"])
            in_tail = True
        elif kind == b"Z":
            if contiguous and current is not None and in_tail and \
                    (current.tail[-1].revision if current.tail else current.base) != current.until:
                raise ArchiveError(f"{name} has a gap: its {current.stream} log ends before revision {current.until}")
            end = orjson.loads(payload)
            if hashlib.sha256(raw[:pos]).hexdigest() != end.get("sha256"):
                raise ArchiveError(f"{name} is damaged: its content does not match the hash in its end marker")
        else:
            raise ArchiveError(f"{name} is damaged: unknown frame type {kind!r} at byte {pos}")
    if header is None:
        raise ArchiveError(f"{name} is truncated: it holds no header")
    if end is None:
        raise ArchiveError(f"{name} is truncated: it ends after {sum(counts.values())} records with no end marker")
    if counts != {k: v for k, v in end.get("records", {}).items() if v}:
        raise ArchiveError(f"{name} is damaged: record counts {counts} differ from its end marker's")
    archive = Archive(header.get("kind", ""), header.get("prefix", ""), float(header.get("created", 0.0)),
                      header.get("info", {}), sections, end)
    if check_digests:
        rebuilt = archive.state_at()
        for stream, want in end.get("streams", {}).items():
            got = rebuilt.streams.get(stream, StreamState())
            if got.digest() != want.get("digest") or got.revision != want.get("revision"):
                raise ArchiveError(f"{name} is inconsistent: its {stream} log does not rebuild the state its end "
                                   f"marker records (revision {want.get('revision')})")
    return archive


def read(path: Path) -> Archive:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ArchiveError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ArchiveError(f"{path} is a directory, not an archive") from None
    return parse(raw, str(path))
