"""Template hashes and ControllerRevisions: how workload controllers name a version of a template. Pure.

- `template_hash(template, collision_count)`: a short, stable name for a pod template, the value of
  the `pod-template-hash` label (Deployments) and `controller-revision-hash` (DaemonSets,
  StatefulSets). FNV-1a (32 bit) over the template's canonical JSON, plus the collision count
  when there is one, written in the vowel-free alphabet of generated names so it never spells a
  word. It is stable across processes and runs (a replay computes the same names); it is not
  bit-for-bit Kubernetes' hash, which hashes Go's struct dump.
- `revision_body(...)`: a ControllerRevision holding a template as the patch Kubernetes stores
  (`{"spec": {"template": {..., "$patch": "replace"}}}`), named `<owner>-<hash>`.
- `next_revision(revisions)`: one more than the highest revision held.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193

Obj = dict[str, Any]


def fnv32a(data: bytes) -> int:
    h = _FNV_OFFSET
    for b in data:
        h ^= b
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(n: int) -> str:
    """A number as text in the generated-name alphabet (no vowels, no 0/1/3, so no words)."""
    if n == 0:
        return _ALPHABET[0]
    out = []
    while n:
        n, r = divmod(n, len(_ALPHABET))
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


def template_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    data = orjson.dumps(template, option=orjson.OPT_SORT_KEYS)
    if collision_count:
        data += b"/" + str(collision_count).encode()
    return safe_encode(fnv32a(data))


def template_patch(template: Mapping[str, Any]) -> Obj:
    """What a ControllerRevision stores for a DaemonSet or StatefulSet template."""
    t = copy.deepcopy(dict(template))
    t["$patch"] = "replace"
    return {"spec": {"template": t}}


def template_of(revision: Mapping[str, Any]) -> Obj:
    """The template a ControllerRevision holds (the inverse of `template_patch`)."""
    t = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    t.pop("$patch", None)
    return dict(t)


def revision_body(owner: Mapping[str, Any], owner_ref: Mapping[str, Any], template: Mapping[str, Any],
                  revision: int, hash_: str, *, hash_label: str = "controller-revision-hash",
                  selector_labels: Mapping[str, str] | None = None) -> Obj:
    md = owner.get("metadata") or {}
    labels = dict(selector_labels or {})
    labels[hash_label] = hash_
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": f"{md.get('name', '')}-{hash_}", "namespace": md.get("namespace", ""),
                         "labels": labels, "ownerReferences": [dict(owner_ref)]},
            "data": template_patch(template), "revision": revision}


def next_revision(revisions: Iterable[Mapping[str, Any]]) -> int:
    return max((int(r.get("revision") or 0) for r in revisions), default=0) + 1
