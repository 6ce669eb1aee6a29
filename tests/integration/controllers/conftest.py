"""Controllers in this process against the `plane` (real nats-server and API server).

- `controllers(plane, "replicaset", ...)`: a ControllerManager running just the named ones.
- `sim_cluster(plane, tmp_path, nodes=3)`: the real scheduler and a simulated kubelet with `nodes`
  nodes (`sim-0`, `sim-1`, …) in this process, so pods get scheduled and turn Running and Ready.
(Polling with a deadline is `tests.integration.conftest.eventually`.)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bus.apiclient import ApiClient, ApiReplyError
from components.controllers.manager import ControllerManager, ManagerConfig
from components.kubelet.config import KubeletConfig
from components.kubelet.service import Kubelet
from components.scheduler.service import Scheduler, SchedulerConfig
from tests.integration.conftest import Plane


@contextlib.asynccontextmanager
async def controllers(plane: Plane, *names: str, **config: Any) -> AsyncIterator[ControllerManager]:
    m = ControllerManager(ManagerConfig(nats_url=plane.nats_url, prefix=plane.prefix, controllers=names, **config))
    await m.start()
    try:
        yield m
    finally:
        await m.stop()
    assert m.failed is not None and not m.failed.done(), m.failed.result() if m.failed and m.failed.done() else ""


@contextlib.asynccontextmanager
async def sim_cluster(plane: Plane, root: Path, *, nodes: int = 3, start_delay: float = 0.1,
                      **kubelet: Any) -> AsyncIterator[Kubelet]:
    cfg = KubeletConfig(nats_url=plane.nats_url, prefix=plane.prefix, node_name="sim", runtime="sim", nodes=nodes,
                        root_dir=str(root), sim_start_delay=start_delay, sim_stop_delay=0.05, lease_renew=1.0,
                        **kubelet)
    k = Kubelet(cfg)
    s = Scheduler(SchedulerConfig(nats_url=plane.nats_url, prefix=plane.prefix, stop_grace=1.0))
    await k.start()
    try:
        await s.start()
        try:
            yield k
        finally:
            await s.stop()
    finally:
        await k.stop()


async def get_or_none(api: ApiClient, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return await api.get(resource, namespace, name)
    except ApiReplyError as e:
        if e.code == 404:
            return None
        raise


async def pods_of(api: ApiClient, namespace: str, selector: str) -> list[dict[str, Any]]:
    return list((await api.list("pods", namespace, label_selector=selector))["items"])
