"""`jetkube up --runtime sim --nodes 5`: simulated nodes register, pods reach Running on them
without containers, and kubectl exec says why it cannot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.kubectl.cluster import Cluster, running_cluster
from tests.integration.kubectl.test_pods import pod, until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("jetkube-sim"), "--runtime", "sim", "--nodes", "5") as c:
        yield c


def test_pods_run_on_simulated_nodes(sim: Cluster) -> None:
    until("five Ready nodes", lambda: len([n for n in sim.get_json("nodes")["items"] if any(
        c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))]) == 5, 60)
    ns = sim.namespace()
    for i in range(6):
        sim.ok("run", f"p{i}", "--image=nginx", "-n", ns)
    until("six Running pods", lambda: all(pod(sim, ns, f"p{i}").get("status", {}).get("phase") == "Running"
                                          for i in range(6)), 60)
    placed = {pod(sim, ns, f"p{i}")["spec"]["nodeName"] for i in range(6)}
    assert len(placed) >= 3 and all(n.startswith("sim-") for n in placed), placed  # spread, not piled up
    r = sim.kubectl("exec", "p0", "-n", ns, "--", "true")
    assert r.rc != 0 and "simulated node" in r.err, str(r)
    sim.ok("delete", "pod", "p1", "-n", ns, "--timeout=60s")
