"""Kubernetes strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds.

`kubectl apply`, `kubectl edit` and `kubectl rollout restart` send these. Maps merge key by key
and `null` deletes; lists merge by their merge key (or as sets, for primitives) when
`schema.py` says so and are replaced whole otherwise. The directives `$patch`
(replace/delete/merge, on maps and on list elements), `$retainKeys`, `$setElementOrder/<f>` and
`$deleteFromPrimitiveList/<f>` follow apimachinery's `strategicpatch` package as the API server
applies it (`MergeParallelList` and `IgnoreUnmatchedNulls` both on), including its element
ordering: items named by the patch keep the patch's order, items only on the server keep their
place relative to them. Where Kubernetes would let a directive or a stray `null` through into
the stored object (a value added where there was none), we clean it instead: no directive key
ever reaches the result. We also accept `$patch: merge`, which Kubernetes rejects.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from core.errors import BadRequest
from core.patches.schema import FieldMeta, field_meta, root_type

PATCH = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder/"
DELETE_FROM_LIST = "$deleteFromPrimitiveList/"

_MISSING: Any = object()
Ident = Callable[[Any], Any]


def strategic_merge(original: dict[str, Any], patch: dict[str, Any], *, kind: str) -> dict[str, Any]:
    """Apply `patch` to a copy of `original`, an object of Kind `kind`. Inputs are not mutated."""
    if not isinstance(patch, dict):
        raise BadRequest(f"a strategic merge patch must be a JSON object, got {_json_type(patch)}")
    return _merge_map(copy.deepcopy(original), copy.deepcopy(patch), root_type(kind), "")


def _bad(path: str, message: str) -> BadRequest:
    where = f" at {path}" if path else ""
    return BadRequest(f"invalid strategic merge patch{where}: {message}")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "number"


def _same(a: Any, b: Any) -> bool:
    """JSON equality of merge-key values: 80 == 80.0, but true != 1 and a missing key matches nothing."""
    if a is _MISSING or b is _MISSING:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _index(items: list[Any], value: Any, ident: Ident) -> int:
    for i, item in enumerate(items):
        if _same(ident(item), value):
            return i
    return -1


def _scalar(v: Any) -> Any:
    return v


def _key_ident(key: str) -> Ident:
    def ident(item: Any) -> Any:
        return item.get(key, _MISSING) if isinstance(item, dict) else _MISSING
    return ident


# --- maps ---


def _merge_map(original: dict[str, Any], patch: dict[str, Any], type_name: str | None, path: str) -> dict[str, Any]:
    """Merge `patch` into `original`; both are private copies and may be changed."""
    if PATCH in patch:
        directive = patch.pop(PATCH)
        if directive == "delete":
            return {}
        if directive == "replace":
            return _merge_map({}, patch, type_name, path)
        if directive != "merge":
            raise _bad(path, f"unknown patch type: {directive!r} (expected replace, delete or merge)")
    _apply_retain_keys(original, patch, path)
    _apply_element_orders(original, patch, type_name, path)
    for key, value in patch.items():
        if key.startswith(DELETE_FROM_LIST):
            _delete_from_primitive_list(original, key, value, path)
            continue
        if value is None:
            original.pop(key, None)
            continue
        meta = field_meta(type_name, key)
        current, sub = original.get(key), _join(path, key)
        if isinstance(current, dict) and isinstance(value, dict):
            original[key] = _merge_map(current, value, meta.type, sub)
        elif isinstance(current, list) and isinstance(value, list):
            original[key] = _merge_list(current, value, meta, sub)
        else:
            original[key] = _fresh(value, meta, sub)
    return original


def _fresh(value: Any, meta: FieldMeta, path: str) -> Any:
    """A patch value with nothing under it to merge into: directives applied, nulls dropped."""
    if isinstance(value, dict):
        return _merge_map({}, value, meta.type, path)
    if isinstance(value, list):
        return _merge_list([], value, meta, path)
    return value


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any], path: str) -> None:
    if RETAIN_KEYS not in patch:
        return
    keep = patch.pop(RETAIN_KEYS)
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise _bad(path, f"{RETAIN_KEYS} must be a list of field names, got {keep!r}")
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM_LIST, SET_ORDER)):
            continue
        if key not in keep:
            raise _bad(path, f"field {key!r} is set by the patch but missing from {RETAIN_KEYS} {keep}")
    for key in [k for k in original if k not in keep]:
        del original[key]


def _delete_from_primitive_list(original: dict[str, Any], directive: str, value: Any, path: str) -> None:
    field = directive[len(DELETE_FROM_LIST):]
    if not field or not isinstance(value, list):
        raise _bad(path, f"{directive!r} must name a field and hold a list of values")
    if any(isinstance(v, (dict, list)) for v in value):
        raise _bad(_join(path, field), f"{DELETE_FROM_LIST} only deletes primitive values, got {value!r}")
    current = original.get(field)
    if isinstance(current, list):
        original[field] = [v for v in current if _index(value, v, _scalar) < 0]


# --- lists ---


def _merge_list(original: list[Any], patch: list[Any], meta: FieldMeta, path: str) -> list[Any]:
    element = FieldMeta(meta.type)
    if not meta.merge:  # atomic: the patch's list replaces the original
        return [_fresh(v, element, _join(path, i)) for i, v in enumerate(patch)]
    maps = _elements_are_maps(original, patch, path)
    if not maps:
        return _merge_primitives(original, patch)
    if meta.key is None:
        raise _bad(path, "cannot merge a list of objects without a merge key")
    return _merge_keyed(original, patch, meta.key, element, path)


def _elements_are_maps(original: list[Any], patch: list[Any], path: str) -> bool:
    kinds = {_json_type(v) for v in original + patch}
    if "array" in kinds:
        raise _bad(path, "lists of lists cannot be merged")
    if "object" in kinds and len(kinds) > 1:
        raise _bad(path, f"list element types are not identical: {sorted(kinds)}")
    return kinds == {"object"}


def _merge_primitives(original: list[Any], patch: list[Any]) -> list[Any]:
    merged: list[Any] = []
    for v in original + patch:
        if _index(merged, v, _scalar) < 0:
            merged.append(v)
    return _enforce_order(merged, patch, original, _scalar)


def _merge_keyed(original: list[dict[str, Any]], patch: list[dict[str, Any]], key: str,
                 element: FieldMeta, path: str) -> list[dict[str, Any]]:
    ident = _key_ident(key)
    current = list(original)
    plain: list[dict[str, Any]] = []
    replace = False
    for item in patch:
        if PATCH not in item:
            plain.append(item)
            continue
        directive = item[PATCH]
        if directive == "delete":
            if key not in item:
                raise _bad(path, f"element {item} does not contain declared merge key: {key}")
            current = [c for c in current if not _same(ident(c), item[key])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            plain.append({k: v for k, v in item.items() if k != PATCH})
        else:
            raise _bad(path, f"unknown patch type: {directive!r} in element {item}")
    if replace:  # `$patch: replace` in a list: its other elements become the whole list
        return [_merge_map({}, item, element.type, _join(path, i)) for i, item in enumerate(plain)]

    server_order = list(current)
    for item in plain:
        if key not in item:
            raise _bad(path, f"element {item} does not contain declared merge key: {key}")
        at = _index(current, item[key], ident)
        sub = _join(path, at if at >= 0 else len(current))
        if at >= 0:
            current[at] = _merge_map(current[at], item, element.type, sub)
        else:
            current.append(_merge_map({}, item, element.type, sub))
    return _enforce_order(current, plain, server_order, ident)


def _enforce_order(merged: list[Any], order: list[Any], server: list[Any], ident: Ident) -> list[Any]:
    """Items present in `order` take its order; the others keep their server order, interleaved.

    apimachinery's `normalizeElementOrder` + `mergeSortedSlice`: walk both sorted lists and put a
    server-only item first only when both items are on the server and it was first there."""
    wanted = [ident(o) for o in order]
    ours = sorted((m for m in merged if _index(wanted, ident(m), _scalar) >= 0),
                  key=lambda m: _index(wanted, ident(m), _scalar))
    theirs = [m for m in merged if _index(wanted, ident(m), _scalar) < 0]
    theirs.sort(key=lambda m: (p if (p := _index(server, ident(m), ident)) >= 0 else len(server)))
    out: list[Any] = []
    i = j = 0
    while i < len(theirs) or j < len(ours):
        if j >= len(ours):
            out.append(theirs[i])
            i += 1
            continue
        if i < len(theirs):
            left, right = _index(server, ident(theirs[i]), ident), _index(server, ident(ours[j]), ident)
            if 0 <= left < right:
                out.append(theirs[i])
                i += 1
                continue
        out.append(ours[j])
        j += 1
    return out


def _apply_element_orders(original: dict[str, Any], patch: dict[str, Any], type_name: str | None,
                          path: str) -> None:
    """Merge each list named by `$setElementOrder/<field>` and put it in the given order."""
    for directive in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(directive)
        field = directive[len(SET_ORDER):]
        if not field or not isinstance(order, list):
            raise _bad(path, f"{directive!r} must name a field and hold a list")
        meta, sub = field_meta(type_name, field), _join(path, field)
        current, new = original.get(field), patch.get(field, _MISSING)
        if not meta.merge or (new is not _MISSING and not isinstance(new, list)):
            continue  # an atomic list is ordered by its own value; a null or scalar just replaces
        if not isinstance(current, list) and not isinstance(new, list):
            continue
        server: list[Any] = current if isinstance(current, list) else []
        items: list[Any] = new if isinstance(new, list) else []
        ident: Ident = _scalar
        if meta.key is not None and any(isinstance(v, dict) for v in server + items):
            ident = _key_ident(meta.key)
            for o in order + [v for v in items if isinstance(v, dict) and PATCH not in v]:
                if not isinstance(o, dict) or meta.key not in o:
                    raise _bad(sub, f"element {o!r} does not contain declared merge key: {meta.key}")
        _validate_order(items, order, ident, sub)
        merged = _merge_list(server, items, meta, sub)
        original[field] = _enforce_order(merged, order, server, ident)
        patch.pop(field, None)


def _validate_order(items: list[Any], order: list[Any], ident: Ident, path: str) -> None:
    """Every non-directive patch item must appear in `$setElementOrder`, in the same relative order."""
    pending = [v for v in items if not (isinstance(v, dict) and PATCH in v)]
    i = j = 0
    while i < len(pending) and j < len(order):
        if _same(ident(pending[i]), ident(order[j])):
            i += 1
        j += 1
    if i < len(pending):
        raise _bad(path, f"the order in the patch list {items} doesn't match the {SET_ORDER} list {order}")
