"""Taints and tolerations as the scheduler reads them: parsed once, matched as tuples.

A node repels pods with taints (`spec.taints`); a pod declares the taints it tolerates. The
TaintToleration filter only looks at NoSchedule and NoExecute taints, its score counts the
PreferNoSchedule taints a pod does not tolerate. The types, parsing and the matching rule are
`core.taints` (shared with the node lifecycle controller); here are the scheduler's questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.taints import (NO_EXECUTE, NO_SCHEDULE, PREFER_NO_SCHEDULE, Taint, Toleration, parse_taints,
                         parse_tolerations)
from core.taints import tolerates_taint as tolerates

__all__ = ["NO_EXECUTE", "NO_SCHEDULE", "NOT_READY_KEY", "PREFER_NO_SCHEDULE", "Taint", "Toleration",
           "UNREACHABLE_KEY", "UNSCHEDULABLE_KEY", "count_untolerated", "first_untolerated", "parse_taints",
           "parse_tolerations", "prefer_tolerations", "tolerated", "tolerates"]

UNSCHEDULABLE_KEY = "node.kubernetes.io/unschedulable"
NOT_READY_KEY = "node.kubernetes.io/not-ready"
UNREACHABLE_KEY = "node.kubernetes.io/unreachable"


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
