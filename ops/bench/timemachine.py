"""The time machine's benchmarks: restore to a serving API, the state at a revision of a long log,
writes during a backup — each against a raw JetStream reference measured in the same run.

- `restore`: N ConfigMaps (400–800 bytes each, in a few namespaces) are published raw into the
  objects stream of a bench nats-server — the headers `bus.jetstream` writes, no API server — and
  a backup file is made of them with `replay.backup.create`. Each run then times, end to end,
  what "restore to a serving API" takes: reading and checking the file (`replay.archive.read`),
  starting a nats-server on a fresh store, `replay.restore.restore` into it, an in-process
  `ApiServer` on that store until ready, and one HTTP list of every ConfigMap returning N items.
  Reference: the same N bodies published raw (pipelined `publish_async`, every one acked) into a
  fresh stream.
- `pointintime`: a log of M events (M/20 keys, each written 20 times; some deleted and created
  again, some deleted for good) published raw, with a snapshot (`SnapshotStore.create`) taken
  after 90% of it. Each run reads the state at a revision R near the end twice — from the log's
  start (`read_state(log, R)`) and from the snapshot (`nearest(R)` + `read_state(…, base=…)`) —
  and checks both digests agree. Reference: a raw ordered consumer receiving the same R messages
  without decoding them.
- `backup`: a control-plane cluster (`ops.bench.cluster.Cluster`: supervisor, nats-server, API
  server as separate processes) holding K ConfigMaps. The HTTP load generator (its own process,
  32 keep-alive clients) creates ConfigMaps for T seconds without a backup, then for T seconds
  while this process runs `replay.backup.create(…, fresh=True)` back to back — as `jetkube backup
  --fresh` would, from outside the cluster. Writes/s during ÷ writes/s without is the cost.

Everything started here (nats-servers, API servers, clusters, load generators) is stopped in
`finally` blocks; stores and files live under the bench's temp dir. The pure helpers (bodies,
the event history, goal verdicts) are unit-tested; timings never are.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import shutil
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import nats
import nats.errors
import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js import api as jsapi

from bus.connection import Bus
from bus.log import Op
from bus.server import NatsServer
from bus.streams import provision, specs
from bus.subjects import SubjectSpace
from components.apiserver.server import ApiServer, ApiServerConfig
from core.keys import ObjectKey
from core.kinds import Stream
from ops.bench import load
from ops.bench.cluster import Cluster
from ops.bench.report import Row, median
from replay import archive, backup
from replay.restore import RestoreError, restore
from replay.snapshots import SnapshotStore
from replay.state import read_state

PREFIX = "tmbench"
NAMESPACES = tuple(f"bench-{i}" for i in range(5))
WRITES_PER_KEY = 20
SNAPSHOT_AT = 0.9  # share of the pointintime log written before its snapshot
GOAL_RESTORE = (100_000, 10.0)  # objects, seconds
GOAL_POINTINTIME = (1_000_000, 30.0)  # events, seconds
MAX_PENDING = 4000  # unacknowledged raw publishes in flight

Say = Callable[[str], None]


# -- what is written (pure) ---------------------------------------------------------------------

def body(namespace: str, name: str, version: int) -> bytes:
    """A ConfigMap as the API server stores it, 400–800 bytes, the same for the same arguments."""
    rng = random.Random(f"{namespace}/{name}/{version}")
    pad = rng.randrange(120, 480)
    return orjson.dumps({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "uid": f"{rng.getrandbits(128):032x}",
                     "creationTimestamp": "2025-01-01T00:00:00Z", "labels": {"app": "bench", "tier": name[:2]},
                     "annotations": {"jetkube.io/bench": "timemachine"}},
        "data": {"version": str(version), "settings": "k=v;" * (pad // 4), "tail": "x" * (pad % 4)},
    })


def configmap_key(i: int) -> ObjectKey:
    return ObjectKey("", "configmaps", NAMESPACES[i % len(NAMESPACES)], f"cm-{i}")


def namespace_body(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "uid": name},
                         "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})


def creates(n: int) -> Iterator[tuple[ObjectKey, Op, bytes]]:
    """The restore benchmark's cluster: its namespaces, then N ConfigMaps, each written once."""
    for ns in NAMESPACES:
        yield ObjectKey("", "namespaces", "", ns), Op.ADDED, namespace_body(ns)
    for i in range(n):
        key = configmap_key(i)
        yield key, Op.ADDED, body(key.namespace, key.name, 0)


