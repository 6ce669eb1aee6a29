"""What every controller is given and how its workers run.

A controller is a class built from a `ControllerContext` with `start()` and `stop()`. In its
constructor it asks `ctx.informers` for the informers (and indexes) it reads and adds handlers
that only enqueue keys; `start()` launches workers with `run_workers`, which take keys from its
`WorkQueue` and call its `sync(key)`. `sync` re-reads the projection, decides, writes.

Keys are "namespace/name" strings (just "name" for cluster-scoped objects) of the object the
controller owns (a ReplicaSet, not its pods: a pod's change enqueues its controller). Handlers add
keys through `ControllerQueue.enqueue(key, revision)`, which remembers the newest revision that
asked for the key: the worker syncing it sets `bus.apiclient.CAUSE` to that revision, so every
write the sync makes carries it as its causation and a replay can say why each change happened.

Sharding hook: `ControllerContext.owns(key)` says whether this process acts on a key. It is
`True` for every key in a single manager; a sharded manager replaces that one function (hash the
key into a shard, map shards onto live replicas) and nothing else changes. Because dependents
enqueue their owner's key, an owned object always follows its owner's shard.

`Expectations` is client-go's ControllerExpectations: after creating n pods (or deleting some)
a controller waits until its projection has seen them before it counts again, so a lagging
projection never makes it act twice. Expectations expire after five minutes (a write whose
event was lost must not wedge the key forever).

Errors: `Requeue` is the expected, transient kind (a compare-and-swap lost to another writer, a
projection that has not caught up): the key is retried with backoff and logged quietly. Any
other exception is a bug or an outage: logged loudly, retried with backoff too. Only a worker's
own death (not a failed sync) is a root-task failure that stops the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import structlog

from bus.apiclient import CAUSE, ApiClient
from bus.informer import Informer
from bus.recorder import EventRecorder
from components.clock import Clock
from components.controllers.informers import SharedInformers
from components.workqueue import ShutDown, WorkQueue

K = TypeVar("K", bound=Hashable)

log = structlog.get_logger("controllers")


class Requeue(Exception):
    """Try this key again later (with backoff): nothing is wrong, the world moved on."""


class Controller(Protocol):
    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass
class ControllerContext:
    informers: SharedInformers
    clock: Clock
    # An ApiClient writing as `system:controller:<name>`, so the log says which controller wrote.
    api: Callable[[str], ApiClient]
    # An EventRecorder whose Events name `<component>` as their source.
    recorder: Callable[[str], EventRecorder]
    # Start a root task: if it ever ends other than by cancellation, the process stops.
    spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]]
    # Monotonic time since when this process has seen the log without a break (its last
    # (re)connect to NATS): silence from before it proves nothing about the cluster.
    observing_since: Callable[[], float] = lambda: float("-inf")
    # The sharding hook: does this process act on the key ("namespace/name")? See the module doc.
    owns: Callable[[str], bool] = lambda key: True

    def queue(self, name: str) -> ControllerQueue:
        """A workqueue of keys for controller `name`, filtered by `owns`, remembering causes."""
        return ControllerQueue(owns=self.owns, clock=self.clock, name=name)


def object_key(obj: dict[str, Any]) -> str:
    """The workqueue key of an object: "namespace/name", or "name" when cluster-scoped."""
    md = obj.get("metadata") or {}
    ns, name = md.get("namespace") or "", md.get("name") or ""
    return f"{ns}/{name}" if ns else str(name)


def split_key(key: str) -> tuple[str, str]:
    ns, _, name = key.rpartition("/")
    return ns, name


def revision_of(obj: dict[str, Any] | None) -> int:
    try:
        return int(((obj or {}).get("metadata") or {}).get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return 0


class ControllerQueue(WorkQueue[str]):
    """A WorkQueue of object keys that drops keys this process does not own and remembers, per
    key, the newest revision that asked for it (the cause of the next sync)."""

    def __init__(self, *, owns: Callable[[str], bool] = lambda key: True, clock: Clock | None = None,
                 name: str = "") -> None:
        super().__init__(clock=clock, name=name)
        self.owns = owns
        self._causes: dict[str, int] = {}
        self.syncs = 0  # keys reconciled (the bench's reconciles/s)

    def enqueue(self, key: str, revision: int = 0, *, after: float = 0.0) -> None:
        if not key or not self.owns(key):
            return
        if revision > self._causes.get(key, 0):
            self._causes[key] = revision
        if after > 0:
            self.add_after(key, after)
        else:
            self.add(key)

    def enqueue_object(self, obj: dict[str, Any] | None, *, after: float = 0.0) -> None:
        if obj is not None:
            self.enqueue(object_key(obj), revision_of(obj), after=after)

    def take_cause(self, key: str) -> int:
        return self._causes.pop(key, 0)


class Expectations:
    """Per key: how many creations and which deletions (by uid) are still to be observed."""

    TTL = 300.0

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._adds: dict[str, int] = {}
        self._dels: dict[str, set[str]] = {}
        self._since: dict[str, float] = {}

    def expect(self, key: str, *, creations: int = 0, deletions: Iterable[str] = ()) -> None:
        """Set what the next syncs wait for (replacing what was expected before)."""
        self._adds[key] = creations
        self._dels[key] = set(deletions)
        self._since[key] = self.clock.monotonic()

    def creation_observed(self, key: str) -> None:
        if self._adds.get(key, 0) > 0:
            self._adds[key] -= 1

    def creations_failed(self, key: str, n: int = 1) -> None:
        """n creations were never made (the API refused them): stop waiting for them."""
        for _ in range(n):
            self.creation_observed(key)

    def deletion_observed(self, key: str, uid: str) -> None:
        dels = self._dels.get(key)
        if dels is not None:
            dels.discard(uid)

    def satisfied(self, key: str) -> bool:
        since = self._since.get(key)
        if since is None:
            return True
        if self._adds.get(key, 0) <= 0 and not self._dels.get(key):
            return True
        return self.clock.monotonic() - since > self.TTL

    def pending(self, key: str) -> tuple[int, int]:
        return self._adds.get(key, 0), len(self._dels.get(key, ()))

    def forget(self, key: str) -> None:
        self._adds.pop(key, None)
        self._dels.pop(key, None)
        self._since.pop(key, None)


async def caught_up(informer: Informer, written: Any, timeout: float = 5.0) -> None:
    """Wait until `informer` has applied a write this process just made (the object the API
    answered with), so the next sync never acts on the version before it. Slow is logged, not
    raised: the next sync's compare-and-swap catches a stale view anyway."""
    rv = (written.get("metadata") or {}).get("resourceVersion") if isinstance(written, dict) else None
    if not rv:
        return
    try:
        await informer.wait_for(int(rv), timeout=timeout)
    except (asyncio.TimeoutError, ValueError):
        log.warning("informer slow to apply our write", informer=informer.name, revision=rv)


