"""Incident replay: the scheduler and controllers re-run over a recorded stretch of log, in a sandbox.

`Window` is what was recorded: the objects stream's state at revision `start` and its log up to
`end`. `replay(window, options)` builds a cluster of its own and runs it on virtual time
(`replay.vloop`):
- its logs are `MemoryLog`s (the `EventLog` contract, contract-tested against JetStream): a NATS
  socket would bring real time into the loop, and with it a different interleaving each run;
- the API server's own `Resources` and watch caches over them, reached by the components through
  `BusApi.answer` as a function call (`Loopback` stands in for the NATS connection);
- the real `Scheduler` and `ControllerManager`, handed that bus, a clock read from the loop, and
  seeded generators — and `SimNodes` for the kubelets;
- uids and generated names from a seeded generator, timestamps from the virtual clock.

It loads the state at `start`, then feeds the window's *inputs* (`replay.decisions.is_input`),
each at its recorded time: a create writes the recorded object (its uid kept); a change is the
merge patch between the recorded versions, applied to the sandbox's object through the API (so
admission bumps generations as it did); a delete, a delete. Between inputs the loop runs every
reaction and every timer due, in virtual time, so an hour-long incident replays in seconds. An
input naming an object the sandbox lacks (a pod the recorded ReplicaSet named otherwise) goes to
the sandbox object with the same `generateName` not yet matched, oldest first, or is skipped and
reported.

Then it compares the decisions (`replay.decisions`) recorded in the window with those the sandbox
made, and reports the differences with the sandbox's final state digest: the same window and
options give the same `Outcome`, byte for byte, run after run (with PYTHONHASHSEED fixed: the order of a
set of strings would otherwise differ between processes; `ops/cmd_replay.py` sees to it).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
import structlog
from nats.aio.client import Client

from bus.apiclient import ApiClient, ApiReplyError
from bus.connection import Bus
from bus.log import Entry, EventLog, Meta, Op
from bus.memory import MemoryLog
from components.apiserver.busapi import BusApi
from components.apiserver.cache import WatchCache
from components.apiserver.resources import Resources
from components.controllers.manager import ControllerManager, ManagerConfig, available
from components.scheduler.scores import LEAST_ALLOCATED
from components.scheduler.service import Scheduler, SchedulerConfig
from core.keys import KeyFilter, ObjectKey
from core.kinds import REGISTRY, Stream
from core.patches.merge import merge_diff
from replay.decisions import Decisions, Difference, by_component, compare, extract, is_input
from replay.simnodes import Pace, SimNodes
from replay.state import StreamState
from replay.vloop import LoopClock, VirtualLoop, run

log = structlog.get_logger("replay.sandbox")

PREFIX = "replay"
# what a user's change never carries over: the server owns these
_SERVER_OWNED = ("resourceVersion", "generation", "uid", "creationTimestamp", "managedFields", "deletionTimestamp",
                 "deletionGracePeriodSeconds")


@dataclass
class Window:
    """A recorded stretch of the objects log: the state at `start`, and the entries (start, end]."""

    base: StreamState
    entries: list[Entry]
    start: int
    end: int
    start_time: float  # when `start` was written
    end_time: float


@dataclass
class Options:
    seed: int = 0
    controllers: tuple[str, ...] = ()  # () = every controller there is
    scoring_strategy: str = LEAST_ALLOCATED
    node_tick: float = 0.0  # > 0: simulated nodes report pod starts and removals on this grid (seconds)


@dataclass
class Outcome:
    window: Window
    options: Options
    recorded: Decisions
    replayed: Decisions
    differences: list[Difference]
    inputs: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (recorded revision, why)
    digest: str = ""  # the sandbox's objects at the end
    sandbox_revisions: int = 0  # entries the sandbox wrote after loading the base
    controllers: tuple[str, ...] = ()
    node_delays: tuple[float, float] = (0.0, 0.0)  # the simulated nodes' start and stop delays

    def as_json(self) -> dict[str, Any]:
        """The report: plain data in a fixed order, the same bytes for the same run."""
        w, start = self.window, self.window.start_time

        def first(at: tuple[int, float] | None) -> list[float] | None:
            return None if at is None else [at[0], round(at[1] - start, 6)]
        return {
            "window": {"from": w.start, "to": w.end, "entries": len(w.entries), "from_time": w.start_time,
                       "to_time": w.end_time},
            "options": {"seed": self.options.seed, "scoring_strategy": self.options.scoring_strategy,
                        "node_tick": self.options.node_tick,
                        "controllers": list(self.controllers)},
            "inputs": self.inputs,
            "skipped": [{"revision": r, "why": why} for r, why in self.skipped],
            "sandbox": {"entries": self.sandbox_revisions, "digest": self.digest,
                        "pod_start_delay": round(self.node_delays[0], 6), "pod_stop_delay": round(self.node_delays[1], 6)},
            "totals": [{"by": by, "verb": verb, "recorded": a, "replayed": b}
                       for by, verb, a, b in by_component(self.recorded, self.replayed)],
            "differences": [{"by": d.decision.by, "verb": d.decision.verb, "target": d.decision.target,
                             "detail": d.decision.detail, "recorded": d.recorded, "replayed": d.replayed,
                             "recorded_first": first(d.recorded_first), "replayed_first": first(d.replayed_first)}
                            for d in self.differences],
        }


class _Reply:
    def __init__(self, data: bytes) -> None:
        self.data = data


class _NoSubscription:
    async def unsubscribe(self) -> None:
        return None


class Loopback:
    """What components use of a NATS connection, served in-process: requests on
    `<prefix>.api.<verb>` go to `BusApi.answer`; subscriptions (stats) are accepted and never fed."""

    is_connected = True
    is_closed = False

    def __init__(self, api: BusApi) -> None:
        self.api = api
        self.stats = {"reconnects": 0}

    async def request(self, subject: str, payload: bytes = b"", timeout: float = 10.0, **_: Any) -> _Reply:
        return _Reply(await self.api.answer(subject.rsplit(".", 1)[-1], payload))

    async def subscribe(self, subject: str, queue: str = "", cb: Any = None, **_: Any) -> _NoSubscription:
        return _NoSubscription()

    async def drain(self) -> None:
        return None


def _resource(key: ObjectKey) -> str:
    return f"{key.resource}.{key.group}" if key.group else key.resource


def _user_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The change between two recorded versions that a client made (server-owned fields left out)."""
    def strip(obj: dict[str, Any]) -> dict[str, Any]:
        out = dict(obj)
        md = dict(out.get("metadata") or {})
        for f in _SERVER_OWNED:
            md.pop(f, None)
        out["metadata"] = md
        return out
    patch = merge_diff(strip(old), strip(new))
    if isinstance(patch, dict) and patch.get("metadata") == {}:
        del patch["metadata"]
    return cast(dict[str, Any], patch)


