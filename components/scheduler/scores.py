"""The scores: among the nodes that fit, which suits the pod best (0–100 per plugin, weighted).

Each plugin scores the feasible nodes, some normalise over them, and the weighted sum decides:

| plugin (Kubernetes name) | weight | what it prefers |
|---|---|---|
| NodeResourcesFit, LeastAllocated | 1 | most free cpu and memory after placing the pod (non-zero requests) |
| (or, as `scoringStrategy: MostAllocated`) | 1 | least free: bin packing |
| NodeResourcesBalancedAllocation | 1 | cpu and memory used in the same proportion (exact requests) |
| spread by controller | 2 | fewest pods of the same controller (ownerReference uid) already there |
| NodeAffinity (preferred terms) | 2 | the largest sum of matching preferred weights |
| TaintToleration | 3 | fewest PreferNoSchedule taints the pod does not tolerate |

The resource formulas and `normalize` are Kubernetes' own (integer arithmetic where it uses
it, float64 where it does). Spreading is the SelectorSpread formula keyed by the controller's uid
(Kubernetes 1.32 spreads through PodTopologySpread's system defaults, keyed by label selectors;
the owner uid gives the same effect for ReplicaSets without a selector lookup). Balanced
allocation is skipped for pods that request neither cpu nor memory, as Kubernetes does since
1.33 (issue 129138: otherwise best-effort pods pile onto one node). Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter

from components.scheduler.nodeinfo import NodeInfo
from components.scheduler.podinfo import PodInfo
from components.scheduler.taints import count_untolerated

MAX_SCORE = 100

WEIGHT_LEAST_ALLOCATED = 1
WEIGHT_BALANCED = 1
WEIGHT_SPREAD = 2
WEIGHT_AFFINITY = 2
WEIGHT_TAINT = 3

_PREFER_TAINTS = attrgetter("prefer_taints")


def _least_requested(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_SCORE // capacity


def _per_resource(pod: PodInfo, node: NodeInfo, score: Callable[[int, int], int]) -> int:
    """Mean of `score(requested, allocatable)` over cpu and memory (equal weights; a resource the
    node has none of is left out), with the pod's non-zero requests added to the node's."""
    total = weights = 0
    if node.alloc_cpu:
        total += score(node.nz_cpu + pod.non_zero.cpu, node.alloc_cpu)
        weights += 1
    if node.alloc_mem:
        total += score(node.nz_mem + pod.non_zero.memory, node.alloc_mem)
        weights += 1
    return total // weights if weights else 0


def least_allocated(pod: PodInfo, node: NodeInfo) -> int:
    """NodeResourcesFit's default LeastAllocated strategy: the emptier the node after placing the
    pod, the better (spreading)."""
    return _per_resource(pod, node, _least_requested)


def _most_requested(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    return min(requested, capacity) * MAX_SCORE // capacity


def most_allocated(pod: PodInfo, node: NodeInfo) -> int:
    """NodeResourcesFit's MostAllocated strategy: the fuller the node after placing the pod, the
    better (bin packing)."""
    return _per_resource(pod, node, _most_requested)


LEAST_ALLOCATED = "LeastAllocated"
MOST_ALLOCATED = "MostAllocated"
STRATEGIES = {LEAST_ALLOCATED: least_allocated, MOST_ALLOCATED: most_allocated}


def balanced_allocation(pod: PodInfo, node: NodeInfo) -> int:
    """100 × (1 − std of the cpu and memory fractions); with two resources std = |a − b| / 2."""
    fractions: list[float] = []
    if node.alloc_cpu:
        fractions.append(min((node.req_cpu + pod.requests.cpu) / node.alloc_cpu, 1.0))
    if node.alloc_mem:
        fractions.append(min((node.req_mem + pod.requests.memory) / node.alloc_mem, 1.0))
    std = abs((fractions[0] - fractions[1]) / 2) if len(fractions) == 2 else 0.0
    return int((1 - std) * MAX_SCORE)


def balanced_applies(pod: PodInfo) -> bool:
    return bool(pod.requests.cpu or pod.requests.memory)


def normalize(raw: Sequence[int], *, reverse: bool = False) -> list[int]:
    """Kubernetes' DefaultNormalizeScore: scale so the highest is 100 (reversed: lowest is 100)."""
    top = max(raw, default=0)
    if top == 0:
        return [MAX_SCORE] * len(raw) if reverse else list(raw)
    out = [MAX_SCORE * s // top for s in raw]
    return [MAX_SCORE - s for s in out] if reverse else out


def spread_counts(pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
    uid = pod.owner_uid
    return [n.owners.get(uid, 0) for n in nodes]


def spread_normalize(counts: Sequence[int]) -> list[int]:
    """SelectorSpread: 100 × (max − count) / max; every node 100 when none has a sibling."""
    top = max(counts, default=0)
    if top == 0:
        return [MAX_SCORE] * len(counts)
    return [int(float(MAX_SCORE) * (float(top - c) / float(top))) for c in counts]


def plugin_scores(pod: PodInfo, nodes: Sequence[NodeInfo]) -> dict[str, list[int]]:
    """Each plugin's final (normalised, unweighted) score per node; plugins that skip this pod
    are absent. The plain statement of what `total_scores` computes faster (tests hold the two
    equal), and what an explanation of a decision would show."""
    out: dict[str, list[int]] = {"NodeResourcesFit": [least_allocated(pod, n) for n in nodes]}
    if balanced_applies(pod):
        out["NodeResourcesBalancedAllocation"] = [balanced_allocation(pod, n) for n in nodes]
    if pod.owner_uid:
        out["Spread"] = spread_normalize(spread_counts(pod, nodes))
    if pod.affinity.preferred:
        aff = pod.affinity
        out["NodeAffinity"] = normalize([aff.preference(n.labels, n.name) for n in nodes])
    out["TaintToleration"] = normalize([count_untolerated(n.prefer_taints, pod.prefer_tolerations)
                                        if n.prefer_taints else 0 for n in nodes], reverse=True)
    return out


WEIGHTS = {"NodeResourcesFit": WEIGHT_LEAST_ALLOCATED, "NodeResourcesBalancedAllocation": WEIGHT_BALANCED,
           "Spread": WEIGHT_SPREAD, "NodeAffinity": WEIGHT_AFFINITY, "TaintToleration": WEIGHT_TAINT}


def base_score(pod: PodInfo, node: NodeInfo, strategy: str = LEAST_ALLOCATED) -> int:
    """The weighted part that depends only on the pod's requests and the node's totals (no
    normalisation over other nodes): what the decision loop may memoise per node version (one
    scheduler keeps one `strategy`, NodeResourcesFit's scoring strategy)."""
    score = WEIGHT_LEAST_ALLOCATED * STRATEGIES[strategy](pod, node)
    if balanced_applies(pod):
        score += WEIGHT_BALANCED * balanced_allocation(pod, node)
    return score


def total_scores(pod: PodInfo, nodes: Sequence[NodeInfo], bases: Sequence[int] | None = None,
                 strategy: str = LEAST_ALLOCATED) -> list[int]:
    """The weighted sum of every plugin per node, in the order of `nodes`. `bases` are the
    nodes' `base_score`s when the caller has them already."""
    totals = list(bases) if bases is not None else [base_score(pod, n, strategy) for n in nodes]
    if pod.owner_uid:
        counts = spread_counts(pod, nodes)
        top = max(counts)
        # counts are small integers: normalise each possible value once
        table = [WEIGHT_SPREAD * s for s in spread_normalize(range(top + 1))]
        totals = [t + table[c] for t, c in zip(totals, counts)]
    if pod.affinity.preferred:
        aff = pod.affinity
        for i, s in enumerate(normalize([aff.preference(n.labels, n.name) for n in nodes])):
            totals[i] += WEIGHT_AFFINITY * s
    if any(map(_PREFER_TAINTS, nodes)):
        tols = pod.prefer_tolerations
        raw = [count_untolerated(n.prefer_taints, tols) if n.prefer_taints else 0 for n in nodes]
        for i, s in enumerate(normalize(raw, reverse=True)):
            totals[i] += WEIGHT_TAINT * s
    else:  # nobody has such a taint: every node gets the full score
        totals = [t + WEIGHT_TAINT * MAX_SCORE for t in totals]
    return totals
