"""What every controller is given and how its workers run.

A controller is a class built from a `ControllerContext` with `start()` and `stop()`. In its
constructor it asks `ctx.informers` for the informers (and indexes) it reads and adds handlers
that only enqueue keys; `start()` launches workers with `run_workers`, which take keys from its
`WorkQueue` and call its `sync(key)`. `sync` re-reads the projection, decides, writes.

Errors: `Requeue` is the expected, transient kind (a compare-and-swap lost to another writer, a
projection that has not caught up): the key is retried with backoff and logged quietly. Any
other exception is a bug or an outage: logged loudly, retried with backoff too. Only a worker's
own death (not a failed sync) is a root-task failure that stops the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import structlog

from bus.apiclient import ApiClient
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


async def run_worker(queue: WorkQueue[K], sync: Callable[[K], Awaitable[None]], *, controller: str) -> None:
    """Take keys until the queue shuts down; one key is never synced by two workers at once."""
    while True:
        try:
            key = await queue.get()
        except ShutDown:
            return
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
