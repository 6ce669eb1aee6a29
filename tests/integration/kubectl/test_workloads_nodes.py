"""DaemonSets and StatefulSets on `jetkube up --nodes 3` (three docker kubelets), through the real kubectl.

A cluster of its own, so the shared kubectl cluster keeps its single node. Waiting is polling with
a deadline; the order of StatefulSet pods is read from a watch of the namespace's pods.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.kubectl.cluster import Cluster, running_cluster
from tests.integration.kubectl.test_workloads import PodWatch, apply, pods, ready, serving, until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def three_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("jetkube-3nodes"), "--nodes", "3") as c:
        yield c


def test_a_daemonset_runs_one_pod_per_node(three_nodes: Cluster) -> None:
    c = three_nodes
    ns = c.namespace("ds")
    apply(c, ns, {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
                  "spec": {"selector": {"matchLabels": {"app": "agent"}},
                           "template": {"metadata": {"labels": {"app": "agent"}},
                                        "spec": {"containers": [{"name": "c", "image": "busybox",
                                                                 "command": ["sleep", "3600"]}]}}}})
    c.ok("rollout", "status", "-n", ns, "daemonset/agent", "--timeout=180s")
    items = until("3 serving daemon pods", lambda: len(serving(p := pods(c, ns, "app=agent"))) == 3 and p)
    assert sorted(p["spec"]["nodeName"] for p in items) == ["node-1", "node-2", "node-3"]
    ds = c.get_json("daemonset", "agent", "-n", ns)["status"]
    assert ds["desiredNumberScheduled"] == ds["numberReady"] == ds["numberAvailable"] == 3


def test_a_statefulset_creates_in_order_and_deletes_in_reverse(three_nodes: Cluster) -> None:
    c = three_nodes
    ns = c.namespace("sts")
    apply(c, ns, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                  "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]}})
    order: list[str] = []
    with PodWatch(c, ns, "app=web") as watch:
        apply(c, ns, {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
                      "spec": {"serviceName": "web", "replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                               "template": {"metadata": {"labels": {"app": "web"}},
                                            "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}})
        c.ok("rollout", "status", "-n", ns, "statefulset/web", "--timeout=240s")
        items = until("3 serving pods", lambda: len(serving(p := pods(c, ns, "app=web"))) == 3 and p)
        assert sorted(p["metadata"]["name"] for p in items) == ["web-0", "web-1", "web-2"]
        for p in items:
            assert p["spec"]["hostname"] == p["metadata"]["name"] and p["spec"]["subdomain"] == "web"
        # creation order from the watch: each pod appeared only once the one before it was ready
        assert watch.added == ["web-0", "web-1", "web-2"]
        created = sorted(items, key=lambda p: p["metadata"]["creationTimestamp"])
        for before, after in zip(created, created[1:]):
            became_ready = next(cond["lastTransitionTime"] for cond in before["status"]["conditions"]
                                if cond["type"] == "Ready")
            assert became_ready <= after["metadata"]["creationTimestamp"]

        c.ok("scale", "-n", ns, "statefulset/web", "--replicas=1")
        until("web-0 alone", lambda: {p["metadata"]["name"] for p in pods(c, ns, "app=web")} == {"web-0"})
        until("the watch to see both go", lambda: len(watch.deleted) == 2)
        assert watch.deleted == ["web-2", "web-1"]
        assert ready(pods(c, ns, "app=web")[0])
    sts: Any = json.loads(c.ok("get", "statefulset", "web", "-n", ns, "-o", "json").out)
    assert sts["status"]["replicas"] == 1
