"""A control plane (real nats-server + API server), real docker containers, and a `StreamServer`
playing the kubelet of one node: pods are created bound to that node, their containers are
busybox containers this fixture starts, and the resolver maps one to the other."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bus import nodeio
from components.kubelet.streaming import StreamServer, StreamTarget
from core import errors
from ops import kubeconfig
from tests.integration.conftest import PREFIX_LABEL, Plane, remove_prefix_objects

NODE = "node-a"
NS = "default"


@dataclass
class Env:
    plane: Plane
    docker: Any
    prefix: str
    http: aiohttp.ClientSession
    server: StreamServer
    tmp: Path
    targets: dict[tuple[str, str, str], StreamTarget] = field(default_factory=dict)
    previous: dict[tuple[str, str, str], StreamTarget] = field(default_factory=dict)
    resolved: list[tuple[str, str, str, str, bool]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.plane.apiserver.url

    async def resolve(self, node: str, namespace: str, pod: str, container: str, previous: bool) -> StreamTarget:
        self.resolved.append((node, namespace, pod, container, previous))
        table = self.previous if previous else self.targets
        target = table.get((namespace, pod, container))
        if target is None:
            if previous:
                raise errors.BadRequest(f'previous terminated container "{container}" in pod "{pod}" not found')
            raise errors.NotFound(f'container "{container}" in pod "{pod}" is not known to this node')
        return target

    async def container(self, script: str, *, tty: bool = False, stdin_open: bool = False,
                        wait_running: bool = True) -> str:
        """A busybox container running `sh -c script`, labelled for cleanup; returns its id."""
        def run() -> str:
            c = self.docker.containers.run("busybox:latest", ["sh", "-c", script], detach=True, tty=tty,
                                           stdin_open=stdin_open, labels={PREFIX_LABEL: self.prefix})
            return str(c.id)
        cid = await asyncio.to_thread(run)
        if wait_running:
            for _ in range(200):
                state = await asyncio.to_thread(lambda: self.docker.api.inspect_container(cid)["State"])
                if state.get("Running") or state.get("Status") == "exited":
                    break
                await asyncio.sleep(0.02)
        return cid

    async def wait_exited(self, cid: str) -> None:
        await asyncio.to_thread(lambda: self.docker.api.wait(cid, timeout=60))

    async def pod(self, name: str, containers: dict[str, str | None], *, node: str | None = NODE,
                  statuses: dict[str, dict[str, Any]] | None = None, tty: bool = False, stdin: bool = False,
                  sim: bool = False) -> dict[str, Any]:
        """A pod bound to `node` whose containers map to docker ids (None: no container). Status:
        Running with each container running, unless `statuses` says otherwise."""
        spec: dict[str, Any] = {"containers": [{"name": c, "image": "busybox", "tty": tty, "stdin": stdin}
                                               for c in containers]}
        if node:
            spec["nodeName"] = node
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS}, "spec": spec}
        obj = await self.plane.api.create("pods", NS, body)
        cstat = []
        for c, cid in containers.items():
            st = (statuses or {}).get(c) or {"state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}}
            cstat.append({"name": c, "image": "busybox", "imageID": "", "ready": True, "restartCount": 0,
                          "containerID": f"docker://{cid}" if cid else "", **st})
            if cid or sim:
                self.targets[(NS, name, c)] = StreamTarget(cid, tty=tty, stdin=stdin, sim=sim)
        await self.plane.api.patch("pods", NS, name, {"status": {"phase": "Running", "containerStatuses": cstat}},
                                   subresource="status")
        return obj

    def kubeconfig(self) -> dict[str, str]:
        """Environment for the real kubectl pointed at this API server."""
        path = kubeconfig.write(self.tmp / "kubeconfig", self.url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env.update(KUBECONFIG=str(path), KUBECACHEDIR=str(self.tmp / "kubectl-cache"))
        return env


@pytest.fixture
async def env(plane: Plane, docker_client: Any, prefix: str, tmp_path: Path) -> AsyncIterator[Env]:
    assert plane.bus.nc is not None
    holder: list[Env] = []

    async def resolve(node: str, namespace: str, pod: str, container: str, previous: bool) -> StreamTarget:
        return await holder[0].resolve(node, namespace, pod, container, previous)

    # A long silence timeout: sessions that end here end because the client said so (CANCEL).
    server = StreamServer(plane.bus.nc, prefix, resolve, timing=nodeio.Timing(keepalive=0.5, dead_after=60.0))
    await server.serve_node(NODE)
    async with aiohttp.ClientSession() as http:
        e = Env(plane, docker_client, prefix, http, server, tmp_path)
        holder.append(e)
        try:
            yield e
        finally:
            await server.stop()
            await asyncio.to_thread(remove_prefix_objects, docker_client, prefix)


async def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")
