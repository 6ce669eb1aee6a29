"""Pods end to end: create→Running latency on a docker node, and scheduler throughput on sim nodes.

- `latency`: a cluster with one docker kubelet; pods (busybox `sleep`) are created over HTTP at a
  steady rate while one watch records when each is first seen Running. The reference in the same
  run is docker alone: create + start of the same container with docker-py, no orchestration.
- `scheduling`: a cluster of simulated nodes. The scheduler is paused (SIGSTOP) while the pods are
  created, so the create rate (the reference: what the API server and the log take) and the
  scheduler's rate are measured apart; then it is resumed and a watch counts bindings until every
  pod has a node. The resident memory of every process of the cluster is read at the end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from ops.bench.cluster import Cluster, ClusterError
from ops.bench.report import summarize

NS = "bench"


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _pod(name: str, node_selector: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                            "command": ["sleep", "3600"],
                                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
                            "terminationGracePeriodSeconds": 0}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"bench": "pods"}}, "spec": spec}


async def _namespace(session: aiohttp.ClientSession, url: str) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
    async with session.post(f"{url}/api/v1/namespaces", json=body) as r:
        if r.status not in (201, 409):
            raise ClusterError(f"creating namespace {NS}: HTTP {r.status} {await r.text()}")


async def _revision(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(f"{url}/api/v1/namespaces/{NS}/pods?limit=1") as r:
        return str((await r.json())["metadata"]["resourceVersion"])


class PodWatch:
    """One watch on the bench namespace's pods: when each pod was first bound, first Running."""

    def __init__(self, session: aiohttp.ClientSession, url: str, since: str) -> None:
        self.session, self.url, self.since = session, url, since
        self.bound: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PodWatch:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _run(self) -> None:
        q = f"watch=1&resourceVersion={self.since}&allowWatchBookmarks=false"
        async with self.session.get(f"{self.url}/api/v1/namespaces/{NS}/pods?{q}",
                                    timeout=aiohttp.ClientTimeout(total=None)) as r:
            buf = b""
            async for chunk in r.content.iter_any():
                buf += chunk
                *lines, buf = buf.split(b"\n")
                now = time.monotonic()
                for line in lines:
                    if not line:
                        continue
                    ev = orjson.loads(line)
                    obj = ev.get("object") or {}
                    name = (obj.get("metadata") or {}).get("name", "")
                    if (obj.get("spec") or {}).get("nodeName") and name not in self.bound:
                        self.bound[name] = now
                    if (obj.get("status") or {}).get("phase") == "Running" and name not in self.running:
                        self.running[name] = now
                self.changed.set()

    async def until(self, done: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
            except asyncio.TimeoutError:
                pass
        return True


# -- create→Running on docker ---------------------------------------------------------------
def docker_reference(count: int) -> list[float]:
    """Seconds docker alone takes to create and start the same container (then it is removed)."""
    from ops import dockerhost
    client = dockerhost.connect()
    out = []
    try:
        for i in range(count):
            t0 = time.monotonic()
            c = client.containers.create("busybox", ["sleep", "3600"], name=f"jetkube-bench-ref-{os.getpid()}-{i}",
                                         labels={"io.jetkube.bench": "reference"})
            c.start()
            out.append(time.monotonic() - t0)
            c.remove(force=True)
    finally:
        client.close()
    return out


@dataclass
class LatencyResult:
    count: int
    latencies: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    missing: int = 0

    @property
    def summary_ms(self) -> dict[str, float]:
        return {k: 1000 * v for k, v in summarize(self.latencies).items()}

    @property
    def reference_ms(self) -> dict[str, float]:
        return {k: 1000 * v for k, v in summarize(self.reference).items()}


async def measure_latency(cluster: Cluster, *, count: int, rate: float, prefix: str,
                          timeout: float = 180.0) -> LatencyResult:
    res = LatencyResult(count)
    res.reference = await asyncio.to_thread(docker_reference, min(count, 20))
    created: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        await _namespace(session, cluster.url)
        since = await _revision(session, cluster.url)
        async with PodWatch(session, cluster.url, since) as watch:
            for i in range(count):
                name = f"{prefix}-{i}"
                t0 = time.monotonic()
                async with session.post(f"{cluster.url}/api/v1/namespaces/{NS}/pods", json=_pod(name)) as r:
                    if r.status != 201:
                        raise ClusterError(f"pod create: HTTP {r.status} {await r.text()}")
                created[name] = t0
                await asyncio.sleep(max(0.0, 1.0 / rate - (time.monotonic() - t0)))
            await watch.until(lambda: all(n in watch.running for n in created), timeout)
            res.latencies = [watch.running[n] - t for n, t in created.items() if n in watch.running]
            res.missing = sum(1 for n in created if n not in watch.running)
        # clean up: delete them and wait until the kubelet has removed them, so that the next run
        # does not share docker with 50 terminations
        async with session.delete(f"{cluster.url}/api/v1/namespaces/{NS}/pods?labelSelector=bench%3Dpods") as r:
            await r.read()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with session.get(f"{cluster.url}/api/v1/namespaces/{NS}/pods?labelSelector=bench%3Dpods") as r:
                if not (await r.json()).get("items"):
                    break
            await asyncio.sleep(0.5)
    return res


# -- scheduling on sim nodes ----------------------------------------------------------------
@dataclass
class SchedulingResult:
    nodes: int
    pods: int
    create_seconds: float = 0.0
    bind_seconds: float = 0.0
    running_seconds: float = 0.0
    bound: int = 0
    running: int = 0
    create_errors: int = 0
    rss_mib: dict[str, float] = field(default_factory=dict)

    @property
    def create_rate(self) -> float:
        return self.pods / self.create_seconds if self.create_seconds else float("nan")

    @property
    def bind_rate(self) -> float:
        return self.bound / self.bind_seconds if self.bind_seconds else float("nan")


async def _ready_nodes(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(f"{url}/api/v1/nodes") as r:
        items = (await r.json()).get("items", [])
    return sum(1 for n in items if any(c.get("type") == "Ready" and c.get("status") == "True"
                                       for c in (n.get("status") or {}).get("conditions", [])))


async def wait_for_nodes(session: aiohttp.ClientSession, url: str, nodes: int, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while await _ready_nodes(session, url) < nodes:
        if time.monotonic() > deadline:
            raise ClusterError(f"only {await _ready_nodes(session, url)}/{nodes} sim nodes became Ready")
        await asyncio.sleep(1.0)


async def measure_scheduling(cluster: Cluster, *, nodes: int, pods: int, concurrency: int = 32,
                             timeout: float = 600.0) -> SchedulingResult:
    res = SchedulingResult(nodes, pods)
    conn = aiohttp.TCPConnector(limit=concurrency + 4)
    async with aiohttp.ClientSession(connector=conn) as session:
        await wait_for_nodes(session, cluster.url, nodes)
        await _namespace(session, cluster.url)
        since = await _revision(session, cluster.url)
        cluster._read_pids()
        sched = cluster.pids.get("scheduler")
        if sched is None:
            raise ClusterError("no scheduler process in the cluster")
        os.kill(sched, signal.SIGSTOP)
        try:
            async with PodWatch(session, cluster.url, since) as watch:
                names = iter(range(pods))
                errors = 0

                async def worker() -> None:
                    nonlocal errors
                    for i in names:
                        async with session.post(f"{cluster.url}/api/v1/namespaces/{NS}/pods",
                                                json=_pod(f"s-{i}")) as r:
                            await r.read()
                            if r.status != 201:
                                errors += 1
                t0 = time.monotonic()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                res.create_seconds = time.monotonic() - t0
                res.create_errors = errors
                t1 = time.monotonic()
                os.kill(sched, signal.SIGCONT)
                await watch.until(lambda: len(watch.bound) >= pods - errors, timeout)
                res.bound = len(watch.bound)
                res.bind_seconds = (max(watch.bound.values()) - t1) if watch.bound else 0.0
                await watch.until(lambda: len(watch.running) >= pods - errors, timeout)
                res.running = len(watch.running)
                res.running_seconds = (max(watch.running.values()) - t1) if watch.running else 0.0
        finally:
            try:
                os.kill(sched, signal.SIGCONT)
            except ProcessLookupError:
                pass
    cluster._read_pids()
    res.rss_mib = {name: v for name, pid in sorted(cluster.pids.items()) if (v := rss_mib(pid)) is not None}
    return res
