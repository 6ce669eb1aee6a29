"""Decode one message of the table into the dict its JSON form would be.

`Decoder().message(name, payload, "")` walks the payload's fields against `schema.MESSAGES[name]`. Field
numbers the table does not know are skipped and their paths collected (`spec.template.#42`), so
the caller can treat them as unknown fields. A field whose wire type does not fit its declared
kind, a bad length, invalid UTF-8 in a string, a truncated varint… raise `WireError`.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

from core.protobuf import schema
from core.protobuf.schema import Field
from core.protobuf.wire import LEN, VARINT, WIRE_NAMES, WireError, int32, int64, iter_fields, iter_packed_varints

_MAX_DEPTH = 64
_VARINT_KINDS = frozenset({schema.BOOL, schema.INT32, schema.INT64})


class Decoder:
    def __init__(self) -> None:
        self.unknown: list[str] = []

    def message(self, name: str, payload: bytes, path: str, depth: int = 0,
                out: dict[str, Any] | None = None, inline: bool = False) -> dict[str, Any]:
        """Decode `payload` as message `name` into `out` (a new dict by default) and return it.

        `inline` is for Go embedded structs: their fields land in the parent's dict, and the parent
        applies omitempty to them when it is done.
        """
        if depth > _MAX_DEPTH:
            raise WireError(f"messages nested deeper than {_MAX_DEPTH} levels at {path or '<root>'}")
        table = schema.MESSAGES[name]
        target: dict[str, Any] = {} if out is None else out
        for number, wire, value, _ in iter_fields(payload):
            f = table.get(number)
            if f is None:
                self.unknown.append(_join(path, f"#{number}"))
                continue
            if f.kind == schema.INLINE:
                assert f.ref is not None
                self.message(f.ref, _expect_len(f, wire, value, path), path, depth + 1, target, inline=True)
                continue
            child = _join(path, f.json)
            if f.repeated:
                items = target.setdefault(f.json, [])
                if f.kind in _VARINT_KINDS and wire == LEN and isinstance(value, bytes):  # packed encoding
                    items.extend(self.scalar(f, VARINT, v, child) for v in iter_packed_varints(value))
                else:
                    items.append(self.value(f, wire, value, f"{child}[{len(items)}]", depth))
            elif f.kind == schema.MAP:
                entries = target.setdefault(f.json, {})
                key, item = self.map_entry(f, _expect_len(f, wire, value, child), child)
                entries[key] = item
            elif f.kind == schema.MESSAGE and isinstance(target.get(f.json), dict):
                # A repeated occurrence of a singular message merges into the first, as protobuf says.
                assert f.ref is not None
                self.message(f.ref, _expect_len(f, wire, value, child), child, depth + 1, target[f.json])
            else:
                target[f.json] = self.value(f, wire, value, child, depth)
        if not inline:
            _drop_zeros(table, target)
        return target

    def value(self, f: Field, wire: int, value: int | bytes, path: str, depth: int) -> Any:
        kind = f.kind
        if kind == schema.MESSAGE:
            assert f.ref is not None
            return self.message(f.ref, _expect_len(f, wire, value, path), path, depth + 1)
        if kind in schema.SCALARS:
            return self.scalar(f, wire, value, path)
        payload = _expect_len(f, wire, value, path)
        if kind == schema.TIME:
            return _time(payload, path)
        if kind == schema.QUANTITY:
            return _quantity(payload, path)
        if kind == schema.INTSTR:
            return _intstr(payload, path)
        if kind == schema.FIELDSV1:
            return _fieldsv1(payload, path)
        raise AssertionError(f"unhandled kind {kind}")  # pragma: no cover - the table is checked

    def scalar(self, f: Field, wire: int, value: int | bytes, path: str) -> Any:
        kind = f.kind
        if kind == schema.STRING:
            return _text(_expect_len(f, wire, value, path), path)
        if kind == schema.BYTES:
            return base64.b64encode(_expect_len(f, wire, value, path)).decode("ascii")
        if wire != VARINT or not isinstance(value, int):
            raise WireError(f"{path}: expected a varint for {kind}, got {WIRE_NAMES[wire]}")
        if kind == schema.BOOL:
            return value != 0
        if kind == schema.INT32:
            return int32(value)
        return int64(value)

    def map_entry(self, f: Field, payload: bytes, path: str) -> tuple[str, Any]:
        key = ""
        item: Any = None
        for number, wire, value, _ in iter_fields(payload):
            if number == 1:
                key = _text(_expect_len(f, wire, value, path), path)
            elif number == 2:
                raw = _expect_len(f, wire, value, path)
                item = raw  # converted below, once the key is known for the error path
            else:
                self.unknown.append(_join(path, f"#{number}"))
        where = f"{path}[{key}]"
        kind = f.ref
        if kind == schema.STRING:
            return key, _text(item or b"", where)
        if kind == schema.BYTES:
            return key, base64.b64encode(item or b"").decode("ascii")
        return key, _quantity(item or b"", where)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _expect_len(f: Field, wire: int, value: int | bytes, path: str) -> bytes:
    if wire != LEN or not isinstance(value, bytes):
        label = f.json or "embedded message"
        raise WireError(f"{_join(path, label) if f.kind == schema.INLINE else path}: expected a "
                        f"length-delimited {f.kind}, got {WIRE_NAMES.get(wire, wire)}")
    return value


def _text(payload: bytes, path: str) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as e:
        raise WireError(f"{path}: string is not valid UTF-8 (byte {e.start})") from None


def _is_zero(f: Field, value: Any) -> bool:
    if f.kind == schema.INTSTR:
        return value == 0
    return value in ("", 0, False) and not isinstance(value, (dict, list))


def _drop_zeros(table: dict[int, Field], target: dict[str, Any]) -> None:
    """Apply `omitempty` to a decoded message: zero scalars of non-kept fields, zero times."""
    for f in table.values():
        if f.kind == schema.INLINE:
            assert f.ref is not None
            _drop_zeros(schema.MESSAGES[f.ref], target)
            continue
        if f.json not in target or f.repeated or f.kind in (schema.MESSAGE, schema.MAP):
            continue
        value = target[f.json]
        if value is None or (not f.keep and _is_zero(f, value)):
            del target[f.json]


def _time(payload: bytes, path: str) -> str | None:
    """meta/v1 Time as Go's JSON writes it: RFC 3339 in UTC, whole seconds."""
    if not payload:
        return None  # Go's zero time: JSON null, omitted here
    seconds = 0
    for number, wire, value, _ in iter_fields(payload):
        if wire != VARINT or not isinstance(value, int):
            raise WireError(f"{path}: time fields must be varints")
        if number == 1:
            seconds = int64(value)
    try:
        when = datetime.fromtimestamp(seconds, tz=timezone.utc).replace(microsecond=0)
    except (OverflowError, OSError, ValueError):
        raise WireError(f"{path}: time {seconds}s is out of range") from None
    return (f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
            f"T{when.hour:02d}:{when.minute:02d}:{when.second:02d}Z")


