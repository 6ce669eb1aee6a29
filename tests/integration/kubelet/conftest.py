"""A kubelet in this process against the `plane` (real nats-server and API server) and the real dockerd.

`node` starts a docker kubelet on a fresh cluster range with short back-offs; every container and
network the test's prefix made is removed afterwards, whatever happened.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from components.kubelet.config import KubeletConfig
from components.kubelet.service import Kubelet
from tests.integration.conftest import Plane, eventually, free_cluster_cidr, remove_prefix_objects

until = eventually  # this suite's name for it

NODE = "kn1"


@dataclass
class Node:
    plane: Plane
    docker: Any
    cidr: str
    root: Path
    kubelet: Kubelet
    name: str = NODE
    extra: list[Kubelet] = field(default_factory=list)

    def config(self, **over: Any) -> KubeletConfig:
        base: dict[str, Any] = dict(nats_url=self.plane.nats_url, prefix=self.plane.prefix, node_name=self.name,
                                    runtime="docker", cluster_cidr=self.cidr, pod_cidr=pod_cidr(self.cidr),
                                    root_dir=str(self.root), backoff_base=0.5, backoff_cap=4.0, resync=2.0)
        base.update(over)
        return KubeletConfig(**base)

    async def restart(self, **over: Any) -> Kubelet:
        await self.kubelet.stop()
        self.kubelet = Kubelet(self.config(**over))
        await self.kubelet.start()
        return self.kubelet


def pod_cidr(cluster: str) -> str:
    net = ipaddress.ip_network(cluster)
    return str(next(net.subnets(new_prefix=24)))


@pytest.fixture
async def node(plane: Plane, docker_client: Any, tmp_path: Path) -> AsyncIterator[Node]:
    cidr = free_cluster_cidr(docker_client)
    n = Node(plane, docker_client, cidr, tmp_path / "kubelet", kubelet=None)  # type: ignore[arg-type]
    try:
        n.kubelet = Kubelet(n.config())
        await n.kubelet.start()
        yield n
    finally:
        for k in [n.kubelet, *n.extra]:
            if k is not None:
                try:
                    await k.stop()
                except Exception:
                    pass
        await asyncio.to_thread(remove_prefix_objects, docker_client, plane.prefix)


def pod(name: str, containers: list[dict[str, Any]], *, node: str = NODE, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                            "spec": {"nodeName": node, "containers": containers, "terminationGracePeriodSeconds": 1,
                                     **spec}}
    return body


def sh(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", script], **extra}
