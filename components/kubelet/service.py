"""The kubelet process: one docker node, or many simulated nodes, as one service.

Start-up: reach the runtime (no dockerd → `DockerUnavailable`, one clear line from the CLI), make
sure the cluster's docker network exists, connect to the bus and wait for the API server,
register each Node (capacity, labels, addresses, pod CIDR, nodeInfo) and its heartbeat Lease,
then follow the pods bound to our nodes. Running: a shared work queue syncs pods (`node.py`); one
loop renews every node's Lease (spread over the renew period, bounded concurrency); one loop
posts node status when it changed (a node lifecycle controller set Ready=Unknown: we re-assert
Ready) or when the last report is old; docker events and a periodic resync catch container
deaths and orphans. Stop: every loop ends, the pods' containers keep running, so a kubelet
started again with the same flags adopts them.

The pod feed: one Informer over all pods with `keep = spec.nodeName in our nodes`, shared by every
node of the process. Each kubelet process therefore still parses every pod of the cluster; a
per-node subject index (or a field-selector watch served by the API server) is the alternative,
left for when a measurement at 1,000 nodes asks for it.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import importlib
import ipaddress
import time
from collections.abc import Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any

import nats.errors
import structlog

from bus.apiclient import ApiClient, ApiReplyError
from bus.connection import Bus
from bus.informer import Informer
from bus.log import Op
from bus.recorder import EventRecorder
from components.kubelet import hostinfo
from components.kubelet.backoff import BackoffPolicy
from components.kubelet.config import KubeletConfig
from components.kubelet.docker_runtime import DockerRuntime, NetworkError
from components.kubelet.ipam import PodIPs, node_subnets, subnet_at
from components.kubelet.node import NodeAgent, Shared
from components.kubelet.nodestatus import (HEALTHY, LEASE_NAMESPACE, NodeFacts, lease_object, lease_renewal,
                                           node_object, node_status, registration_patch)
from components.kubelet.resolve import pick_container, pick_instance, pod_not_found
from components.kubelet.runtime import Runtime
from components.kubelet.sim_runtime import SimRuntime
from components.workqueue import ShutDown, WorkQueue
from core.errors import NotFound
from core.keys import KeyFilter
from core.kinds import Stream

log = structlog.get_logger("kubelet")

LEASES = "leases.coordination.k8s.io"
Obj = dict[str, Any]


class ConfigurationError(Exception):
    """The flags do not describe a node that can run (the message says why)."""


class Kubelet:
    def __init__(self, config: KubeletConfig) -> None:
        self.config = config
        names = config.names()
        self.bus = Bus(config.nats_url, prefix=config.prefix, name=f"jetkube-kubelet-{names[0]}")
        self.api: ApiClient | None = None
        self.agents: dict[str, NodeAgent] = {}
        self.facts: dict[str, NodeFacts] = {}
        self.node_uids: dict[str, str] = {}
        self.posted: dict[str, Obj] = {}  # node → the Node our last status post returned
        self.queue: WorkQueue[tuple[str, str]] = WorkQueue(name="kubelet")
        self.pod_informer: Informer | None = None
        self.node_informer: Informer | None = None
        self.recorders: list[EventRecorder] = []
        self.stream_server: Any = None
        self.failed: asyncio.Future[BaseException] | None = None
        self.ready = asyncio.Event()
        self._runtimes: list[Runtime] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._side: set[asyncio.Task[None]] = set()
        self._dirty: set[str] = set()
        self._unregistered: set[str] = set()
        self._next_report: dict[str, float] = {}
        self._started = False
        self.clock = time.time

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.failed = asyncio.get_running_loop().create_future()
        cfg = self.config
        names = cfg.names()
        docker_rt: DockerRuntime | None = None
        subnet = cfg.cluster_cidr
        gateway = ""
        if cfg.runtime == "docker":
            docker_rt = DockerRuntime(prefix=cfg.prefix, node=names[0], network=cfg.network_name,
                                      threads=cfg.docker_threads)
            await docker_rt.connect()  # DockerUnavailable: the CLI prints it and exits 1
            self._runtimes.append(docker_rt)
            try:
                subnet, gateway = await docker_rt.ensure_network(cfg.cluster_cidr)
            except NetworkError as e:
                raise ConfigurationError(str(e)) from e
        elif cfg.runtime != "sim":
            raise ConfigurationError(f"unknown runtime {cfg.runtime!r}: docker or sim")
        try:
            await asyncio.wait_for(self.bus.connect(provision_streams=False), cfg.connect_timeout)
        except (asyncio.TimeoutError, OSError, nats.errors.Error) as e:
            raise ConfigurationError(f"cannot reach NATS at {cfg.nats_url} within {cfg.connect_timeout:g}s "
                                     f"({type(e).__name__}); is the cluster up (`jetkube up`)?") from e
        assert self.bus.nc is not None
        actor = f"system:node:{names[0]}" if cfg.runtime == "docker" else "system:kubelet-sim"
        self.api = api = ApiClient(self.bus.nc, cfg.prefix, actor)
        await self._wait_for_api()
        shared = Shared(api=api, enqueue=lambda n, u: self.queue.add((n, u)),
                        enqueue_after=lambda n, u, d: self.queue.add_after((n, u), d),
                        policy=BackoffPolicy(cfg.backoff_base, cfg.backoff_cap), root_dir=Path(cfg.root_dir),
                        registries=tuple(cfg.registries), status_slots=asyncio.Semaphore(cfg.write_concurrency * 2),
                        clock=self.clock)
        if docker_rt is not None:
            await self._docker_node(names[0], docker_rt, shared, subnet, gateway)
        else:
            await self._sim_nodes(names, shared)
        await self._register_all()
        objects = self.bus.logs[Stream.OBJECTS]
        mine = set(self.agents)
        self.node_informer = Informer(objects, KeyFilter("", "nodes"), name="kubelet-nodes",
                                      keep=lambda n: (n.get("metadata") or {}).get("name") in mine)
        self.node_informer.add_handler(self._on_node)
        self.pod_informer = Informer(objects, KeyFilter("", "pods"), name="kubelet-pods",
                                     keep=lambda p: (p.get("spec") or {}).get("nodeName") in mine)
        self.pod_informer.add_handler(self._on_pod)
        await self.node_informer.start()
        await self.pod_informer.start()
        for informer in (self.node_informer, self.pod_informer):
            assert informer.task is not None
            informer.task.add_done_callback(self._guard)
        for agent in self.agents.values():
            await agent.restore()
        for r in self.recorders:
            await r.start()
        workers = cfg.workers or (32 if cfg.runtime == "docker" else 256)
        for i in range(workers):
            self._root(self._worker(), f"kubelet-worker-{i}")
        self._root(self._lease_loop(), "kubelet-leases")
        self._root(self._node_status_loop(), "kubelet-node-status")
        if docker_rt is not None:
            self._root(self._resync_loop(), "kubelet-resync")
            agent = self.agents[names[0]]

            def changed(uid: str) -> None:
                self.queue.add((agent.name, uid))
                self.queue.add_after((agent.name, uid), 1.0)  # and once more, in case docker lagged
            docker_rt.watch(changed)
        await self._serve_streams()
        self.ready.set()
        log.info("kubelet ready", nodes=len(self.agents), runtime=cfg.runtime,
                 first=names[0], pod_cidr=self.agents[names[0]].pod_cidr)

    def _runtime_changed(self, node: str, uid: str) -> None:
        self.queue.add((node, uid))

    async def stop(self) -> None:
        """Stop following and renewing; leave every container running (a restart adopts them)."""
        self.ready.clear()
        # Close the queue first: a worker whose cancellation got lost (asyncio.wait_for in a nats
        # request can swallow one before Python 3.12) finds it closed and ends anyway.
        self.queue.shutdown()
        tasks, self._tasks = self._tasks, []
        side, self._side = set(self._side), set()
        for t in [*tasks, *side]:
            t.cancel()
        if tasks or side:
            _, stuck = await asyncio.wait([*tasks, *side], timeout=10.0)
            for t in stuck:
                log.warning("task did not stop", task=t.get_name())
        for informer in (self.pod_informer, self.node_informer):
            if informer is not None:
                await informer.stop()
        if self.stream_server is not None:
            try:
                await self.stream_server.stop()
            except Exception as e:
                log.warning("stream server did not stop cleanly", error=str(e))
            self.stream_server = None
        for r in self.recorders:
            await r.stop(flush=1.0)
        for rt in self._runtimes:
            await rt.close()
        self._runtimes = []
        await self.bus.close()
        self._started = False

    async def __aenter__(self) -> Kubelet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _root(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._guard)
        self._tasks.append(task)

    def _guard(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self.failed is None or self.failed.done() or self.queue.shutting_down:
            return  # stopping (workers end when the queue shuts down)
        exc = task.exception() or RuntimeError(f"{task.get_name()} ended")
        log.error("root task died; the kubelet stops", task=task.get_name(), error=repr(exc))
        self.failed.set_result(exc)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    # -- start-up helpers -------------------------------------------------------------------------
    async def _wait_for_api(self) -> None:
        assert self.api is not None
        tries = 0
        while True:
            try:
                await self.api.get("namespaces", "", LEASE_NAMESPACE)
                return
            except ApiReplyError:
                return  # the API answers; a missing namespace shows up when the Lease is written
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError, asyncio.TimeoutError):
                if tries % 20 == 0:
                    log.info("waiting for the API server", prefix=self.config.prefix)
                tries += 1
                await asyncio.sleep(0.5)

    async def _docker_node(self, name: str, rt: DockerRuntime, shared: Shared, subnet: str, gateway: str) -> None:
        cfg = self.config
        assert self.api is not None
        pod_cidr = cfg.pod_cidr or await self._free_pod_cidr(name, subnet)
        try:
            inside = ipaddress.ip_network(pod_cidr, strict=False).subnet_of(
                ipaddress.ip_network(subnet, strict=False))  # type: ignore[arg-type]
        except (ValueError, TypeError):
            inside = False
        if not inside:
            raise ConfigurationError(f"--pod-cidr {pod_cidr} is not inside the docker network "
                                     f"{cfg.network_name}'s range {subnet}")
        capacity = await asyncio.to_thread(hostinfo.capacity, cfg.root_dir, cpu=cfg.cpu, memory=cfg.memory,
                                           max_pods=cfg.max_pods)
        info = await asyncio.to_thread(hostinfo.node_info)
        node_ip = cfg.node_ip or gateway
        facts = NodeFacts(name=name, ip=node_ip, pod_cidr=pod_cidr, capacity=capacity,
                          runtime_version=await rt.version(), architecture=info["architecture"],
                          os_image=info["os_image"], kernel_version=info["kernel_version"],
                          machine_id=info["machine_id"], boot_id=info["boot_id"], system_uuid=info["system_uuid"])
        recorder = EventRecorder(self.api, "kubelet", host=name)
        self.recorders.append(recorder)
        self.facts[name] = facts
        self.agents[name] = NodeAgent(name, rt, shared, pod_cidr=pod_cidr, node_ip=node_ip,
                                      allocatable=capacity, recorder=recorder)
        Path(cfg.root_dir).mkdir(parents=True, exist_ok=True)

    async def _free_pod_cidr(self, name: str, subnet: str) -> str:
        """The Node's own pod CIDR if it has one, else the first /24 of the range no Node holds."""
        assert self.api is not None
        nodes = (await self.api.list("nodes"))["items"]
        used = set()
        for n in nodes:
            cidr = (n.get("spec") or {}).get("podCIDR")
            if n["metadata"]["name"] == name and cidr:
                return str(cidr)
            if cidr:
                used.add(str(cidr))
        i = 0
        while True:
            try:
                candidate = subnet_at(subnet, i, 24)
            except ValueError as e:
                raise ConfigurationError(f"no free /24 pod range left in {subnet}: {e}") from e
            if candidate not in used:
                return candidate
            i += 1

    async def _sim_nodes(self, names: list[str], shared: Shared) -> None:
        cfg = self.config
        assert self.api is not None
        existing = {n["metadata"]["name"]: (n.get("spec") or {}).get("podCIDR")
                    for n in (await self.api.list("nodes"))["items"]}
        try:
            subnets = node_subnets(cfg.cluster_cidr, len(names))
        except ValueError as e:
            raise ConfigurationError(str(e)) from e
        base = {"cpu": cfg.cpu or "32", "memory": cfg.memory or "256Gi", "ephemeral-storage": "1Ti"}
        capped = 0
        for i, name in enumerate(names):
            pod_cidr = existing.get(name) or subnets[i]
            # A node never reports room for more pods than its range has addresses (1,000 nodes in a
            # /16 get a /26 each), so a scheduler does not bind pods that could get no IP.
            room = PodIPs(pod_cidr).capacity
            capacity = {**base, "pods": str(min(cfg.max_pods, room))}
            capped += room < cfg.max_pods
            net = ipaddress.ip_network(pod_cidr, strict=False)
            node_ip = cfg.node_ip if cfg.node_ip and len(names) == 1 else str(net.network_address + 1)
            rt = SimRuntime(name, start_delay=cfg.sim_start_delay, stop_delay=cfg.sim_stop_delay, clock=self.clock)
            rt.watch(functools.partial(self._runtime_changed, name))  # a simulated exit wakes the pod's worker
            self._runtimes.append(rt)
            self.facts[name] = NodeFacts(name=name, ip=node_ip, pod_cidr=pod_cidr, capacity=capacity,
                                         runtime_version=await rt.version(), os_image="jetkube simulated node",
                                         kernel_version="sim", architecture="amd64",
                                         extra_labels={"node.jetkube.io/simulated": "true"})
            self.agents[name] = NodeAgent(name, rt, shared, pod_cidr=pod_cidr, node_ip=node_ip,
                                          allocatable=capacity, recorder=None)
        if capped:
            log.warning("pod ranges too small for --max-pods: those nodes report fewer pods (use a wider "
                        "--cluster-cidr, e.g. 10.0.0.0/8)", nodes=capped, max_pods=cfg.max_pods,
                        cluster_cidr=cfg.cluster_cidr)

    # -- nodes and leases -------------------------------------------------------------------------
    async def _register_all(self) -> None:
        slots = asyncio.Semaphore(self.config.write_concurrency)

        async def one(name: str) -> None:
            async with slots:
                await self._register(name)
        await asyncio.gather(*(one(n) for n in self.agents))

    async def _register(self, name: str) -> None:
        assert self.api is not None
        facts = self.facts[name]
        try:
            node = await self.api.create("nodes", "", node_object(facts))
            created = True
        except ApiReplyError as e:
            if e.code != 409:
                raise
            node = await self.api.get("nodes", "", name)
            patch = registration_patch(facts, node)
            if patch:
                node = await self.api.patch("nodes", "", name, patch)
            created = False
        self.node_uids[name] = str(node["metadata"].get("uid", ""))
        self._unregistered.discard(name)
        await self._post_status(name, node)
        await self._renew(name)
        agent = self.agents[name]
        if agent.recorder is not None:
            agent.recorder.record(node, "Normal", "Starting", "Starting kubelet.")
            if created:
                agent.recorder.record(node, "Normal", "RegisteredNode", f"Node {name} registered")
        log.debug("node registered", node=name, created=created)

    async def _post_status(self, name: str, node: Obj | None = None) -> None:
        assert self.api is not None
        now = self.clock()
        current = node or self.posted.get(name) or {}
        if self.node_informer is not None:
            seen = self.node_informer.get("", name)
            if seen is not None and _rv(seen) >= _rv(current):
                current = seen
        status = node_status(self.facts[name], current.get("status") or {}, now)
        try:
            posted = await self.api.patch("nodes", "", name, {"status": status}, subresource="status")
        except ApiReplyError as e:
            if e.code == 404:
                self._unregistered.add(name)
                return
            raise
        self.posted[name] = posted
        self._next_report[name] = now + self.config.status_report

    async def _renew(self, name: str) -> None:
        assert self.api is not None
        now = self.clock()
        duration = self.config.lease_duration
        try:
            await self.api.patch(LEASES, LEASE_NAMESPACE, name, lease_renewal(name, now, duration))
        except ApiReplyError as e:
            if e.code != 404:
                raise
            try:
                await self.api.create(LEASES, LEASE_NAMESPACE,
                                      lease_object(name, self.node_uids.get(name, ""), now, duration))
            except ApiReplyError as e2:
                if e2.code != 409:
                    raise

    async def _lease_loop(self) -> None:
        loop = asyncio.get_running_loop()
        names = list(self.agents)
        period = self.config.lease_renew
        slots = asyncio.Semaphore(self.config.write_concurrency)
        start = loop.time()
        heap = [(start + period * (i + 1) / len(names), name) for i, name in enumerate(names)]
        heapq.heapify(heap)

        async def renew(name: str) -> None:
            async with slots:
                try:
                    await self._renew(name)
                except (ApiReplyError, nats.errors.Error, asyncio.TimeoutError) as e:
                    log.warning("lease not renewed", node=name, error=str(e))

        while True:
            when, name = heap[0]
            delay = when - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            heapq.heapreplace(heap, (max(when + period, loop.time()), name))
            self._spawn(renew(name))

    def _on_node(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            if old is not None and self._started:
                name = old["metadata"]["name"]
                log.warning("our Node was deleted; registering it again", node=name)
                self._unregistered.add(name)
            return
        name = new["metadata"]["name"]
        ready = next((c for c in (new.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
        want = HEALTHY[-1]
        if ready is None or ready.get("status") != want[1] or ready.get("reason") != want[2]:
            self._dirty.add(name)

    async def _node_status_loop(self) -> None:
        slots = asyncio.Semaphore(self.config.write_concurrency)

        async def post(name: str) -> None:
            async with slots:
                try:
                    if name in self._unregistered:
                        await self._register(name)
                    else:
                        await self._post_status(name)
                except (ApiReplyError, nats.errors.Error, asyncio.TimeoutError) as e:
                    log.warning("node status not posted", node=name, error=str(e))
                    self._dirty.add(name)

        while True:
            await asyncio.sleep(1.0)
            now = self.clock()
            due = {n for n, t in self._next_report.items() if now >= t} | self._dirty | self._unregistered
            self._dirty = set()
            if due:
                await asyncio.gather(*(post(n) for n in due if n in self.agents))

    # -- pods -------------------------------------------------------------------------------------
    def _on_pod(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        pod = new if new is not None else old
        if pod is None:
            return
        agent = self.agents.get(str((pod.get("spec") or {}).get("nodeName", "")))
        if agent is not None:
            agent.on_pod(op, old, new)

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            node, uid = key
            agent = self.agents.get(node)
            try:
                if agent is not None:
                    await agent.sync(uid)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.exception("pod sync failed; retrying", node=node, uid=uid, error=str(e))
                self.queue.add_after(key, max(self.config.backoff_base, 1.0))
            finally:
                self.queue.done(key)

    async def _resync_loop(self) -> None:
        """Every pod is looked at again once per period, spread over the period: a burst of one
        docker listing per pod at once would hold up the pods being started at that moment.
        Containers of pods gone from the log are looked at (removed) at once."""
        period = self.config.resync
        while True:
            await asyncio.sleep(period)
            for agent in self.agents.values():
                known = list(agent.pods)
                try:
                    orphans = [uid for uid in await agent.runtime.pods() if uid not in agent.pods]
                except Exception as e:
                    orphans = []
                    log.warning("runtime listing failed", node=agent.name, error=str(e))
                for uid in orphans:
                    self.queue.add((agent.name, uid))
                for i, uid in enumerate(known):
                    self.queue.add_after((agent.name, uid), period * i / len(known))

    # -- logs and exec ----------------------------------------------------------------------------
    async def _serve_streams(self) -> None:
        streaming = _streaming_module()
        if streaming is None:
            log.info("no stream server in this build: logs and exec are not served")
            return
        self.stream_server = streaming.StreamServer(self.bus.nc, self.config.prefix, self.resolve)
        if hasattr(self.stream_server, "serve_nodes"):  # many (sim) nodes in one round trip
            await self.stream_server.serve_nodes(list(self.agents))
        else:
            for name in self.agents:
                await self.stream_server.serve_node(name)

    async def resolve(self, node: str, namespace: str, pod: str, container: str, previous: bool) -> Any:
        """The stream server's resolver: which container a logs/exec request on `node` means."""
        agent = self.agents.get(node)
        if agent is None:
            raise NotFound(f'nodes "{node}" not found', kind="nodes", name=node)
        obj = agent.find(namespace, pod)
        if obj is None:
            raise pod_not_found(pod)
        spec_c, init = pick_container(obj, container)
        streaming = _streaming_module()
        target: Any = streaming.StreamTarget if streaming is not None else _Target
        tty, stdin = bool(spec_c.get("tty")), bool(spec_c.get("stdin"))
        if agent.runtime.simulated:
            return target(container_id=None, tty=tty, stdin=stdin, sim=True)
        uid = str(obj["metadata"].get("uid", ""))
        obs = await agent.runtime.observe(uid)
        mem = agent.mem.get(uid)
        instance = pick_instance(obj, obs, str(spec_c.get("name", "")), init, previous,
                                 mem.reasons if mem is not None else {})
        return target(container_id=instance.id, tty=tty, stdin=stdin, sim=False)


class _Target:
    """Stands in for streaming.StreamTarget when that module is not there (tests of the resolver)."""

    def __init__(self, *, container_id: str | None, tty: bool = False, stdin: bool = False, sim: bool = False) -> None:
        self.container_id = container_id
        self.tty = tty
        self.stdin = stdin
        self.sim = sim


def _streaming_module() -> ModuleType | None:
    try:
        return importlib.import_module("components.kubelet.streaming")
    except ImportError:
        return None


def _rv(obj: Obj | None) -> int:
    try:
        return int(((obj or {}).get("metadata") or {}).get("resourceVersion", 0))
    except (TypeError, ValueError):
        return 0
