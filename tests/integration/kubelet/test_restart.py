"""A kubelet stopped and started again (same node, same root dir) adopts what runs; the node
comes back Ready; pods that vanished meanwhile are cleaned up."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

from components.kubelet.service import Kubelet
from tests.integration.kubelet.conftest import Node, pod, sh, until

pytestmark = pytest.mark.integration


async def _get(node: Node, name: str) -> dict[str, Any]:
    return await node.plane.api.get("pods", "default", name)


async def _running(node: Node, name: str) -> dict[str, Any] | None:
    p = await _get(node, name)
    return p if p["status"].get("phase") == "Running" else None


async def test_restart_adopts_running_containers(node: Node) -> None:
    api = node.plane.api
    vol = [{"name": "data", "mountPath": "/data"}]
    await api.create("pods", "default", pod("keep", [sh("a", "sleep 3600", volumeMounts=vol), sh("b", "sleep 3600")],
                                            initContainers=[sh("init", "echo done > /data/x", volumeMounts=vol)],
                                            volumes=[{"name": "data", "emptyDir": {}}]))
    before = await until(lambda: _running(node, "keep"))
    ids = {c["name"]: c["containerID"] for c in before["status"]["containerStatuses"]}
    started = {c["name"]: c["state"]["running"]["startedAt"] for c in before["status"]["containerStatuses"]}
    uid = before["metadata"]["uid"]
    total = len(await asyncio.to_thread(node.docker.api.containers, all=True,
                                        filters={"label": f"io.jetkube.pod.uid={uid}"}))

    await node.kubelet.stop()
    # While the kubelet is away: a pod is force-deleted (its containers are orphans now) and
    # another pod is created (nobody runs it yet).
    await api.create("pods", "default", pod("orphan", [sh("c", "sleep 3600")]))  # not run yet: kubelet stopped
    await node.restart()
    orphan = await until(lambda: _running(node, "orphan"))
    orphan_uid = orphan["metadata"]["uid"]
    await node.kubelet.stop()
    await api.delete("pods", "default", "orphan", grace_period_seconds=0)
    await node.restart()

    after = await until(lambda: _running(node, "keep"))
    assert {c["name"]: c["containerID"] for c in after["status"]["containerStatuses"]} == ids
    assert {c["name"]: c["state"]["running"]["startedAt"] for c in after["status"]["containerStatuses"]} == started
    assert all(c["restartCount"] == 0 for c in after["status"]["containerStatuses"])
    assert after["status"]["podIP"] == before["status"]["podIP"]
    assert after["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    now = len(await asyncio.to_thread(node.docker.api.containers, all=True,
                                      filters={"label": f"io.jetkube.pod.uid={uid}"}))
    assert now == total
    assert node.kubelet.agents[node.name].ipam.by_uid[uid] == before["status"]["podIP"]

    async def orphan_gone() -> bool:
        return not await asyncio.to_thread(node.docker.api.containers, all=True,
                                           filters={"label": f"io.jetkube.pod.uid={orphan_uid}"})
    await until(orphan_gone)

    # A new pod does not get the adopted pod's address.
    await api.create("pods", "default", pod("fresh", [sh("c", "sleep 3600")]))
    fresh = await until(lambda: _running(node, "fresh"))
    assert fresh["status"]["podIP"] != before["status"]["podIP"]

    # The adopted pod still dies gracefully.
    await api.delete("pods", "default", "keep")

    async def keep_gone() -> bool:
        return not await asyncio.to_thread(node.docker.api.containers, all=True,
                                           filters={"label": f"io.jetkube.pod.uid={uid}"})
    await until(keep_gone)


async def test_ready_is_reasserted_and_taints_kept(node: Node) -> None:
    api = node.plane.api
    n = await api.get("nodes", "", node.name)
    conds = [dict(c, status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.")
             if c["type"] == "Ready" else c for c in n["status"]["conditions"]]
    taint = {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}
    await api.patch("nodes", "", node.name, {"spec": {"taints": [taint]}})
    await api.patch("nodes", "", node.name, {"status": {"conditions": conds}}, subresource="status")

    async def ready_again() -> dict[str, Any] | None:
        got = await api.get("nodes", "", node.name)
        ready = next(c for c in got["status"]["conditions"] if c["type"] == "Ready")
        return got if ready["status"] == "True" and ready["reason"] == "KubeletReady" else None
    got = await until(ready_again, timeout=10)
    assert got["spec"]["taints"] == [taint]
    assert got["spec"]["podCIDR"] == node.config().pod_cidr

    # Re-registration of an existing node keeps its spec too.
    await node.restart()
    again = await api.get("nodes", "", node.name)
    assert again["spec"]["taints"] == [taint]


async def test_second_kubelet_shares_the_network_and_picks_a_free_range(node: Node) -> None:
    other = Kubelet(node.config(node_name="kn2", pod_cidr=""))
    node.extra.append(other)
    await other.start()
    assert other.agents["kn2"].pod_cidr != node.kubelet.agents[node.name].pod_cidr
    await node.plane.api.create("pods", "default", pod("there", [sh("c", "sleep 3600")], node="kn2"))
    p = await until(lambda: _running(node, "there"))
    assert ipaddress.ip_address(p["status"]["podIP"]) in ipaddress.ip_network(other.agents["kn2"].pod_cidr)
    nets = await asyncio.to_thread(node.docker.api.networks, names=[node.config().network_name])
    assert len([n for n in nets if n["Name"] == node.config().network_name]) == 1
