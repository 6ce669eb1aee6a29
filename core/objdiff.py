"""What changed between two versions of an object: a structural diff of JSON values. Pure.

`diff(old, new, skip=...)` walks two decoded JSON values (dicts, lists, scalars) and returns the
changes as `Change(path, kind, old, new)`, in the order of the new document (removals where the
old one had them). A path is written the way a reader names a field: `spec.replicas`,
`spec.containers[0].image`, `metadata.labels["app.kubernetes.io/name"]` (a key that is not a plain
identifier is quoted in brackets). `render(changes)` turns them into the short lines that
`jetkube history` prints: `~ spec.replicas: 3 → 5`, `+ metadata.labels.tier: web`,
`- status.conditions[1]`.

Lists whose items are all objects with a distinct `name` (containers, env, ports, volumes) or
`type` (conditions) are matched by that key, not by position, so inserting a condition does not
read as every later condition changing; the path then uses the item's index in its own version.
Nothing is ignored unless the caller names it in `skip` (for example `metadata.managedFields`);
skipping a path skips everything under it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson

_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")
_MERGE_KEYS = ("name", "type")
_MISSING: Any = object()


class ChangeKind(str, Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"

    @property
    def sign(self) -> str:
        return {"added": "+", "removed": "-", "changed": "~"}[self.value]


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    kind: ChangeKind
    old: Any = None  # None for an addition (JSON null is a value too: check `kind`)
    new: Any = None  # None for a removal

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind.value}
        if self.kind is not ChangeKind.ADDED:
            out["old"] = self.old
        if self.kind is not ChangeKind.REMOVED:
            out["new"] = self.new
        return out


def field_path(parent: str, key: str | int) -> str:
    """`parent` extended by a dict key or a list index, in the notation above."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENT.match(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{orjson.dumps(key).decode()}]"


def diff(old: Any, new: Any, *, skip: Collection[str] = ()) -> list[Change]:
    """Every change from `old` to `new`; empty when they are equal. See the module docstring."""
    out: list[Change] = []
    _walk("", old, new, frozenset(skip), out)
    return out


def _same(a: Any, b: Any) -> bool:
    # JSON has one number type (1 == 1.0) but true is not 1, as Python's == would have it.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _walk(path: str, old: Any, new: Any, skip: frozenset[str], out: list[Change]) -> None:
    if path in skip:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for k, v in new.items():
            child = field_path(path, k)
            if k in old:
                _walk(child, old[k], v, skip, out)
            elif child not in skip:
                out.append(Change(child, ChangeKind.ADDED, None, v))
        for k, v in old.items():
            child = field_path(path, k)
            if k not in new and child not in skip:
                out.append(Change(child, ChangeKind.REMOVED, v, None))
    elif isinstance(old, list) and isinstance(new, list):
        _walk_list(path, old, new, skip, out)
    elif not _same(old, new):
        out.append(Change(path, ChangeKind.CHANGED, old, new))


def _merge_key(old: list[Any], new: list[Any]) -> str | None:
    """The key that identifies every item of both lists (each list's values distinct), if any."""
    if not old or not new:
        return None
    for key in _MERGE_KEYS:
        ok = True
        for items in (old, new):
            seen = set()
            for item in items:
                value = item.get(key) if isinstance(item, dict) else None
                if not isinstance(value, str) or value in seen:
                    ok = False
                    break
                seen.add(value)
            if not ok:
                break
        if ok:
            return key
    return None


def _walk_list(path: str, old: list[Any], new: list[Any], skip: frozenset[str], out: list[Change]) -> None:
    key = _merge_key(old, new)
    if key is None:
        for i in range(min(len(old), len(new))):
            _walk(field_path(path, i), old[i], new[i], skip, out)
        for i in range(len(old), len(new)):
            _emit(field_path(path, i), ChangeKind.ADDED, None, new[i], skip, out)
        for i in range(len(new), len(old)):
            _emit(field_path(path, i), ChangeKind.REMOVED, old[i], None, skip, out)
        return
    old_at = {item[key]: i for i, item in enumerate(old)}
    new_ids = {item[key] for item in new}
    for i, item in enumerate(new):
        j = old_at.get(item[key])
        if j is None:
            _emit(field_path(path, i), ChangeKind.ADDED, None, item, skip, out)
        else:
            _walk(field_path(path, i), old[j], item, skip, out)
    for j, item in enumerate(old):
        if item[key] not in new_ids:
            _emit(field_path(path, j), ChangeKind.REMOVED, item, None, skip, out)


def _emit(path: str, kind: ChangeKind, old: Any, new: Any, skip: frozenset[str], out: list[Change]) -> None:
    if path not in skip:
        out.append(Change(path, kind, old, new))


# -- rendering ----------------------------------------------------------------------------------

def show(value: Any, *, width: int = 60) -> str:
    """A value as one short line: plain text for ordinary strings, compact JSON for the rest."""
    if isinstance(value, str) and value and value == value.strip() and "\n" not in value \
            and not _looks_like_json(value):
        text = value
    else:
        text = orjson.dumps(value).decode()
    return text if len(text) <= width else text[:width - 1] + "…"


def _looks_like_json(s: str) -> bool:
    """Strings a reader would take for another type when unquoted (`"3"`, `"true"`, `"null"`)."""
    if s in ("true", "false", "null"):
        return True
    try:
        float(s)
    except ValueError:
        return s[0] in "{[\""
    return True


def render_change(c: Change, *, width: int = 60) -> str:
    path = c.path or "."  # the whole value (two scalars or a dict that became a list)
    if c.kind is ChangeKind.CHANGED:
        return f"~ {path}: {show(c.old, width=width)} → {show(c.new, width=width)}"
    if c.kind is ChangeKind.ADDED:
        return f"+ {path}: {show(c.new, width=width)}"
    if isinstance(c.old, (dict, list)):  # a removed subtree: its name says enough
        return f"- {path}"
    return f"- {path}: {show(c.old, width=width)}"


def render(changes: Iterable[Change], *, width: int = 60) -> list[str]:
    """One line per change (see `render_change`)."""
    return [render_change(c, width=width) for c in changes]
