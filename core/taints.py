"""Taints and tolerations: which toleration lets a pod stay on (or be scheduled to) a tainted node.

Pure functions over the JSON shapes of `spec.taints` (Node) and `spec.tolerations` (Pod), as read
from the log, and over their parsed tuples (`Taint`, `Toleration`), which the scheduler hashes. The scheduler asks `untolerated` with the effects it filters on (NoSchedule,
NoExecute) or counts PreferNoSchedule for scoring; the node lifecycle controller asks
`toleration_seconds` to time NoExecute evictions. Matching follows Kubernetes'
`Toleration.ToleratesTaint`: an empty effect matches every effect, an empty key with operator
Exists matches every key, operator Exists ignores the value, Equal (or no operator) compares it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple

Obj = dict[str, Any]

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"


class Taint(NamedTuple):
    key: str
    value: str
    effect: str


class Toleration(NamedTuple):
    key: str
    operator: str
    value: str
    effect: str


def parse_taint(t: Mapping[str, Any]) -> Taint:
    return Taint(str(t.get("key") or ""), str(t.get("value") or ""), str(t.get("effect") or ""))


def parse_toleration(t: Mapping[str, Any]) -> Toleration:
    return Toleration(str(t.get("key") or ""), str(t.get("operator") or ""), str(t.get("value") or ""),
                      str(t.get("effect") or ""))


def parse_taints(raw: Any) -> tuple[Taint, ...]:
    """A node's `spec.taints` as hashable tuples (what the scheduler caches decisions on)."""
    if not isinstance(raw, list):
        return ()
    return tuple(parse_taint(t) for t in raw if isinstance(t, Mapping))


def parse_tolerations(raw: Any) -> tuple[Toleration, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(parse_toleration(t) for t in raw if isinstance(t, Mapping))


def tolerates_taint(t: Toleration, taint: Taint) -> bool:
    """Whether one toleration tolerates one taint: the one matching rule, for tuples and dicts."""
    if t.effect and t.effect != taint.effect:
        return False
    if t.key and t.key != taint.key:
        return False
    if t.operator in ("", "Equal"):
        return t.value == taint.value
    return t.operator == "Exists"  # an operator we do not know tolerates nothing (validation refuses it)


def toleration_matches(toleration: Obj, taint: Obj) -> bool:
    """Whether one toleration tolerates one taint (the JSON shapes)."""
    return tolerates_taint(parse_toleration(toleration), parse_taint(taint))


def matching_toleration(tolerations: Iterable[Obj] | None, taint: Obj) -> Obj | None:
    """The first toleration that tolerates `taint` (Kubernetes uses the first one, in pod order)."""
    for t in tolerations or ():
        if isinstance(t, dict) and toleration_matches(t, taint):
            return t
    return None


def tolerates(tolerations: Iterable[Obj] | None, taint: Obj) -> bool:
    """Whether any of the tolerations tolerates `taint`."""
    return matching_toleration(tolerations, taint) is not None


def untolerated(taints: Iterable[Obj] | None, tolerations: Sequence[Obj] | None,
                effects: Iterable[str] = (NO_SCHEDULE, NO_EXECUTE)) -> list[Obj]:
    """The taints with one of `effects` that no toleration tolerates (empty: the pod fits)."""
    wanted = set(effects)
    return [t for t in taints or () if isinstance(t, dict) and (t.get("effect") or "") in wanted
            and not tolerates(tolerations, t)]


def toleration_seconds(tolerations: Iterable[Obj] | None, taint: Obj) -> float | None:
    """How long a pod may stay once a NoExecute `taint` is on its node.

    0 when no toleration matches (evict now) or the first match says 0 or less; None when the first
    match has no tolerationSeconds (stay for ever); otherwise its tolerationSeconds.
    """
    match = matching_toleration(tolerations, taint)
    if match is None:
        return 0.0
    seconds = match.get("tolerationSeconds")
    if seconds is None:
        return None
    return max(float(seconds), 0.0)


def time_added(taint: Obj) -> datetime | None:
    """The taint's `timeAdded` (RFC 3339), or None when absent or unreadable."""
    raw = taint.get("timeAdded")
    return parse_time(raw)


def parse_time(raw: object) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime (UTC when it names no zone), or None."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def same_taint(a: Obj, b: Obj) -> bool:
    """Taints are unique on a node by (key, effect): validation refuses two with the same pair."""
    return (a.get("key") or "", a.get("effect") or "") == (b.get("key") or "", b.get("effect") or "")
