"""The archive format, pure: round trips, the state at a revision, and every kind of damage
answered with one clear ArchiveError."""

from __future__ import annotations

import pytest

from bus.log import Entry, Meta, Op
from core.keys import ObjectKey
from replay import archive
from replay.archive import ArchiveError, Section


def e(rev: int, name: str, op: Op = Op.ADDED, body: str = "{}") -> Entry:
    return Entry(rev, ObjectKey("", "configmaps", "default", name), op, body.encode(), 1000.0 + rev,
                 Meta("alice", f"r{rev}", ""))


def sections(kind_log: bool = False) -> list[Section]:
    base = [] if kind_log else [e(1, "a"), e(3, "b")]
    tail = [e(4, "a", Op.MODIFIED, '{"v":2}'), e(5, "b", Op.DELETED), e(6, "c")]
    if kind_log:
        tail = [e(1, "a"), e(2, "x"), e(3, "b"), *tail]
    return [Section("objects", 0 if kind_log else 3, 6, base, tail)]


def dump(kind: str = "backup", secs: list[Section] | None = None) -> bytes:
    raw, _ = archive.to_bytes(kind=kind, prefix="jk", created=2000.0, info={"k": 1},
                              sections=secs if secs is not None else sections(kind == "log"))
    return raw


def test_round_trip_and_state_at() -> None:
    got = archive.parse(dump(), "t")
    assert got.kind == "backup" and got.prefix == "jk" and got.info == {"k": 1}
    sec = got.sections["objects"]
    assert [x.revision for x in sec.state] == [1, 3] and [x.revision for x in sec.tail] == [4, 5, 6]
    assert sec.tail[0].meta == Meta("alice", "r4", "") and sec.tail[1].op is Op.DELETED
    end = got.state_at().streams["objects"]
    assert {k.name for k in end.entries} == {"a", "c"} and end.revision == 6
    at4 = got.state_at({"objects": 4}).streams["objects"]
    assert {k.name: v.data for k, v in at4.entries.items()} == {"a": b'{"v":2}', "b": b"{}"}
    assert at4.revision == 4


def test_a_recorded_log_must_hold_every_revision() -> None:
    assert archive.parse(dump("log"), "t").state_at().streams["objects"].revision == 6
    holed = sections(True)
    holed[0].tail.pop(1)  # revision 2 missing
    with pytest.raises(ArchiveError, match="has a gap: objects log record .* revision 3 right after 1"):
        archive.parse(dump("log", holed), "t")
    short = sections(True)
    short[0].tail.pop()  # ends at 5, claims 6
    with pytest.raises(ArchiveError, match="has a gap: its objects log ends before revision 6"):
        archive.parse(dump("log", short), "t")


@pytest.mark.parametrize("cut", [1, 7, 100, -5])
def test_truncation_is_named(cut: int) -> None:
    raw = dump()
    with pytest.raises(ArchiveError, match="truncated"):
        archive.parse(raw[: len(archive.MAGIC) + cut] if cut > 0 else raw[:cut], "t")


def test_every_flipped_byte_is_caught() -> None:
    raw = dump()
    for i in range(len(archive.MAGIC), len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0x40
        with pytest.raises(ArchiveError):
            archive.parse(bytes(bad), "t")


def test_not_an_archive_and_a_newer_format() -> None:
    with pytest.raises(ArchiveError, match="not a jetkube archive"):
        archive.parse(b"PK\x03\x04 a zip file", "t")
    import io

    import orjson
    buf = io.BytesIO()
    w = archive.Writer(buf)
    w.frame(b"H", orjson.dumps({"format": archive.FORMAT + 1, "kind": "backup"}))
    with pytest.raises(ArchiveError, match=f"format {archive.FORMAT + 1}, newer than this jetkube reads"):
        archive.parse(buf.getvalue(), "t")
