"""Field errors worded as Kubernetes words them (apimachinery's field.Error).

A `Cause` carries the field path, the error body (`Invalid value: "x": detail`, `Required value`,
`Unsupported value: "Foo": supported values: "A", "B"`, …) and the cause reason the Status object
reports. Values are printed the way Go's fmt does for the types Kubernetes validates: strings
%q-quoted, numbers bare, label maps as `map[string]string{"k":"v"}`; `GoValue` wraps text that is
already in Go syntax (struct dumps such as `v1.LabelSelector{…}`).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from core.errors import Cause

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
DUPLICATE = "FieldValueDuplicate"
NOT_FOUND = "FieldValueNotFound"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
TYPE_INVALID = "FieldValueTypeInvalid"

IMMUTABLE = "field is immutable"


class GoValue(str):
    """Text already rendered in Go syntax; printed as is."""


def go_quote(s: str) -> str:
    """Go's strconv.Quote."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code >= 0x80 and not ch.isprintable():
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_float(f: float) -> str:
    if f == int(f) and abs(f) < 1e21:
        return str(int(f))
    return repr(f)


def go_repr(value: Any) -> str:
    """Render a value as apimachinery's field.Error prints a bad value."""
    if isinstance(value, GoValue):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return go_string_map(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return go_string_slice(value)
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return "[]int32{" + ", ".join(str(v) for v in value) + "}"
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def go_string_map(m: dict[str, str] | None) -> str:
    if m is None:
        return "map[string]string(nil)"
    body = ", ".join(f"{go_quote(k)}:{go_quote(m[k])}" for k in sorted(m))
    return "map[string]string{" + body + "}"


def go_string_slice(items: list[str] | None) -> str:
    if items is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(s) for s in items) + "}"


def go_label_selector(sel: dict[str, Any] | None) -> GoValue:
    """`v1.LabelSelector{MatchLabels:…, MatchExpressions:…}` as %#v prints it."""
    sel = sel or {}
    labels = go_string_map(sel.get("matchLabels"))
    exprs = sel.get("matchExpressions")
    if exprs is None:
        rendered = "[]v1.LabelSelectorRequirement(nil)"
    else:
        items = [
            "v1.LabelSelectorRequirement{Key:%s, Operator:%s, Values:%s}" % (
                go_quote(str(e.get("key", ""))), go_quote(str(e.get("operator", ""))),
                go_string_slice(e.get("values")))
            for e in exprs if isinstance(e, dict)
        ]
        rendered = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    return GoValue(f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{rendered}}}")


def go_int_or_string(value: int | str | None) -> GoValue:
    """An IntOrString printed by %#v (its String method has a pointer receiver)."""
    if isinstance(value, str):
        return GoValue(f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(value)}}}")
    return GoValue(f'intstr.IntOrString{{Type:0, IntVal:{int(value or 0)}, StrVal:""}}')


def _with_detail(body: str, detail: str) -> str:
    return f"{body}: {detail}" if detail else body


def required(path: str, detail: str = "") -> Cause:
    return Cause(path, _with_detail("Required value", detail), REQUIRED)


def invalid(path: str, value: Any, detail: str = "") -> Cause:
    return Cause(path, _with_detail(f"Invalid value: {go_repr(value)}", detail), INVALID)


def not_supported(path: str, value: Any, valid: Iterable[str]) -> Cause:
    supported = ", ".join(go_quote(str(v)) for v in valid)
    detail = f"supported values: {supported}" if supported else ""
    return Cause(path, _with_detail(f"Unsupported value: {go_repr(value)}", detail), NOT_SUPPORTED)


def forbidden(path: str, detail: str = "") -> Cause:
    return Cause(path, _with_detail("Forbidden", detail), FORBIDDEN)


def duplicate(path: str, value: Any) -> Cause:
    return Cause(path, f"Duplicate value: {go_repr(value)}", DUPLICATE)


def not_found(path: str, value: Any) -> Cause:
    return Cause(path, f"Not found: {go_repr(value)}", NOT_FOUND)


def too_long(path: str, max_bytes: int) -> Cause:
    return Cause(path, f"Too long: may not be more than {max_bytes} bytes", TOO_LONG)


def too_many(path: str, actual: int, max_items: int) -> Cause:
    return Cause(path, f"Too many: {actual}: must have at most {max_items} items", TOO_MANY)


def immutable(path: str, value: Any) -> Cause:
    return invalid(path, value, IMMUTABLE)


def nonnegative(path: str, value: int | None) -> list[Cause]:
    """apivalidation.ValidateNonnegativeField."""
    if value is not None and value < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []


def each(path: str, value: Any, messages: Iterable[str]) -> list[Cause]:
    """One Invalid cause per message of a format check."""
    return [invalid(path, value, m) for m in messages]
