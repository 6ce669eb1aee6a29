"""Each score with exact numbers, normalisation, and the weighted total."""

from __future__ import annotations

import pytest

from components.scheduler.scores import (LEAST_ALLOCATED, MAX_SCORE, MOST_ALLOCATED, WEIGHTS, balanced_allocation,
                                         base_score, least_allocated, most_allocated,
                                         normalize, plugin_scores, spread_normalize, total_scores)
from tests.unit.scheduler.helpers import node, pod


def test_least_allocated_uses_non_zero_requests_and_integer_division() -> None:
    n = node("n", cpu="4", memory="8Gi")
    # a request-less pod counts 100m / 200Mi: cpu 3900*100//4000 = 97, memory 7992Mi*100//8192Mi = 97
    assert least_allocated(pod("p"), n) == 97
    n = node("n", cpu="2", memory="4Gi")
    n.add_pod(pod("a", cpu="1", memory="1Gi"))
    # cpu (2000-1500)*100//2000 = 25, memory (4Gi-2Gi)*100//4Gi = 50 → (25+50)//2 = 37
    assert least_allocated(pod("p", cpu="500m", memory="1Gi"), n) == 37


def test_least_allocated_over_capacity_and_missing_resources() -> None:
    assert least_allocated(pod("p", cpu="5", memory="1Gi"), node("n", cpu="4", memory="8Gi")) == (0 + 87) // 2
    assert least_allocated(pod("p", cpu="1"), node("n", cpu="4", memory="0")) == 75  # memory left out
    assert least_allocated(pod("p"), node("n", cpu="0", memory="0")) == 0


def test_balanced_allocation_is_one_minus_half_the_gap_of_fractions() -> None:
    n = node("n", cpu="4", memory="8Gi")
    n.add_pod(pod("a", cpu="1", memory="2Gi"))
    # cpu (1000+1000)/4000 = 0.5, memory 2Gi/8Gi = 0.25 → std 0.125 → int(87.5) = 87
    assert balanced_allocation(pod("p", cpu="1"), n) == 87
    # equal fractions: perfectly balanced
    assert balanced_allocation(pod("p", cpu="1", memory="2Gi"), n) == 100
    # a fraction above 1 counts as 1: cpu 1.0, memory 0.25 → 1 - 0.375 = 62.5 → 62
    assert balanced_allocation(pod("p", cpu="8"), n) == 62
    # one resource only: no deviation
    assert balanced_allocation(pod("p", cpu="1"), node("n", cpu="4", memory="0")) == 100


@pytest.mark.parametrize("raw,reverse,out", [
    ([0, 5, 10], False, [0, 50, 100]),
    ([0, 5, 10], True, [100, 50, 0]),
    ([3, 7], False, [42, 100]),
    ([0, 0], False, [0, 0]),
    ([0, 0], True, [100, 100]),
    ([], False, []),
])
def test_normalize_is_default_normalize_score(raw: list[int], reverse: bool, out: list[int]) -> None:
    assert normalize(raw, reverse=reverse) == out


@pytest.mark.parametrize("counts,out", [
    ([0, 1, 2], [100, 50, 0]),
    ([1, 3], [66, 0]),
    ([0, 0, 0], [100, 100, 100]),
    ([2, 2], [0, 0]),
])
def test_spread_normalize(counts: list[int], out: list[int]) -> None:
    assert spread_normalize(counts) == out


def _nodes() -> list:
    a, b, c = node("a", labels={"zone": "x"}), node("b", labels={"zone": "y"}), node("c")
    a.add_pod(pod("s1", owner="rs", cpu="1"))
    a.add_pod(pod("s2", owner="rs"))
    b.add_pod(pod("s3", owner="rs"))
    b.add_pod(pod("other", owner="rs2", cpu="2"))
    c.set_node({**c.node, "spec": {"taints": [{"key": "soft", "effect": "PreferNoSchedule"}]}})  # type: ignore[dict-item]
    return [a, b, c]


def test_plugin_scores_for_a_replica_with_preferences() -> None:
    aff = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 30, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["y"]}]}},
        {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}}]}}
    p = pod("p", owner="rs", cpu="500m", memory="1Gi", affinity=aff)
    nodes = _nodes()
    scores = plugin_scores(p, nodes)
    assert scores["Spread"] == [0, 50, 100]  # rs has 2, 1, 0 pods there
    assert scores["NodeAffinity"] == [25, 100, 0]  # raw 10, 40, 0
    assert scores["TaintToleration"] == [100, 100, 0]  # c has an untolerated PreferNoSchedule taint
    assert scores["NodeResourcesFit"] == [least_allocated(p, n) for n in nodes]
    assert scores["NodeResourcesBalancedAllocation"] == [balanced_allocation(p, n) for n in nodes]
    totals = total_scores(p, nodes)
    assert totals == [sum(WEIGHTS[k] * v[i] for k, v in scores.items()) for i in range(3)]


def test_skipped_plugins() -> None:
    nodes = _nodes()
    scores = plugin_scores(pod("p"), nodes)  # no owner, no preferences, no requests
    assert set(scores) == {"NodeResourcesFit", "TaintToleration"}
    tolerant = pod("p", tolerations=[{"key": "soft", "operator": "Exists", "effect": "PreferNoSchedule"}])
    assert plugin_scores(tolerant, nodes)["TaintToleration"] == [MAX_SCORE] * 3


def test_total_scores_with_precomputed_bases_and_no_prefer_taints() -> None:
    nodes = [node("a"), node("b")]
    nodes[0].add_pod(pod("x", cpu="2", owner="rs"))
    p = pod("p", cpu="1", memory="1Gi", owner="rs")
    bases = [base_score(p, n) for n in nodes]
    assert bases == [least_allocated(p, n) + balanced_allocation(p, n) for n in nodes]
    assert total_scores(p, nodes) == total_scores(p, nodes, bases) == [
        bases[0] + 2 * 0 + 3 * 100, bases[1] + 2 * 100 + 3 * 100]


def test_most_allocated_prefers_the_fuller_node_and_caps_at_capacity() -> None:
    n = node("n", cpu="2", memory="4Gi")
    n.add_pod(pod("a", cpu="1", memory="1Gi"))
    # cpu 1500*100//2000 = 75, memory 2Gi*100//4Gi = 50 → (75+50)//2 = 62
    assert most_allocated(pod("p", cpu="500m", memory="1Gi"), n) == 62
    assert most_allocated(pod("p", cpu="5", memory="8Gi"), node("m", cpu="4", memory="8Gi")) == 100
    fuller, emptier = node("f", cpu="4", memory="8Gi"), node("e", cpu="4", memory="8Gi")
    fuller.add_pod(pod("x", cpu="2", memory="2Gi"))
    p = pod("p", cpu="500m", memory="512Mi")
    assert base_score(p, fuller, MOST_ALLOCATED) > base_score(p, emptier, MOST_ALLOCATED)
    assert base_score(p, fuller, LEAST_ALLOCATED) < base_score(p, emptier, LEAST_ALLOCATED)
