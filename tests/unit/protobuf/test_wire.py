"""The schema-free wire reader."""

from __future__ import annotations

import pytest

from core.protobuf.wire import WireError, dump, int32, int64, iter_fields, iter_packed_varints, read_varint
from tests.unit.protobuf.pb import fixed32, fixed64, key, ln, msg, varint, vi


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31 - 1, 2**32, 2**63 - 1, 2**64 - 1])
def test_varint_round_trip(value: int) -> None:
    data = varint(value)
    assert read_varint(data + b"\x99", 0) == (value, len(data))


def test_known_encodings() -> None:
    assert read_varint(b"\xac\x02", 0) == (300, 2)
    assert read_varint(b"\x00\x96\x01", 1) == (150, 3)


def test_signed_views() -> None:
    assert int64(2**64 - 1) == -1
    assert int64(2**63) == -(2**63)
    assert int32(2**64 - 5) == -5      # an int32 -5 as Go writes it (sign-extended, 10 bytes)
    assert int32(2**32 - 1) == -1
    assert int32(7) == 7 and int64(7) == 7


def test_iter_fields_all_wire_types() -> None:
    buf = vi(1, 150) + ln(2, "hi") + fixed32(3, 7) + fixed64(4, 9) + msg(5, vi(1, 1))
    assert [(n, w, v) for n, w, v, _ in iter_fields(buf)] == [
        (1, 0, 150), (2, 2, b"hi"), (3, 5, 7), (4, 1, 9), (5, 2, b"\x08\x01")]
    assert [at for *_, at in iter_fields(buf)] == [0, 3, 7, 12, 21]


@pytest.mark.parametrize("buf, match", [
    (key(1, 2) + varint(5) + b"abc", "claims 5 bytes, only 3 remain"),
    (key(1, 5) + b"\x00", "truncated fixed32"),
    (key(1, 1) + b"\x00" * 7, "truncated fixed64"),
    (key(1, 3), "wire type 3"),
    (key(1, 4), "wire type 4"),
    (key(1, 6), "wire type 6"),
    (b"\x80", "truncated varint at byte 0"),
    (vi(1, 1) + b"\x08", "truncated varint at byte 3"),
])
def test_malformed(buf: bytes, match: str) -> None:
    with pytest.raises(WireError, match=match):
        list(iter_fields(buf))


def test_packed() -> None:
    assert list(iter_packed_varints(varint(1) + varint(300) + varint(2**64 - 1))) == [1, 300, 2**64 - 1]
    with pytest.raises(WireError):
        list(iter_packed_varints(b"\x80"))


def test_dump_is_readable() -> None:
    lines = dump(msg(1, ln(1, "v1"), ln(2, "Pod")) + vi(3, 0))
    assert lines == ["1: {", "  1: b'v1'", "  2: b'Pod'", "}", "3: 0 (varint)"]
