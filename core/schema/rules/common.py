"""Checks shared by every group: labels, annotations, label selectors, int-or-percent, equality.

Ported from apimachinery's unversioned validation and apps' helpers, keeping their field paths and
messages. Pure functions over the typed views in core.schema; they return lists of causes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import Cause
from core.kinds import Kind
from core.schema import formats
from core.schema.causes import (
    each, forbidden, go_int_or_string, invalid, nonnegative, required, too_long,
)
from core.schema.meta import LabelSelector

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_name(key: str, path: str) -> list[Cause]:
    return each(path, key, formats.is_qualified_name(key))


def validate_labels(labels: dict[str, str] | None, path: str) -> list[Cause]:
    out: list[Cause] = []
    for key, value in (labels or {}).items():
        out += validate_label_name(key, path)
        out += each(path, value, formats.is_valid_label_value(value))
    return out


def validate_annotations(annotations: dict[str, str] | None, path: str) -> list[Cause]:
    out: list[Cause] = []
    total = 0
    for key, value in (annotations or {}).items():
        out += each(path, key, formats.is_qualified_name(key.lower()))
        total += len(key.encode()) + len(value.encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        out.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return out


def validate_label_selector(sel: LabelSelector | None, path: str) -> list[Cause]:
    """unversionedvalidation.ValidateLabelSelector (invalid label values not allowed)."""
    if sel is None:
        return []
    out = validate_labels(sel.match_labels, f"{path}.matchLabels")
    for i, req in enumerate(sel.match_expressions or []):
        p = f"{path}.matchExpressions[{i}]"
        if req.operator in ("In", "NotIn"):
            if not req.values:
                out.append(required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif req.operator in ("Exists", "DoesNotExist"):
            if req.values:
                out.append(forbidden(f"{p}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            out.append(invalid(f"{p}.operator", req.operator, "not a valid selector operator"))
        out += validate_label_name(req.key, f"{p}.key")
        for j, value in enumerate(req.values or []):
            out += each(f"{p}.values[{j}]", value, formats.is_valid_label_value(value))
    return out


def selector_convertible(sel: LabelSelector | None) -> bool:
    """Whether metav1.LabelSelectorAsSelector would accept the selector."""
    if sel is None:
        return True
    for key, value in (sel.match_labels or {}).items():
        if formats.is_qualified_name(key) or formats.is_valid_label_value(value):
            return False
    for req in sel.match_expressions or []:
        if req.operator not in SELECTOR_OPERATORS or formats.is_qualified_name(req.key):
            return False
        if req.operator in ("In", "NotIn") and not req.values:
            return False
        if req.operator in ("Exists", "DoesNotExist") and req.values:
            return False
        if any(formats.is_valid_label_value(v) for v in req.values or []):
            return False
    return True


def selector_matches(sel: LabelSelector | None, labels: dict[str, str] | None) -> bool:
    """LabelSelectorAsSelector(sel).Matches(labels): a nil selector matches nothing, an empty one all."""
    if sel is None:
        return False
    labels = labels or {}
    for key, value in (sel.match_labels or {}).items():
        if labels.get(key) != value:
            return False
    for req in sel.match_expressions or []:
        present = req.key in labels
        values = req.values or []
        if req.operator == "In" and not (present and labels[req.key] in values):
            return False
        if req.operator == "NotIn" and present and labels[req.key] in values:
            return False
        if req.operator == "Exists" and not present:
            return False
        if req.operator == "DoesNotExist" and present:
            return False
    return True


def selector_dict(sel: LabelSelector | None) -> dict[str, Any] | None:
    if sel is None:
        return None
    return sel.model_dump(by_alias=True, exclude_none=True)


def int_or_percent_value(value: int | str | None) -> int | None:
    """apps' getIntOrPercentValue: the number, percent sign dropped; None when unparsable."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    digits = value[:-1] if value.endswith("%") else value
    return int(digits) if digits.isdigit() else None


def validate_positive_int_or_percent(value: int | str | None, path: str) -> list[Cause]:
    if isinstance(value, str):
        return [invalid(path, go_int_or_string(value), m) for m in formats.is_valid_percent(value)]
    if isinstance(value, int) and value < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []


def is_not_more_than_100_percent(value: int | str | None, path: str) -> list[Cause]:
    if not isinstance(value, str) or formats.is_valid_percent(value):
        return []
    if int(value[:-1]) <= 100:
        return []
    return [invalid(path, go_int_or_string(value), "must not be greater than 100%")]


def nonneg(path: str, value: int | None) -> list[Cause]:
    return nonnegative(path, value)


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is an object, else an empty one (for reading raw dicts defensively)."""
    return value if isinstance(value, dict) else {}


def normalized(value: Any) -> Any:
    """Semantic equality for stored dicts: null, [] and {} are the same as absent (Go's zero values)."""
    if isinstance(value, dict):
        out = {k: normalized(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def semantic_equal(a: Any, b: Any) -> bool:
    return bool(normalized(a) == normalized(b))


@dataclass
class Subject:
    """What a kind's rules look at: the stored dict, its typed view, and the old version on update."""

    kind: Kind
    raw: dict[str, Any]
    model: Any
    old_raw: dict[str, Any] | None = None
    old_model: Any = None

    @property
    def updating(self) -> bool:
        return self.old_raw is not None
