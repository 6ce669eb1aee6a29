"""What the scheduler and the controllers decided, read from a log, in a form two runs can compare.

A log entry is one of three things, by who wrote it (its `Jk-Actor`):
- a *decision*: written by the scheduler (`system:kube-scheduler`) or a controller
  (`system:controller:*`);
- *node* work: written by a kubelet (`system:node:*`) about pods — in a replay sandbox the
  simulated nodes do this part, so it is neither input nor decision;
- an *input*: everything else — people and their tools, kubelets registering and updating Nodes.

A decision is boiled down to what it did, not how the log spelled it (`Decision`): created a
Deployment's ReplicaSet, bound a pod to a node, deleted a pod, set a ReplicaSet's
`spec.replicas` to 3, found a pod unschedulable. Generated names become their `generateName`
plus `*` (`web-7d9f8-*`): a re-run draws other suffixes, and the pods of one owner are
interchangeable. Status writes are reports, not decisions, and are left out (but a pod marked
unschedulable is the scheduler's decision about it). `compare` counts each decision on both sides.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from bus.log import Entry, Op
from core.kinds import REGISTRY
from core.keys import ObjectKey

SCHEDULER = "system:kube-scheduler"
CONTROLLER = "system:controller:"
NODE = ("system:node:", "system:kubelet")  # docker kubelets, and the simulated kubelet

def is_decision(actor: str) -> bool:
    return actor == SCHEDULER or actor.startswith(CONTROLLER)


def is_input(entry: Entry) -> bool:
    """Written by neither the scheduler nor a controller, and not a kubelet's pod work."""
    actor = entry.meta.actor
    if is_decision(actor):
        return False
    return not (actor.startswith(NODE) and entry.key.resource == "pods" and entry.key.group == "")


@dataclass(frozen=True, order=True)
class Decision:
    by: str  # "scheduler", "controller:replicaset-controller", ...
    verb: str  # create | delete | bind | set | unschedulable
    target: str  # "Pod default/web-7d9f8-*"
    detail: str = ""  # "node-1", "spec.replicas=3", ...

    def text(self) -> str:
        return f"{self.by} {self.verb} {self.target}" + (f" {self.detail}" if self.detail else "")


def _kind(key: ObjectKey) -> str:
    version = REGISTRY.version_of(key.group, key.resource)
    kind = REGISTRY.by_resource(key.group, version, key.resource) if version else None
    return kind.kind if kind is not None else key.resource


def target(key: ObjectKey, obj: dict[str, Any]) -> str:
    md = obj.get("metadata") or {}
    name = key.name
    generate = md.get("generateName")
    if isinstance(generate, str) and generate and name.startswith(generate):
        name = generate + "*"
    where = f"{key.namespace}/{name}" if key.namespace else name
    return f"{_kind(key)} {where}"


def _by(actor: str) -> str:
    return actor.removeprefix("system:").replace("kube-scheduler", "scheduler")


def _leaves(value: Any, path: str) -> Iterable[tuple[str, Any]]:
    """(path, value) of every scalar or list; an empty or missing map has none."""
    if isinstance(value, dict):
        for k in sorted(value):
            yield from _leaves(value[k], f"{path}.{k}")
    elif value is not None:
        yield path, value


def _spec_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    before = dict(_leaves(old.get("spec"), "spec"))
    after = dict(_leaves(new.get("spec"), "spec"))
    out = []
    for path in sorted(set(before) | set(after)):
        if path == "spec.nodeName" or before.get(path) == after.get(path):
            continue
        shown = orjson.dumps(after[path], option=orjson.OPT_SORT_KEYS).decode() if path in after else "(removed)"
        out.append(f"{path}={shown}")
    return out


def _unschedulable(obj: dict[str, Any]) -> str | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "PodScheduled" and c.get("status") == "False":
            return str(c.get("reason") or "Unschedulable")
    return None


def decide(entry: Entry, old: dict[str, Any] | None, new: dict[str, Any]) -> list[Decision]:
    """The decisions one entry made (`old`: the key's previous body, if any)."""
    actor = entry.meta.actor
    if not is_decision(actor):
        return []
    by, what = _by(actor), target(entry.key, new)
    if entry.op is Op.ADDED:
        return [Decision(by, "create", what)]
    if entry.op is Op.DELETED:
        was_deleting = old is not None and (old.get("metadata") or {}).get("deletionTimestamp")
        return [] if was_deleting else [Decision(by, "delete", what)]
    old = old or {}
    out: list[Decision] = []
    if (new.get("metadata") or {}).get("deletionTimestamp") and not (old.get("metadata") or {}).get("deletionTimestamp"):
        out.append(Decision(by, "delete", what))
    node = (new.get("spec") or {}).get("nodeName") if entry.key.resource == "pods" else None
    if node and not (old.get("spec") or {}).get("nodeName"):
        out.append(Decision(by, "bind", what, str(node)))
    out.extend(Decision(by, "set", what, change) for change in _spec_changes(old, new))
    reason = _unschedulable(new) if entry.key.resource == "pods" else None
    if reason and _unschedulable(old) != reason:
        out.append(Decision(by, "unschedulable", what, reason))
    return out


@dataclass
class Decisions:
    """Every decision of a stretch of log, counted, with where each was first seen."""

    counts: Counter[Decision] = field(default_factory=Counter)
    first: dict[Decision, tuple[int, float]] = field(default_factory=dict)  # revision, time

    def add(self, d: Decision, revision: int, when: float) -> None:
        self.counts[d] += 1
        self.first.setdefault(d, (revision, when))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def extract(entries: Iterable[Entry], before: dict[ObjectKey, Entry]) -> Decisions:
    """The decisions in `entries` (in log order); `before` holds each key's entry preceding them."""
    held = dict(before)
    out = Decisions()
    for e in entries:
        prev = held.get(e.key)
        old = orjson.loads(prev.data) if prev is not None and prev.op is not Op.DELETED else None
        new = orjson.loads(e.data)
        for d in decide(e, old, new):
            out.add(d, e.revision, e.timestamp)
        held[e.key] = e
    return out


@dataclass(frozen=True)
class Difference:
    decision: Decision
    recorded: int
    replayed: int
    recorded_first: tuple[int, float] | None  # revision and time in the recorded log
    replayed_first: tuple[int, float] | None  # revision and (virtual) time in the sandbox


def compare(recorded: Decisions, replayed: Decisions) -> list[Difference]:
    """Decisions whose counts differ, in a fixed order (by who, verb, target, detail)."""
    out = []
    for d in sorted(set(recorded.counts) | set(replayed.counts)):
        a, b = recorded.counts.get(d, 0), replayed.counts.get(d, 0)
        if a != b:
            out.append(Difference(d, a, b, recorded.first.get(d), replayed.first.get(d)))
    return out


def by_component(recorded: Decisions, replayed: Decisions) -> list[tuple[str, str, int, int]]:
    """(who, verb, recorded, replayed) totals, sorted."""
    rows: dict[tuple[str, str], list[int]] = {}
    for side, ds in ((0, recorded), (1, replayed)):
        for d, n in ds.counts.items():
            rows.setdefault((d.by, d.verb), [0, 0])[side] += n
    return [(by, verb, n[0], n[1]) for (by, verb), n in sorted(rows.items())]