def _propagation(obj: dict[str, Any]) -> str | None:
    finalizers = (obj.get("metadata") or {}).get("finalizers") or []
    if "foregroundDeletion" in finalizers:
        return "Foreground"
    if "orphan" in finalizers:
        return "Orphan"
    return None


class _Sandbox:
    def __init__(self, window: Window, options: Options) -> None:
        self.window = window
        self.options = options
        self.skipped: list[tuple[int, str]] = []
        self.inputs = 0
        self.aliases: dict[ObjectKey, ObjectKey] = {}  # recorded key -> sandbox key
        self.recorded: dict[ObjectKey, Entry] = dict(window.base.entries)  # each key's recorded version so far

    async def run(self) -> Outcome:
        loop = cast(VirtualLoop, asyncio.get_running_loop())
        w, opts = self.window, self.options
        random.seed(opts.seed)  # anything left drawing from the module's generator (Event names) draws alike
        logs: dict[Stream, EventLog] = {s: MemoryLog(f"sandbox-{s.value}", clock=loop.epoch) for s in Stream}
        objects = cast(MemoryLog, logs[Stream.OBJECTS])
        self.objects = objects
        for e in w.base.ordered():
            await objects.append(e.key, Op.ADDED, e.data, expected=0, meta=Meta(actor=e.meta.actor))
        loaded = await objects.last_revision()
        caches = {s: WatchCache(lg, name=f"sandbox-{s.value}") for s, lg in logs.items()}
        for c in caches.values():
            await c.start()
        self.caches = caches
        resources = Resources(logs, caches, clock=loop.wall, ids=random.Random(opts.seed))
        loopback = Loopback(BusApi(cast(Client, None), PREFIX, resources, REGISTRY))
        self.nc = cast(Client, loopback)
        bus = Bus("sandbox:", prefix=PREFIX, name="replay-sandbox")
        bus.nc = self.nc
        bus.logs = cast(Any, logs)
        controllers = opts.controllers or available()
        pace = Pace.recorded(w.entries)
        self.delays = (pace.start_median, pace.stop_median)
        sim = SimNodes(objects, lambda node: ApiClient(self.nc, PREFIX, f"system:node:{node}"), epoch=loop.epoch,
                       pace=pace, tick=opts.node_tick)
        manager = ControllerManager(ManagerConfig(nats_url="", prefix=PREFIX, controllers=controllers),
                                    clock=LoopClock(loop), bus=bus, rng=random.Random(opts.seed + 1))
        # the scheduler breaks ties as the recorded one did: by pod uid, not by a seed
        scheduler = Scheduler(SchedulerConfig(nats_url="", prefix=PREFIX, identity="replay",
                                              scoring_strategy=opts.scoring_strategy),
                              clock=loop.time, wall=loop.wall, bus=bus)
        await sim.start()
        await manager.start()
        await scheduler.start()
        try:
            for e in w.entries:
                if is_input(e):
                    await asyncio.sleep(max(0.0, e.timestamp - loop.epoch()))
                    await self._feed(e)
                self.recorded[e.key] = e
            await asyncio.sleep(max(0.0, w.end_time - loop.epoch()) + 1e-6)
        finally:
            await scheduler.stop()
            await manager.stop()
            await sim.stop()
            for c in caches.values():
                await c.stop()
        last = await objects.last_revision()
        state, after = StreamState(), []
        async for e in objects.read(KeyFilter(), 0, last):
            if e.revision <= loaded:
                state.apply(e)
            else:
                after.append(e)
        base = dict(state.entries)
        for e in after:
            state.apply(e)
        recorded = extract(w.entries, dict(w.base.entries))
        replayed = extract(after, base)
        return Outcome(w, opts, recorded, replayed, compare(recorded, replayed), inputs=self.inputs,
                       skipped=self.skipped, digest=state.digest(), sandbox_revisions=last - loaded,
                       controllers=tuple(controllers), node_delays=self.delays)

    # -- inputs -----------------------------------------------------------------------------
    async def _feed(self, e: Entry) -> None:
        self.inputs += 1
        try:
            why = await self._apply(e)
        except ApiReplyError as err:
            why = f"the sandbox API refused it: {err}"
        if why:
            self.skipped.append((e.revision, why))

    async def _find(self, key: ObjectKey, recorded: dict[str, Any] | None) -> tuple[ObjectKey, Entry | None]:
        key = self.aliases.get(key, key)
        cur = await self.objects.latest(key)
        if cur is not None and cur.op is not Op.DELETED:
            return key, cur
        generate = ((recorded or {}).get("metadata") or {}).get("generateName")
        if not generate:
            return key, None
        taken = set(self.aliases.values())
        listed, _ = await self.objects.current(KeyFilter(key.group, key.resource, key.namespace))
        for c in sorted(listed, key=lambda x: x.revision):
            if c.key in taken or not c.key.name.startswith(generate):
                continue
            if (orjson.loads(c.data).get("metadata") or {}).get("generateName") == generate:
                self.aliases[key] = c.key
                return c.key, c
        return key, None

    async def _apply(self, e: Entry) -> str:
        """Feed one input; the reason it was skipped, or ""."""
        new = orjson.loads(e.data)
        prev = self.recorded.get(e.key)
        old = orjson.loads(prev.data) if prev is not None and prev.op is not Op.DELETED else None
        api = ApiClient(self.nc, PREFIX, e.meta.actor or "replay")
        if e.op is Op.ADDED:
            held = await self.objects.latest(e.key)
            if held is not None and held.op is not Op.DELETED:
                return f"{e.key} exists in the sandbox already"
            written = await self.objects.append(e.key, Op.ADDED, e.data, expected=held.revision if held else 0,
                                                meta=Meta(actor=e.meta.actor, request_id=f"replayed:{e.revision}"))
            await self.caches[Stream.OBJECTS].wait_for(written.revision)
            return ""
        key, cur = await self._find(e.key, old or new)
        if cur is None:
            return f"{e.key} is not in the sandbox"
        ns, name, resource = key.namespace, key.name, _resource(key)
        if e.op is Op.DELETED:
            if (orjson.loads(cur.data).get("metadata") or {}).get("deletionTimestamp"):
                return ""  # deleting already: what finishes it is the sandbox's to do
            await api.delete(resource, ns, name, propagation=_propagation(new))
            return ""
        starts_deleting = (new.get("metadata") or {}).get("deletionTimestamp") and not \
            ((old or {}).get("metadata") or {}).get("deletionTimestamp")
        patch = _user_patch(old or {}, new)
        status = patch.pop("status", None)
        if starts_deleting:
            (patch.get("metadata") or {}).pop("finalizers", None)
            if patch.get("metadata") == {}:
                del patch["metadata"]
        if patch:
            await api.patch(resource, ns, name, patch)
        if status:
            version = REGISTRY.version_of(key.group, key.resource)
            kind = REGISTRY.by_resource(key.group, version, key.resource) if version else None
            sub = "status" if kind is not None and "status" in kind.subresources else ""
            await api.patch(resource, ns, name, {"status": status}, subresource=sub)
        if starts_deleting:
            await api.delete(resource, ns, name, propagation=_propagation(new),
                             grace_period_seconds=(new.get("metadata") or {}).get("deletionGracePeriodSeconds"))
        return ""


def replay(window: Window, options: Options | None = None) -> Outcome:
    """Run the sandbox over `window` on a virtual-time loop of its own (call it outside any loop)."""
    return run(_Sandbox(window, options or Options()).run(), start=window.start_time)
