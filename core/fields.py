"""Strict field checking: unknown fields and wrong JSON types, as Kubernetes' decoder reports them.

The API server decodes a request body into a dict, then asks this module two questions before
defaulting and validation:
- `decode_errors(kind, obj)`: values whose JSON type the Go structs could not hold (a string where
  a list belongs, `replicas: "three"`, a bad quantity or base64). Kubernetes answers 400 with
  `decode_error_message`, e.g. `Pod in version "v1" cannot be handled as a Pod: json: cannot
  unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container`.
- `unknown_fields(kind, obj)`: dotted paths the schema does not have (`spec.containers[0].imagee`),
  for fieldValidation=Strict (400, `strict_error_message`) or Warn (`unknown_field_warnings`).
Both walk the generated catalog (core/schema/catalog.json), which knows every field of every served
kind, status included; maps (labels, data, resources.limits, …) are free-form by construction.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from core.errors import Cause
from core.kinds import Kind
from core.schema.catalog import Catalog, catalog
from core.schema.causes import TYPE_INVALID
from core.schema.quantity import QuantityError, parse_quantity

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_B64 = {c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def decode_errors(kind: Kind, obj: Any) -> list[Cause]:
    """Every value of `obj` whose JSON type does not fit the Go type; document order."""
    return decode_errors_for(kind.api_version, kind.kind, obj)


def decode_errors_for(api_version: str, kind: str, obj: Any) -> list[Cause]:
    """`decode_errors` for any catalogued type, subresource bodies included (autoscaling/v1 Scale…)."""
    return field_report_for(api_version, kind, obj)[0]


def field_report(kind: Kind, obj: Any) -> tuple[list[Cause], list[str]]:
    """Type errors and unknown field paths from one walk (admission needs both on every write)."""
    return field_report_for(kind.api_version, kind.kind, obj)


def field_report_for(api_version: str, kind: str, obj: Any) -> tuple[list[Cause], list[str]]:
    cat = catalog()
    root = cat.root(api_version, kind)
    if root is None:
        return [], []
    walker = _Walker(cat)
    walker.walk(root, obj, "", [], None)
    return walker.errors, walker.unknown


def decode_error_message(kind: Kind, causes: list[Cause]) -> str:
    """The 400 message Kubernetes gives for the first decode error."""
    detail = causes[0].message if causes else "unknown decoding error"
    return f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: {detail}'


def unknown_fields(kind: Kind, obj: Any) -> list[str]:
    """Dotted paths (with list indices) of fields the Kubernetes schema does not define."""
    return unknown_fields_for(kind.api_version, kind.kind, obj)


def unknown_fields_for(api_version: str, kind: str, obj: Any) -> list[str]:
    return field_report_for(api_version, kind, obj)[1]


def strict_error_message(paths: list[str]) -> str:
    """fieldValidation=Strict: `strict decoding error: unknown field "spec.foo", unknown field "…"`."""
    return "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in paths)


def unknown_field_warnings(paths: list[str]) -> list[str]:
    """fieldValidation=Warn: one Warning header text per unknown field."""
    return [f'unknown field "{p}"' for p in paths]


def _kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


def _number_text(value: int | float) -> str:
    return str(value) if isinstance(value, int) else repr(value)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Walker:
    """One pass over an object against the catalog, collecting type errors and unknown fields."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        self.errors: list[Cause] = []
        self.unknown: list[str] = []

    def walk(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        if value is None:
            return  # JSON null leaves Go's zero value: never an error
        handler = self._HANDLERS.get(ref)
        if handler is not None:
            handler(self, ref, value, path, stack, struct)
        elif ref.startswith("[]"):
            self._list(ref, value, path, stack, struct)
        elif ref.startswith("map["):
            self._map(ref, value, path, stack, struct)
        else:
            self._struct(ref, value, path, stack, struct)

    def _type_error(self, path: str, stack: list[str], struct: str | None, value_kind: str, go_type: str) -> None:
        if struct is None:
            msg = f"json: cannot unmarshal {value_kind} into Go value of type {go_type}"
        else:
            msg = f"json: cannot unmarshal {value_kind} into Go struct field {struct}.{'.'.join(stack)} of type {go_type}"
        self.errors.append(Cause(path, msg, TYPE_INVALID))

    def _raw_error(self, path: str, msg: str) -> None:
        self.errors.append(Cause(path, msg, TYPE_INVALID))

    def _string(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        if not isinstance(value, str):
            self._type_error(path, stack, struct, _kind_of(value), "string")

    def _bool(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        if not isinstance(value, bool):
            self._type_error(path, stack, struct, _kind_of(value), "bool")

    def _int(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        go = "int32" if ref == "intstr" else ref
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self._type_error(path, stack, struct, _kind_of(value), go)
            return
        lo, hi = _INT_RANGES[go]
        if isinstance(value, float) or not lo <= value <= hi:
            self._type_error(path, stack, struct, "number " + _number_text(value), go)

    def _float(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self._type_error(path, stack, struct, _kind_of(value), "float64")

    def _intstr(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        if not isinstance(value, str):
            self._int(ref, value, path, stack, struct)

    def _time(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        if not isinstance(value, str):
            self._type_error(path, stack, struct, _kind_of(value), "string")
        elif value and not _is_rfc3339(value):
            layout = "2006-01-02T15:04:05Z07:00" if ref == "time" else "2006-01-02T15:04:05.000000Z07:00"
            self._raw_error(path, f'parsing time "{value}" as "{layout}": cannot parse "{value}" as "2006"')

    def _quantity(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        try:
            if isinstance(value, (dict, list)) or isinstance(value, bool):
                raise QuantityError("quantities must match the regular expression "
                                    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
            parse_quantity(value)
        except QuantityError as exc:
            self._raw_error(path, str(exc))

    def _bytes(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        if not isinstance(value, str):
            self._type_error(path, stack, struct, _kind_of(value), "[]uint8")
            return
        bad = base64_error_offset(value.encode("utf-8"))
        if bad is not None:
            self._raw_error(path, f"illegal base64 data at input byte {bad}")

    def _any(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        return

    def _resourcelist(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        self._map("map[quantity]", value, path, stack, struct, go_type="v1.ResourceList")

    def _list(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        if not isinstance(value, list):
            self._type_error(path, stack, struct, _kind_of(value), self.cat.go_type(ref))
            return
        elem = ref[2:]
        for i, item in enumerate(value):
            self.walk(elem, item, f"{path}[{i}]", stack, struct)

    def _map(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None,
             go_type: str | None = None) -> None:
        if not isinstance(value, dict):
            self._type_error(path, stack, struct, _kind_of(value), go_type or self.cat.go_type(ref))
            return
        elem = ref[4:-1]
        for key, item in value.items():
            self.walk(elem, item, f"{path}[{key}]", stack, struct)

    def _struct(self, ref: str, value: Any, path: str, stack: list[str], struct: str | None) -> None:
        info = self.cat.type(ref)
        if not isinstance(value, dict):
            self._type_error(path, stack, struct, _kind_of(value), info.go)
            return
        for key, item in value.items():
            child = _join(path, key)
            field_ref = info.fields.get(key)
            if field_ref is None:
                self.unknown.append(child)
                continue
            self.walk(field_ref, item, child, [*stack, key], info.struct)

    _HANDLERS: dict[str, Callable[..., None]] = {
        "string": _string, "bool": _bool, "int32": _int, "int64": _int, "float64": _float,
        "intstr": _intstr, "time": _time, "microtime": _time, "quantity": _quantity, "bytes": _bytes,
        "any": _any, "resourcelist": _resourcelist,
    }


_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})")


def _is_rfc3339(value: str) -> bool:
    return _RFC3339.fullmatch(value) is not None


def base64_error_offset(src: bytes) -> int | None:
    """Where Go's base64.StdEncoding.Decode fails on `src`, or None when it decodes."""
    si, n = 0, len(src)
    while si < n:
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return None
                return si - j  # padding is required: a short final quantum is corrupt
            c = src[si]
            si += 1
            if c in _B64:
                j += 1
                continue
            if c in (10, 13):
                continue
            if c != ord("="):
                return si - 1
            if j in (0, 1):
                return si - 1
            if j == 2:
                while si < n and src[si] in (10, 13):
                    si += 1
                if si == n:
                    return n
                if src[si] != ord("="):
                    return si - 1
                si += 1
            while si < n and src[si] in (10, 13):
                si += 1
            return si if si < n else None
    return None
