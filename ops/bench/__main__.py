"""`python -m ops.bench` (`make bench`): run the selected benchmarks, print one table.

Everything the bench starts — a nats-server for the reference, a cluster (supervisor, nats-server,
API server), load generators, py-spy — is its child with the parent-death signal set, on free
ports under one temp dir, and is stopped in `finally` blocks: on success, on error, on Ctrl-C
and on SIGTERM.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from components.runtime import configure_logging
from ops.bench import creates, deployments, jetstream, pods, timemachine, watch
from ops.bench.cluster import Cluster, ClusterError
from ops.bench.load import LoadError
from ops.bench.options import Plan, parse
from ops.bench.profile import Profile, py_spy_binary
from ops.bench.report import Row, build_table, median, rows_as_dicts

out = Console(width=None if sys.stdout.isatty() else 170)
log = Console(stderr=True, log_path=False, width=None if sys.stderr.isatty() else 170)

GOAL_CREATES = 3_000.0
GOAL_RATIO = 0.25
_interrupted: list[str] = []  # the signal that asked the bench to stop, if one did


def _pct(share: float | None) -> float:
    return math.nan if share is None else 100 * share


def _shares(shares: dict[str, float | None]) -> str:
    return "  ".join(f"{n} {'?' if v is None or math.isnan(v) else f'{v:.0%}'}" for n, v in shares.items())


def _watch_shares(res: dict[str, Any]) -> dict[str, float | None]:
    secs = float(res.get("phase_seconds") or 0)
    if secs <= 0:
        return {}
    cpu = res.get("cpu") or {}
    shares: dict[str, float | None] = {n: cpu[n] / secs for n in ("apiserver", "nats") if n in cpu}
    shares["loadgen"] = float(res.get("loadgen_cpu_seconds", 0.0)) / secs
    shares["others"] = cpu["others"] / secs if "others" in cpu else None
    return shares


def _ms(run: dict[str, Any], key: str, point: str) -> float:
    v = (run.get(key) or {}).get(point)
    return math.nan if v is None else float(v)


class Bench:
    def __init__(self, plan: Plan, tmp: Path) -> None:
        self.plan = plan
        self.tmp = tmp
        self.rows: list[Row] = []
        self.details: dict[str, Any] = {}
        self.reference: float | None = None
        self.reference_mode = ""
        self.profile: Profile | None = None
        self.failed = False
        self.restored: timemachine.RestoreBench | None = None
        self.pointintime: timemachine.PointBench | None = None

    # -- the reference ----------------------------------------------------------------------
    async def jetstream(self) -> None:
        p = self.plan
        runs = p.runs if p.selected("jetstream") else 1
        log.log(f"[bold]jetstream[/]: {runs} run(s) × {p.raw_pipelined:,} pipelined / {p.raw_sequential:,} "
                f"sequential CAS creates" + (" (sync_interval: always)" if p.sync_always else ""))

        def show(r: jetstream.RawResult) -> None:
            log.log(f"  {r.mode:13s} {r.count:7,d} in {r.seconds:6.3f}s = {r.rate:9,.0f}/s"
                    + (f"  [red]{r.errors} errors[/] {r.error_samples}" if r.errors else ""))

        res = await jetstream.run(self.tmp / "raw-nats", n_pipelined=p.raw_pipelined, n_sequential=p.raw_sequential,
                                  runs=runs, sync_always=p.sync_always, workers=p.raw_workers, on_result=show)
        self.details["jetstream"] = {m: [vars(r) | {"rate": r.rate} for r in rs] for m, rs in res.items()}
        rates = {m: [r.rate if not r.errors else math.nan for r in rs] for m, rs in res.items()}
        self.reference_mode = max(jetstream.PIPELINED, key=lambda m: median(rates[m]))
        self.reference = median(rates[self.reference_mode])
        if not p.selected("jetstream"):
            return
        ref_unit = f"appends/s ({self.reference_mode})"
        self.rows += [
            Row("raw JetStream pipelined CAS creates — publish_async", rates["publish_async"], "appends/s"),
            Row(f"raw JetStream pipelined CAS creates — {p.raw_workers} concurrent js.publish", rates["concurrent"],
                "appends/s"),
            Row("raw JetStream sequential acked creates", rates["sequential"], "appends/s", self.reference, ref_unit),
        ]

    # -- the cluster ------------------------------------------------------------------------
    async def cluster_benchmarks(self) -> None:
        p = self.plan
        log.log("[bold]cluster[/]: starting nats-server + API server (the `jetkube up` supervisor)")
        t0 = time.monotonic()
        async with Cluster(self.tmp / "home", sync_always=p.sync_always) as cluster:
            log.log(f"  up in {time.monotonic() - t0:.1f}s: {cluster.url}, pids {cluster.pids}")
            if p.selected("creates"):
                await self._guarded("creates", self.creates(cluster))
            if p.selected("watch"):
                await self._guarded("watch", self.watch(cluster))

    async def _guarded(self, name: str, coro: Any, also: tuple[type[BaseException], ...] = ()) -> None:
        caught: tuple[type[BaseException], ...] = (LoadError, ClusterError, KeyError, OSError, *also)
        try:
            await coro
        except caught as e:
            self.failed = True
            log.log(f"[red]{name} failed[/]: {e}")
            self.rows.append(Row(f"{name}: FAILED ({str(e).splitlines()[0][:60]})", [math.nan], ""))

    async def creates(self, cluster: Cluster) -> None:
        p = self.plan
        log.log(f"[bold]creates[/]: {p.runs} run(s) × {p.creates:,} ConfigMaps, {p.concurrency} clients")
        runs: list[creates.CreateRun] = []
        for r in range(p.runs):
            run = await creates.measure(cluster, count=p.creates, concurrency=p.concurrency, warmup=p.create_warmup,
                                        max_seconds=p.create_max_seconds, prefix=f"c{r}")
            res = run.result
            log.log(f"  {res['count']:7,d} in {res['seconds']:6.2f}s = {res['rate']:7,.0f}/s  p50 "
                    f"{_ms(res, 'latency_ms', 'p50'):.1f} ms  p99 {_ms(res, 'latency_ms', 'p99'):.1f} ms  "
                    f"errors {res['errors']} {res['error_kinds'] or ''}  CPU (share of a core): "
                    + _shares({n: run.cpu_share(n) for n in ("apiserver", "nats", "loadgen", "others")}))
            runs.append(run)
        self.details["creates"] = [{"result": r.result, "cpu_seconds": r.cpu} for r in runs]
        rates = [r.rate for r in runs]
        ref_unit = f"appends/s ({self.reference_mode})" if self.reference else ""
        cpu = [r.cpu_share("apiserver") for r in runs]
        self.rows += [
            Row(f"HTTP ConfigMap creates — {p.concurrency} clients, separate process", rates, "creates/s",
                self.reference, ref_unit, goal=f"≥ {GOAL_CREATES:,.0f}/s, ratio ≥ {GOAL_RATIO}"),
            Row("HTTP create latency p50", [_ms(r.result, "latency_ms", "p50") for r in runs], "ms"),
            Row("HTTP create latency p99", [_ms(r.result, "latency_ms", "p99") for r in runs], "ms"),
            Row("HTTP create errors", [float(r.result["errors"]) for r in runs], "requests"),
            Row("API server CPU during creates", [_pct(c) for c in cpu], "% of a core"),
            Row("CPU outside the bench's processes during creates",
                [_pct(r.cpu_share("others")) for r in runs], "% of a core"),
        ]
        if p.profile_dir is not None:
            await self.profile_creates(cluster)

    async def profile_creates(self, cluster: Cluster) -> None:
        p = self.plan
        assert p.profile_dir is not None
        if py_spy_binary() is None:
            log.log("[yellow]--profile: py-spy is not installed (.venv/bin/pip install py-spy); skipped[/]")
            return
        log.log(f"[bold]profile[/]: one more create run, py-spy on the API server for {p.profile_seconds:.0f}s")
        run, prof = await creates.profiled(cluster, p.profile_dir, seconds=p.profile_seconds,
                                           concurrency=p.concurrency, prefix="prof")
        self.profile = prof
        samples = prof.folded.samples if prof.folded else 0
        log.log(f"  {run.result['count']:,} creates at {run.rate:,.0f}/s while sampled; {samples:,} samples; "
                f"flamegraph {prof.svg}" + (f"  [red]{prof.errors}[/]" if prof.errors else ""))
        self.details["profile"] = {"result": run.result, "cpu_seconds": run.cpu, "svg": str(prof.svg),
                                   "raw": str(prof.raw), "folded": vars(prof.folded) if prof.folded else None,
                                   "errors": prof.errors}

    async def watch(self, cluster: Cluster) -> None:
        p = self.plan
        log.log(f"[bold]watch[/]: {p.runs} run(s): {p.watchers} watchers, {p.watch_count:,} creates at "
                f"{p.watch_rate:g}/s")
        results = []
        for r in range(p.runs):
            res = await watch.measure(cluster, watchers=p.watchers, rate=p.watch_rate, count=p.watch_count,
                                      prefix=f"w{r}")
            log.log(f"  {res['events_received']:,}/{res['events_expected']:,} events, p50 "
                    f"{_ms(res, 'latency_ms', 'p50'):.1f} ms  p99 {_ms(res, 'latency_ms', 'p99'):.1f} ms  max "
                    f"{_ms(res, 'latency_ms', 'max'):.1f} ms; creates {res['achieved_rate']:.0f}/s "
                    f"(errors {res['create_errors'] or 0}), {res['synced_watchers']} watchers synced; CPU: "
                    + _shares(_watch_shares(res))
                    + (f"  [red]watcher errors {res['watcher_errors']}[/]" if res["watcher_errors"] else ""))
            results.append(res)
        self.details["watch"] = results
        label = f"{p.watchers} watchers, {p.watch_rate:g} creates/s"
        delivered = [100 * r["events_received"] / r["events_expected"] if r["events_expected"] else math.nan
                     for r in results]
        self.rows += [
            Row(f"watch latency p50 ({label})", [_ms(r, "latency_ms", "p50") for r in results], "ms"),
            Row(f"watch latency p99 ({label})", [_ms(r, "latency_ms", "p99") for r in results], "ms"),
            Row("watch events delivered", delivered, "% of expected"),
            Row("CPU outside the bench's processes during watch",
                [_pct(_watch_shares(r).get("others")) for r in results], "% of a core"),
        ]


    async def pod_latency(self) -> None:
        p = self.plan
        log.log(f"[bold]pods[/]: {p.runs} run(s) × {p.pods} busybox pods at {p.pod_rate:g}/s on one docker node")
        async with Cluster(self.tmp / "home-pods", sync_always=p.sync_always, args=("--nodes", "1")) as cluster:
            results = []
            for r in range(p.runs):
                res = await pods.measure_latency(cluster, count=p.pods, rate=p.pod_rate, prefix=f"p{r}")
                s, ref = res.summary_ms, res.reference_ms
                log.log(f"  create→Running p50 {s['p50']:.0f} ms  p99 {s['p99']:.0f} ms  max {s['max']:.0f} ms"
                        f"  ({res.missing} never Running); docker alone p50 {ref['p50']:.0f} ms")
                results.append(res)
        self.details["pods"] = [{"latency_ms": r.summary_ms, "docker_ms": r.reference_ms, "missing": r.missing}
                                for r in results]
        ref50 = median(r.reference_ms["p50"] for r in results)
        self.rows += [
            Row("pod create→Running p50 (docker, seen by a watch)", [r.summary_ms["p50"] for r in results], "ms",
                ref50, "ms: docker create+start p50"),
            Row("pod create→Running p99 (docker, seen by a watch)", [r.summary_ms["p99"] for r in results], "ms",
                goal="p99 ≤ 1,000 ms"),
            Row("pods never seen Running", [float(r.missing) for r in results], "pods"),
        ]

    async def scheduling(self) -> None:
        p = self.plan
        log.log(f"[bold]scheduler[/]: {p.sched_pods:,} pods on {p.sched_nodes:,} simulated nodes")
        args = ("--runtime", "sim", "--nodes", str(p.sched_nodes))
        async with Cluster(self.tmp / "home-sched", sync_always=p.sync_always, args=args) as cluster:
            res = await pods.measure_scheduling(cluster, nodes=p.sched_nodes, pods=p.sched_pods,
                                                concurrency=p.concurrency)
        log.log(f"  created {p.sched_pods:,} in {res.create_seconds:.1f}s ({res.create_rate:,.0f}/s, "
                f"{res.create_errors} errors); bound {res.bound:,} in {res.bind_seconds:.1f}s "
                f"({res.bind_rate:,.0f}/s); Running {res.running:,} after {res.running_seconds:.1f}s")
        log.log("  RSS: " + ", ".join(f"{n} {v:.0f} MiB" for n, v in res.rss_mib.items()))
        self.details["scheduler"] = vars(res)
        self.rows += [
            Row(f"scheduler: {p.sched_pods:,} pods on {p.sched_nodes:,} sim nodes", [res.bind_rate], "pods/s",
                res.create_rate, "pods/s created through the API", goal="≥ 1,000 pods/s"),
            Row("  …all of them Running (sim kubelets)", [res.running_seconds], "s"),
        ]
        self.rows += [Row(f"  RSS {name}", [v], "MiB") for name, v in res.rss_mib.items()]


    async def deployment(self) -> None:
        p = self.plan
        log.log(f"[bold]deployment[/]: {p.runs} run(s) × {p.deploy_replicas:,} replicas on {p.deploy_nodes:,} "
                f"simulated nodes")
        results = []
        for r in range(p.runs):
            args = ("--runtime", "sim", "--nodes", str(p.deploy_nodes))
            async with Cluster(self.tmp / f"home-deploy-{r}", sync_always=p.sync_always, args=args) as cluster:
                res = await deployments.measure_rollout(cluster, nodes=p.deploy_nodes, replicas=p.deploy_replicas,
                                                        concurrency=p.concurrency)
                await deployments.measure_replay(cluster, res)
            log.log(f"  bare pods Running {res.bare_seconds:.1f}s; Deployment available {res.available_seconds:.1f}s"
                    f" ({res.reconcile_rate.get('available', 0):,.0f} reconciles/s); rolled {res.rollout_seconds:.1f}s"
                    f" ({res.reconcile_rate.get('rollout', 0):,.0f} reconciles/s); syncs {res.syncs}")
            log.log(f"  replayed its log ({res.replay_entries:,} entries, {res.recorded_seconds:.1f}s recorded) in "
                    f"{res.replay_seconds:.1f}s; {res.replay_differences} decisions differ")
            results.append(res)
        self.details["deployment"] = [vars(r) for r in results]
        ref = median(r.bare_seconds for r in results)
        n = f"{p.deploy_replicas:,}"
        self.rows += [
            Row(f"Deployment of {n} on {p.deploy_nodes:,} sim nodes: available", [r.available_seconds for r in results],
                "s", ref, f"s: {n} bare pods Running"),
            Row("  …rolled to a new image", [r.rollout_seconds for r in results], "s", ref,
                f"s: {n} bare pods Running"),
            Row("  reconciles/s while becoming available", [r.reconcile_rate.get("available", 0.0) for r in results],
                "/s"),
            Row("  reconciles/s while rolling", [r.reconcile_rate.get("rollout", 0.0) for r in results], "/s"),
            Row("  `jetkube replay` of that whole log (sandbox, virtual clock)", [r.replay_seconds for r in results],
                "s", median(r.recorded_seconds for r in results), "s: the log's recorded span"),
            Row("  …decisions that differ from the recorded ones", [float(r.replay_differences) for r in results], ""),
        ]


    # -- the time machine ---------------------------------------------------------------------
    async def restore(self) -> None:
        p = self.plan
        log.log(f"[bold]restore[/]: {p.runs} run(s): a backup of {p.restore_objects:,} ConfigMaps restored to a "
                f"serving API (in-process API server on a fresh nats-server)")
        res = await timemachine.measure_restore(self.tmp / "restore", objects=p.restore_objects, runs=p.runs,
                                                sync_always=p.sync_always, say=log.log)
        self.restored = res
        self.details["restore"] = _plain(res)
        self.rows += timemachine.restore_rows(res)

    async def point_in_time(self) -> None:
        p = self.plan
        log.log(f"[bold]pointintime[/]: {p.runs} run(s): the state at a revision of a {p.pit_events:,}-event log, "
                f"from its start and from a snapshot")
        res = await timemachine.measure_pointintime(self.tmp / "pointintime", events=p.pit_events, runs=p.runs,
                                                    sync_always=p.sync_always, say=log.log)
        self.pointintime = res
        self.details["pointintime"] = _plain(res)
        self.rows += timemachine.pointintime_rows(res)

    async def backup(self) -> None:
        p = self.plan
        log.log(f"[bold]backup[/]: {p.runs} run(s): HTTP creates for {p.backup_seconds:g}s without, then "
                f"{p.backup_seconds:g}s during back-to-back backups, {p.backup_objects:,} ConfigMaps already there")
        res = await timemachine.measure_backup(self.tmp / "backup", existing=p.backup_objects,
                                               seconds=p.backup_seconds, runs=p.runs, concurrency=p.concurrency,
                                               sync_always=p.sync_always, say=log.log)
        self.details["backup"] = _plain(res)
        self.rows += timemachine.backup_rows(res)


def _plain(x: Any) -> Any:
    """A result dataclass as JSON-ready data (properties such as rates and totals included)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        out = {f.name: _plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
        for name in ("rate", "total", "from_snapshot"):
            if hasattr(type(x), name):
                out[name] = getattr(x, name)
        return out
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def _profile_tables(prof: Profile) -> list[Table]:
    f = prof.folded
    assert f is not None
    title = (f"where the API server's time goes ({f.samples:,} py-spy samples of busy time; totals over the "
             f"{f.complete:,} with whole stacks)")
    funcs = Table(title=title, title_justify="left")
    for col, justify in (("self %", "right"), ("innermost function", "left"), ("total %", "right"),
                         ("on the stack (loop scaffolding left out)", "left")):
        funcs.add_column(col, justify=justify)  # type: ignore[arg-type]
    for i in range(max(len(f.self_top), len(f.total_top))):
        s_name, s_share = f.self_top[i] if i < len(f.self_top) else ("", math.nan)
        t_name, t_share = f.total_top[i] if i < len(f.total_top) else ("", math.nan)
        funcs.add_row("" if math.isnan(s_share) else f"{100 * s_share:.1f}", s_name,
                      "" if math.isnan(t_share) else f"{100 * t_share:.1f}", t_name)
    areas = Table(title="…by area (innermost frame outside the stdlib: our modules, or a package)",
                  title_justify="left")
    areas.add_column("%", justify="right")
    areas.add_column("area")
    for name, share in f.areas:
        areas.add_row(f"{100 * share:.1f}", name)
    return [funcs, areas]


def _verdicts(bench: Bench) -> list[str]:
    out = timemachine.verdicts(bench.restored, bench.pointintime)
    row = next((r for r in bench.rows if r.benchmark.startswith("HTTP ConfigMap creates")), None)
    if row is None or math.isnan(row.value):
        return out
    out += [f"goal creates ≥ {GOAL_CREATES:,.0f}/s: {'met' if row.value >= GOAL_CREATES else 'NOT met'} "
            f"({row.value:,.0f}/s)"]
    if row.ratio is not None:
        out.append(f"goal creates/s ÷ raw pipelined appends/s ≥ {GOAL_RATIO}: "
                   f"{'met' if row.ratio >= GOAL_RATIO else 'NOT met'} ({row.ratio:.3f})")
    return out


def _clean(x: Any) -> Any:
    """JSON without NaN (null instead)."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


async def run(plan: Plan) -> Bench:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    def on_signal(sig: signal.Signals) -> None:
        _interrupted.append(sig.name)
        if task is not None:
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    tmp = Path(tempfile.mkdtemp(prefix="jetkube-bench-"))
    bench = Bench(plan, tmp)
    try:
        if plan.needs_reference:
            await bench.jetstream()
        if plan.needs_cluster:
            try:
                await bench.cluster_benchmarks()
            except ClusterError as e:
                bench.failed = True
                log.log(f"[red]the cluster did not come up[/]: {e}")
                bench.rows.append(Row("cluster: FAILED to start (see the log above)", [math.nan], ""))
        if plan.selected("pods"):
            await bench._guarded("pods", bench.pod_latency())
        if plan.selected("scheduler"):
            await bench._guarded("scheduler", bench.scheduling())
        if plan.selected("deployment"):
            await bench._guarded("deployment", bench.deployment())
        if plan.time_machine:
            # The in-process API server logs to stderr, errors only: a clean NATS close logs a warning.
            configure_logging("bench", level="error")
        if plan.selected("restore"):
            await bench._guarded("restore", bench.restore(), timemachine.FAILURES)
        if plan.selected("pointintime"):
            await bench._guarded("pointintime", bench.point_in_time(), timemachine.FAILURES)
        if plan.selected("backup"):
            await bench._guarded("backup", bench.backup(), timemachine.FAILURES)
    finally:
        if plan.keep or bench.failed:
            log.log(f"kept {tmp} (cluster logs in {tmp / 'home' / 'logs'})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return bench


def main(argv: list[str] | None = None) -> int:
    plan = parse(argv)
    started = time.time()
    try:
        bench = asyncio.run(run(plan))
    except BaseException as e:
        # nats-py turns a cancellation inside publish_async into its own error: trust the flag.
        if not (_interrupted or isinstance(e, (KeyboardInterrupt, asyncio.CancelledError))):
            raise
        log.log(f"[yellow]interrupted ({_interrupted[0] if _interrupted else 'SIGINT'}); everything the bench "
                f"started has been stopped[/]")
        return 130
    mode = ("quick smoke run, not a measurement; " if plan.quick else "") + f"median of {plan.runs} run(s)"
    title = (f"jetkube bench ({mode}; {'sync_interval: always' if plan.sync_always else 'default fsync'}; "
             f"{time.time() - started:.0f}s)")
    out.print(build_table(bench.rows, title=title))
    for verdict in _verdicts(bench):
        out.print(verdict)
    if any(r.benchmark.startswith("CPU outside") for r in bench.rows):
        out.print("[dim]CPU outside the bench's processes: the machine's busy time minus the API server's, "
                  "nats-server's and the load generator's (other work on the box, and kernel I/O threads "
                  "— fsync with --sync-always). Anything well above 0 means the figures are disturbed.[/]")
    if bench.profile is not None and bench.profile.folded is not None and bench.profile.folded.samples:
        for table in _profile_tables(bench.profile):
            out.print(table)
        out.print(f"flamegraph: {bench.profile.svg}   collapsed stacks: {bench.profile.raw}")
    if plan.json_out is not None:
        doc = {"plan": {k: str(v) if isinstance(v, Path) else v for k, v in vars(plan).items()},
               "rows": rows_as_dicts(bench.rows), "details": bench.details}
        plan.json_out.write_text(json.dumps(_clean(doc), indent=2) + "\n")
    return 1 if bench.failed else 0


if __name__ == "__main__":
    sys.exit(main())