def _quantity(payload: bytes, path: str) -> str:
    text = ""
    for number, wire, value, _ in iter_fields(payload):
        if number == 1:
            if wire != LEN or not isinstance(value, bytes):
                raise WireError(f"{path}: a quantity's string must be length-delimited")
            text = _text(value, path)
    return text or "0"


def _intstr(payload: bytes, path: str) -> int | str:
    kind = int_val = 0
    str_val = ""
    for number, wire, value, _ in iter_fields(payload):
        if number in (1, 2):
            if wire != VARINT or not isinstance(value, int):
                raise WireError(f"{path}: int-or-string type and intVal must be varints")
            if number == 1:
                kind = int64(value)
            else:
                int_val = int32(value)
        elif number == 3:
            if wire != LEN or not isinstance(value, bytes):
                raise WireError(f"{path}: int-or-string strVal must be length-delimited")
            str_val = _text(value, path)
    if kind == 1:
        return str_val
    if kind != 0:
        raise WireError(f"{path}: int-or-string has unknown type {kind}")
    return int_val


def _fieldsv1(payload: bytes, path: str) -> Any:
    raw = b""
    for number, wire, value, _ in iter_fields(payload):
        if number == 1 and wire == LEN and isinstance(value, bytes):
            raw = value
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise WireError(f"{path}: fieldsV1 is not JSON") from None
