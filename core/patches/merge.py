"""RFC 7386 JSON merge patch (`application/merge-patch+json`).

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
