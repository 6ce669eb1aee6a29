"""decide(): sampling, the rotating start, choosing, and the FailedScheduling message."""

from __future__ import annotations

import random

import pytest

from components.scheduler.decide import Decision, decide, fit_error_message, nodes_to_find, select_host
from components.scheduler.filters import Failure
from components.scheduler.nodeinfo import NodeInfo
from tests.unit.scheduler.helpers import expr, node, pod, required


@pytest.mark.parametrize("percentage,num,want", [
    (0, 0, 0), (0, 1, 1), (0, 99, 99),
    (0, 100, 100),  # 50% of 100 is 50: at least 100
    (0, 1000, 420),  # 50 - 1000/125 = 42%
    (0, 5000, 500),  # 10%
    (0, 6000, 300),  # 50 - 48 = 2% → the 5% floor
    (0, 100_000, 5000),
    (10, 1000, 100), (30, 1000, 300), (100, 1000, 1000), (5, 1000, 100), (50, 150, 100), (100, 50, 50),
])
def test_nodes_to_find(percentage: int, num: int, want: int) -> None:
    assert nodes_to_find(percentage, num) == want


def test_no_nodes_at_all() -> None:
    assert decide(pod("p"), []) == Decision(None, "no nodes available to schedule pods", 0, 0, 0)


def test_one_feasible_node_is_taken_without_scoring() -> None:
    nodes = [node("a", cpu="1"), node("b", cpu="8")]
    d = decide(pod("p", cpu="2"), nodes)
    assert d == Decision("b", "", 0, 1, 2)


def test_the_emptiest_node_wins() -> None:
    nodes = [node("a"), node("b"), node("c")]
    nodes[0].add_pod(pod("x", cpu="2"))
    nodes[2].add_pod(pod("y", cpu="1"))
    assert decide(pod("p", cpu="100m", memory="100Mi"), nodes).node == "b"


def test_replicas_spread_over_equal_nodes() -> None:
    nodes = [node(f"n{i}") for i in range(3)]
    start = 0
    for i in range(6):
        p = pod(f"r{i}", cpu="100m", owner="rs")
        d = decide(p, nodes, start=start)
        start = d.next_start
        next(n for n in nodes if n.name == d.node).add_pod(p)
    assert [n.owners.get("rs") for n in nodes] == [2, 2, 2]


def test_ties_go_to_the_first_without_randomness_and_uniformly_with_it() -> None:
    nodes = [node(f"n{i}") for i in range(4)]
    assert decide(pod("p"), nodes).node == "n0"
    assert decide(pod("p"), nodes, start=2).node == "n2"  # the first in the rotated order
    rng = random.Random(7)
    seen = {decide(pod("p"), nodes, rng=rng).node for _ in range(200)}
    assert seen == {"n0", "n1", "n2", "n3"}


def test_select_host() -> None:
    nodes = [NodeInfo("a"), NodeInfo("b"), NodeInfo("c")]
    assert select_host(nodes, [5, 9, 9], None) == "b"
    assert select_host(nodes, [9, 5, 1], random.Random(1)) == "a"
    assert {select_host(nodes, [1, 9, 9], random.Random(s)) for s in range(40)} == {"b", "c"}


def test_ties_by_pod_uid_are_reproducible_and_even() -> None:
    nodes = [node(f"n{i}") for i in range(4)]
    picks = [select_host(nodes, [7, 7, 7, 7], None, key=f"uid-{i}") for i in range(400)]
    assert picks == [select_host(nodes, [7, 7, 7, 7], None, key=f"uid-{i}") for i in range(400)]
    assert all(60 < picks.count(f"n{i}") < 140 for i in range(4)), {n: picks.count(n) for n in set(picks)}
    assert select_host(nodes, [7, 9, 7, 9], None, key="u") in ("n1", "n3")


