"""A throwaway cluster for the bench, started the way `jetkube up` starts one.

The bench runs the same supervisor `jetkube up --detach` runs in the background
(`python -m ops.cli --home <tmp> up --port <free> --nats-port <free>`), but as its own child with
the parent-death signal set: nats-server and the API server are separate processes exactly as in
a real cluster, and a bench killed with -9 still takes them down (the supervisor's children die
with it). `stop()` is what `jetkube down` does: SIGTERM to the supervisor, then wait.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bus.process import die_with_parent, terminate
from bus.server import free_port


class ClusterError(RuntimeError):
    """The cluster did not come up (the message names the log to read)."""


def _log_tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n    ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Cluster:
    home: Path
    sync_always: bool = False
    api_port: int = 0
    nats_port: int = 0
    args: tuple[str, ...] = ("--nodes", "0")  # `jetkube up` options; by default a control plane only
    proc: asyncio.subprocess.Process | None = field(default=None, init=False)
    pids: dict[str, int] = field(default_factory=dict, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "ops.cli", "--home", str(self.home), "up",
                "--port", str(self.api_port), "--nats-port", str(self.nats_port)]
        if self.sync_always:
            argv.append("--sync-always")
        return argv + list(self.args)

    async def start(self, timeout: float = 90.0) -> None:
        self.api_port = self.api_port or free_port()
        self.nats_port = self.nats_port or free_port()
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / "bench-supervisor.log", "ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv(), stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL,
                cwd=str(Path(__file__).resolve().parents[2]), preexec_fn=die_with_parent)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                if self.proc.returncode is not None:
                    raise ClusterError(f"the cluster did not start (supervisor exit {self.proc.returncode}):\n    "
                                       + _log_tail(self.logs / "bench-supervisor.log")
                                       + f"\n  apiserver log:\n    {_log_tail(self.logs / 'apiserver.log')}")
                if self._read_pids() and await _ready(session, self.url):
                    return
                if loop.time() > deadline:
                    raise ClusterError(f"the cluster was not ready within {timeout:.0f}s; see {self.logs}")
                await asyncio.sleep(0.2)

    def _read_pids(self) -> bool:
        try:
            state = json.loads((self.home / "state.json").read_text())
        except (OSError, ValueError):
            return False
        self.pids = {name: int(p["pid"]) for name, p in state.get("processes", {}).items()}
        return "apiserver" in self.pids and "nats" in self.pids

    @property
    def apiserver_pid(self) -> int:
        self._read_pids()  # the supervisor may have restarted it
        return self.pids["apiserver"]

    async def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the supervisor (it stops the API server, then nats-server); kill it if it hangs."""
        proc, self.proc = self.proc, None
        await terminate(proc, grace)  # a killed supervisor's children get SIGTERM (parent-death signal)

    def stop_now(self) -> None:
        """Synchronous last resort (interpreter shutting down): SIGTERM the supervisor by pid."""
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    async def __aenter__(self) -> Cluster:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _ready(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with session.get(f"{url}/readyz", timeout=aiohttp.ClientTimeout(total=2)) as r:
            return r.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (from /proc), None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, IndexError, ValueError):
        return None


def host_busy_seconds() -> float | None:
    """CPU time all cores of the machine spent busy so far (from /proc/stat), None if unknown."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds each named process — and the whole machine (`host`) — used between the load
    generator's `phase start` and `phase end`; what the machine used beyond ours is other load."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        now = {n: cpu_seconds(p) for n, p in self.pids.items()}
        now["host"] = host_busy_seconds()
        return {n: v for n, v in now.items() if v is not None}

    def phase(self, name: str) -> None:
        if name == "start":
            self.start = self._now()
        elif name == "end":
            self.used = {n: v - self.start[n] for n, v in self._now().items() if n in self.start}

    def others(self, loadgen_cpu: float) -> float | None:
        """CPU seconds used by processes that are not the cluster's or the load generator's."""
        if "host" not in self.used:
            return None
        return max(0.0, self.used["host"] - loadgen_cpu - sum(v for n, v in self.used.items() if n != "host"))
