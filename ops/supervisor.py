"""The supervisor behind `jetkube up`: starts the cluster's processes in order, restarts any that
die (with backoff), and stops them in reverse order on SIGTERM/Ctrl-C.

Order: nats-server (waits for its port), the API server (waits for /readyz), the controller
manager and the scheduler (wait until they stay up), then the kubelets (wait until their Node is
registered): one process per docker node, one process for all simulated nodes. Each child gets
the parent-death signal, so a supervisor killed with -9 does not leave orphans behind. What runs
where is written to the home's `state.json` for `jetkube status` and `jetkube down`.

Once NATS is up the supervisor opens its own bus connection: it writes a restore into the empty
store first when `up --restore` asked for one, and takes the scheduled snapshots. SIGUSR1 (`jetkube
down --keep-containers`) stops everything but leaves the pods' containers running for the next
`up` (or a restored cluster) to adopt.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import structlog

from bus.connection import Bus
from bus.process import die_with_parent, terminate
from bus.server import NatsServer, wait_for_port
from ops import dockerhost, kubeconfig
from ops.home import ClusterSettings, Home, RunState
from replay.restore import Restored
from replay.snapshots import Scheduler
from replay.state import State

log = structlog.get_logger("supervisor")


@dataclass
class Child:
    name: str
    argv: list[str]
    ready: Callable[[], Awaitable[None]]
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    env: dict[str, str] = field(default_factory=dict)


async def wait_alive(proc_of: Callable[[], asyncio.subprocess.Process | None], seconds: float = 0.5) -> None:
    """Ready = still running after a moment (components without an HTTP port)."""
    await asyncio.sleep(seconds)
    proc = proc_of()
    if proc is not None and proc.returncode is not None:
        raise RuntimeError(f"exited with code {proc.returncode}")


async def wait_node(api_url: str, node: str, timeout: float = 60.0) -> None:
    """Until the kubelet has registered its Node."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as session:
        while loop.time() < deadline:
            try:
                async with session.get(f"{api_url}/api/v1/nodes/{node}", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 200:
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"node {node} did not register within {timeout}s")


