"""Simulated nodes for the replay sandbox: the kubelets' side, the same every run.

Every Node in the sandbox gets one: it renews the node's Lease every `renew_every` (virtual)
seconds, as a kubelet does, so the node lifecycle controller sees it alive; a pod bound to it
starts `start_delay` seconds later — its status becomes what `core.podstatus` makes of a ready
sandbox and running containers (init containers completed) — and a pod it holds that is being
deleted is removed for good `stop_delay` seconds after, as the kubelet finalizes. Pod IPs are
drawn in order from 10.244.<node>.0/24.

The delays matter: a rolling update steps as fast as new pods become available, so nodes that
start pods at once would roll out in fewer, larger steps than the recorded cluster did.
`Pace.recorded` measures them in the recorded log, pod by pod (from binding to Running, and from
deletionTimestamp to removal), and the sandbox's nodes take the same.

What a simulated node does not do: containers never exit, crash or fail probes, so Jobs run until
deleted and a recorded crash is not re-enacted (the recorded kubelets' pod writes are not inputs;
see `replay.decisions`).
"""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

import structlog

from bus.apiclient import ApiClient, ApiReplyError
from bus.informer import Informer
from bus.log import Entry, EventLog, Op
from components.kubelet.nodestatus import lease_object, lease_renewal
from core.keys import KeyFilter
from core.podstatus import EXITED, READY, RUNNING, ContainerObs, PodObs, SandboxObs, pod_status, status_patch

log = structlog.get_logger("replay.simnodes")

Obj = dict[str, Any]
LEASES = "leases.coordination.k8s.io"
LEASE_NAMESPACE = "kube-node-lease"


def observed(pod: Obj, ip: str, now: float) -> PodObs:
    """A pod whose sandbox is ready, init containers done and containers running, since `now`."""
    uid = str((pod.get("metadata") or {}).get("uid", ""))
    spec = pod.get("spec") or {}
    containers = [ContainerObs(f"{uid}-{c.get('name')}", str(c.get("name")), 0, EXITED, init=True,
                               image=str(c.get("image", "")), started_at=now, finished_at=now, exit_code=0,
                               reason="Completed") for c in spec.get("initContainers") or []]
    containers += [ContainerObs(f"{uid}-{c.get('name')}", str(c.get("name")), 0, RUNNING,
                                image=str(c.get("image", "")), started_at=now) for c in spec.get("containers") or []]
    return PodObs((SandboxObs(f"{uid}-sandbox", 0, READY, ip=ip, created_at=now, ready_at=now),),
                  tuple(containers), scheme="sim")


Series = tuple[str, str]  # (namespace, generateName or name): the pods one owner makes


def series(pod: Obj) -> Series:
    md = pod.get("metadata") or {}
    return str(md.get("namespace", "")), str(md.get("generateName") or md.get("name", ""))


@dataclass
class Pace:
    """How long the recorded nodes took to start and to remove each pod. The n-th pod created in a
    series in the sandbox takes what the n-th of that series took in the recording (so pods made
    together become ready in the recorded order and spacing); any other pod takes the median."""

    start: dict[Series, list[float]] = field(default_factory=dict)
    stop: dict[Series, list[float]] = field(default_factory=dict)
    start_median: float = 0.0
    stop_median: float = 0.0

    @classmethod
    def recorded(cls, entries: Iterable[Entry]) -> Pace:
        """From binding to the first Running status, and from deletionTimestamp to removal."""
        pace = cls()
        index: dict[Any, tuple[Series, int]] = {}
        count: dict[Series, int] = {}
        bound: dict[Any, float] = {}
        deleting: dict[Any, float] = {}
        for e in entries:
            if e.key.resource != "pods" or e.key.group:
                continue
            pod = orjson.loads(e.data)
            if e.op is Op.ADDED:
                s = series(pod)
                index[e.key] = (s, count.get(s, 0))
                count[s] = count.get(s, 0) + 1
            where = index.get(e.key)
            if e.op is Op.DELETED:
                if e.key in deleting and where is not None:
                    _put(pace.stop, where, e.timestamp - deleting.pop(e.key))
                index.pop(e.key, None)
                continue
            if (pod.get("spec") or {}).get("nodeName") and e.key not in bound:
                bound[e.key] = e.timestamp
            if (pod.get("status") or {}).get("phase") == "Running" and where is not None and e.key in bound:
                _put(pace.start, where, e.timestamp - bound[e.key])
            if (pod.get("metadata") or {}).get("deletionTimestamp") and e.key not in deleting:
                deleting[e.key] = e.timestamp
        starts = [d for ds in pace.start.values() for d in ds if d >= 0]
        stops = [d for ds in pace.stop.values() for d in ds if d >= 0]
        pace.start_median = statistics.median(starts) if starts else 0.0
        pace.stop_median = statistics.median(stops) if stops else 0.0
        return pace

    def delay(self, where: tuple[Series, int] | None, deleting: bool) -> float:
        table, median = (self.stop, self.stop_median) if deleting else (self.start, self.start_median)
        if where is None:
            return median
        got = table.get(where[0]) or []
        value = got[where[1]] if where[1] < len(got) else -1.0
        return value if value >= 0 else median


