"""Each filter: passes, or fails with Kubernetes' reason and the right resolvability."""

from __future__ import annotations

import itertools

import pytest

from components.scheduler import filters as F
from components.scheduler.filters import Failure, applicable_filters, run_filters
from components.scheduler.podinfo import PodInfo
from tests.unit.scheduler.helpers import DEFAULT_TOLERATIONS, expr, node, pod, required


def test_the_reason_strings_are_kubernetes_own() -> None:
    assert F.UNSCHEDULABLE == "node(s) were unschedulable"
    assert F.NODE_NAME == "node(s) didn't match the requested node name"
    assert F.NODE_AFFINITY == "node(s) didn't match Pod's node affinity/selector"
    assert F.NODE_PORTS == "node(s) didn't have free ports for the requested pod ports"
    assert (F.TOO_MANY_PODS, F.INSUFFICIENT_CPU, F.INSUFFICIENT_MEMORY, F.INSUFFICIENT_EPHEMERAL) == (
        "Too many pods", "Insufficient cpu", "Insufficient memory", "Insufficient ephemeral-storage")


# -- NodeUnschedulable -----------------------------------------------------------------------------
def test_a_cordoned_node_refuses_pods() -> None:
    assert F.node_unschedulable(pod("p"), node("n", unschedulable=True)) == Failure((F.UNSCHEDULABLE,), True)
    assert F.node_unschedulable(pod("p"), node("n")) is None


@pytest.mark.parametrize("tol", [
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists"},
    {"operator": "Exists"},
])
def test_a_cordoned_node_takes_pods_that_tolerate_the_cordon(tol: dict) -> None:
    assert F.node_unschedulable(pod("p", tolerations=[tol]), node("n", unschedulable=True)) is None


def test_the_cordon_toleration_must_be_for_no_schedule() -> None:
    tol = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoExecute"}
    assert F.node_unschedulable(pod("p", tolerations=[tol]), node("n", unschedulable=True)) is not None


# -- NodeName --------------------------------------------------------------------------------------
def test_node_name() -> None:
    assert F.node_name(pod("p", node_name="a"), node("a")) is None
    assert F.node_name(pod("p", node_name="a"), node("b")) == Failure((F.NODE_NAME,), True)
    assert F.node_name(pod("p"), node("b")) is None


