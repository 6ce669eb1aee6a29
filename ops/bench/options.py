"""Command-line options of `python -m ops.bench` and the sizes they resolve to (pure)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ops.bench import BENCHMARKS


@dataclass(frozen=True)
class Plan:
    """What one bench invocation measures, fully resolved."""

    only: tuple[str, ...]
    quick: bool
    runs: int
    raw_pipelined: int
    raw_sequential: int
    raw_workers: int
    creates: int
    concurrency: int
    create_warmup: int
    create_max_seconds: float
    watchers: int
    watch_rate: float
    watch_count: int
    sync_always: bool
    pods: int
    pod_rate: float
    sched_nodes: int
    sched_pods: int
    deploy_nodes: int
    deploy_replicas: int
    restore_objects: int
    pit_events: int
    backup_objects: int
    backup_seconds: float
    profile_dir: Path | None
    profile_seconds: float
    json_out: Path | None
    keep: bool

    def selected(self, name: str) -> bool:
        return name in self.only

    @property
    def needs_cluster(self) -> bool:
        return self.selected("creates") or self.selected("watch")

    @property
    def time_machine(self) -> bool:
        return any(self.selected(n) for n in ("restore", "pointintime", "backup"))

    @property
    def needs_reference(self) -> bool:
        return self.selected("jetstream") or self.selected("creates")


def _only(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    for n in names:
        if n not in BENCHMARKS:
            raise argparse.ArgumentTypeError(f"unknown benchmark {n!r} (choose from {', '.join(BENCHMARKS)})")
    return names


def _positive_int(value: str) -> int:
    n = int(value)
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {value}")
    return n


def _positive_float(value: str) -> float:
    x = float(value)
    if not x > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {value}")
    return x


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ops.bench",
        description="jetkube benchmarks: raw JetStream appends (the reference), HTTP creates, watch latency, "
                    "pods, scheduling, Deployments, and the time machine (restore, point-in-time reads, backups).")
    p.add_argument("--quick", action="store_true", help="small sizes and one run (a smoke test, not a measurement)")
    p.add_argument("--runs", type=_positive_int, default=None, help="repeat each measurement (default 3; 1 with --quick)")
    p.add_argument("--only", type=_only, action="append", default=None, metavar="NAME[,NAME]",
                   help=f"run only these benchmarks ({', '.join(BENCHMARKS)}); repeatable")
    p.add_argument("--profile", type=Path, default=None, metavar="DIR",
                   help="record a py-spy flamegraph of the API server during an extra create run into DIR")
    p.add_argument("--profile-seconds", type=_positive_float, default=10.0)
    p.add_argument("--sync-always", action="store_true",
                   help="fsync every write in nats-server (etcd-like durability) for every benchmark")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the results as JSON")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (cluster logs, stores) afterwards")
    g = p.add_argument_group("sizes (defaults depend on --quick)")
    g.add_argument("--raw-count", type=_positive_int, default=None, help="pipelined raw appends per run (20,000)")
    g.add_argument("--raw-sequential", type=_positive_int, default=None, help="sequential raw appends per run (3,000)")
    g.add_argument("--raw-workers", type=_positive_int, default=256, help="tasks for the concurrent js.publish mode")
    g.add_argument("--creates", type=_positive_int, default=None, help="HTTP creates per run (10,000)")
    g.add_argument("--concurrency", type=_positive_int, default=32, help="HTTP client connections")
    g.add_argument("--max-seconds", type=_positive_float, default=None, help="time bound of one create run (60)")
    g.add_argument("--watchers", type=_positive_int, default=100)
    g.add_argument("--watch-rate", type=_positive_float, default=200.0, help="creates per second while watched")
    g.add_argument("--watch-count", type=_positive_int, default=None, help="creates while watched (1,000)")
    g.add_argument("--pods", type=_positive_int, default=None, help="docker pods for create→Running latency (50)")
    g.add_argument("--pod-rate", type=_positive_float, default=5.0, help="docker pods created per second")
    g.add_argument("--sched-nodes", type=_positive_int, default=None, help="simulated nodes (1,000)")
    g.add_argument("--sched-pods", type=_positive_int, default=None, help="pods to schedule on them (10,000)")
    g.add_argument("--deploy-nodes", type=_positive_int, default=None, help="simulated nodes for the Deployment (100)")
    g.add_argument("--deploy-replicas", type=_positive_int, default=None, help="the Deployment's replicas (1,000)")
    g.add_argument("--restore-objects", type=_positive_int, default=None,
                   help="ConfigMaps in the backup restored to a serving API (100,000)")
    g.add_argument("--pit-events", type=_positive_int, default=None,
                   help="events in the log read at a revision, 20 per key (1,000,000)")
    g.add_argument("--backup-objects", type=_positive_int, default=None,
                   help="ConfigMaps in the cluster before the writes-during-backup windows (20,000)")
    g.add_argument("--backup-seconds", type=_positive_float, default=None,
                   help="length of each window, without and during backups (15)")
    return p


def plan(args: argparse.Namespace) -> Plan:
    quick = bool(args.quick)
    only: list[str] = [n for group in (args.only or [list(BENCHMARKS)]) for n in group]
    return Plan(
        only=tuple(n for n in BENCHMARKS if n in only),
        quick=quick,
        runs=args.runs or (1 if quick else 3),
        raw_pipelined=args.raw_count or (3_000 if quick else 20_000),
        raw_sequential=args.raw_sequential or (500 if quick else 3_000),
        raw_workers=args.raw_workers,
        creates=args.creates or (1_000 if quick else 10_000),
        concurrency=args.concurrency,
        create_warmup=100 if quick else 500,
        create_max_seconds=args.max_seconds or (20.0 if quick else 60.0),
        watchers=args.watchers,
        watch_rate=args.watch_rate,
        watch_count=args.watch_count or (200 if quick else 1_000),
        sync_always=bool(args.sync_always),
        pods=args.pods or (10 if quick else 50),
        pod_rate=args.pod_rate,
        sched_nodes=args.sched_nodes or (100 if quick else 1_000),
        sched_pods=args.sched_pods or (1_000 if quick else 10_000),
        deploy_nodes=args.deploy_nodes or (20 if quick else 100),
        deploy_replicas=args.deploy_replicas or (100 if quick else 1_000),
        restore_objects=args.restore_objects or (10_000 if quick else 100_000),
        pit_events=args.pit_events or (100_000 if quick else 1_000_000),
        backup_objects=args.backup_objects or (2_000 if quick else 20_000),
        backup_seconds=args.backup_seconds or (5.0 if quick else 15.0),
        profile_dir=args.profile,
        profile_seconds=args.profile_seconds,
        json_out=args.json,
        keep=bool(args.keep),
    )


def parse(argv: list[str] | None = None) -> Plan:
    return plan(build_parser().parse_args(argv))
