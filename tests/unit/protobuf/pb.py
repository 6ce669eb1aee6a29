"""A tiny protobuf *encoder* for building test inputs by hand (field number by field number).

Deliberately separate from the decoder and schema-free: tests spell out the field numbers they
mean, so a wrong number in the schema table shows up as a wrong or unknown field.
"""

from __future__ import annotations


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative numbers: two's complement over 64 bits, as protobuf does
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def vi(number: int, value: int) -> bytes:
    """A varint field (int32, int64, bool)."""
    return key(number, 0) + varint(value)


def ln(number: int, payload: bytes | str) -> bytes:
    """A length-delimited field (string, bytes)."""
    data = payload.encode() if isinstance(payload, str) else payload
    return key(number, 2) + varint(len(data)) + data


def msg(number: int, *fields: bytes) -> bytes:
    """An embedded message field."""
    return ln(number, b"".join(fields))


def entry(number: int, k: str, v: bytes | str) -> bytes:
    """One map entry."""
    return msg(number, ln(1, k), ln(2, v))


def fixed32(number: int, value: int) -> bytes:
    return key(number, 5) + value.to_bytes(4, "little")


def fixed64(number: int, value: int) -> bytes:
    return key(number, 1) + value.to_bytes(8, "little")


def envelope(api_version: str, kind: str, raw: bytes, *, encoding: str = "", content_type: str = "") -> bytes:
    """The body kubectl sends: magic, then runtime.Unknown{typeMeta=1, raw=2, contentEncoding=3, contentType=4}."""
    return (b"k8s\x00" + msg(1, ln(1, api_version), ln(2, kind)) + ln(2, raw) + ln(3, encoding)
            + ln(4, content_type))


def meta(name: str, *more: bytes) -> bytes:
    """ObjectMeta as Go writes it: every value field present, zero or not."""
    return msg(1, ln(1, name), ln(2, ""), ln(3, ""), ln(4, ""), ln(5, ""), ln(6, ""), vi(7, 0), msg(8), *more)
