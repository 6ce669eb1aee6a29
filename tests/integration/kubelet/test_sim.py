"""Simulated nodes: many in one process, pods Running without containers, leases renewed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from components.kubelet.config import KubeletConfig
from components.kubelet.service import Kubelet
from tests.integration.conftest import Plane
from tests.integration.kubelet.conftest import until

pytestmark = pytest.mark.integration


def _sim_pod(i: int, node: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}"},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx:1.22"}]}}


async def test_fifty_sim_nodes_run_two_hundred_pods(plane: Plane, tmp_path: Any) -> None:
    cfg = KubeletConfig(nats_url=plane.nats_url, prefix=plane.prefix, node_name="sim", runtime="sim", nodes=50,
                        root_dir=str(tmp_path), sim_start_delay=0.2, lease_renew=1.0)
    kubelet = Kubelet(cfg)
    await kubelet.start()
    try:
        api = plane.api
        nodes = (await api.list("nodes"))["items"]
        assert sorted(n["metadata"]["name"] for n in nodes) == sorted(f"sim-{i}" for i in range(50))
        cidrs = {n["spec"]["podCIDR"] for n in nodes}
        assert len(cidrs) == 50
        n0 = next(n for n in nodes if n["metadata"]["name"] == "sim-0")
        assert n0["status"]["nodeInfo"]["containerRuntimeVersion"] == "sim://0.1"
        assert n0["status"]["capacity"]["pods"] == "110" and n0["metadata"]["labels"]["kubernetes.io/os"] == "linux"
        leases = {lease["metadata"]["name"]: lease["spec"]["renewTime"]
                  for lease in (await api.list("leases.coordination.k8s.io", "kube-node-lease"))["items"]}
        assert set(leases) == {f"sim-{i}" for i in range(50)}

        await asyncio.gather(*(api.create("pods", "default", _sim_pod(i, f"sim-{i % 50}")) for i in range(200)))

        async def all_running() -> list[dict[str, Any]] | None:
            items = (await api.list("pods", "default"))["items"]
            ok = [p for p in items if p["status"].get("phase") == "Running"]
            return items if len(ok) == 200 else None
        pods = await until(all_running, timeout=60, every=0.2)
        ips = {p["status"]["podIP"] for p in pods}
        assert len(ips) == 200
        p = next(p for p in pods if p["metadata"]["name"] == "p7")
        node = next(n for n in nodes if n["metadata"]["name"] == "sim-7")
        import ipaddress
        assert ipaddress.ip_address(p["status"]["podIP"]) in ipaddress.ip_network(node["spec"]["podCIDR"])
        cs = p["status"]["containerStatuses"][0]
        assert cs["containerID"].startswith("sim://") and cs["ready"] and "running" in cs["state"]
        assert p["status"]["hostIP"] == next(a["address"] for a in node["status"]["addresses"]
                                             if a["type"] == "InternalIP")

        async def renewed() -> bool:
            now = {lease["metadata"]["name"]: lease["spec"]["renewTime"]
                   for lease in (await api.list("leases.coordination.k8s.io", "kube-node-lease"))["items"]}
            return all(now[n] > leases[n] for n in leases)
        await until(renewed, timeout=10, every=0.25)

        # Deletion completes without containers to stop.
        await asyncio.gather(*(api.delete("pods", "default", f"p{i}") for i in range(0, 200, 10)))

        async def deleted() -> bool:
            return len((await api.list("pods", "default"))["items"]) == 180
        await until(deleted, timeout=20)
    finally:
        await kubelet.stop()


async def test_sim_restart_keeps_pod_ips_and_container_ids(plane: Plane, tmp_path: Any) -> None:
    cfg = KubeletConfig(nats_url=plane.nats_url, prefix=plane.prefix, node_name="s", runtime="sim", nodes=2,
                        root_dir=str(tmp_path), sim_start_delay=0)
    kubelet = Kubelet(cfg)
    await kubelet.start()
    api = plane.api
    try:
        await api.create("pods", "default", _sim_pod(1, "s-1"))

        async def running() -> dict[str, Any] | None:
            p = await api.get("pods", "default", "p1")
            return p if p["status"].get("phase") == "Running" else None
        before = await until(running)
    finally:
        await kubelet.stop()
    kubelet = Kubelet(cfg)
    await kubelet.start()
    try:
        await asyncio.sleep(0.3)
        after = await api.get("pods", "default", "p1")
        assert after["status"]["podIP"] == before["status"]["podIP"]
        assert after["status"]["containerStatuses"] == before["status"]["containerStatuses"]
        assert kubelet.agents["s-1"].ipam.by_uid[before["metadata"]["uid"]] == before["status"]["podIP"]
    finally:
        await kubelet.stop()


async def test_sim_containers_exit_as_their_annotations_say(plane: Plane, tmp_path: Any) -> None:
    cfg = KubeletConfig(nats_url=plane.nats_url, prefix=plane.prefix, node_name="x", runtime="sim", nodes=1,
                        root_dir=str(tmp_path), sim_start_delay=0)
    kubelet = Kubelet(cfg)
    await kubelet.start()
    for agent in kubelet.agents.values():  # exits wake the kubelet at once (as docker's watch does)
        agent.runtime.watch(lambda uid, n=agent.name: kubelet.queue.add((n, uid)))  # type: ignore[attr-defined]
    api = plane.api

    def pod(name: str, restart: str, code: int) -> dict[str, Any]:
        body = _sim_pod(0, "x-0")
        body["metadata"] = {"name": name, "annotations": {"sim.jetkube.io/run-seconds": "0.2",
                                                          "sim.jetkube.io/exit-code": str(code)}}
        body["spec"]["restartPolicy"] = restart
        return body
    try:
        await api.create("pods", "default", pod("ok", "Never", 0))
        await api.create("pods", "default", pod("bad", "Never", 3))
        await api.create("pods", "default", pod("retry", "OnFailure", 1))

        async def phase(name: str, want: str) -> dict[str, Any] | None:
            p = await api.get("pods", "default", name)
            return p if p["status"].get("phase") == want else None
        ok = await until(lambda: phase("ok", "Succeeded"))
        bad = await until(lambda: phase("bad", "Failed"))
        t_ok = ok["status"]["containerStatuses"][0]["state"]["terminated"]
        t_bad = bad["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (t_ok["exitCode"], t_ok["reason"]) == (0, "Completed")
        assert (t_bad["exitCode"], t_bad["reason"]) == (3, "Error")

        async def restarted() -> bool:
            p = await api.get("pods", "default", "retry")
            cs = (p["status"].get("containerStatuses") or [{}])[0]
            return p["status"].get("phase") == "Running" and cs.get("restartCount", 0) >= 1 \
                and cs.get("lastState", {}).get("terminated", {}).get("exitCode") == 1
        await until(restarted, timeout=30)
    finally:
        await kubelet.stop()
