"""The protobuf wire format, read only: varints, tags, length-delimited fields. No schema here.

A message is a run of fields, each a tag varint (field number << 3 | wire type) and a payload:
varint (0), fixed 64-bit (1), length-delimited (2) or fixed 32-bit (5). Groups (3, 4) are
obsolete and never produced by Kubernetes; they are rejected like any other malformed input.
Every error is a `WireError` whose message says what is wrong and at which byte.
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT = 0
FIXED64 = 1
LEN = 2
FIXED32 = 5

WIRE_NAMES = {VARINT: "varint", FIXED64: "fixed64", LEN: "length-delimited", FIXED32: "fixed32",
              3: "start-group", 4: "end-group"}

_MAX_FIELD = (1 << 29) - 1


class WireError(ValueError):
    """The bytes are not well-formed protobuf."""


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at `pos` and the position after it (at most 10 bytes, as protobuf allows)."""
    result = 0
    shift = 0
    start = pos
    end = len(buf)
    while True:
        if pos >= end:
            raise WireError(f"truncated varint at byte {start}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            if shift == 63 and b > 1:
                raise WireError(f"varint overflows 64 bits at byte {start}")
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError(f"varint longer than 10 bytes at byte {start}")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes, int]]:
    """(field number, wire type, value, offset of the tag) for each field of one message, in order.

    The value is an int for varint and fixed fields (unsigned, as on the wire) and the payload bytes
    for length-delimited ones.
    """
    pos = 0
    end = len(buf)
    while pos < end:
        at = pos
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0 or number > _MAX_FIELD:
            raise WireError(f"invalid field number {number} at byte {at}")
        if wire == VARINT:
            value, pos = read_varint(buf, pos)
            yield number, wire, value, at
        elif wire == LEN:
            size, pos = read_varint(buf, pos)
            if size > end - pos:
                raise WireError(f"field {number} at byte {at} claims {size} bytes, only {end - pos} remain")
            yield number, wire, bytes(buf[pos:pos + size]), at
            pos += size
        elif wire == FIXED64:
            if end - pos < 8:
                raise WireError(f"truncated fixed64 field {number} at byte {at}")
            yield number, wire, int.from_bytes(buf[pos:pos + 8], "little"), at
            pos += 8
        elif wire == FIXED32:
            if end - pos < 4:
                raise WireError(f"truncated fixed32 field {number} at byte {at}")
            yield number, wire, int.from_bytes(buf[pos:pos + 4], "little"), at
            pos += 4
        else:
            raise WireError(f"unsupported wire type {wire} ({WIRE_NAMES.get(wire, 'unknown')}) "
                            f"for field {number} at byte {at}")


def iter_packed_varints(buf: bytes) -> Iterator[int]:
    """The varints of a packed repeated scalar field's payload."""
    pos = 0
    while pos < len(buf):
        value, pos = read_varint(buf, pos)
        yield value


def int64(value: int) -> int:
    """A varint read as a two's-complement int64 (protobuf `int64`)."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def int32(value: int) -> int:
    """A varint read as protobuf `int32`: negative numbers are sign-extended to 64 bits on the wire."""
    value &= (1 << 32) - 1
    return value - (1 << 32) if value >= 1 << 31 else value


def dump(buf: bytes, depth: int = 0, max_depth: int = 12) -> list[str]:
    """A schema-less, human-readable outline of a message (for debugging and test failure messages).

    Length-delimited payloads that parse as messages are shown nested; others as their bytes.
    """
    lines: list[str] = []
    pad = "  " * depth
    for number, wire, value, _ in iter_fields(buf):
        if isinstance(value, bytes):
            nested: list[str] | None = None
            if value and depth < max_depth:
                try:
                    nested = dump(value, depth + 1, max_depth)
                except WireError:
                    nested = None
            if nested is not None and not _printable(value):
                lines.append(f"{pad}{number}: {{")
                lines.extend(nested)
                lines.append(f"{pad}}}")
            else:
                lines.append(f"{pad}{number}: {value!r}")
        else:
            lines.append(f"{pad}{number}: {value} ({WIRE_NAMES[wire]})")
    return lines


def _printable(value: bytes) -> bool:
    try:
        text = value.decode()
    except UnicodeDecodeError:
        return False
    return text.isprintable()
