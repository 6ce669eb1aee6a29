"""What happened to an object, and what happened in the cluster: read back from the log.

The log keeps every version of every object (bounded per object by the compactor), each with
who wrote it and the revision that made a controller act (`Meta.causation`). This module reads
that back for `jetkube history` and `jetkube log`:

- `versions(log, key)`: every retained entry of one object, oldest first, tombstones included;
  `annotate(entries)` pairs each with what changed since the version before it (`core.objdiff`).
- `timeline(log, since=, until=, flt=, actor=, limit=)`: the entries in a revision window (times
  are turned into revisions with `revision_at`), filtered by key and actor, each with its cause
  resolved to the entry it names (`Cause`), or said to be gone when retention dropped it.
- `resolve_kind` / `resolve_object`: a kubectl-style name (`deploy/web`, `deployments.apps/web`,
  `nodes/n1`) to a `Kind` and an `ObjectKey`, through `core.kinds.REGISTRY`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson

from bus.log import Entry, EventLog, Op
from core.keys import KeyFilter, ObjectKey
from core.kinds import REGISTRY, Kind
from core.objdiff import Change, diff


class BadName(ValueError):
    """A kind or object name that names nothing jetkube serves; the message says so."""


# -- names ---------------------------------------------------------------------------------------

_VERSION = re.compile(r"^v\d+((alpha|beta)\d+)?$")


def resolve_kind(text: str, kinds: Iterable[Kind] = REGISTRY.kinds) -> Kind:
    """`deployment`, `deploy`, `Deployments`, `deployments.apps`, `deployments.v1.apps` → Kind."""
    name, _, rest = text.strip().lower().partition(".")
    group: str | None = None
    if rest:
        version, _, after = rest.partition(".")
        if _VERSION.match(version):
            rest = after
        group = "" if rest in ("", "core") else rest
    for kind in kinds:
        names = {kind.resource, kind.singular_name, kind.kind.lower(), *kind.short_names}
        if name in names and (group is None or kind.group == group):
            return kind
    raise BadName(f"unknown kind {text.strip()!r} (try e.g. pods, deployments, configmaps, nodes)")


def resolve_object(text: str, namespace: str | None = None, name: str | None = None) -> ObjectKey:
    """`KIND/NAME` (or `KIND` with `name`) → ObjectKey; a namespaced kind's namespace defaults to
    "default", a cluster-scoped kind's is "" whatever `namespace` says (as kubectl ignores -n)."""
    kind_text, slash, obj = text.partition("/")
    if slash and name:
        raise BadName(f"give KIND/NAME or KIND NAME, not both ({text!r} and {name!r})")
    obj = obj if slash else (name or "")
    if not obj or "/" in obj:
        raise BadName(f"{text!r} is not KIND/NAME (for example deployment/web)")
    kind = resolve_kind(kind_text)
    return ObjectKey(kind.group, kind.resource, (namespace or "default") if kind.namespaced else "", obj)


def key_filter(kind: Kind | None, namespace: str | None) -> KeyFilter:
    """Keys of a kind (any kind: None) in a namespace (any: None)."""
    if kind is None:
        return KeyFilter(namespace=namespace)
    return KeyFilter(kind.group, kind.resource, namespace if kind.namespaced else None)


def object_text(key: ObjectKey) -> str:
    """`replicasets/default/web-7d9f`, `nodes/n1`: how a timeline names an object."""
    return f"{key.resource}/{key.namespace}/{key.name}" if key.namespace else f"{key.resource}/{key.name}"


# -- one object's versions -----------------------------------------------------------------------

class What(str, Enum):
    CREATED = "created"  # ADDED
    CHANGED = "changed"  # MODIFIED, with the changes from the version before
    DELETED = "deleted"  # the tombstone
    EARLIEST = "earliest retained"  # a MODIFIED whose predecessors were compacted: nothing to diff


@dataclass(frozen=True)
class Version:
    """One retained version and what it changed (empty unless `what` is CHANGED)."""

    entry: Entry
    body: Any
    what: What
    changes: list[Change]


def decode(entry: Entry) -> Any:
    """The entry's object; a body that is not JSON is kept as its text (the log is not ours to fix)."""
    try:
        return orjson.loads(entry.data) if entry.data else None
    except orjson.JSONDecodeError:
        return entry.data.decode(errors="replace")


async def versions(log: EventLog, key: ObjectKey) -> list[Entry]:
    """Every retained entry of `key`, oldest first, tombstones included."""
    last = await log.last_revision()
    return [e async for e in log.read(KeyFilter(*key), 0, last)]


