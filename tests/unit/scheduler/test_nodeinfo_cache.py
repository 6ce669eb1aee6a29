"""NodeInfo (a node's facts and running totals) and ClusterCache (assume, confirm, forget)."""

from __future__ import annotations

from components.scheduler.cache import ClusterCache
from components.scheduler.nodeinfo import NodeInfo, readiness_taint
from components.scheduler.taints import Taint
from tests.unit.scheduler.helpers import node, node_obj, pod

Mi = 1024 * 1024
Gi = 1024 * Mi


def test_set_node_parses_allocatable_labels_taints_and_cordon() -> None:
    info = NodeInfo("n1")
    changed = info.set_node(node_obj("n1", cpu="3500m", memory="2Gi", pods="30", ephemeral="10Gi",
                                     labels={"zone": "a"}, unschedulable=True,
                                     taints=[{"key": "a", "effect": "NoSchedule"},
                                             {"key": "b", "value": "x", "effect": "PreferNoSchedule"},
                                             {"key": "c", "effect": "NoExecute"}]))
    assert changed
    assert (info.alloc_cpu, info.alloc_mem, info.alloc_eph, info.alloc_pods) == (3500, 2 * Gi, 10 * Gi, 30)
    assert info.labels == {"zone": "a"} and info.unschedulable
    assert info.taints == (Taint("a", "", "NoSchedule"), Taint("c", "", "NoExecute"))
    assert info.prefer_taints == (Taint("b", "x", "PreferNoSchedule"),)


def test_set_node_reports_only_changes_that_matter() -> None:
    info = NodeInfo("n1")
    obj = node_obj("n1")
    assert info.set_node(obj)
    again = node_obj("n1")
    again["status"]["conditions"].append({"type": "DiskPressure", "status": "False"})
    again["metadata"]["annotations"] = {"x": "y"}
    assert not info.set_node(again)
    assert info.set_node(node_obj("n1", labels={"new": "label"}))
    assert info.set_node(node_obj("n1", labels={"new": "label"}, cpu="8"))
    assert info.set_node(node_obj("n1", labels={"new": "label"}, cpu="8", ready="False"))


def test_readiness_becomes_a_taint_as_the_lifecycle_controller_would_put() -> None:
    assert readiness_taint(node_obj("n", ready="True")) is None
    assert readiness_taint(node_obj("n", ready="False")) == Taint("node.kubernetes.io/not-ready", "", "NoSchedule")
    assert readiness_taint(node_obj("n", ready="Unknown")) == Taint("node.kubernetes.io/unreachable", "", "NoSchedule")
    assert readiness_taint(node_obj("n", ready=None)) == Taint("node.kubernetes.io/unreachable", "", "NoSchedule")
    assert readiness_taint({}) == Taint("node.kubernetes.io/unreachable", "", "NoSchedule")


def test_a_readiness_taint_already_on_the_node_is_not_doubled() -> None:
    info = node("n", ready="False", taints=[{"key": "x", "effect": "NoSchedule"},
                                            {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}])
    assert info.taints == (Taint("x", "", "NoSchedule"), Taint("node.kubernetes.io/not-ready", "", "NoSchedule"))
    info = node("n", ready="False", taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}])
    assert info.taints == (Taint("node.kubernetes.io/not-ready", "", "NoExecute"),
                           Taint("node.kubernetes.io/not-ready", "", "NoSchedule"))


def test_pod_totals_add_and_remove_exactly() -> None:
    info = node("n1")
    a = pod("a", cpu="250m", memory="64Mi", ephemeral="1Gi", owner="rs1",
            ports=[{"containerPort": 80, "hostPort": 8080}])
    b = pod("b", owner="rs1")  # no requests: counts as 100m / 200Mi for scoring only
    info.add_pod(a)
    info.add_pod(b)
    assert (info.req_cpu, info.req_mem, info.req_eph, info.pod_count) == (250, 64 * Mi, Gi, 2)
    assert (info.nz_cpu, info.nz_mem) == (350, 264 * Mi)
    assert info.owners == {"rs1": 2}
    assert info.ports == {("TCP", 8080): {"0.0.0.0": 1}}
    info.add_pod(a)  # the same pod again (a newer version) replaces, never doubles
    assert info.pod_count == 2 and info.req_cpu == 250
    assert info.remove_pod(a.key) is a
    assert (info.req_cpu, info.req_mem, info.req_eph, info.pod_count, info.nz_cpu) == (0, 0, 0, 1, 100)
    assert info.owners == {"rs1": 1} and info.ports == {}
    assert info.remove_pod(a.key) is None
    info.remove_pod(b.key)
    assert info.owners == {} and info.pod_count == 0 and (info.nz_cpu, info.nz_mem) == (0, 0)


