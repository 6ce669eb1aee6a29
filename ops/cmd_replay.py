"""`jetkube replay`: re-run the scheduler and controllers over a recorded stretch of log, in a
sandbox, and report where their decisions differ from the recorded ones.

The window comes from the running cluster's log (`--from`/`--to`: revisions or times) or from an
archive file (`--file`: a recorded log, a backup or a snapshot). It is written as a recorded log
(to `--save FILE`, or a temporary file) and replayed by `python -m replay` in a child process
with PYTHONHASHSEED=0, so the same window and options give the same report byte for byte (see
`replay.sandbox`). `--scoring-strategy` and `--controllers` change what runs, to ask "what would
have happened with bin packing?". `--check` exits 3 when decisions differ (a regression gate).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
from rich.table import Table

from components.controllers.manager import available
from components.scheduler.scores import LEAST_ALLOCATED, STRATEGIES
from core.keys import KeyFilter
from core.kinds import Stream
from ops import clusterbus
from ops.cmdline import CommandError, add_home, console, local_time, run, when_arg
from replay.archive import read
from replay.pointintime import PointInTimeError, revision_for
from replay.sandbox import Window
from replay.snapshots import SnapshotStore
from replay.when import WHEN_HELP
from replay.window import WindowError, from_archive, from_log, revision_in, save

DIFFERENT = 3  # the exit code of --check when decisions differ


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("replay", help="re-run the scheduler and controllers over recorded log, report different "
                                      "decisions",
                       description="Re-run the scheduler and the controllers over a window of the recorded log in "
                                   "a sandbox (its own in-memory log, simulated nodes, a virtual clock) and report "
                                   "where their decisions differ from the recorded ones. Deterministic: the same "
                                   "window and options give the same report.")
    p.add_argument("--from", dest="start", default=None, metavar="REV|TIME",
                   help="the state the sandbox starts from (default: the oldest revision available). " + WHEN_HELP)
    p.add_argument("--to", dest="end", default=None, metavar="REV|TIME", help="the last revision replayed "
                                                                              "(default: the newest)")
    p.add_argument("--file", type=Path, default=None, metavar="ARCHIVE",
                   help="replay a recorded log, backup or snapshot file instead of the cluster's log")
    p.add_argument("--save", type=Path, default=None, metavar="FILE", help="also write the window as a recorded log")
    p.add_argument("--scoring-strategy", choices=sorted(STRATEGIES), default=LEAST_ALLOCATED,
                   help="the sandbox scheduler's NodeResourcesFit scoring (default LeastAllocated)")
    p.add_argument("--controllers", default="", metavar="A,B",
                   help=f"the controllers to run (default all: {','.join(available())})")
    p.add_argument("--node-tick", type=float, default=0.0, metavar="SECONDS",
                   help="simulated nodes start and remove pods on this grid instead of each at its recorded pace: "
                        "coarser steps, as a busy control plane batches them (default 0: recorded pace)")
    p.add_argument("--seed", type=int, default=0, help="seeds tie-breaks, uids and generated names (default 0)")
    p.add_argument("--check", action="store_true", help=f"exit {DIFFERENT} when decisions differ")
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")
    clusterbus.add_arguments(p)
    add_home(p)
    p.set_defaults(func=lambda a: run(_replay(a)))


async def _window(a: argparse.Namespace) -> tuple[Window, str]:
    start = when_arg(a.start, "--from") if a.start is not None else None
    end = when_arg(a.end, "--to") if a.end is not None else None
    try:
        if a.file is not None:
            arc = read(a.file)
            tail = arc.sections["objects"].tail if "objects" in arc.sections else []
            return from_archive(arc, revision_in(tail, start), revision_in(tail, end)), arc.prefix
        url, prefix = clusterbus.target(a)
        bus = await clusterbus.connect(url, prefix)
        try:
            objects = bus.logs[Stream.OBJECTS]
            if start is None:
                compacted = await objects.compacted_revision(KeyFilter())
                first = 0 if compacted == 0 else compacted + 1
            else:
                first = await revision_for(objects, start)
            last = None if end is None else await revision_for(objects, end)
            return await from_log(objects, first, last, snapshots=SnapshotStore(bus)), prefix
        finally:
            await bus.close()
    except (WindowError, PointInTimeError) as e:
        raise CommandError(str(e)) from None


def _child(path: Path, a: argparse.Namespace) -> dict[str, Any]:
    import subprocess
    argv = [sys.executable, "-m", "replay", str(path), "--seed", str(a.seed), "--scoring-strategy",
            a.scoring_strategy, "--controllers", a.controllers, "--node-tick", str(a.node_tick)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise CommandError(f"the replay failed: {lines[-1] if lines else f'exit {done.returncode}'}")
    out: dict[str, Any] = orjson.loads(done.stdout)
    return out


async def _replay(a: argparse.Namespace) -> int:
    if a.node_tick < 0:
        raise CommandError(f"--node-tick must be 0 or more, not {a.node_tick}", code=2)
    unknown = [c for c in a.controllers.split(",") if c and c not in available()]
    if unknown:
        raise CommandError(f"--controllers: unknown {', '.join(unknown)}; known: {', '.join(available())}", code=2)
    window, prefix = await _window(a)
    with tempfile.TemporaryDirectory(prefix="jetkube-replay-") as tmp:
        path = a.save or Path(tmp) / "window.jkar"
        save(window, path, prefix=prefix)
        report = await asyncio.to_thread(_child, path, a)
    if a.output == "json":
        sys.stdout.buffer.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        show(report)
        if a.save:
            console.print(f"window saved as {a.save}", markup=False)
    return DIFFERENT if a.check and report["differences"] else 0


def _seconds(s: float) -> str:
    return f"{s:.3f} s" if s < 60 else f"{s / 60:.1f} min"


def show(report: dict[str, Any]) -> None:
    w, sb, opts = report["window"], report["sandbox"], report["options"]
    console.print(f"replay of revisions {w['from']} → {w['to']} ({local_time(w['from_time'])} → "
                  f"{local_time(w['to_time'])}, {_seconds(w['to_time'] - w['from_time'])} recorded): "
                  f"{w['entries']} entries, {report['inputs']} inputs fed, {len(report['skipped'])} skipped",
                  markup=False, highlight=False)
    console.print(f"sandbox: scheduler ({opts['scoring_strategy']}, seed {opts['seed']}), "
                  f"{len(opts['controllers'])} controllers, simulated nodes (pods start after "
                  f"{_seconds(sb['pod_start_delay'])} and go {_seconds(sb['pod_stop_delay'])} after deletion, "
                  f"as recorded); {sb['entries']} entries written; state digest {sb['digest'][:16]}",
                  markup=False, highlight=False)
    totals = Table(title="decisions", title_justify="left")
    for col in ("who", "decision", "recorded", "replayed"):
        totals.add_column(col, justify="right" if col in ("recorded", "replayed") else "left")
    for t in report["totals"]:
        totals.add_row(t["by"], t["verb"], str(t["recorded"]), str(t["replayed"]))
    console.print(totals)
    diffs = report["differences"]
    if not diffs:
        console.print("no differences: the sandbox made every decision the recording holds, and no other",
                      markup=False, highlight=False)
    else:
        table = Table(title=f"{len(diffs)} decisions differ", title_justify="left")
        for col in ("who", "decision", "object", "detail", "recorded", "replayed", "first recorded", "first replayed"):
            table.add_column(col, justify="right" if col in ("recorded", "replayed") else "left")
        for d in diffs:
            rec, rep = d["recorded_first"], d["replayed_first"]
            table.add_row(d["by"], d["verb"], d["target"], d["detail"], str(d["recorded"]), str(d["replayed"]),
                          f"rev {rec[0]} (+{rec[1]:.3f} s)" if rec else "-", f"+{rep[1]:.3f} s" if rep else "-")
        console.print(table)
    if report["skipped"]:
        skipped = Table(title="inputs not fed", title_justify="left")
        skipped.add_column("revision", justify="right")
        skipped.add_column("why")
        for s in report["skipped"]:
            skipped.add_row(str(s["revision"]), s["why"])
        console.print(skipped)