def _put(table: dict[Series, list[float]], where: tuple[Series, int], value: float) -> None:
    got = table.setdefault(where[0], [])
    if len(got) <= where[1]:
        got.extend([-1.0] * (where[1] + 1 - len(got)))
    if got[where[1]] < 0:  # the first time only (a pod starts once)
        got[where[1]] = max(value, 0.0)


class SimNodes:
    """The nodes of the sandbox's log, simulated. `api(node)` writes as that node's kubelet."""

    def __init__(self, objects: EventLog, api: Callable[[str], ApiClient], *, epoch: Callable[[], float],
                 renew_every: float = 10.0, pace: Pace | None = None, tick: float = 0.0) -> None:
        self.api = api
        self.epoch = epoch
        self.renew_every = renew_every
        self.pace = pace or Pace()
        self.tick = tick
        self._index: dict[tuple[str, str], tuple[Series, int]] = {}  # pod -> its place in its series
        self._count: dict[Series, int] = {}
        self._timed: set[tuple[str, str, bool]] = set()  # (namespace, name, deleting) waiting out a delay
        self.nodes = Informer(objects, KeyFilter("", "nodes"), name="sim-nodes")
        self.pods = Informer(objects, KeyFilter("", "pods"), name="sim-pods")
        self.pods.add_handler(self._on_pod)
        self._todo: dict[tuple[str, str], None] = {}  # pods due a look, in the order they fell due
        self._wake = asyncio.Event()
        self._ips: dict[str, int] = {}  # node -> last host number drawn
        self._tasks: list[asyncio.Task[None]] = []
        self.started = 0
        self.removed = 0

    async def start(self) -> None:
        await self.nodes.start()
        await self.pods.start()
        for p in self.pods.items():
            self._want(p)
        self._tasks = [asyncio.create_task(self._work(), name="sim-pods"),
                       asyncio.create_task(self._renew(), name="sim-leases")]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pods.stop()
        await self.nodes.stop()

    def _on_pod(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            return
        if op is Op.ADDED:
            s = series(new)
            self._index[(s[0], str(new["metadata"].get("name")))] = (s, self._count.get(s, 0))
            self._count[s] = self._count.get(s, 0) + 1
        self._want(new)

    def _want(self, pod: Obj) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or self.nodes.get("", node) is None:
            return
        md = pod.get("metadata") or {}
        deleting = bool(md.get("deletionTimestamp"))
        if deleting or (pod.get("status") or {}).get("phase") in (None, "Pending"):
            timed = (str(md.get("namespace")), str(md.get("name")), deleting)
            if timed not in self._timed:
                self._timed.add(timed)
                loop = asyncio.get_running_loop()
                due = loop.time() + self.pace.delay(self._index.get(timed[:2]), deleting)
                if self.tick > 0:
                    due = math.ceil(due / self.tick - 1e-9) * self.tick
                loop.call_at(due, self._due, timed)

    def _due(self, timed: tuple[str, str, bool]) -> None:
        self._timed.discard(timed)
        self._todo[timed[:2]] = None
        self._wake.set()

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._todo:
                key = next(iter(self._todo))
                del self._todo[key]
                pod = self.pods.get(*key)
                if pod is not None:
                    await self._sync(pod)
                if pod is None or not (pod.get("metadata") or {}).get("deletionTimestamp"):
                    continue
                self._index.pop(key, None)

    async def _sync(self, pod: Obj) -> None:
        md, node = pod.get("metadata") or {}, str((pod.get("spec") or {}).get("nodeName"))
        api = self.api(node)
        try:
            if md.get("deletionTimestamp"):
                await api.delete("pods", md["namespace"], md["name"], grace_period_seconds=0, uid=md.get("uid"))
                self.removed += 1
                return
            status = pod_status(pod, observed(pod, self._ip(node), self.epoch()), reasons={},
                                host_ip=self._host_ip(node), now=self.epoch())
            patch = status_patch(pod.get("status") or {}, status)
            if patch:
                await api.patch("pods", md["namespace"], md["name"], {"status": patch}, subresource="status")
                self.started += 1
        except ApiReplyError as e:
            if e.code not in (404, 409):
                log.warning("simulated kubelet write failed", pod=f"{md.get('namespace')}/{md.get('name')}",
                            error=str(e))

    def _host_ip(self, node: str) -> str:
        names = sorted(n["metadata"]["name"] for n in self.nodes.items())
        return f"172.30.{names.index(node) % 256}.1" if node in names else "172.30.255.1"

    def _ip(self, node: str) -> str:
        n = self._ips[node] = self._ips.get(node, 1) + 1
        index = sorted(x["metadata"]["name"] for x in self.nodes.items()).index(node)
        return f"10.244.{index % 256}.{n % 254 + 1}"

    async def _renew(self) -> None:
        while True:
            for node in sorted(self.nodes.items(), key=lambda n: n["metadata"]["name"]):
                name = node["metadata"]["name"]
                api = self.api(name)
                try:
                    await api.patch(LEASES, LEASE_NAMESPACE, name, lease_renewal(name, self.epoch()))
                except ApiReplyError as e:
                    if e.code != 404:
                        continue
                    try:
                        await api.create(LEASES, LEASE_NAMESPACE,
                                         lease_object(name, node["metadata"].get("uid", ""), self.epoch()))
                    except ApiReplyError:
                        pass
            await asyncio.sleep(self.renew_every)