def test_port_conflicts_follow_host_ip_and_protocol() -> None:
    info = node("n1")
    info.add_pod(pod("web", ports=[{"containerPort": 80, "hostPort": 80, "hostIP": "10.0.0.1"},
                                   {"containerPort": 53, "hostPort": 53, "protocol": "UDP"}]))
    assert info.port_conflict((("10.0.0.1", "TCP", 80),))
    assert info.port_conflict((("0.0.0.0", "TCP", 80),))  # every address includes 10.0.0.1
    assert not info.port_conflict((("10.0.0.2", "TCP", 80),))
    assert not info.port_conflict((("10.0.0.1", "UDP", 80),))
    assert info.port_conflict((("10.0.0.9", "UDP", 53),))  # 0.0.0.0:53/UDP is taken on every address
    assert not info.port_conflict((("0.0.0.0", "TCP", 53),))
    assert not info.port_conflict(())


def test_every_change_bumps_the_generation_and_empties_the_memo() -> None:
    info = node("n1")
    g = info.generation
    info.verdicts[1] = (None, 100)
    info.add_pod(pod("a"))
    assert info.generation == g + 1 and info.verdicts == {}
    info.verdicts[1] = (None, 100)
    info.remove_pod(("default", "a"))
    assert info.generation == g + 2 and info.verdicts == {}
    info.verdicts[1] = (None, 100)
    info.set_node(node_obj("n1"))
    assert info.verdicts == {}


# -- the cache -------------------------------------------------------------------------------------
def test_nodes_keep_arrival_order_and_leave_cleanly() -> None:
    c = ClusterCache()
    assert c.set_node(node_obj("b")) and c.set_node(node_obj("a"))
    assert not c.set_node(node_obj("b"))  # the same again: nothing a pod would notice
    assert [n.name for n in c.nodes] == ["b", "a"]
    c.remove_node("b")
    assert [n.name for n in c.nodes] == ["a"] and c.node("b") is None
    c.remove_node("b")  # twice is harmless


def test_a_bound_pod_on_an_unknown_node_is_kept_but_the_node_not_offered() -> None:
    c = ClusterCache()
    c.add_pod(pod("p", cpu="1", node_name="ghost"))
    assert c.node_of(("default", "p")) == "ghost" and c.nodes == []
    assert c.node("ghost").req_cpu == 1000  # type: ignore[union-attr]
    c.set_node(node_obj("ghost"))  # the node shows up: its pods are already counted
    assert [n.name for n in c.nodes] == ["ghost"] and c.nodes[0].req_cpu == 1000
    c.remove_node("ghost")  # gone again, but its pod is still there
    assert c.nodes == [] and c.node("ghost") is not None
    assert c.remove_pod(("default", "p"))
    assert c.node("ghost") is None
    assert not c.remove_pod(("default", "p"))


def test_assume_then_confirm() -> None:
    c = ClusterCache()
    c.set_node(node_obj("n1"))
    p = pod("p", cpu="1")
    assert c.assume(p, "n1")
    assert c.is_assumed(p.key) and c.assumed_pod(p.key) is p and c.nodes[0].req_cpu == 1000
    c.add_pod(p, "n1")  # the log shows the binding
    assert not c.is_assumed(p.key) and c.nodes[0].req_cpu == 1000 and c.nodes[0].pod_count == 1
    assert not c.forget(p.key)  # too late to forget: it is bound
    assert c.nodes[0].pod_count == 1


def test_assume_then_forget_gives_the_resources_back() -> None:
    c = ClusterCache()
    c.set_node(node_obj("n1"))
    p = pod("p", cpu="1", ports=[{"containerPort": 1, "hostPort": 1}])
    c.assume(p, "n1")
    assert c.forget(p.key)
    assert (c.nodes[0].req_cpu, c.nodes[0].pod_count, c.nodes[0].ports) == (0, 0, {})
    assert c.node_of(p.key) is None and c.assumed_count == 0


def test_the_log_moves_an_assumed_pod_bound_elsewhere_by_another_scheduler() -> None:
    c = ClusterCache()
    c.set_node(node_obj("n1"))
    c.set_node(node_obj("n2"))
    p = pod("p", cpu="1")
    c.assume(p, "n1")
    c.add_pod(pod("p", cpu="1", node_name="n2"))
    assert c.node_of(p.key) == "n2" and c.node("n1").req_cpu == 0 and c.node("n2").req_cpu == 1000  # type: ignore
    assert not c.forget(p.key) and c.node_of(p.key) == "n2"


def test_a_pod_the_log_shows_bound_cannot_be_assumed() -> None:
    c = ClusterCache()
    c.set_node(node_obj("n1"))
    c.add_pod(pod("p", node_name="n1"))
    assert not c.assume(pod("p"), "n2")
    assert c.node_of(("default", "p")) == "n1" and not c.is_assumed(("default", "p"))


def test_removing_an_assumed_pod() -> None:
    c = ClusterCache()
    c.set_node(node_obj("n1"))
    p = pod("p", cpu="1")
    c.assume(p, "n1")
    assert c.remove_pod(p.key)  # deleted while its binding was on the way
    assert not c.is_assumed(p.key) and c.nodes[0].req_cpu == 0 and c.pod_count == 0
