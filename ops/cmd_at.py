"""`jetkube at REV|TIME`: serve the cluster as it was, read-only, so kubectl can look at the past.

It reads the cluster's log once (`replay.pointintime.build`: the nearest snapshot plus the log
after it), closes its connection, and serves that state on its own port with a kubeconfig it
writes (default `<home>/at-<rev>.kubeconfig`) until Ctrl-C or SIGTERM (exit 0). Writes answer 405.
A revision or time that cannot be served — before the oldest retained revision, in the future —
is one line on stderr, and the running cluster is never written to.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from rich.table import Table

from core.kinds import Stream
from ops import kubeconfig
from ops.clusterbus import add_arguments, connect, target
from ops.cmdline import CommandError, add_home, console, run, when_arg
from ops.home import Home
from replay.pointintime import PointInTime, PointInTimeError, PointInTimeServer, build, revision_for
from replay.snapshots import SnapshotStore
from replay.when import WHEN_HELP, when_text


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("at", help="serve the cluster as it was at a revision or time, read-only, for kubectl",
                       description="Serve a read-only API server of the cluster as it was at REV (a revision) or "
                                   "TIME (an RFC 3339 time, HH:MM today, or 10m for ten minutes ago), with a "
                                   "kubeconfig for kubectl. Writes answer 405.")
    p.add_argument("when", metavar="REV|TIME", help=WHEN_HELP)
    p.add_argument("--port", type=int, default=0, help="port to serve on, on 127.0.0.1 (default: a free one)")
    p.add_argument("--kubeconfig", type=Path, default=None, metavar="PATH",
                   help="where to write the kubeconfig (default: <home>/at-<rev>.kubeconfig)")
    p.add_argument("--ready-file", type=Path, default=None, metavar="PATH",
                   help="write the server's URL here once it serves (for scripts)")
    add_arguments(p)
    add_home(p)
    p.set_defaults(func=cmd_at)


def cmd_at(a: argparse.Namespace) -> int:
    return run(_at(a))


async def _at(a: argparse.Namespace) -> int:
    when = when_arg(a.when)
    if a.port < 0 or a.port > 65535:
        raise CommandError(f"--port must be between 0 and 65535, not {a.port}", code=2)
    url, prefix = target(a)
    bus = await connect(url, prefix)
    try:
        revision = await revision_for(bus.logs[Stream.OBJECTS], when)
        view = await build(bus.logs, revision, snapshots=SnapshotStore(bus))
    except PointInTimeError as e:
        raise CommandError(str(e)) from None
    finally:
        await bus.close()  # served from memory from here on: the running cluster is not touched

    server = PointInTimeServer(view, port=a.port)
    try:
        await server.start()
    except OSError as e:
        raise CommandError(f"cannot serve on 127.0.0.1:{a.port}: {e.strerror or e}") from None
    try:
        path = kubeconfig.write(a.kubeconfig or Home(a.home).path / f"at-{view.revision}.kubeconfig", server.url)
        _summary(view, server.url, path)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if a.ready_file is not None:
            tmp = a.ready_file.with_name(a.ready_file.name + ".tmp")
            tmp.write_text(server.url + "\n")
            tmp.replace(a.ready_file)  # whole or absent, never half written
        await stop.wait()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    finally:
        await server.stop()
    console.print(f"stopped serving revision {view.revision}")
    return 0


def _summary(view: PointInTime, url: str, path: Path) -> None:
    console.print(f"the cluster at revision {view.revision} ({when_text(view.time)})", markup=False, soft_wrap=True)
    t = Table()
    t.add_column("kind")
    t.add_column("objects", justify="right")
    for kind, n in view.counts().items():
        t.add_row(kind, str(n))
    console.print(t)
    source = f"snapshot at revision {view.snapshot} + the log after it" if view.snapshot is not None \
        else "the log from its start"
    console.print(f"built from {source}; serving read-only at {url} (writes answer 405)", markup=False,
                  soft_wrap=True)
    console.print(f"  export KUBECONFIG={path}", markup=False, highlight=False, soft_wrap=True)
    console.print("  kubectl get all -A\n  kubectl get deployments -o yaml\n  kubectl describe pods",
                  markup=False, highlight=False, soft_wrap=True)
    console.print("Stop with Ctrl-C.")