def history_keys(events: int) -> int:
    return max(1, events // WRITES_PER_KEY)


def history(events: int) -> Iterator[tuple[ObjectKey, Op, bytes]]:
    """`events` rounded down to a multiple of 20: round r writes every key once, in key order.
    In round 10 every 7th key is deleted (round 11 creates it again); in the last round every 13th
    key is deleted for good. A delete's body is the object's last version, as the API server writes."""
    keys = history_keys(events)
    last = WRITES_PER_KEY - 1
    for r in range(WRITES_PER_KEY):
        for i in range(keys):
            key = configmap_key(i)
            if (r == 10 and i % 7 == 0) or (r == last and i % 13 == 0):
                yield key, Op.DELETED, body(key.namespace, key.name, r - 1)
            elif r == 0 or (r == 11 and i % 7 == 0):
                yield key, Op.ADDED, body(key.namespace, key.name, r)
            else:
                yield key, Op.MODIFIED, body(key.namespace, key.name, r)


def live_after(events: int) -> int:
    """Objects alive at the end of `history(events)`."""
    keys = history_keys(events)
    return keys - len(range(0, keys, 13))


def verdict(what: str, seconds: float, *, goal: tuple[int, float], size: int, unit: str, note: str = "") -> str:
    """One goal line: met / NOT met, and whether the size measured is the goal's."""
    goal_size, goal_seconds = goal
    if seconds != seconds:  # NaN: nothing was measured
        return f"goal {what} ≤ {goal_seconds:g} s: not measured"
    if size != goal_size:
        return (f"goal {what} ≤ {goal_seconds:g} s: not judged at this size ({seconds:.2f} s{note} for {size:,} "
                f"{unit})")
    state = "met" if seconds <= goal_seconds else "NOT met"
    return f"goal {what} ≤ {goal_seconds:g} s: {state} ({seconds:.2f} s{note})"


# -- raw JetStream --------------------------------------------------------------------------------

@dataclass
class Published:
    count: int = 0
    seconds: float = 0.0
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


async def _settle(pending: list[asyncio.Future[Any]], res: Published) -> None:
    for outcome in await asyncio.gather(*pending, return_exceptions=True):
        if isinstance(outcome, BaseException):
            res.errors += 1
            if len(res.samples) < 3:
                res.samples.append(repr(outcome))
        else:
            res.count += 1
    pending.clear()


async def publish(js: JetStreamContext, stream: str, subjects: SubjectSpace,
                  items: Iterable[tuple[ObjectKey, Op, bytes]], *, pause_at: int = 0,
                  on_pause: Callable[[], Awaitable[None]] | None = None, batch: int = 10_000) -> Published:
    """Pipelined acked publishes with the headers an append carries (no compare-and-swap: nobody
    races a bench). After `pause_at` messages, all acked, `on_pause()` runs; its time is left out."""
    res = Published()
    pending: list[asyncio.Future[Any]] = []
    paused = 0.0
    t0 = time.perf_counter()
    for i, (key, op, data) in enumerate(items, 1):
        headers = {"Jk-Op": op.value, "Jk-Actor": "bench", "Jk-Request": f"bench-{i}"}
        pending.append(await js.publish_async(subjects.subject(key), data, stream=stream, headers=headers))
        if len(pending) >= batch:
            await _settle(pending, res)
        if i == pause_at and on_pause is not None:
            await _settle(pending, res)
            p0 = time.perf_counter()
            await on_pause()
            paused += time.perf_counter() - p0
    await _settle(pending, res)
    res.seconds = time.perf_counter() - t0 - paused
    return res


async def raw_read(js: JetStreamContext, subject: str, count: int, *, timeout: float = 600.0) -> float:
    """Seconds an ordered push consumer takes to receive the stream's first `count` messages
    (the callback only counts them: no decoding)."""
    done = asyncio.Event()
    seen = 0

    async def cb(_msg: Any) -> None:
        nonlocal seen
        seen += 1
        if seen >= count:
            done.set()

    t0 = time.perf_counter()
    sub = await js.subscribe(subject, ordered_consumer=True, cb=cb, deliver_policy=jsapi.DeliverPolicy.ALL,
                             pending_msgs_limit=-1, pending_bytes_limit=-1)
    try:
        await asyncio.wait_for(done.wait(), timeout)
        return time.perf_counter() - t0
    finally:
        await sub.unsubscribe()


async def _raw_connection(url: str) -> tuple[Client, JetStreamContext]:
    nc = await nats.connect(url, name="jetkube-bench-raw", max_reconnect_attempts=0)
    return nc, nc.jetstream(timeout=30, publish_async_max_pending=MAX_PENDING)


async def reference_publish(js: JetStreamContext, items: Iterable[tuple[ObjectKey, Op, bytes]], tag: str) -> Published:
    """The same messages into a fresh stream of their own (deleted afterwards)."""
    spec = specs(f"tmref{tag}")[Stream.OBJECTS]
    await provision(js, spec)
    try:
        return await publish(js, spec.name, spec.subjects, items)
    finally:
        await js.delete_stream(spec.name)


# -- restore to a serving API -----------------------------------------------------------------------

@dataclass
class RestoreRun:
    read: float = 0.0  # archive.read: parse + verify
    nats: float = 0.0  # a nats-server on a fresh store, listening
    write: float = 0.0  # replay.restore.restore
    serve: float = 0.0  # ApiServer start until ready
    list: float = 0.0  # one HTTP list of every ConfigMap
    listed: int = 0
    reference: Published = field(default_factory=Published)

    @property
    def total(self) -> float:
        return self.read + self.nats + self.write + self.serve + self.list


@dataclass
class RestoreBench:
    objects: int
    build: Published = field(default_factory=Published)
    backup_seconds: float = 0.0
    backup_bytes: int = 0
    runs: list[RestoreRun] = field(default_factory=list)


async def _list_configmaps(url: str) -> int:
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(f"{url}/api/v1/configmaps", headers={"Accept": "application/json"}) as r:
            if r.status != 200:
                raise RuntimeError(f"listing configmaps: HTTP {r.status} {(await r.text())[:200]}")
            doc = orjson.loads(await r.read())
    return sum(1 for o in doc["items"] if o["metadata"].get("namespace", "") in NAMESPACES)


async def _restore_once(path: Path, store: Path, *, sync_always: bool) -> RestoreRun:
    run = RestoreRun()
    t = time.perf_counter()
    ar = archive.read(path)
    state = ar.state_at()
    run.read = time.perf_counter() - t
    server = NatsServer(store_dir=store, sync_always=sync_always)
    try:
        t = time.perf_counter()
        await server.start()
        run.nats = time.perf_counter() - t
        t = time.perf_counter()
        bus = await Bus(server.url, prefix=PREFIX, name="jetkube-bench-restore").connect()
        try:
            await restore(bus, state)
        finally:
            await bus.close()
        run.write = time.perf_counter() - t
        t = time.perf_counter()
        api = ApiServer(ApiServerConfig(nats_url=server.url, prefix=PREFIX, port=0, compact_every=0))
        try:
            await api.start()
            run.serve = time.perf_counter() - t
            t = time.perf_counter()
            run.listed = await _list_configmaps(api.url)
            run.list = time.perf_counter() - t
        finally:
            await api.stop()
    finally:
        await server.stop()
        shutil.rmtree(store, ignore_errors=True)
    return run


async def measure_restore(tmp: Path, *, objects: int, runs: int, sync_always: bool, say: Say) -> RestoreBench:
    res = RestoreBench(objects)
    src = NatsServer(store_dir=tmp / "restore-source", sync_always=sync_always)
    path = tmp / "restore.jkb"
    async with src:
        bus = await Bus(src.url, prefix=PREFIX, name="jetkube-bench-source").connect()
        nc, js = await _raw_connection(src.url)
        try:
            spec = bus.specs[Stream.OBJECTS]
            say(f"  publishing {objects:,} ConfigMaps raw into the source cluster's log…")
            res.build = await publish(js, spec.name, spec.subjects, creates(objects))
            say(f"  {res.build.count:,} in {res.build.seconds:.1f}s ({res.build.rate:,.0f}/s)"
                + (f", {res.build.errors} errors {res.build.samples}" if res.build.errors else ""))
            summary = await backup.create(bus, path, fresh=True, info={"made by": "ops.bench restore"})
            res.backup_seconds, res.backup_bytes = float(summary["seconds"]), int(summary["bytes"])
            say(f"  backup: {res.backup_bytes / 2**20:.1f} MiB in {res.backup_seconds:.1f}s")
            for r in range(runs):
                ref = await reference_publish(js, creates(objects), f"{r}")
                run = await _restore_once(path, tmp / f"restore-target-{r}", sync_always=sync_always)
                run.reference = ref
                res.runs.append(run)
                say(f"  run {r + 1}: {run.total:.2f}s end to end — read {run.read:.2f}s, "
                    f"nats-server {run.nats:.2f}s, "
                    f"restore {run.write:.2f}s, API ready {run.serve:.2f}s, list {run.list:.2f}s "
                    f"({run.listed:,} items); raw publish of the same {ref.count:,}: {ref.seconds:.2f}s "
                    f"({ref.rate:,.0f}/s)" + (f" [red]{ref.errors} errors[/]" if ref.errors else ""))
        finally:
            await nc.close()
            await bus.close()
            path.unlink(missing_ok=True)
    return res


# -- the state at a revision ------------------------------------------------------------------------

@dataclass
class PointRun:
    reference: float = 0.0  # raw ordered consumer, R messages
    from_start: float = 0.0
    snapshot_load: float = 0.0  # nearest(R): list, download, parse, verify
    snapshot_tail: float = 0.0  # read_state(base=…): the log after the snapshot
    digest_equal: bool = False
    objects: int = 0

    @property
    def from_snapshot(self) -> float:
        return self.snapshot_load + self.snapshot_tail


@dataclass
class PointBench:
    events: int
    revision: int = 0  # R
    build: Published = field(default_factory=Published)
    snapshot_revision: int = 0
    snapshot_seconds: float = 0.0
    snapshot_bytes: int = 0
    runs: list[PointRun] = field(default_factory=list)


async def measure_pointintime(tmp: Path, *, events: int, runs: int, sync_always: bool, say: Say) -> PointBench:
    total = history_keys(events) * WRITES_PER_KEY
    res = PointBench(total)
    server = NatsServer(store_dir=tmp / "pointintime", sync_always=sync_always)
    async with server:
        bus = await Bus(server.url, prefix=PREFIX, name="jetkube-bench-pit").connect()
        nc, js = await _raw_connection(server.url)
        try:
            spec = bus.specs[Stream.OBJECTS]
            store = SnapshotStore(bus)

            async def snapshot() -> None:
                t = time.perf_counter()
                info = await store.create(reason="bench")
                res.snapshot_seconds = time.perf_counter() - t
                res.snapshot_revision, res.snapshot_bytes = info.revision, info.size

            say(f"  publishing {total:,} events ({history_keys(events):,} keys × {WRITES_PER_KEY}) raw, "
                f"a snapshot after {SNAPSHOT_AT:.0%}…")
            res.build = await publish(js, spec.name, spec.subjects, history(events),
                                      pause_at=int(total * SNAPSHOT_AT), on_pause=snapshot)
            last = await bus.logs[Stream.OBJECTS].last_revision()
            res.revision = last - last // 100
            say(f"  {res.build.count:,} in {res.build.seconds:.1f}s ({res.build.rate:,.0f}/s)"
                + (f", {res.build.errors} errors {res.build.samples}" if res.build.errors else "")
                + f"; snapshot at revision {res.snapshot_revision:,} ({res.snapshot_bytes / 2**20:.1f} MiB) took "
                f"{res.snapshot_seconds:.1f}s; reading the state at revision {res.revision:,}")
            log = bus.logs[Stream.OBJECTS]
            for r in range(runs):
                run = PointRun()
                run.reference = await raw_read(js, spec.subjects.all, res.revision)
                t = time.perf_counter()
                full = await read_state(log, res.revision)
                run.from_start = time.perf_counter() - t
                t = time.perf_counter()
                snap = await store.nearest(res.revision)
                run.snapshot_load = time.perf_counter() - t
                if snap is None:
                    raise RuntimeError(f"no snapshot at or below revision {res.revision}")
                t = time.perf_counter()
                quick = await read_state(log, res.revision, base=snap.base_state(Stream.OBJECTS.value))
                run.snapshot_tail = time.perf_counter() - t
                run.digest_equal = full.digest() == quick.digest() and full.revision == quick.revision
                run.objects = len(full)
                del full, quick, snap
                res.runs.append(run)
                say(f"  run {r + 1}: from the start {run.from_start:.2f}s ({res.revision / run.from_start:,.0f} "
                    f"events/s); from the snapshot {run.from_snapshot:.2f}s (load {run.snapshot_load:.2f}s + "
                    f"log {run.snapshot_tail:.2f}s); raw read {run.reference:.2f}s "
                    f"({res.revision / run.reference:,.0f} msgs/s); {run.objects:,} objects, digests "
                    + ("equal" if run.digest_equal else "[red]DIFFER[/]"))
        finally:
            await nc.close()
            await bus.close()
    return res


# -- writes during a backup -------------------------------------------------------------------------

@dataclass
class BackupRun:
    without: dict[str, Any] = field(default_factory=dict)  # load generator's result
    during: dict[str, Any] = field(default_factory=dict)
    backups: list[dict[str, Any]] = field(default_factory=list)  # summaries of those during the window
    idle: dict[str, Any] = field(default_factory=dict)  # one backup with no writers, between the windows


@dataclass
class BackupBench:
    existing: int
    seconds: float
    concurrency: int
    preload: Published = field(default_factory=Published)
    runs: list[BackupRun] = field(default_factory=list)


def _creates_argv(url: str, *, seconds: float, concurrency: int, prefix: str) -> list[str]:
    return ["creates", "--url", url, "--count", "10000000", "--concurrency", str(concurrency),
            "--warmup", "200", "--max-seconds", str(seconds), "--prefix", prefix]


async def _one_backup(bus: Bus, path: Path) -> dict[str, Any]:
    try:
        return await backup.create(bus, path, fresh=True, info={"made by": "ops.bench backup"})
    finally:
        path.unlink(missing_ok=True)


async def measure_backup(tmp: Path, *, existing: int, seconds: float, runs: int, concurrency: int,
                         sync_always: bool, say: Say) -> BackupBench:
    res = BackupBench(existing, seconds, concurrency)
    args = ("--nodes", "0", "--snapshot-every", "0")  # no scheduled snapshot inside a window
    files = tmp / "backups"
    files.mkdir(parents=True, exist_ok=True)
    async with Cluster(tmp / "home-backup", sync_always=sync_always, args=args) as cluster:
        prefix = json.loads((cluster.home / "cluster.json").read_text()).get("prefix", "jk")
        url = f"nats://127.0.0.1:{cluster.nats_port}"
        bus = await Bus(url, prefix=prefix, name="jetkube-bench-backup").connect()
        nc, js = await _raw_connection(url)
        try:
            spec = bus.specs[Stream.OBJECTS]
            res.preload = await publish(js, spec.name, spec.subjects,
                                        ((k, op, d) for k, op, d in creates(existing) if k.resource == "configmaps"))
            say(f"  cluster up ({cluster.url}); {res.preload.count:,} ConfigMaps published raw in "
                f"{res.preload.seconds:.1f}s")
            for r in range(runs):
                run = BackupRun()
                run.without = await load.spawn(_creates_argv(cluster.url, seconds=seconds, concurrency=concurrency,
                                                             prefix=f"tm{r}n"), timeout=seconds + 120)
                run.idle = await _one_backup(bus, files / f"idle-{r}.jkb")  # as many objects as the next window
                stop = asyncio.Event()
                tasks: list[asyncio.Task[None]] = []

                async def back_to_back(r: int = r, run: BackupRun = run) -> None:
                    i = 0
                    while not stop.is_set():
                        run.backups.append(await _one_backup(bus, files / f"during-{r}-{i}.jkb"))
                        i += 1

                def on_phase(name: str) -> None:
                    if name == "start":
                        tasks.append(asyncio.create_task(back_to_back(), name="bench-backups"))
                    elif name == "end":
                        stop.set()

                try:
                    run.during = await load.spawn(_creates_argv(cluster.url, seconds=seconds,
                                                                concurrency=concurrency, prefix=f"tm{r}b"),
                                                  timeout=seconds + 300, on_phase=on_phase)
                    stop.set()
                    for task in tasks:
                        await task  # the last backup finishes; a failed one fails the benchmark
                finally:
                    stop.set()
                    for task in tasks:
                        task.cancel()  # only still running when the window itself failed or was interrupted
                    await asyncio.gather(*tasks, return_exceptions=True)
                res.runs.append(run)
                secs = [float(b["seconds"]) for b in run.backups]
                size = median(float(b["bytes"]) for b in run.backups) / 2**20
                say(f"  run {r + 1}: without a backup {run.without['rate']:,.0f} creates/s "
                    f"({run.without['errors']} errors); during {len(run.backups)} back-to-back backups "
                    f"{run.during['rate']:,.0f} creates/s ({run.during['errors']} errors); backups took "
                    f"{', '.join(f'{s:.1f}' for s in secs)} s, {size:.1f} MiB; idle backup "
                    f"{float(run.idle['seconds']):.1f}s")
        finally:
            await nc.close()
            await bus.close()
    return res


# -- the table (pure) -------------------------------------------------------------------------------

FAILURES: tuple[type[BaseException], ...] = (RuntimeError, OSError, KeyError, ValueError, asyncio.TimeoutError,
                                             archive.ArchiveError, RestoreError, load.LoadError, nats.errors.Error)
"""What a time-machine benchmark may fail with: reported as a FAILED row, the others still run."""


def restore_rows(res: RestoreBench) -> list[Row]:
    n = f"{res.objects:,}"
    runs = res.runs
    ref = median(r.reference.seconds for r in runs)
    ref_unit = f"s: raw publish_async of the same {n}"
    return [
        Row(f"restore {n} objects to a serving API — end to end", [r.total for r in runs], "s", ref, ref_unit,
            goal=f"≤ {GOAL_RESTORE[1]:g} s ({GOAL_RESTORE[0]:,})"),
        Row("  …archive read + checked (parse, CRCs, hash, digest)", [r.read for r in runs], "s"),
        Row("  …nats-server on a fresh store", [r.nats for r in runs], "s"),
        Row("  …replay.restore into it", [r.write for r in runs], "s", ref, ref_unit),
        Row("  …API server start until ready (watch cache loaded)", [r.serve for r in runs], "s"),
        Row(f"  …HTTP list of all {n} ConfigMaps", [r.list for r in runs], "s"),
        Row("  ConfigMaps listed after the restore", [float(r.listed) for r in runs], "objects",
            goal=f"= {n}"),
        Row(f"backup of {n} objects (fresh snapshot + file), once", [res.backup_seconds], "s"),
        Row("  backup file size", [res.backup_bytes / 2**20], "MiB"),
    ]


def pointintime_rows(res: PointBench) -> list[Row]:
    runs = res.runs
    ref = median(r.reference for r in runs)
    ref_unit = f"s: raw ordered consumer, {res.revision:,} msgs"
    goal = f"≤ {GOAL_POINTINTIME[1]:g} s ({GOAL_POINTINTIME[0]:,} events)"
    snap_at = f"{res.snapshot_revision:,}"
    return [
        Row(f"state at revision {res.revision:,} of a {res.events:,}-event log — from the log's start",
            [r.from_start for r in runs], "s", ref, ref_unit, goal=goal),
        Row("  …events applied per second", [res.revision / r.from_start if r.from_start else math.nan
                                             for r in runs], "events/s",
            median(res.revision / r.reference for r in runs if r.reference), "msgs/s raw"),
        Row(f"state at revision {res.revision:,} — from the snapshot at {snap_at}", [r.from_snapshot for r in runs],
            "s", ref, ref_unit, goal=goal),
        Row("  …snapshot found, downloaded, parsed, checked", [r.snapshot_load for r in runs], "s"),
        Row(f"  …log after it ({res.revision - res.snapshot_revision:,} events)", [r.snapshot_tail for r in runs],
            "s"),
        Row("  digests differ (from the start vs from the snapshot)", [float(not r.digest_equal) for r in runs],
            "runs", goal="0"),
        Row(f"snapshot of {median(float(r.objects) for r in runs):,.0f} objects taken while building",
            [res.snapshot_seconds], "s"),
        Row(f"  raw build of the log ({res.build.count:,} pipelined acked publishes)", [res.build.rate],
            "events/s"),
    ]


def backup_rows(res: BackupBench) -> list[Row]:
    runs = res.runs
    without = median(float(r.without["rate"]) for r in runs)
    label = f"{res.concurrency} clients, {res.existing:,} existing, {res.seconds:g} s windows"
    objects = median(float(b["streams"]["objects"]["objects"]) for r in runs for b in r.backups)
    return [
        Row(f"HTTP creates without a backup ({label})", [float(r.without["rate"]) for r in runs], "creates/s"),
        Row("HTTP creates during back-to-back backups", [float(r.during["rate"]) for r in runs], "creates/s",
            without, "creates/s without a backup"),
        Row("  backups completed during the window", [float(len(r.backups)) for r in runs], "backups"),
        Row(f"  backup seconds under writes (median per run; ~{objects:,.0f} objects)",
            [median(float(b["seconds"]) for b in r.backups) for r in runs], "s",
            median(float(r.idle["seconds"]) for r in runs),
            f"s: a backup, no writers (~{median(float(r.idle['streams']['objects']['objects']) for r in runs):,.0f})"),
        Row("  backup size under writes", [median(float(b["bytes"]) for b in r.backups) / 2**20 for r in runs],
            "MiB"),
        Row("  HTTP create errors (without / during)",
            [float(r.without["errors"]) + float(r.during["errors"]) for r in runs], "requests"),
    ]


def verdicts(restore_res: RestoreBench | None, point: PointBench | None) -> list[str]:
    out = []
    if restore_res is not None and restore_res.runs:
        out.append(verdict(f"restore of {GOAL_RESTORE[0]:,} objects to a serving API",
                           median(r.total for r in restore_res.runs), goal=GOAL_RESTORE,
                           size=restore_res.objects, unit="objects"))
    if point is not None and point.runs:
        what = f"state at a revision of a {GOAL_POINTINTIME[0]:,}-event log"
        out.append(verdict(f"{what}, from the log's start", median(r.from_start for r in point.runs),
                           goal=GOAL_POINTINTIME, size=point.events, unit="events"))
        out.append(verdict(f"{what}, from a snapshot at {SNAPSHOT_AT:.0%}", median(r.from_snapshot for r in point.runs),
                           goal=GOAL_POINTINTIME, size=point.events, unit="events"))
    return out