# -- sampling ----------------------------------------------------------------------------------------
def test_a_big_cluster_is_sampled_from_a_rotating_start() -> None:
    nodes = [node(f"n{i:03}") for i in range(200)]  # 50 - 1 = 49% of 200 = 98: at least 100
    d = decide(pod("p"), nodes, start=150)
    assert (d.feasible, d.evaluated, d.next_start) == (100, 100, 50)
    assert d.node == "n150"  # every node scores the same: the first looked at
    d = decide(pod("p"), nodes, start=d.next_start)
    assert (d.feasible, d.evaluated, d.next_start, d.node) == (100, 100, 150, "n050")


def test_failed_nodes_count_as_processed_but_not_as_found() -> None:
    nodes = [node(f"n{i:03}", cpu="1" if i % 2 else "8") for i in range(300)]  # odd ones are too small
    d = decide(pod("p", cpu="2"), nodes, percentage=20)  # 20% of 300 = 60 → at least 100
    assert (d.feasible, d.evaluated, d.next_start) == (100, 199, 199)


def test_an_explicit_percentage() -> None:
    nodes = [node(f"n{i:04}") for i in range(1000)]
    assert decide(pod("p"), nodes, percentage=100).feasible == 1000
    assert decide(pod("p"), nodes).feasible == 420
    assert decide(pod("p"), nodes, percentage=25, start=990).next_start == 240


def test_the_sample_decides_among_what_it_saw() -> None:
    nodes = [node(f"n{i:03}") for i in range(200)]
    for n in nodes[:150]:
        n.add_pod(pod(f"x-{n.name}", cpu="2"))
    # from 0 the sample is n000..n099, all half full: one of them is chosen although n150+ are empty
    assert decide(pod("p", cpu="100m"), nodes, start=0).node == "n000"
    assert decide(pod("p", cpu="100m"), nodes, start=120).node == "n150"


def test_memoised_verdicts_follow_every_change_of_a_node() -> None:
    nodes = [node("a", cpu="2"), node("b", cpu="2")]
    p1, p2, p3 = pod("p1", cpu="1500m"), pod("p2", cpu="1500m"), pod("p3", cpu="1500m")
    assert p1.shape == p2.shape == p3.shape
    d1 = decide(p1, nodes)
    nodes[0 if d1.node == "a" else 1].add_pod(p1)
    d2 = decide(p2, nodes)
    assert d2.node != d1.node
    nodes[0 if d2.node == "a" else 1].add_pod(p2)
    d3 = decide(p3, nodes)
    assert d3.node is None and d3.message.startswith("0/2 nodes are available: 2 Insufficient cpu.")
    nodes[0].remove_pod(p1.key if d1.node == "a" else p2.key)
    assert decide(p3, nodes).node == "a"


def test_memoised_scores_still_spread_each_controller() -> None:
    nodes = [node("a"), node("b")]
    nodes[0].add_pod(pod("x", owner="rs1"))
    nodes[1].add_pod(pod("y", owner="rs2"))
    assert decide(pod("p1", owner="rs1"), nodes).node == "b"
    assert decide(pod("p2", owner="rs2"), nodes).node == "a"  # same shape, other controller


# -- PreFilter (NodeAffinity's metadata.name) --------------------------------------------------------
def test_pinned_names_narrow_the_candidates() -> None:
    nodes = [node("a"), node("b"), node("c", cpu="1")]
    p = pod("p", affinity=required({"matchFields": [expr("metadata.name", "In", "b")]}))
    assert decide(p, nodes).node == "b"
    p = pod("p", cpu="2", affinity=required({"matchFields": [expr("metadata.name", "In", "c")]}))
    d = decide(p, nodes)
    assert d.node is None and d.evaluated == 1
    assert d.message == ("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) "
                         "[NodeAffinity]. preemption: 0/3 nodes are available: 3 Preemption is not helpful for "
                         "scheduling.")


def test_pinned_names_that_do_not_exist() -> None:
    p = pod("p", affinity=required({"matchFields": [expr("metadata.name", "In", "gone")]}))
    d = decide(p, [node("a"), node("b")])
    assert d.message == ("0/2 nodes are available: 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. "
                         "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")


