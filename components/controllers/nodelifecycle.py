"""The node lifecycle controller: the async shell around `core.nodehealth.decide`.

Reads three informers — nodes and pods (OBJECTS stream), node Leases in `kube-node-lease`
(LEASES stream) — and keeps, per node, when it last saw a heartbeat: a Lease whose renewTime
changed, or a kubelet's Ready condition that changed (our own writes never count: they only ever
set Unknown). That instant is on this process's monotonic clock; at start every node is given a
whole grace period, as Kubernetes does, and again after the process reconnects to NATS (a
lease informer that was cut off saw no renewals, which says nothing about the nodes).

The workqueue holds node names. A node is enqueued when it changes, when its Lease or one of its
pods changes while it needs attention (not Ready, or NoExecute-tainted), every
`--node-monitor-period` as a safety net, and at the time the last decision said something next
falls due. `sync(name)` builds the view, asks `decide`, and performs the actions in order: writes
are compare-and-swap at the revision the view was read at, so a lost race (409) ends the pass and
the key is retried on a fresher view. After each write it waits for its informer to apply it, so
the next pass never acts twice on its own change.

The pure decisions, including the deliberate departure from Kubernetes (force-deleting pods whose
grace period ran out on an unreachable node), are documented in core/nodehealth.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import structlog

from bus.apiclient import ApiClient, ApiReplyError
from bus.informer import Informer, Obj
from bus.log import Op
from components.controllers.base import ControllerContext, Requeue, cancel, run_workers, caught_up
from components.controllers.informers import pod_node_name
from core.keys import KeyFilter
from core.kinds import Stream
from core.nodehealth import (
    Action,
    Event,
    EvictPod,
    ForceDeletePod,
    Instant,
    MarkPodNotReady,
    NodeView,
    Recheck,
    Timing,
    UpdateNode,
    condition,
    decide,
)
from core.taints import NO_EXECUTE

log = structlog.get_logger("nodelifecycle")

LEASE_NAMESPACE = "kube-node-lease"
COMPONENT = "node-controller"  # the Events' source, as Kubernetes names it


class NodeLifecycleController:
    name = "nodelifecycle"

    def __init__(self, ctx: ControllerContext, *, timing: Timing = Timing(), monitor_period: float = 5.0,
                 workers: int = 4, catch_up_timeout: float = 5.0) -> None:
        self.ctx = ctx
        self.clock = ctx.clock
        self.timing = timing
        self.monitor_period = monitor_period
        self.workers = workers
        self.catch_up_timeout = catch_up_timeout
        self.api: ApiClient = ctx.api(self.name)
        self.recorder = ctx.recorder(COMPONENT)
        inf = ctx.informers
        self.nodes = inf.informer(Stream.OBJECTS, KeyFilter("", "nodes"))
        self.pods = inf.informer(Stream.OBJECTS, KeyFilter("", "pods"))
        self.leases = inf.informer(Stream.LEASES, KeyFilter("coordination.k8s.io", "leases", LEASE_NAMESPACE))
        self.pods_on = inf.index(self.pods, "nodeName", pod_node_name)
        self.queue = ctx.queue(self.name)
        self.heartbeats: dict[str, float] = {}
        self.taints_seen: dict[str, dict[tuple[str, str], datetime]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        inf.add_handler(self.nodes, self._on_node)
        inf.add_handler(self.leases, self._on_lease)
        inf.add_handler(self.pods, self._on_pod)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        if self._tasks:
            return
        self._tasks = run_workers(self.ctx, self.queue, self.sync, controller=self.name, workers=self.workers)
        self._tasks.append(self.ctx.spawn(self._monitor(), f"{self.name}-monitor"))

    async def stop(self) -> None:
        self.queue.shutdown()
        tasks, self._tasks = self._tasks, []
        await cancel(tasks)

    async def _monitor(self) -> None:
        while True:
            await self.clock.sleep(self.monitor_period)
            for node in self.nodes.items():
                self.queue.add(node["metadata"]["name"])

    # -- handlers: bookkeeping and enqueueing only ----------------------------------------
    def _on_node(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        name = str(((new or old) or {}).get("metadata", {}).get("name", ""))
        if op is Op.DELETED:
            self.heartbeats.pop(name, None)
            self.taints_seen.pop(name, None)
        elif op is Op.ADDED:
            self.heartbeats.setdefault(name, self.clock.monotonic())
        elif _kubelet_posted(old, new):
            self.heartbeats[name] = self.clock.monotonic()
        self.queue.add(name)

    def _on_lease(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            return
        name = str(new["metadata"].get("name", ""))
        renewed = (new.get("spec") or {}).get("renewTime")
        if op is Op.ADDED or old is None or (old.get("spec") or {}).get("renewTime") != renewed:
            self.heartbeats[name] = self.clock.monotonic()
            if self._needs_attention(name):
                self.queue.add(name)

    def _on_pod(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        names = set(pod_node_name(old) if old else ()) | set(pod_node_name(new) if new else ())
        for name in names:
            if self._needs_attention(name):
                self.queue.add(name)

    def _needs_attention(self, name: str) -> bool:
        """Whether changes around this node may call for action: it is not Ready or has a NoExecute
        taint. A healthy node's heartbeats and pod churn cost nothing but bookkeeping."""
        node = self.nodes.get("", name)
        if node is None:
            return False
        ready = condition((node.get("status") or {}).get("conditions") or [], "Ready")
        if ready is None or ready.get("status") != "True":
            return True
        return any(isinstance(t, dict) and t.get("effect") == NO_EXECUTE
                   for t in (node.get("spec") or {}).get("taints") or [])

    # -- reconcile ------------------------------------------------------------------------
    def view(self, name: str, now: Instant) -> NodeView | None:
        node = self.nodes.get("", name)
        if node is None:
            self.heartbeats.pop(name, None)
            self.taints_seen.pop(name, None)
            return None
        # Silence while we were cut off from the log is ours, not the node's: after a reconnect
        # every node gets a whole grace period again, as at start.
        heartbeat = max(self.heartbeats.setdefault(name, now.mono), self.ctx.observing_since())
        seen = self.taints_seen.setdefault(name, {})
        undated = {(t.get("key") or "", t.get("effect") or "") for t in (node.get("spec") or {}).get("taints") or []
                   if isinstance(t, dict) and t.get("effect") == NO_EXECUTE and not t.get("timeAdded")}
        for pair in list(seen):
            if pair not in undated:
                del seen[pair]
        for pair in undated:
            seen.setdefault(pair, now.wall)
        return NodeView(node, heartbeat, tuple(self.pods_on.get(name)), dict(seen))

    async def sync(self, name: str) -> None:
        now = Instant(self.clock.monotonic(), self.clock.wall())
        view = self.view(name, now)
        if view is None:
            return
        actions = decide(view, now, self.timing)
        if actions and not (len(actions) == 1 and isinstance(actions[0], Recheck)):
            log.info("node actions", node=name, revision=view.node["metadata"].get("resourceVersion"),
                     actions=[type(a).__name__ for a in actions])
        await self.perform(name, view, actions)

    async def perform(self, name: str, view: NodeView, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Recheck):
                self.queue.add_after(name, action.after)
            elif isinstance(action, UpdateNode):
                await self._update_node(view.node, action)
            elif isinstance(action, MarkPodNotReady):
                await self._mark_pod(action)
            elif isinstance(action, EvictPod):
                await self._delete_pod(action.namespace, action.name, action.uid, None, action.events)
            elif isinstance(action, ForceDeletePod):
                log.info("force-deleting pod: its grace period ran out on an unreachable node",
                         node=name, pod=f"{action.namespace}/{action.name}")
                await self._delete_pod(action.namespace, action.name, action.uid, 0, ())

    async def _update_node(self, node: Obj, a: UpdateNode) -> None:
        current = node
        rv = a.resource_version
        events = a.events  # about the status change: recorded once it is written
        try:
            if a.status is not None:
                body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": a.name, "resourceVersion": rv},
                        "status": a.status}
                current = await self.api.update("nodes", "", a.name, body, subresource="status")
                rv = str(current["metadata"]["resourceVersion"])
                self._record(events)
                events = ()
            if a.taints is not None:
                spec: Obj = dict(current.get("spec") or {})
                if a.taints:
                    spec["taints"] = list(a.taints)
                else:
                    spec.pop("taints", None)
                body = {**current, "metadata": {**current["metadata"], "resourceVersion": rv}, "spec": spec}
                current = await self.api.update("nodes", "", a.name, body)
        except ApiReplyError as e:
            if e.code == 404:
                return
            if e.code == 409:
                raise Requeue(f"node {a.name} changed under us") from e
            raise
        finally:
            if current is not node:
                await self._caught_up(self.nodes, current)
        self._record(events)

    async def _mark_pod(self, a: MarkPodNotReady) -> None:
        patch = {"metadata": {"resourceVersion": a.resource_version}, "status": {"conditions": list(a.conditions)}}
        try:
            pod = await self.api.patch("pods", a.namespace, a.name, patch, subresource="status")
        except ApiReplyError as e:
            if e.code == 404:
                return
            if e.code == 409:
                raise Requeue(f"pod {a.namespace}/{a.name} changed under us") from e
            raise
        await self._caught_up(self.pods, pod)
        self._record(a.events)

    async def _delete_pod(self, namespace: str, name: str, uid: str, grace: int | None,
                          events: tuple[Event, ...]) -> None:
        try:
            pod = await self.api.delete("pods", namespace, name, grace_period_seconds=grace, uid=uid or None)
        except ApiReplyError as e:
            if e.code in (404, 409):  # gone, or a newer pod of that name: nothing of ours to delete
                return
            raise
        await self._caught_up(self.pods, pod)
        self._record(events)

    async def _caught_up(self, informer: Informer, written: Any) -> None:
        await caught_up(informer, written, self.catch_up_timeout)

    def _record(self, events: tuple[Event, ...]) -> None:
        for ev in events:
            ref = ev.ref
            obj = {"kind": ref.kind, "apiVersion": ref.api_version,
                   "metadata": {"name": ref.name, "namespace": ref.namespace, "uid": ref.uid}}
            self.recorder.record(obj, ev.type, ev.reason, ev.message)


def _kubelet_posted(old: Obj | None, new: Obj | None) -> bool:
    """A node update is a heartbeat when its Ready condition changed to something only a kubelet
    writes (True or False): this controller only ever writes Unknown."""
    if new is None:
        return False
    ready = condition((new.get("status") or {}).get("conditions") or [], "Ready")
    if ready is None or ready.get("status") == "Unknown":
        return False
    before = condition(((old or {}).get("status") or {}).get("conditions") or [], "Ready")
    return ready != before
