"""Taints and tolerations as the scheduler reads them: parsed once, matched as tuples.

A node repels pods with taints (`spec.taints`); a pod declares the taints it tolerates. The
TaintToleration filter only looks at NoSchedule and NoExecute taints, its score counts the
PreferNoSchedule taints a pod does not tolerate. Matching follows `Toleration.ToleratesTaint`:
an empty effect matches every effect, an empty key with Exists matches every key, the operator
Equal (or empty) compares values. Pure; dicts in, tuples and booleans out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"
PREFER_NO_SCHEDULE = "PreferNoSchedule"

UNSCHEDULABLE_KEY = "node.kubernetes.io/unschedulable"
NOT_READY_KEY = "node.kubernetes.io/not-ready"
UNREACHABLE_KEY = "node.kubernetes.io/unreachable"


class Taint(NamedTuple):
    key: str
    value: str
    effect: str


class Toleration(NamedTuple):
    key: str
    operator: str
    value: str
    effect: str


def parse_taints(raw: Any) -> tuple[Taint, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(Taint(str(t.get("key") or ""), str(t.get("value") or ""), str(t.get("effect") or ""))
                 for t in raw if isinstance(t, Mapping))


def parse_tolerations(raw: Any) -> tuple[Toleration, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(Toleration(str(t.get("key") or ""), str(t.get("operator") or ""), str(t.get("value") or ""),
                            str(t.get("effect") or ""))
                 for t in raw if isinstance(t, Mapping))


def tolerates(t: Toleration, taint: Taint) -> bool:
    if t.effect and t.effect != taint.effect:
        return False
    if t.key and t.key != taint.key:
        return False
    if t.operator in ("", "Equal"):
        return t.value == taint.value
    return t.operator == "Exists"


def tolerated(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    return any(tolerates(t, taint) for t in tolerations)


def first_untolerated(taints: Sequence[Taint], tolerations: Sequence[Toleration]) -> Taint | None:
    """The first taint (in node order) no toleration matches: the one Kubernetes names."""
    for taint in taints:
        if not tolerated(tolerations, taint):
            return taint
    return None


def count_untolerated(taints: Sequence[Taint], tolerations: Sequence[Toleration]) -> int:
    return sum(1 for taint in taints if not tolerated(tolerations, taint))


def prefer_tolerations(tolerations: Sequence[Toleration]) -> tuple[Toleration, ...]:
    """The tolerations that can match PreferNoSchedule taints (effect empty or PreferNoSchedule)."""
    return tuple(t for t in tolerations if t.effect in ("", PREFER_NO_SCHEDULE))