async def wait_ready(url: str, timeout: float = 60.0, proc: asyncio.subprocess.Process | None = None) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            if proc is not None and proc.returncode is not None:
                raise RuntimeError(f"exited with code {proc.returncode} before it was ready")
            try:
                async with session.get(f"{url}/readyz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 200:
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            if loop.time() > deadline:
                raise TimeoutError(f"{url} was not ready within {timeout}s")
            await asyncio.sleep(0.1)


class Supervisor:
    def __init__(self, home: Home, settings: ClusterSettings, *, restore: State | None = None,
                 on_restored: Callable[[Restored], None] | None = None) -> None:
        self.home = home
        self.settings = settings
        self.restore = restore  # written into the (empty) store once NATS is up, before anything else
        self.on_restored = on_restored
        self.keep_containers = False  # SIGUSR1: stop, but leave the pods' containers running
        self.snapshots: Scheduler | None = None
        self.bus: Bus | None = None
        self.stop_requested = asyncio.Event()
        self.children: list[Child] = []
        self.api_url = f"http://127.0.0.1:{settings.api_port}"

    def _children(self) -> list[Child]:
        nats = NatsServer(store_dir=self.home.nats_dir, port=self.settings.nats_port, sync_always=self.settings.sync_always)
        nats_url = nats.url
        children = [Child("nats", nats.argv(), lambda: wait_for_port("127.0.0.1", self.settings.nats_port, 20))]
        replicas = max(self.settings.apiservers, 1)
        for i in range(replicas):
            argv = [sys.executable, "-m", "components.apiserver", "--nats", nats_url, "--prefix", self.settings.prefix,
                    "--port", str(self.settings.api_port), "--service-cidr", self.settings.service_cidr,
                    "--default-not-ready-toleration-seconds", str(self.settings.toleration_seconds),
                    "--default-unreachable-toleration-seconds", str(self.settings.toleration_seconds),
                    "--history", str(self.settings.history), "--deleted-horizon", f"{self.settings.deleted_horizon:g}"]
            if replicas > 1:  # one port for all, and reads that see every replica's writes
                argv += ["--reuse-port", "--consistent-reads"]
            children.append(Child("apiserver" if replicas == 1 else f"apiserver-{i}", argv,
                                  lambda: wait_ready(self.api_url)))
        common = ["--nats", nats_url, "--prefix", self.settings.prefix]
        grace = ["--node-monitor-grace-period", f"{self.settings.node_monitor_grace_period:g}"]
        children.append(self._alive_child("controllers", [sys.executable, "-m", "components.controllers", *common,
                                                          *grace]))
        children.append(self._alive_child("scheduler", [sys.executable, "-m", "components.scheduler", *common]))
        children += self._kubelets(common)
        return children

    def _alive_child(self, name: str, argv: list[str]) -> Child:
        child = Child(name, argv, lambda: asyncio.sleep(0))
        child.ready = lambda: wait_alive(lambda: child.proc)
        return child

    def _kubelets(self, common: list[str]) -> list[Child]:
        s = self.settings
        if s.nodes < 1:
            return []
        base = [sys.executable, "-m", "components.kubelet", *common, "--cluster-cidr", s.cluster_cidr,
                "--root-dir", str(self.home.kubelet_dir)]
        if s.runtime == "sim":
            # simulated pod IPs are never routed: a /8 gives each of thousands of nodes a full /24
            base[base.index("--cluster-cidr") + 1] = "10.0.0.0/8"
            argv = [*base, "--runtime", "sim", "--nodes", str(s.nodes), "--node-name", "sim"]
            return [Child("kubelet-sim", argv, lambda: wait_node(self.api_url, "sim-0"))]
        kubelets = []
        for i in range(s.nodes):
            node = f"node-{i + 1}"
            argv = [*base, "--runtime", "docker", "--node-name", node, "--pod-cidr", dockerhost.pod_cidr(s.cluster_cidr, i),
                    "--network", dockerhost.network_name(s.prefix)]
            kubelets.append(Child(f"kubelet-{node}", argv, functools.partial(wait_node, self.api_url, node)))
        return kubelets

    async def _spawn(self, child: Child) -> None:
        self.home.logs.mkdir(parents=True, exist_ok=True)
        with open(self.home.logs / f"{child.name}.log", "ab") as out:
            child.proc = await asyncio.create_subprocess_exec(
                *child.argv, stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL,
                env={**os.environ, **child.env}, preexec_fn=die_with_parent)
        try:
            ready = asyncio.ensure_future(child.ready())
            died = asyncio.ensure_future(child.proc.wait())
            done, _ = await asyncio.wait([ready, died], timeout=90, return_when=asyncio.FIRST_COMPLETED)
            if ready in done:
                ready.result()
            else:
                ready.cancel()
                if not done:
                    raise TimeoutError(f"{child.name} was not ready in time; see {self.home.logs / (child.name + '.log')}")
                raise RuntimeError(f"{child.name} exited (code {child.proc.returncode}) before it was ready; "
                                   f"see {self.home.logs / (child.name + '.log')}")
        finally:
            died.cancel()
        self._write_state()
        log.info("started", child=child.name, pid=child.proc.pid)

    def _write_state(self) -> None:
        self.home.write_state(RunState(
            supervisor_pid=os.getpid(),
            processes={c.name: {"pid": c.proc.pid, "command": " ".join(c.argv[:3]) + " …",
                                "log": str(self.home.logs / f"{c.name}.log"), "restarts": c.restarts}
                       for c in self.children if c.proc is not None and c.proc.returncode is None}))

    async def run(self, on_ready: Callable[[], None] | None = None) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_requested.set)
        loop.add_signal_handler(signal.SIGUSR1, self._stop_keeping_containers)
        self.children = self._children()
        try:
            for child in self.children:
                await self._spawn(child)
                if child.name == "nats":
                    await self._open_bus()
            await self._start_snapshots()
            kubeconfig.write(self.home.kubeconfig, self.api_url)
            if on_ready:
                on_ready()
            await self._watch_children()
            return 0
        except (RuntimeError, TimeoutError) as e:
            log.error("cluster failed to start", error=str(e))
            print(f"jetkube: {e}", file=sys.stderr)
            return 1
        finally:
            await self._stop_all()

    def _stop_keeping_containers(self) -> None:
        self.keep_containers = True
        self.stop_requested.set()

    async def _open_bus(self) -> None:
        """The supervisor's own connection: the restore (if asked) and the snapshot schedule."""
        from replay.restore import RestoreError, restore
        url = f"nats://127.0.0.1:{self.settings.nats_port}"
        self.bus = await Bus(url, prefix=self.settings.prefix, name="jetkube-supervisor").connect()
        if self.restore is not None:
            try:
                done = await restore(self.bus, self.restore)
            except RestoreError as e:
                raise RuntimeError(f"restore refused: {e}") from None
            log.info("restored", revision=done.revision, digest=done.digest, seconds=round(done.seconds, 2))
            if self.on_restored:
                self.on_restored(done)

    async def _start_snapshots(self) -> None:
        if self.bus is not None and self.settings.snapshot_every > 0:
            self.snapshots = Scheduler(self.bus, every=self.settings.snapshot_every, keep=self.settings.snapshot_keep)
            await self.snapshots.start()

    async def _watch_children(self) -> None:
        while not self.stop_requested.is_set():
            waits = {asyncio.ensure_future(c.proc.wait()): c for c in self.children if c.proc is not None}
            stop = asyncio.ensure_future(self.stop_requested.wait())
            done, pending = await asyncio.wait([*waits, stop], return_when=asyncio.FIRST_COMPLETED)
            for p in pending:
                p.cancel()
            if stop in done:
                return
            for fut in done:
                child = waits[fut]
                child.restarts += 1
                delay = min(2 ** min(child.restarts, 5), 30)
                log.warning("child exited; restarting", child=child.name, code=fut.result(), in_seconds=delay)
                try:
                    await asyncio.wait_for(self.stop_requested.wait(), delay)
                    return
                except asyncio.TimeoutError:
                    pass
                try:
                    await self._spawn(child)
                except (RuntimeError, TimeoutError) as e:
                    log.error("restart failed", child=child.name, error=str(e))

    async def _stop_all(self, grace: float = 10.0) -> None:
        if self.snapshots is not None:
            await self.snapshots.stop()
        if self.bus is not None:
            await self.bus.close()
        for child in reversed(self.children):
            if child.proc is None or child.proc.returncode is not None:
                continue
            await terminate(child.proc, grace)
            log.info("stopped", child=child.name)
        if self.settings.runtime == "docker" and self.settings.nodes > 0 and not self.keep_containers:
            # Kubelets leave containers running when they stop (a restarted kubelet adopts them);
            # the cluster going down takes its containers with it, unless told to keep them.
            try:
                client = await asyncio.to_thread(dockerhost.connect, 30)
                n = await asyncio.to_thread(dockerhost.remove_cluster_objects, client, self.settings.prefix)
                log.info("removed the cluster's containers", containers=n)
            except dockerhost.DockerUnavailable as e:
                log.warning("could not remove the cluster's containers", error=str(e))
        self.home.clear_state()
