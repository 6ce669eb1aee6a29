"""Node lifecycle end to end: a kubelet that stops renewing its lease (SIGSTOP, past the grace
period) has its node turn NotReady/unreachable and its pods evicted; when it comes back, the node
is Ready again. A cluster of its own (two docker nodes, short grace and toleration) so the shared
kubectl cluster is never disturbed."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.kubectl.cluster import Cluster, running_cluster
from tests.integration.kubectl.test_pods import busybox_pod, pod, running, until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("jetkube-nodes"), "--nodes", "2",
                         "--node-monitor-grace-period", "5", "--default-toleration-seconds", "3") as c:
        yield c


def node(cluster: Cluster, name: str) -> dict[str, Any]:
    return dict(cluster.get_json("node", name))


def ready(n: dict[str, Any]) -> str:
    return str({c["type"]: c for c in n["status"].get("conditions", [])}.get("Ready", {}).get("status", ""))


def test_two_nodes_register_and_pods_spread(two_nodes: Cluster) -> None:
    c = two_nodes
    nodes = c.get_json("nodes")["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["node-1", "node-2"]
    assert all(ready(n) == "True" for n in nodes)
    assert len({n["spec"]["podCIDR"] for n in nodes}) == 2
    lease = c.get_json("lease", "node-1", "-n", "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == "node-1"


def test_stopped_kubelet_makes_node_unreachable_and_evicts_its_pods(two_nodes: Cluster) -> None:
    c = two_nodes
    ns = c.namespace()
    victim = busybox_pod("victim", "sleep 3600", nodeSelector={"kubernetes.io/hostname": "node-2"})
    c.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(victim))
    p = running(c, ns, "victim")
    assert p["spec"]["nodeName"] == "node-2"
    pid = int(c.state()["processes"]["kubelet-node-2"]["pid"])
    os.kill(pid, signal.SIGSTOP)
    try:
        n = until("node-2 unreachable", lambda: (lambda n: n if ready(n) == "Unknown" else None)(node(c, "node-2")), 60)
        taints = {(t["key"], t["effect"]) for t in n["spec"].get("taints", [])}
        assert {("node.kubernetes.io/unreachable", "NoSchedule"),
                ("node.kubernetes.io/unreachable", "NoExecute")} <= taints
        assert "NotReady" in c.ok("get", "nodes").out
        until("the pod to be evicted", lambda: not pod(c, ns, "victim"), 60)
        assert ready(node(c, "node-1")) == "True"
    finally:
        os.kill(pid, signal.SIGCONT)
    n = until("node-2 Ready again", lambda: (lambda n: n if ready(n) == "True" and not n["spec"].get("taints")
                                             else None)(node(c, "node-2")), 60)
    assert n["metadata"]["name"] == "node-2"
