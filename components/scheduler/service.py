"""The scheduler service: the log feeds its view, a loop decides, bindings go out through the API.

Data flow:
- Two informers follow the OBJECTS log: nodes, and pods (finished pods dropped). Bound pods
  feed the `ClusterCache` (per-node totals); pending pods that name this scheduler (or none) and
  are not being deleted feed the `SchedulingQueue`.
- One loop pops the next pod, runs the pure `decide` over the cache, and either
  - *assumes* the pod onto the chosen node (the next decision sees it there at once) and sends
    the binding on a task of its own — up to `max_binds_in_flight` bindings travel together; or
  - hands it back as unschedulable, writes its PodScheduled=False condition (only when the
    message changed) and a FailedScheduling Warning Event, and waits for a node to be added or
    changed, or a bound pod to go away, or the periodic flush.
- The API server binds with compare-and-swap. A 409 means the pod was bound meanwhile (another
  scheduler won) or is being deleted: the assumption is forgotten, the pod re-read and either
  dropped or queued again with backoff. Two schedulers can run at once and never double-bind.
- A binding accepted counts as `scheduled` and records a Scheduled Event.

Counters (`stats()`, and `<prefix>.scheduler.stats` request/reply for the bench): scheduled,
failed (decisions that found no node), bind_conflicts, bind_errors, attempts, queue sizes.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
import structlog
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError

from bus.apiclient import ApiClient, ApiReplyError
from bus.connection import Bus
from bus.informer import Informer
from bus.log import Op
from bus.recorder import EventRecorder
from components.scheduler.cache import ClusterCache
from components.scheduler.decide import decide
from components.scheduler.podinfo import (DEFAULT_SCHEDULER, PodInfo, PodKey, gated, parse_pod, pod_key,
                                          responsible, scheduling_relevant)
from components.scheduler.scores import LEAST_ALLOCATED
from components.scheduler.queue import (FLUSH_UNSCHEDULABLE_AFTER, INITIAL_BACKOFF, MAX_BACKOFF, QueuedPod,
                                        SchedulingQueue)
from core.keys import KeyFilter
from core.kinds import Stream
from core.meta import rfc3339
from core.patches import STRATEGIC_MERGE_PATCH

log = structlog.get_logger("scheduler")

Obj = dict[str, Any]

ACTOR = "system:kube-scheduler"
GATED_MESSAGE = "Scheduling is blocked due to non-empty scheduling gates"
_STATUS_TRIES = 5  # conditional condition writes that lost a race, tried again this often


@dataclass
class SchedulerConfig:
    nats_url: str
    prefix: str = "jk"
    name: str = DEFAULT_SCHEDULER  # pods with this spec.schedulerName (or none) are ours
    percentage_of_nodes_to_score: int = 0  # 0: Kubernetes' adaptive rule
    max_binds_in_flight: int = 2048
    status_writers: int = 8  # concurrent PodScheduled condition writes
    initial_backoff: float = INITIAL_BACKOFF
    max_backoff: float = MAX_BACKOFF
    flush_unschedulable_after: float = FLUSH_UNSCHEDULABLE_AFTER
    event_repeat_after: float = 60.0  # the same FailedScheduling message for one pod, at most this often
    stop_grace: float = 5.0  # seconds stop() waits for bindings in flight
    identity: str = ""  # this instance, in logs and stats; default name-host-pid
    seed: int | None = None  # tie-breaking among equal scores: seeded random (None: by pod uid, reproducible)
    scoring_strategy: str = LEAST_ALLOCATED  # NodeResourcesFit's: LeastAllocated (spread) or MostAllocated (pack)


@dataclass
class Counters:
    scheduled: int = 0  # bindings the API server accepted
    failed: int = 0  # decisions that found no node (each a FailedScheduling)
    bind_conflicts: int = 0  # bindings answered 409: bound meanwhile (by another scheduler) or being deleted
    bind_errors: int = 0  # bindings that failed otherwise (timeouts, server errors)
    attempts: int = 0  # decisions made


def _not_finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def _revision(obj: Obj) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def _scheduled_condition(obj: Obj) -> Obj | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "PodScheduled":
            return c
    return None


class Scheduler:
    def __init__(self, config: SchedulerConfig, *, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = lambda: datetime.now(timezone.utc), bus: Bus | None = None) -> None:
        """`bus`: one already connected, which this scheduler then neither connects nor closes (a
        replay sandbox's). `clock` (seconds) and `wall` are what it measures and stamps time with."""
        self.config = config
        self.identity = config.identity or f"{config.name}-{socket.gethostname()}-{os.getpid()}"
        self.clock = clock
        self.wall = wall
        self._own_bus = bus is None
        self.bus = bus or Bus(config.nats_url, prefix=config.prefix, name="jetkube-scheduler")
        self.cache = ClusterCache()
        self.queue = SchedulingQueue(initial_backoff=config.initial_backoff, max_backoff=config.max_backoff,
                                     flush_after=config.flush_unschedulable_after)
        self.counters = Counters()
        self.failed: asyncio.Future[BaseException] | None = None
        self.api: ApiClient | None = None
        self.recorder: EventRecorder | None = None
        self._nodes: Informer | None = None
        self._pods: Informer | None = None
        # ties: a seeded pick when a seed is given, else a hash of pod and node (see select_host)
        self._rng = random.Random(config.seed) if config.seed is not None else None
        self._next_start = 0
        self._move_requested = False
        self._wake = asyncio.Event()
        self._bind_slots = asyncio.Semaphore(config.max_binds_in_flight)
        self._inflight: dict[PodKey, QueuedPod] = {}  # bindings on their way
        self._bind_tasks: set[asyncio.Task[None]] = set()
        self._status_pending: dict[PodKey, tuple[str, str, int]] = {}  # key -> (reason, message, tries)
        self._status_written: dict[PodKey, tuple[str, str]] = {}  # key -> (reason, message) last written
        self._status_wake = asyncio.Event()
        self._event_seen: dict[PodKey, tuple[str, float]] = {}  # key -> (message, when) of the last Warning
        self._tasks: list[asyncio.Task[None]] = []
        self._stats_sub: Subscription | None = None
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.failed = asyncio.get_running_loop().create_future()
        # The API server owns the streams' settings; the scheduler only waits for them to exist.
        if self._own_bus:
            await self.bus.connect(provision_streams=False)
            await self._wait_for_stream(Stream.OBJECTS)
        assert self.bus.nc is not None
        self.api = ApiClient(self.bus.nc, self.config.prefix, ACTOR)
        self.recorder = EventRecorder(self.api, self.config.name, monotonic=self.clock, wall=self.wall,
                                      rng=random.Random(self.config.seed) if self.config.seed is not None else None)
        await self.recorder.start()
        objects = self.bus.logs[Stream.OBJECTS]
        self._nodes = Informer(objects, KeyFilter("", "nodes"), name="scheduler-nodes")
        self._nodes.add_handler(self._on_node)
        self._pods = Informer(objects, KeyFilter("", "pods"), name="scheduler-pods", keep=_not_finished)
        self._pods.add_handler(self._on_pod)
        await self._nodes.start()
        await self._pods.start()
        for inf in (self._nodes, self._pods):
            assert inf.task is not None
            inf.task.add_done_callback(self._guard)
        self._spawn(self._loop(), "scheduler-loop")
        for i in range(self.config.status_writers):
            self._spawn(self._status_writer(), f"scheduler-status-{i}")
        self._spawn(self._report(), "scheduler-report")
        self._stats_sub = await self.bus.nc.subscribe(f"{self.config.prefix}.scheduler.stats", cb=self._on_stats)
        log.info("scheduler started", name=self.config.name, identity=self.identity, nodes=len(self.cache.nodes),
                 pending=len(self.queue), bound=self.cache.pod_count)

    async def _wait_for_stream(self, stream: Stream) -> None:
        assert self.bus.js is not None
        name = self.bus.specs[stream].name
        warned = False
        while True:
            try:
                await self.bus.js.stream_info(name)
                return
            except NotFoundError:
                if not warned:
                    log.info("waiting for the API server to create the log", stream=name)
                    warned = True
                await asyncio.sleep(0.5)

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._bind_tasks:  # let bindings already sent finish: their pods are assumed elsewhere
            await asyncio.wait(list(self._bind_tasks), timeout=self.config.stop_grace)
            for t in list(self._bind_tasks):
                t.cancel()
            await asyncio.gather(*self._bind_tasks, return_exceptions=True)
        if self._stats_sub is not None:
            try:
                await self._stats_sub.unsubscribe()
            except NatsError:
                pass
            self._stats_sub = None
        if self.recorder is not None:
            await self.recorder.stop()
        for inf in (self._pods, self._nodes):
            if inf is not None:
                await inf.stop()
        if self._own_bus:
            await self.bus.close()
        log.info("scheduler stopped", **asdict(self.counters))

    async def __aenter__(self) -> Scheduler:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._guard)
        self._tasks.append(task)

    def _guard(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or self.failed is None or self.failed.done() or not self._started:
            return
        exc = task.exception() or RuntimeError(f"{task.get_name()} ended")
        log.error("root task died; the scheduler stops", task=task.get_name(), error=repr(exc))
        self.failed.set_result(exc)

    # -- counters -------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        return {**asdict(self.counters), "identity": self.identity, "queue": self.queue.counts(),
                "in_flight": len(self._inflight), "assumed": self.cache.assumed_count,
                "nodes": len(self.cache.nodes), "bound_pods": self.cache.pod_count}

    async def _on_stats(self, msg: Msg) -> None:
        if msg.reply:
            await msg.respond(orjson.dumps(self.stats()))

    async def _report(self) -> None:
        last: dict[str, Any] = {}
        while True:
            await asyncio.sleep(10.0)
            now = asdict(self.counters)
            if now != last:
                log.info("scheduler progress", **now, pending=len(self.queue), in_flight=len(self._inflight))
                last = now

    # -- the log --------------------------------------------------------------------------------
    def _on_node(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            assert old is not None
            self.cache.remove_node(str((old.get("metadata") or {}).get("name") or ""))
        elif self.cache.set_node(new):
            self._request_move()

    def _on_pod(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if new is None:  # deleted, or finished: its resources are free again
            assert old is not None
            key = pod_key(old)
            self.queue.delete(key)
            self._drop_bookkeeping(key)
            if self.cache.remove_pod(key):
                self._request_move()
            return
        key = pod_key(new)
        node = (new.get("spec") or {}).get("nodeName")
        if node:
            self._on_bound(key, str(node), old, new)
            return
        if key in self._inflight or self.cache.is_assumed(key):
            return  # our binding is on its way; this is an older version coming through the log
        if not responsible(new, self.config.name):
            self.queue.delete(key)
            return
        if gated(new):
            self.queue.delete(key)
            self._set_condition(key, new, "SchedulingGated", GATED_MESSAGE)
            return
        info = parse_pod(new)
        now = self.clock()
        if key in self.queue:
            self.queue.update(info, now, relevant=old is None or scheduling_relevant(old, new))
        else:
            self.queue.add(info, now)
        self._wake.set()

    def _on_bound(self, key: PodKey, node: str, old: Obj | None, new: Obj) -> None:
        self.queue.delete(key)
        self._drop_bookkeeping(key)
        uid = (new.get("metadata") or {}).get("uid")
        known = self.cache.pod(key)
        if known is not None and known.uid == uid:
            if self.cache.is_assumed(key) and self.cache.node_of(key) == node:
                self.cache.add_pod(known, node)  # our assumption confirmed: nothing to parse again
                return
            if (not self.cache.is_assumed(key) and self.cache.node_of(key) == node and old is not None
                    and old.get("spec") == new.get("spec")):
                return  # a status update of a pod already accounted for
        self.cache.add_pod(parse_pod(new), node)

    def _request_move(self) -> None:
        self._move_requested = True
        self._wake.set()

    def _drop_bookkeeping(self, key: PodKey) -> None:
        self._status_pending.pop(key, None)
        self._status_written.pop(key, None)
        self._event_seen.pop(key, None)

    # -- the loop -------------------------------------------------------------------------------
    async def _loop(self) -> None:
        while True:
            await self._bind_slots.acquire()
            now = self.clock()
            if self._move_requested:
                self._move_requested = False
                self.queue.move_all(now)
            self.queue.flush(now)
            qp = self.queue.pop(now)
            if qp is None:
                self._bind_slots.release()
                await self._idle(now)
                continue
            self._schedule_one(qp, now)
            await asyncio.sleep(0)  # let the log and the replies in between decisions

    async def _idle(self, now: float) -> None:
        wake_at = self.queue.next_wakeup()
        self._wake.clear()
        timeout = None if wake_at is None else max(0.0, wake_at - now)
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    def _schedule_one(self, qp: QueuedPod, now: float) -> None:
        """Decide for one pod (holding a binding slot): assume and bind, or report why not."""
        pod = qp.info
        self.counters.attempts += 1
        d = decide(pod, self.cache.nodes, start=self._next_start,
                   percentage=self.config.percentage_of_nodes_to_score, rng=self._rng, ties_by_uid=True,
                   strategy=self.config.scoring_strategy)
        self._next_start = d.next_start
        if d.node is None:
            self._bind_slots.release()
            self.counters.failed += 1
            self.queue.unschedulable(qp, now)
            self._report_unschedulable(pod, d.message, now)
            return
        if not self.cache.assume(pod, d.node):  # bound already, the queue just had not heard
            self._bind_slots.release()
            return
        self._inflight[pod.key] = qp
        task = asyncio.create_task(self._bind(qp, d.node), name=f"bind-{pod.namespace}-{pod.name}")
        self._bind_tasks.add(task)
        task.add_done_callback(self._bind_tasks.discard)

    async def _bind(self, qp: QueuedPod, node: str) -> None:
        pod = qp.info
        ns, name = pod.key
        assert self.api is not None and self.recorder is not None
        try:
            try:
                await self.api.bind(ns, name, node, uid=pod.uid or None)
            except ApiReplyError as e:
                if e.code == 409:
                    self.counters.bind_conflicts += 1
                    log.debug("binding conflict", pod=f"{ns}/{name}", node=node, error=str(e))
                else:
                    self.counters.bind_errors += 1
                    log.warning("binding rejected", pod=f"{ns}/{name}", node=node, error=str(e))
                await self._bind_failed(qp, conflict=e.code == 409, error=str(e))
                return
            except (NatsError, asyncio.TimeoutError) as e:
                self.counters.bind_errors += 1
                log.warning("binding failed", pod=f"{ns}/{name}", node=node, error=repr(e))
                await self._bind_failed(qp, conflict=False, error=repr(e))
                return
            self.counters.scheduled += 1
            self._drop_bookkeeping(pod.key)
            self.recorder.record(pod.obj, "Normal", "Scheduled", f"Successfully assigned {ns}/{name} to {node}")
        finally:
            self._inflight.pop(pod.key, None)
            self._bind_slots.release()

    async def _bind_failed(self, qp: QueuedPod, *, conflict: bool, error: str) -> None:
        """Give the node back, then look again: a pod bound meanwhile (by another scheduler) or
        gone is dropped; one still pending goes back to the queue with backoff."""
        pod = qp.info
        ns, name = pod.key
        assert self.api is not None and self.recorder is not None and self._pods is not None
        self.cache.forget(pod.key)
        fresh: Obj | None = None
        try:
            fresh = await self.api.get("pods", ns, name)
        except ApiReplyError as e:
            if e.code == 404:
                return
        except (NatsError, asyncio.TimeoutError):
            pass
        local = self._pods.get(ns, name)
        if local is None:
            return  # the log says it is gone (deleted, or finished)
        newest = max((o for o in (fresh, local) if o is not None), key=_revision)
        if (newest.get("spec") or {}).get("nodeName"):
            return  # bound (by someone else): the informer accounts for it
        if not responsible(newest, self.config.name) or gated(newest):
            return
        qp.info = parse_pod(newest)
        self.queue.backoff(qp, self.clock())
        self._wake.set()
        if not conflict:
            self.recorder.record(newest, "Warning", "FailedScheduling", f"Binding rejected: {error}")

    # -- telling the user -----------------------------------------------------------------------
    def _report_unschedulable(self, pod: PodInfo, message: str, now: float) -> None:
        assert self.recorder is not None
        latest = (self._pods.get(*pod.key) if self._pods is not None else None) or pod.obj
        self._set_condition(pod.key, latest, "Unschedulable", message)
        seen = self._event_seen.get(pod.key)
        if seen is None or seen[0] != message or now - seen[1] >= self.config.event_repeat_after:
            self._event_seen[pod.key] = (message, now)
            self.recorder.record(latest, "Warning", "FailedScheduling", message)

    def _set_condition(self, key: PodKey, obj: Obj, reason: str, message: str) -> None:
        """Queue a PodScheduled=False write, unless the pod already says exactly this."""
        if self._status_written.get(key) == (reason, message):
            return
        if _says(obj, reason, message):
            self._status_written[key] = (reason, message)
            return
        self._status_pending[key] = (reason, message, 0)
        self._status_wake.set()

    async def _status_writer(self) -> None:
        """Write queued conditions, newest wish per pod. Each write is conditional on the version
        of the pod it was based on, so it can never land on a pod bound in the meantime (a
        binding sets PodScheduled=True); a conflict means "look again", not "overwrite"."""
        assert self.api is not None and self._pods is not None
        while True:
            while not self._status_pending:
                self._status_wake.clear()
                await self._status_wake.wait()
            key = next(iter(self._status_pending))
            reason, message, tries = self._status_pending.pop(key)
            obj = self._pods.get(*key)
            if obj is None or (obj.get("spec") or {}).get("nodeName") or key in self._inflight \
                    or self.cache.node_of(key) is not None:
                continue  # gone, or bound or being bound: an Unschedulable condition would be a lie
            if _says(obj, reason, message):
                self._status_written[key] = (reason, message)
                continue
            current = _scheduled_condition(obj)
            since = current.get("lastTransitionTime") if current is not None and current.get("status") == "False" \
                else None
            cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                    "lastTransitionTime": since or rfc3339(self.wall()), "reason": reason,
                    "message": message}
            patch = {"metadata": {"resourceVersion": obj["metadata"].get("resourceVersion")},
                     "status": {"conditions": [cond]}}
            try:
                await self.api.patch("pods", key[0], key[1], patch, subresource="status",
                                     content_type=STRATEGIC_MERGE_PATCH)
                if key not in self._status_pending:
                    self._status_written[key] = (reason, message)
            except ApiReplyError as e:
                if e.code == 409 and tries < _STATUS_TRIES:
                    # the pod moved on since the version we read (often our own previous write
                    # still on its way through the log): wait for the log, then judge again
                    await asyncio.sleep(0.1 * (tries + 1))
                    if key not in self._status_pending:
                        self._status_pending[key] = (reason, message, tries + 1)
                elif e.code not in (404, 409):
                    log.warning("pod condition not written", pod=f"{key[0]}/{key[1]}", error=str(e))
            except (NatsError, asyncio.TimeoutError) as e:
                log.warning("pod condition not written", pod=f"{key[0]}/{key[1]}", error=repr(e))


def _says(obj: Obj, reason: str, message: str) -> bool:
    """Does the pod already carry PodScheduled=False with this reason and message?"""
    c = _scheduled_condition(obj)
    return c is not None and c.get("status") == "False" and c.get("reason") == reason and c.get("message") == message