# -- TaintToleration -------------------------------------------------------------------------------
def test_an_untolerated_taint_is_named_with_key_and_value() -> None:
    n = node("n", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
    assert F.taint_toleration(pod("p"), n) == Failure(("node(s) had untolerated taint {dedicated: gpu}",), True)
    n = node("n", taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    assert F.taint_toleration(pod("p"), n) == Failure(
        ("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",), True)


def test_the_first_untolerated_taint_in_node_order_is_named() -> None:
    n = node("n", taints=[{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoExecute"}])
    tol = [{"key": "a", "operator": "Exists"}]
    assert F.taint_toleration(pod("p", tolerations=tol), n) == Failure(
        ("node(s) had untolerated taint {b: }",), True)
    assert F.taint_toleration(pod("p", tolerations=tol + [{"key": "b", "operator": "Exists"}]), n) is None


def test_prefer_no_schedule_never_filters() -> None:
    n = node("n", taints=[{"key": "a", "effect": "PreferNoSchedule"}])
    assert F.taint_toleration(pod("p"), n) is None


def test_no_execute_taints_filter_and_default_tolerations_cover_only_their_own() -> None:
    unreachable_ne = node("n", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}], ready="True")
    assert F.taint_toleration(pod("p"), unreachable_ne) is None  # DefaultTolerationSeconds tolerations
    assert F.taint_toleration(pod("p", tolerations=[]), unreachable_ne) is not None


@pytest.mark.parametrize("ready,key", [("False", "node.kubernetes.io/not-ready"),
                                       ("Unknown", "node.kubernetes.io/unreachable"),
                                       (None, "node.kubernetes.io/unreachable")])
def test_a_node_that_is_not_ready_refuses_pods_through_its_readiness_taint(ready: str | None, key: str) -> None:
    n = node("n", ready=ready)
    assert F.taint_toleration(pod("p"), n) == Failure((f"node(s) had untolerated taint {{{key}: }}",), True)
    tolerant = pod("p", tolerations=DEFAULT_TOLERATIONS + [{"key": key, "operator": "Exists", "effect": "NoSchedule"}])
    assert F.taint_toleration(tolerant, n) is None


# -- NodeAffinity ----------------------------------------------------------------------------------
def test_node_selector_and_required_affinity() -> None:
    n = node("n", labels={"zone": "a"})
    assert F.node_affinity(pod("p", node_selector={"zone": "a"}), n) is None
    assert F.node_affinity(pod("p", node_selector={"zone": "b"}), n) == Failure((F.NODE_AFFINITY,), True)
    assert F.node_affinity(pod("p", affinity=required({"matchExpressions": [expr("zone", "NotIn", "a")]})), n) == \
        Failure((F.NODE_AFFINITY,), True)
    assert F.node_affinity(pod("p", affinity=required({"matchFields": [expr("metadata.name", "In", "n")]})), n) is None
    assert F.node_affinity(pod("p"), n) is None


# -- NodePorts -------------------------------------------------------------------------------------
def test_host_ports_in_use_refuse_and_free_ones_pass() -> None:
    n = node("n")
    n.add_pod(pod("web", ports=[{"containerPort": 80, "hostPort": 8080}]))
    clash = pod("p", ports=[{"containerPort": 80, "hostPort": 8080}])
    assert F.node_ports(clash, n) == Failure((F.NODE_PORTS,), False)
    assert F.node_ports(pod("p", ports=[{"containerPort": 80, "hostPort": 8081}]), n) is None
    assert F.node_ports(pod("p", ports=[{"containerPort": 80}]), n) is None  # no hostPort: nothing claimed
    assert F.node_ports(pod("p", ports=[{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}]), n) is None


# -- NodeResourcesFit ------------------------------------------------------------------------------
def test_requests_against_what_is_left() -> None:
    n = node("n", cpu="2", memory="1Gi", ephemeral="10Gi")
    n.add_pod(pod("a", cpu="1500m", memory="512Mi", ephemeral="9Gi"))
    assert F.node_resources_fit(pod("p", cpu="500m", memory="512Mi", ephemeral="1Gi"), n) is None  # exactly fits
    assert F.node_resources_fit(pod("p", cpu="501m"), n) == Failure((F.INSUFFICIENT_CPU,), False)
    assert F.node_resources_fit(pod("p", memory="513Mi"), n) == Failure((F.INSUFFICIENT_MEMORY,), False)
    assert F.node_resources_fit(pod("p", ephemeral="2Gi"), n) == Failure((F.INSUFFICIENT_EPHEMERAL,), False)
    assert F.node_resources_fit(pod("p", cpu="1", memory="1Gi", ephemeral="2Gi"), n) == Failure(
        (F.INSUFFICIENT_CPU, F.INSUFFICIENT_MEMORY, F.INSUFFICIENT_EPHEMERAL), False)


def test_asking_more_than_the_whole_node_is_unresolvable() -> None:
    n = node("n", cpu="2", memory="1Gi")
    assert F.node_resources_fit(pod("p", cpu="3"), n) == Failure((F.INSUFFICIENT_CPU,), True)
    assert F.node_resources_fit(pod("p", memory="2Gi"), n) == Failure((F.INSUFFICIENT_MEMORY,), True)
    n.add_pod(pod("a", cpu="1"))
    # more than is left but not more than the node: evicting pods could make room
    assert F.node_resources_fit(pod("p", cpu="1500m", memory="2Gi"), n) == Failure(
        (F.INSUFFICIENT_CPU, F.INSUFFICIENT_MEMORY), True)
    assert F.node_resources_fit(pod("p", cpu="1500m"), n) == Failure((F.INSUFFICIENT_CPU,), False)


def test_a_node_without_ephemeral_storage_refuses_pods_asking_for_it() -> None:
    assert F.node_resources_fit(pod("p", ephemeral="1Mi"), node("n")) == Failure((F.INSUFFICIENT_EPHEMERAL,), True)


def test_too_many_pods_comes_first_and_counts_even_for_request_less_pods() -> None:
    n = node("n", pods="1", cpu="1")
    assert F.node_resources_fit(pod("p"), n) is None
    n.add_pod(pod("a", cpu="1"))
    assert F.node_resources_fit(pod("p"), n) == Failure((F.TOO_MANY_PODS,), False)
    assert F.node_resources_fit(pod("p", cpu="100m"), n) == Failure((F.TOO_MANY_PODS, F.INSUFFICIENT_CPU), False)


def test_a_request_less_pod_fits_a_full_node() -> None:
    n = node("n", cpu="1")
    n.add_pod(pod("a", cpu="1"))
    assert F.node_resources_fit(pod("p"), n) is None


def test_a_node_without_allocatable_pods_takes_none() -> None:
    assert F.node_resources_fit(pod("p"), node("n", pods="0")) == Failure((F.TOO_MANY_PODS,), False)


# -- order -----------------------------------------------------------------------------------------
def test_the_first_failing_filter_is_the_verdict() -> None:
    n = node("n", cpu="1", unschedulable=True, taints=[{"key": "x", "effect": "NoSchedule"}], labels={"a": "b"})
    p = pod("p", cpu="2", node_selector={"a": "c"}, node_name="other")
    assert run_filters(p, n) == Failure((F.UNSCHEDULABLE,), True)
    n.unschedulable = False
    assert run_filters(p, n) == Failure((F.NODE_NAME,), True)
    p = pod("p", cpu="2", node_selector={"a": "c"})
    assert run_filters(p, n) == Failure(("node(s) had untolerated taint {x: }",), True)
    n.taints = ()
    assert run_filters(p, n) == Failure((F.NODE_AFFINITY,), True)
    n.labels = {"a": "c"}
    assert run_filters(p, n) == Failure((F.INSUFFICIENT_CPU,), True)
    assert run_filters(pod("p", node_selector={"a": "c"}), n) is None


def _pods() -> list[PodInfo]:
    return [pod("plain"), pod("big", cpu="3"), pod("named", node_name="n2"), pod("sel", node_selector={"z": "a"}),
            pod("port", ports=[{"containerPort": 1, "hostPort": 9}]),
            pod("tolerant", tolerations=[{"operator": "Exists"}], cpu="1")]


def _nodes() -> list:
    busy = node("n1", cpu="2", labels={"z": "a"})
    busy.add_pod(pod("x", ports=[{"containerPort": 1, "hostPort": 9}], cpu="1"))
    return [busy, node("n2", unschedulable=True), node("n3", taints=[{"key": "t", "effect": "NoSchedule"}]),
            node("n4", ready="False", labels={"z": "a"}), node("n5", cpu="8", labels={"z": "b"})]


@pytest.mark.parametrize("p,n", list(itertools.product(_pods(), _nodes())),
                         ids=lambda x: getattr(x, "name", None) or str(x.key[1]))
def test_the_filters_a_pod_needs_give_the_same_verdict_as_all_of_them(p: PodInfo, n: object) -> None:
    needed = applicable_filters(p)
    verdict = None
    for f in needed:
        verdict = f(p, n)  # type: ignore[arg-type]
        if verdict is not None:
            break
    assert verdict == run_filters(p, n)  # type: ignore[arg-type]
