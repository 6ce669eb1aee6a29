"""ConfigMap creates over HTTP: 32 keep-alive clients in a separate process against a cluster
started as `jetkube up` starts one. Besides the client's figures it records how much CPU the
API server and nats-server burnt during the timed phase (from /proc), and — with `--profile` —
runs one more, untimed, create run with py-spy attached to the API server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.bench import load
from ops.bench.cluster import Cluster, CpuMeter
from ops.bench.profile import Profile, record


@dataclass
class CreateRun:
    result: dict[str, Any]
    cpu: dict[str, float] = field(default_factory=dict)  # process (and "host") → CPU seconds, timed phase

    @property
    def rate(self) -> float:
        return float(self.result["rate"])

    def cpu_share(self, name: str) -> float | None:
        """CPU of `name` during the timed phase as a fraction of one core ("loadgen" and
        "others" — the machine's load beyond the bench — included)."""
        secs = float(self.result["seconds"])
        if secs <= 0:
            return None
        loadgen = float(self.result.get("loadgen_cpu_seconds", 0.0))
        if name == "loadgen":
            return loadgen / secs
        if name == "others":
            if "host" not in self.cpu:
                return None
            ours = loadgen + sum(v for n, v in self.cpu.items() if n != "host")
            return max(0.0, self.cpu["host"] - ours) / secs
        return self.cpu[name] / secs if name in self.cpu else None


def _argv(cluster: Cluster, *, count: int, concurrency: int, warmup: int, max_seconds: float,
          prefix: str) -> list[str]:
    return ["creates", "--url", cluster.url, "--count", str(count), "--concurrency", str(concurrency),
            "--warmup", str(warmup), "--max-seconds", str(max_seconds), "--prefix", prefix]


async def measure(cluster: Cluster, *, count: int, concurrency: int, warmup: int, max_seconds: float,
                  prefix: str) -> CreateRun:
    meter = CpuMeter({"apiserver": cluster.apiserver_pid, "nats": cluster.pids["nats"]})
    result = await load.spawn(_argv(cluster, count=count, concurrency=concurrency, warmup=warmup,
                                    max_seconds=max_seconds, prefix=prefix),
                              timeout=max_seconds + 120, on_phase=meter.phase)
    return CreateRun(result, meter.used)


async def profiled(cluster: Cluster, out_dir: Path, *, seconds: float, concurrency: int,
                   prefix: str) -> tuple[CreateRun, Profile]:
    """A create run lasting `seconds` (+1) with py-spy sampling the API server meanwhile."""
    pid = cluster.apiserver_pid
    meter = CpuMeter({"apiserver": pid, "nats": cluster.pids["nats"]})
    started: list[asyncio.Task[Profile]] = []

    def on_phase(name: str) -> None:
        meter.phase(name)
        if name == "start":
            started.append(asyncio.create_task(record(pid, out_dir, seconds)))

    try:
        result = await load.spawn(_argv(cluster, count=10_000_000, concurrency=concurrency, warmup=200,
                                        max_seconds=seconds + 1, prefix=prefix),
                                  timeout=seconds + 120, on_phase=on_phase)
        prof = await started[0] if started else Profile(out_dir / "none.svg", out_dir / "none.txt",
                                                        errors=["the load never started"])
    finally:
        for t in started:
            if not t.done():
                t.cancel()
    return CreateRun(result, meter.used), prof