def test_conflicting_pinned_names() -> None:
    p = pod("p", affinity=required({"matchFields": [expr("metadata.name", "In", "a"),
                                                    expr("metadata.name", "In", "b")]}))
    d = decide(p, [node("a"), node("b")])
    assert (d.node, d.evaluated) == (None, 0)
    assert d.message == ("0/2 nodes are available: pod affinity terms conflict. preemption: 0/2 nodes are "
                         "available: 2 Preemption is not helpful for scheduling.")


# -- the message ---------------------------------------------------------------------------------------
def test_the_message_of_the_issue() -> None:
    nodes = [node("a", ready="Unknown"), node("b", cpu="1"), node("c", cpu="1")]
    nodes[1].add_pod(pod("x", cpu="500m"))
    d = decide(pod("p", cpu="2"), nodes)
    assert d.message == ("0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }"
                         ", 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for "
                         "scheduling.")


def test_resolvable_failures_say_no_victims() -> None:
    nodes = [node("a", cpu="2"), node("b", cpu="2"), node("c", unschedulable=True)]
    for n in nodes[:2]:
        n.add_pod(pod(f"x-{n.name}", cpu="1500m"))
    d = decide(pod("p", cpu="1"), nodes)
    assert d.message == ("0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu. preemption: "
                         "0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption "
                         "victims found for incoming pod.")


def test_every_reason_of_a_node_counts_and_reasons_sort_as_strings() -> None:
    nodes = [node(f"n{i:02}", cpu="1", memory="1Gi") for i in range(10)] + [node("t1", cpu="8", memory="8Gi"),
                                                                             node("t2", cpu="8", memory="8Gi")]
    nodes[10].add_pod(pod("m", memory="8Gi"))
    nodes[11].add_pod(pod("m2", memory="8Gi"))
    d = decide(pod("p", cpu="2", memory="2Gi"), nodes)
    # "10 ..." sorts before "12 ..." and "2 ..." as Go's sort.Strings does
    assert d.message == ("0/12 nodes are available: 10 Insufficient cpu, 12 Insufficient memory. preemption: "
                         "0/12 nodes are available: 10 Preemption is not helpful for scheduling, 2 No preemption "
                         "victims found for incoming pod.")


def test_ports_and_pod_count_are_resolvable() -> None:
    a, b = node("a", pods="1"), node("b")
    a.add_pod(pod("x"))
    b.add_pod(pod("web", ports=[{"containerPort": 80, "hostPort": 80}]))
    d = decide(pod("p", ports=[{"containerPort": 80, "hostPort": 80}]), [a, b])
    assert d.message == ("0/2 nodes are available: 1 Too many pods, 1 node(s) didn't have free ports for the "
                         "requested pod ports. preemption: 0/2 nodes are available: 2 No preemption victims found "
                         "for incoming pod.")


def test_a_pod_that_never_preempts() -> None:
    d = decide(pod("p", cpu="9", preemption_policy="Never"), [node("a")])
    assert d.message == ("0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
                         "preemptionPolicy=Never.")


@pytest.mark.parametrize("failures,kw,want", [
    ([Failure(("a",), True)], {}, "0/1 nodes are available: 1 a. preemption: 0/1 nodes are available: "
                                  "1 Preemption is not helpful for scheduling."),
    ([Failure(("x", "y"), False), Failure(("y",), False)], {},
     "0/2 nodes are available: 1 x, 2 y. preemption: 0/2 nodes are available: 2 No preemption victims found "
     "for incoming pod."),
    ([], {"prefilter": "pod affinity terms conflict", "preempt_never": True},
     "0/2 nodes are available: pod affinity terms conflict. preemption: not eligible due to "
     "preemptionPolicy=Never."),
])
def test_fit_error_message(failures: list[Failure], kw: dict, want: str) -> None:
    assert fit_error_message(max(len(failures), 2) if kw else len(failures), failures, **kw) == want


def test_most_allocated_packs_onto_the_fullest_node_that_fits() -> None:
    nodes = [node("a"), node("b"), node("c")]
    nodes[0].add_pod(pod("x", cpu="2"))
    nodes[2].add_pod(pod("y", cpu="1"))
    assert decide(pod("p", cpu="100m", memory="100Mi"), nodes, strategy="MostAllocated").node == "a"