def annotate(entries: Iterable[Entry], *, skip: Collection[str] = ()) -> list[Version]:
    """Each entry with its changes from the one before (none for a creation or a tombstone)."""
    out: list[Version] = []
    prev: Any = None
    first = True
    for e in entries:
        body = decode(e)
        if e.op is Op.DELETED:
            out.append(Version(e, body, What.DELETED, []))
        elif e.op is Op.ADDED:
            out.append(Version(e, body, What.CREATED, []))
        elif first:
            out.append(Version(e, body, What.EARLIEST, []))
        else:
            out.append(Version(e, body, What.CHANGED, diff(prev, body, skip=skip)))
        prev, first = body, False
    return out


def summary(body: Any, *, limit: int = 5) -> list[str]:
    """A few lines that say what a newly created object is: owner, labels, replicas, images, node,
    data keys. Pure; missing fields are simply left out."""
    if not isinstance(body, dict):
        return []
    meta: dict[str, Any] = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
    spec: dict[str, Any] = body["spec"] if isinstance(body.get("spec"), dict) else {}
    lines: list[str] = []
    owners = [o for o in meta.get("ownerReferences") or [] if isinstance(o, dict)]
    if owners:
        lines.append("owner: " + ", ".join(f"{o.get('kind')}/{o.get('name')}" for o in owners))
    labels = meta.get("labels") or {}
    if labels:
        lines.append("labels: " + ",".join(f"{k}={v}" for k, v in labels.items()))
    if "replicas" in spec:
        lines.append(f"replicas: {spec['replicas']}")
    template = spec.get("template")
    pod_spec = template.get("spec") if isinstance(template, dict) else None
    containers = spec.get("containers") or (pod_spec.get("containers") if isinstance(pod_spec, dict) else None) or []
    images = [f"{c.get('name')}={c.get('image')}" for c in containers if isinstance(c, dict)]
    if images:
        lines.append("images: " + ", ".join(images))
    if spec.get("nodeName"):
        lines.append(f"node: {spec['nodeName']}")
    for field in ("data", "binaryData", "stringData"):
        if isinstance(body.get(field), dict) and body[field]:
            lines.append(f"{field}: " + ", ".join(sorted(body[field])))
    return lines[:limit]


# -- causes --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cause:
    """The revision an entry says caused it, and that revision's entry if the log still has it."""

    text: str  # Meta.causation as written
    revision: int | None  # None: not a revision number
    entry: Entry | None  # None: not numeric, or no longer (or never) in the log

    def describe(self) -> str:
        if self.revision is None:
            return f"← {self.text}"
        if self.entry is None:
            return f"← {self.revision} (not in the log)"
        return f"← {self.revision} {self.entry.op.value} {object_text(self.entry.key)}"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "revision": self.revision, "found": self.entry is not None}
        if self.entry is not None:
            out.update(op=self.entry.op.value, object=object_text(self.entry.key), actor=self.entry.meta.actor)
        return out


class CauseResolver:
    """Resolves causation ids against a log, each revision fetched once."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self._seen: dict[int, Entry | None] = {}

    async def resolve(self, causation: str) -> Cause | None:
        text = causation.strip()
        if not text:
            return None
        if not text.isdigit() or int(text) <= 0:
            return Cause(text, None, None)
        rev = int(text)
        if rev not in self._seen:
            self._seen[rev] = await self.log.entry(rev)
        return Cause(text, rev, self._seen[rev])


# -- the timeline --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Happening:
    """One line of the timeline: an entry and what caused it (None: no causation recorded)."""

    entry: Entry
    cause: Cause | None


async def to_revision(log: EventLog, when: int | float | None, default: int) -> int:
    """A point from `replay.when.parse_when` as a revision: a time is the last revision at or
    before it; None is `default`."""
    if when is None:
        return default
    if isinstance(when, int):
        return when
    return await log.revision_at(when)


async def timeline(log: EventLog, *, since: int | float | None = None, until: int | float | None = None,
                   flt: KeyFilter = KeyFilter(), actor: str | None = None, limit: int | None = None,
                   causes: EventLog | None = None) -> list[Happening]:
    """Entries written in [since, until] (a revision `since` is included; a time `since` means
    the entries written after it), matching `flt` and whose actor contains `actor` (any case),
    oldest first; with `limit`, the newest `limit` of them. Causes are looked up in `causes`
    (default: `log`; causation ids are revisions of the objects stream)."""
    last = await log.last_revision()
    after = 0 if since is None else (since - 1 if isinstance(since, int) else await log.revision_at(since))
    end = min(await to_revision(log, until, last), last)
    needle = actor.lower() if actor else None
    kept: deque[Entry] = deque(maxlen=limit if limit and limit > 0 else None)
    async for e in log.read(flt, max(after, 0), end):
        if needle is None or needle in e.meta.actor.lower():
            kept.append(e)
    resolver = CauseResolver(causes or log)
    return [Happening(e, await resolver.resolve(e.meta.causation)) for e in kept]
