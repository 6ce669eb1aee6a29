"""A large Deployment on simulated nodes: seconds to fully available, seconds to roll to a new image.

The cluster is `jetkube up --runtime sim --nodes N` (controllers, scheduler, one sim kubelet
process). In the same run, the reference: the same number of bare pods created over HTTP by 32
clients, until all are Running — what the API server, scheduler and kubelets take without any
controller. Then the bare pods are deleted and a Deployment of that many replicas is created;
a watch on its pods counts Running ones, the Deployment's status says when it is available.
Then its image changes and the rollout is timed until the new ReplicaSet is fully available and
the old one has no pods. Reconciles/s come from the controller manager's counters
(`<prefix>.controllers.stats` over NATS) before and after each phase.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import nats

from ops.bench.cluster import Cluster, ClusterError
from ops.bench.pods import NS, _namespace, wait_for_nodes

DEPLOY = "bench-web"


def _template(image: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": DEPLOY}},
            "spec": {"terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "web", "image": image,
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}


def _deployment(replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": DEPLOY},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": DEPLOY}},
                     "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "template": _template("nginx:1.22")}}


@dataclass
class RolloutResult:
    nodes: int
    replicas: int
    bare_seconds: float = 0.0  # the reference: bare pods created and Running
    available_seconds: float = 0.0
    rollout_seconds: float = 0.0
    syncs: dict[str, dict[str, int]] = field(default_factory=dict)  # phase → controller → reconciles
    reconcile_rate: dict[str, float] = field(default_factory=dict)  # phase → reconciles/s (all controllers)
    # `jetkube replay` of the cluster's whole log afterwards (the sandbox re-runs all of the above)
    replay_seconds: float = 0.0  # the command's wall time: read the log, run the sandbox, report
    recorded_seconds: float = 0.0  # the span of the log it replayed
    replay_entries: int = 0
    replay_differences: int = 0


class _Stats:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.nc: Any = None
        self.prefix = json.loads((cluster.home / "cluster.json").read_text()).get("prefix", "jk")

    async def __aenter__(self) -> _Stats:
        self.nc = await nats.connect(f"nats://127.0.0.1:{self.cluster.nats_port}", name="bench-stats")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.nc.close()

    async def syncs(self) -> dict[str, int]:
        msg = await self.nc.request(f"{self.prefix}.controllers.stats", b"", timeout=5)
        return {name: int(v["syncs"]) for name, v in json.loads(msg.data).items()}


async def _get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as r:
        return await r.json()


async def _until(what: str, check: Any, timeout: float, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(every)


async def measure_rollout(cluster: Cluster, *, nodes: int, replicas: int, concurrency: int = 32,
                          timeout: float = 900.0) -> RolloutResult:
    res = RolloutResult(nodes, replicas)
    base = f"{cluster.url}/api/v1/namespaces/{NS}/pods"
    dep_url = f"{cluster.url}/apis/apps/v1/namespaces/{NS}/deployments/{DEPLOY}"
    conn = aiohttp.TCPConnector(limit=concurrency + 4)
    async with aiohttp.ClientSession(connector=conn) as session, _Stats(cluster) as stats:
        await wait_for_nodes(session, cluster.url, nodes)
        await _namespace(session, cluster.url)

        async def running(selector: str, want: int) -> bool:
            items = (await _get(session, f"{base}?labelSelector={selector}"))["items"]
            return sum(1 for p in items if (p.get("status") or {}).get("phase") == "Running"
                       and not p["metadata"].get("deletionTimestamp")) >= want

        # reference: bare pods, no controller
        names = iter(range(replicas))

        async def worker() -> None:
            for i in names:
                body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"bare-{i}", "labels": {"bench": "bare"}},
                        "spec": _template("nginx:1.22")["spec"]}
                async with session.post(base, json=body) as r:
                    await r.read()
        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        await _until("bare pods Running", lambda: running("bench=bare", replicas), timeout, every=0.5)
        res.bare_seconds = time.monotonic() - t0
        async with session.delete(f"{base}?labelSelector=bench=bare") as r:
            await r.read()

        async def gone() -> bool:
            return not (await _get(session, f"{base}?labelSelector=bench=bare"))["items"]
        await _until("bare pods gone", gone, timeout, every=0.5)

        async def phase(name: str, start: Any, done: Any) -> float:
            before = await stats.syncs()
            t = time.monotonic()
            await start()
            await _until(name, done, timeout, every=0.3)
            secs = time.monotonic() - t
            after = await stats.syncs()
            res.syncs[name] = {c: after.get(c, 0) - before.get(c, 0) for c in after}
            res.reconcile_rate[name] = sum(res.syncs[name].values()) / secs if secs > 0 else 0.0
            return secs

        async def create() -> None:
            async with session.post(f"{cluster.url}/apis/apps/v1/namespaces/{NS}/deployments",
                                    json=_deployment(replicas)) as r:
                if r.status != 201:
                    raise ClusterError(f"creating the Deployment: HTTP {r.status} {await r.text()}")

        def complete(image: str) -> Any:
            async def check() -> bool:
                d = await _get(session, dep_url)
                st, gen = d.get("status") or {}, d["metadata"].get("generation", 1)
                if d["spec"]["template"]["spec"]["containers"][0]["image"] != image:
                    return False
                return bool(st.get("observedGeneration", 0) >= gen and st.get("updatedReplicas") == replicas
                            and st.get("availableReplicas") == replicas and st.get("replicas") == replicas)
            return check

        res.available_seconds = await phase("available", create, complete("nginx:1.22"))

        async def roll() -> None:
            patch = {"spec": {"template": _template("nginx:1.22.1")}}
            async with session.patch(dep_url, data=json.dumps(patch),
                                     headers={"Content-Type": "application/merge-patch+json"}) as r:
                if r.status != 200:
                    raise ClusterError(f"patching the Deployment: HTTP {r.status} {await r.text()}")
        res.rollout_seconds = await phase("rollout", roll, complete("nginx:1.22.1"))
    return res


async def measure_replay(cluster: Cluster, res: RolloutResult) -> None:
    """`jetkube replay` over the cluster's whole log (bare pods, Deployment, rollout), timed."""
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ops.cli", "--home", str(cluster.home),
                                                "replay", "-o", "json", "--save", str(cluster.home / "replayed.jkar"),
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    res.replay_seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise ClusterError(f"jetkube replay failed: {err.decode(errors='replace').strip()[-300:]}")
    report = json.loads(out)
    window = report["window"]
    res.recorded_seconds = window["to_time"] - window["from_time"]
    res.replay_entries = window["entries"]
    res.replay_differences = len(report["differences"])
