"""Watch latency: `watchers` HTTP watches on ConfigMaps (in the load generator's process) and
creates at a steady rate; latency = receive time − the creation time carried in the object.
"""

from __future__ import annotations

from typing import Any

from ops.bench import load
from ops.bench.cluster import Cluster, CpuMeter


async def measure(cluster: Cluster, *, watchers: int, rate: float, count: int, prefix: str,
                  settle: float = 15.0) -> dict[str, Any]:
    """The load generator's result, plus `cpu`: CPU seconds per process in the timed phase
    (`others`: the machine's load beyond the bench)."""
    argv = ["watch", "--url", cluster.url, "--watchers", str(watchers), "--rate", str(rate),
            "--count", str(count), "--prefix", prefix, "--settle", str(settle)]
    meter = CpuMeter({"apiserver": cluster.apiserver_pid, "nats": cluster.pids["nats"]})
    result = await load.spawn(argv, timeout=count / rate + settle + 120, on_phase=meter.phase)
    result["cpu"] = dict(meter.used)
    others = meter.others(float(result.get("loadgen_cpu_seconds", 0.0)))
    if others is not None:
        result["cpu"]["others"] = others
    return result
