"""A recorded incident for the replay tests: a real cluster in this process (nats-server, API server,
scheduler, controller manager, a simulated kubelet with three nodes of fixed size) goes through a
scripted hour of work, and its log is saved as a recorded log (archive kind `log`).

The script avoids ties the scheduler would break at random (the recorded run's choice could not be
reproduced by any other run): ballast pods pinned to sim-0 and sim-1 make the three nodes unequal
before anything is scheduled.

`python -m tests.replay.incident OUT.jkar` writes a fresh recording (how the golden logs were made).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bus.apiclient import ApiClient
from bus.connection import Bus
from bus.server import NatsServer
from components.apiserver.server import ApiServer, ApiServerConfig
from components.controllers.manager import ControllerManager, ManagerConfig, available
from components.kubelet.config import KubeletConfig
from components.kubelet.service import Kubelet
from components.scheduler.service import Scheduler, SchedulerConfig
from core.kinds import Stream
from replay.window import from_log, save

USER = "kubernetes-admin"


def pod(name: str, cpu: str, *, node: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox",
                                            "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"role": name.split("-")[0]}},
            "spec": spec}


def deployment(name: str, replicas: int, image: str = "nginx:1.22") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image, "resources": {
                                      "requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}}


async def until(what: str, check: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await check():
        if loop.time() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def settled(api: ApiClient, name: str, replicas: int) -> bool:
    d = await api.get("deployments.apps", "default", name)
    st = d.get("status") or {}
    pods = (await api.list("pods", "default", label_selector=f"app={name}"))["items"]
    return (st.get("observedGeneration") == d["metadata"]["generation"] and st.get("updatedReplicas") == replicas
            and st.get("availableReplicas") == replicas and st.get("replicas") == replicas and len(pods) == replicas)


async def scenario(api: ApiClient) -> None:
    """The incident: ballast, a Deployment, bare pods, scale up with a node cordoned, a rollout, a pod
    deleted, scale down."""
    async def running(name: str) -> bool:
        p = await api.get("pods", "default", name)
        return (p.get("status") or {}).get("phase") == "Running"

    await until("three Ready nodes", lambda: _ready_nodes(api, 3))
    await api.create("pods", "default", pod("ballast-0", "1500m", node="sim-0"))
    await api.create("pods", "default", pod("ballast-1", "700m", node="sim-1"))
    await until("ballast running", lambda: _all(running("ballast-0"), running("ballast-1")))
    await api.create("deployments.apps", "default", deployment("web", 4))
    await until("web at 4", lambda: settled(api, "web", 4))
    for i in range(3):
        await api.create("pods", "default", pod(f"batch-{i}", "300m"))
        await until(f"batch-{i} running", lambda i=i: running(f"batch-{i}"))  # type: ignore[misc]
    await api.patch("nodes", "", "sim-2", {"spec": {"unschedulable": True}})  # kubectl cordon sim-2
    await api.patch("deployments.apps", "default", "web", {"spec": {"replicas": 6}})
    await until("web at 6", lambda: settled(api, "web", 6))
    await api.patch("nodes", "", "sim-2", {"spec": {"unschedulable": None}})  # kubectl uncordon sim-2
    await api.patch("deployments.apps", "default", "web",
                    {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.23"}]}}}},
                    content_type="application/strategic-merge-patch+json")
    await until("web rolled out", lambda: settled(api, "web", 6), timeout=120)
    victim = sorted(p["metadata"]["name"] for p in
                    (await api.list("pods", "default", label_selector="app=web"))["items"])[0]
    await api.delete("pods", "default", victim)
    await until("web back at 6", lambda: settled(api, "web", 6))
    await api.patch("deployments.apps", "default", "web", {"spec": {"replicas": 2}})
    await until("web at 2", lambda: settled(api, "web", 2))
    await asyncio.sleep(1.0)  # the last status writes


async def _all(*checks: Awaitable[bool]) -> bool:
    return all([await c for c in checks])


async def _ready_nodes(api: ApiClient, n: int) -> bool:
    nodes = (await api.list("nodes"))["items"]
    return len(nodes) == n and all(any(c["type"] == "Ready" and c["status"] == "True"
                                       for c in (x.get("status") or {}).get("conditions") or []) for x in nodes)


async def record(out: Path, *, nats_url: str, prefix: str, root: Path) -> dict[str, Any]:
    """Run the scenario on a cluster of this process's own over `nats_url`; save its whole log."""
    server = ApiServer(ApiServerConfig(nats_url=nats_url, prefix=prefix, port=0))
    await server.start()
    kubelet = Kubelet(KubeletConfig(nats_url=nats_url, prefix=prefix, node_name="sim", runtime="sim", nodes=3,
                                    root_dir=str(root), cpu="4", memory="16Gi", sim_start_delay=0.1,
                                    sim_stop_delay=0.05, lease_renew=1.0))
    scheduler = Scheduler(SchedulerConfig(nats_url=nats_url, prefix=prefix, stop_grace=1.0))
    manager = ControllerManager(ManagerConfig(nats_url=nats_url, prefix=prefix, controllers=available()))
    bus = await Bus(nats_url, prefix=prefix, name="incident").connect()
    assert bus.nc is not None
    try:
        await kubelet.start()
        await scheduler.start()
        await manager.start()
        await scenario(ApiClient(bus.nc, prefix, USER))
        window = await from_log(bus.logs[Stream.OBJECTS], 0)
    finally:
        await manager.stop()
        await scheduler.stop()
        await kubelet.stop()
        await bus.close()
        await server.stop()
    return save(window, out, prefix=prefix, info={"scenario": "tests.replay.incident"})


async def _main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        nats = NatsServer(store_dir=Path(tmp) / "nats")
        await nats.start()
        try:
            summary = await record(out, nats_url=nats.url, prefix="g" + uuid.uuid4().hex[:6], root=Path(tmp))
        finally:
            await nats.stop()
    print(summary)


if __name__ == "__main__":
    asyncio.run(_main(Path(sys.argv[1])))
