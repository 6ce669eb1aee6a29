"""decide() with its memo and chunked loop against a plain reference of the same algorithm, over
random clusters changing pod by pod: the optimisations must never change a decision."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from components.scheduler.decide import decide, fit_error_message, nodes_to_find
from components.scheduler.filters import run_filters
from components.scheduler.nodeinfo import NodeInfo
from components.scheduler.podinfo import PodInfo
from components.scheduler.scores import WEIGHTS, plugin_scores, total_scores
from tests.unit.scheduler.helpers import node, pod


def reference(p: PodInfo, nodes: list[NodeInfo], start: int, percentage: int) -> tuple[str | None, str, int, int]:
    num = len(nodes)
    to_find = nodes_to_find(percentage, num)
    feasible, failures = [], []
    for j in range(num):
        n = nodes[(start + j) % num]
        verdict = run_filters(p, n)
        if verdict is None:
            feasible.append(n)
            if len(feasible) >= to_find:
                break
        else:
            failures.append(verdict)
    processed = len(feasible) + len(failures)
    nxt = (start + processed) % num
    if not feasible:
        return None, fit_error_message(num, failures, preempt_never=p.preempt_never), nxt, processed
    scores = plugin_scores(p, feasible)
    totals = [sum(WEIGHTS[k] * v[i] for k, v in scores.items()) for i in range(len(feasible))]
    assert totals == total_scores(p, feasible)
    best = max(range(len(feasible)), key=lambda i: (totals[i], -i))
    return feasible[best].name, "", nxt, processed


node_spec = st.fixed_dictionaries({
    "cpu": st.sampled_from(["1", "2", "4"]),
    "pods": st.sampled_from(["3", "110"]),
    "zone": st.sampled_from(["a", "b"]),
    "taint": st.sampled_from([None, "NoSchedule", "PreferNoSchedule"]),
    "ready": st.sampled_from(["True", "True", "True", "False"]),
    "cordon": st.booleans(),
})
pod_spec = st.fixed_dictionaries({
    "cpu": st.sampled_from([None, "100m", "500m", "1", "3"]),
    "memory": st.sampled_from([None, "128Mi"]),
    "owner": st.sampled_from(["", "rs-1", "rs-2"]),
    "zone": st.sampled_from([None, "a"]),
    "tolerate": st.booleans(),
    "port": st.sampled_from([None, 80]),
})


def build_node(i: int, spec: dict) -> NodeInfo:
    taints = [{"key": "t", "value": "v", "effect": spec["taint"]}] if spec["taint"] else None
    return node(f"n{i:03}", cpu=spec["cpu"], pods=spec["pods"], labels={"zone": spec["zone"]}, taints=taints,
                ready=spec["ready"], unschedulable=spec["cordon"])


def build_pod(i: int, spec: dict) -> PodInfo:
    tolerations = [{"key": "t", "operator": "Exists"}] if spec["tolerate"] else []
    return pod(f"p{i}", cpu=spec["cpu"], memory=spec["memory"], owner=spec["owner"],
               node_selector={"zone": spec["zone"]} if spec["zone"] else None, tolerations=tolerations,
               ports=[{"containerPort": 80, "hostPort": spec["port"]}] if spec["port"] else None)


@settings(max_examples=150, deadline=None)
@given(nodes=st.lists(node_spec, min_size=1, max_size=130), pods=st.lists(pod_spec, min_size=1, max_size=40),
       percentage=st.sampled_from([0, 10, 50, 100]), start=st.integers(0, 500))
def test_decide_matches_the_reference(nodes: list[dict], pods: list[dict], percentage: int, start: int) -> None:
    cluster = [build_node(i, s) for i, s in enumerate(nodes)]
    by_name = {n.name: n for n in cluster}
    placed: Counter[str] = Counter()
    for i, spec in enumerate(pods):
        p = build_pod(i, spec)
        want = reference(p, cluster, start % len(cluster), percentage)
        got = decide(p, cluster, start=start, percentage=percentage)
        assert (got.node, got.message, got.next_start, got.evaluated) == want
        start = got.next_start
        if got.node is not None:
            by_name[got.node].add_pod(p)
            placed[got.node] += 1
        elif i % 3 == 0 and placed:  # now and then a pod goes away, changing a node again
            name = next(iter(placed))
            victim = next(iter(by_name[name].pods))
            by_name[name].remove_pod(victim)
            placed[name] -= 1
            if not placed[name]:
                del placed[name]
