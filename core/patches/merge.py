"""RFC 7386 JSON merge patch (`application/merge-patch+json`), and the patch between two objects.

What `kubectl label`, `kubectl annotate`, `kubectl scale` and custom resources send: objects
merge key by key, `null` deletes a key, anything else (arrays included) replaces the target
value whole. Pure: the original is copied, never changed.
"""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(original: Any, patch: Any) -> Any:
    """MergePatch(Target, Patch) from RFC 7386 section 2, on a copy of `original`."""
    return _merge(copy.deepcopy(original), patch)


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _merge(target.get(key), value)
    return target


def merge_diff(old: Any, new: Any) -> Any:
    """The merge patch taking `old` to `new` (`merge_patch(old, merge_diff(old, new)) == new`
    whenever `new` holds no null values, which merge patches cannot express)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return copy.deepcopy(new)
    out: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        if key not in old:
            out[key] = copy.deepcopy(value)
        elif old[key] != value:
            out[key] = merge_diff(old[key], value)
    return out