class Workers:
    """What a keyed controller shares: its context, clock, API client and queue (all named after
    the controller), and start/stop — `workers` tasks drain `self.queue` into `self.sync`;
    stopping shuts the queue down and cancels them."""

    name: str

    def __init__(self, ctx: ControllerContext, *, workers: int = 4, catch_up_timeout: float = 5.0) -> None:
        self.ctx = ctx
        self.clock = ctx.clock
        self.workers = workers
        self.catch_up_timeout = catch_up_timeout
        self.api: ApiClient = ctx.api(self.name)
        self.queue: ControllerQueue = ctx.queue(self.name)
        self._tasks: list[asyncio.Task[None]] = []

    async def sync(self, key: str) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        if not self._tasks:
            self._tasks = run_workers(self.ctx, self.queue, self.sync, controller=self.name, workers=self.workers)

    async def stop(self) -> None:
        self.queue.shutdown()
        tasks, self._tasks = self._tasks, []
        await cancel(tasks)


async def run_worker(queue: WorkQueue[K], sync: Callable[[K], Awaitable[None]], *, controller: str) -> None:
    """Take keys until the queue shuts down; one key is never synced by two workers at once.
    Writes made while syncing a key carry the revision that enqueued it as their cause."""
    while True:
        try:
            key = await queue.get()
        except ShutDown:
            return
        cause = 0
        if isinstance(queue, ControllerQueue):
            cause = queue.take_cause(key)  # type: ignore[arg-type]
            queue.syncs += 1
        token = CAUSE.set(str(cause) if cause else "")
        try:
            await sync(key)
        except Requeue as e:
            log.debug("requeue", controller=controller, key=str(key), why=str(e), retries=queue.num_requeues(key))
            queue.add_rate_limited(key)
        except Exception:
            log.exception("sync failed", controller=controller, key=str(key), retries=queue.num_requeues(key))
            queue.add_rate_limited(key)
        else:
            queue.forget(key)
        finally:
            CAUSE.reset(token)
            queue.done(key)


def run_workers(ctx: ControllerContext, queue: WorkQueue[K], sync: Callable[[K], Awaitable[None]], *,
                controller: str, workers: int) -> list[asyncio.Task[None]]:
    return [ctx.spawn(run_worker(queue, sync, controller=controller), f"{controller}-worker-{i}")
            for i in range(workers)]


async def cancel(tasks: list[asyncio.Task[None]]) -> None:
    for t in tasks:
        t.cancel()
    for t in tasks:
        try:
            await t
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("task failed while stopping", task=t.get_name())
