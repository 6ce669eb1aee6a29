"""The `jetkube` command: bring a cluster up, see it, take it down.

`jetkube up` runs the supervisor in the foreground (Ctrl-C stops the cluster); `--detach` starts
it in the background and returns once the API server answers /readyz. `down` stops what `up`
started; `status` says what runs where. Errors are one line, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rich.table import Table

from ops import cmd_at, cmd_backup, cmd_history, cmd_replay
from ops.cmdline import add_home, console, err
from ops.home import Home, pid_alive


def _usage(home: Home, api_url: str) -> str:
    return (f"jetkube is up: API server {api_url}\n"
            f"  export KUBECONFIG={home.kubeconfig}\n"
            f"  kubectl get namespaces\n"
            f"  kubectl apply -f ops/examples/pod.yaml\n"
            f"Stop it with: jetkube down" + (f" --home {home.path}" if os.environ.get("JETKUBE_HOME") is None
                                             and home.path != Home().path else ""))


def cmd_up(a: argparse.Namespace) -> int:
    home = Home(a.home)
    state = home.read_state()
    if state and pid_alive(state.supervisor_pid):
        err.print(f"jetkube is already running in {home.path} (supervisor pid {state.supervisor_pid}); "
                  f"`jetkube down` first or use another --home")
        return 1
    if a.apiservers is not None and a.apiservers < 1:
        err.print("jetkube: --apiservers must be at least 1")
        return 2
    if a.nodes is not None and a.nodes < 0:
        err.print("jetkube: --nodes must be 0 or more")
        return 2
    settings = home.settings(api_port=a.port, nats_port=a.nats_port, sync_always=a.sync_always or None,
                             apiservers=a.apiservers, nodes=a.nodes, runtime=a.runtime,
                             node_monitor_grace_period=a.node_monitor_grace_period,
                             toleration_seconds=a.default_toleration_seconds, history=a.history,
                             deleted_horizon=a.deleted_horizon, snapshot_every=a.snapshot_every,
                             snapshot_keep=a.snapshot_keep)
    restore = None
    if a.restore:
        from ops.cmd_backup import prepare, show_restored
        from ops.cmdline import CommandError
        from replay.archive import ArchiveError
        try:
            ar, restore, revisions = prepare(a.restore, a.at)
        except (CommandError, ArchiveError) as e:
            err.print(f"jetkube: {e}", markup=False)
            return 1
        if ar.prefix != settings.prefix:
            settings.prefix = ar.prefix  # subjects, buckets and container labels all carry the prefix
            home.save_settings(settings)
    elif a.at:
        err.print("jetkube: --at needs --restore FILE")
        return 2
    if settings.runtime == "docker" and settings.nodes > 0:
        from ops import dockerhost, images
        try:
            client = dockerhost.connect()
            settings.cluster_cidr = dockerhost.cluster_cidr(client, settings.prefix, settings.cluster_cidr)
            home.save_settings(settings)
            images.ensure(("pause",), client, say=lambda m: console.print(f"jetkube: {m}"))
        except (dockerhost.DockerUnavailable, images.ImageError) as e:
            err.print(f"jetkube: {e}")
            return 1
    api_url = f"http://127.0.0.1:{settings.api_port}"
    if a.detach:
        return _up_detached(home, a, api_url)
    from components.runtime import configure_logging
    from ops.supervisor import Supervisor
    configure_logging("supervisor")
    sup = Supervisor(home, settings, restore=restore,
                     on_restored=(lambda r: show_restored(r, ar, revisions)) if a.restore else None)
    return asyncio.run(sup.run(on_ready=lambda: console.print(_usage(home, api_url))))


def _up_detached(home: Home, a: argparse.Namespace, api_url: str) -> int:
    home.logs.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ops.cli", "up", "--home", str(home.path)]
    if a.restore:
        argv += ["--restore", str(Path(a.restore).resolve())] + (["--at", a.at] if a.at else [])
    with open(home.logs / "supervisor.log", "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (home.logs / "supervisor.log").read_text(errors="replace").strip().splitlines()[-5:]
            err.print(f"jetkube: the cluster did not start (exit {proc.returncode}):\n  " + "\n  ".join(tail))
            return 1
        state = home.read_state()
        if state and any(n.startswith("apiserver") for n in state.processes) and home.kubeconfig.exists() \
                and _ready(api_url):
            console.print(_usage(home, api_url))
            return 0
        time.sleep(0.2)
    err.print(f"jetkube: not ready within {a.timeout:.0f}s; see {home.logs}")
    return 1


def _ready(api_url: str) -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(f"{api_url}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def cmd_down(a: argparse.Namespace) -> int:
    home = Home(a.home)
    state = home.read_state()
    if state is None or not pid_alive(state.supervisor_pid):
        console.print(f"jetkube is not running in {home.path}")
        home.clear_state()
        return 0
    os.kill(state.supervisor_pid, signal.SIGUSR1 if a.keep_containers else signal.SIGTERM)
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        if not pid_alive(state.supervisor_pid):
            console.print(f"jetkube stopped ({home.path})")
            return 0
        time.sleep(0.1)
    err.print(f"jetkube: supervisor pid {state.supervisor_pid} did not stop within {a.timeout:.0f}s")
    return 1


def cmd_status(a: argparse.Namespace) -> int:
    home = Home(a.home)
    state = home.read_state()
    if state is None or not pid_alive(state.supervisor_pid):
        console.print(f"jetkube is not running in {home.path}")
        return 3
    settings = home.settings()
    t = Table(title=f"jetkube in {home.path}")
    for col in ("process", "pid", "alive", "restarts", "where", "log"):
        t.add_column(col)
    t.add_row("supervisor", str(state.supervisor_pid), "yes", "-", "-", str(home.logs / "supervisor.log"))
    api_url = f"http://127.0.0.1:{settings.api_port}"
    for name, p in state.processes.items():
        where = f"nats://127.0.0.1:{settings.nats_port}" if name == "nats" else api_url
        t.add_row(name, str(p["pid"]), "yes" if pid_alive(int(p["pid"])) else "no", str(p.get("restarts", 0)),
                  where, str(p.get("log", "")))
    console.print(t)
    console.print(f"ready: {'yes' if _ready(api_url) else 'no'}    KUBECONFIG={home.kubeconfig}")
    console.print(f"retention: {settings.history} versions per object; deleted objects "
                  f"{'forever' if not settings.deleted_horizon else f'{settings.deleted_horizon:g} s'}; snapshots "
                  f"{'never' if not settings.snapshot_every else f'every {settings.snapshot_every:g} s, newest {settings.snapshot_keep} kept'}")
    return 0


def cmd_image_build(a: argparse.Namespace) -> int:
    from ops import images
    names = tuple(a.names) or images.DEFAULT_SET
    unknown = [n for n in names if n not in images.RECIPES]
    if unknown:
        err.print(f"jetkube: no recipe for {', '.join(unknown)}; known: {', '.join(images.RECIPES)}")
        return 2
    try:
        if a.missing:
            built = images.ensure(names, say=lambda m: console.print(m))
        else:
            built = []
            for n in names:
                console.print(f"building image {n} ({images.RECIPES[n].summary})")
                built += images.build(n)
    except images.ImageError as e:
        err.print(f"jetkube: {e}")
        return 1
    console.print("built: " + (", ".join(built) if built else "nothing (all present)"))
    return 0


def cmd_image_ls(a: argparse.Namespace) -> int:
    from ops import images
    try:
        rows = images.listing()
    except images.ImageError as e:
        err.print(f"jetkube: {e}")
        return 1
    t = Table()
    for col in ("image", "id", "size", "created"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["tag"], r["id"], f"{r['size'] / 1e6:.1f} MB", r["created"])
    console.print(t)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jetkube", description="A Kubernetes-style orchestrator on a JetStream log.")
    p.add_argument("--home", type=Path, default=None, help="cluster home (default $JETKUBE_HOME or ~/.jetkube)")
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the cluster (foreground unless --detach)")
    up.add_argument("--detach", "-d", action="store_true", help="run in the background; return once ready")
    up.add_argument("--port", type=int, default=None, help="API server port (default 6443, kept in the home)")
    up.add_argument("--nats-port", type=int, default=None, help="NATS port (default: a free one, kept in the home)")
    up.add_argument("--sync-always", action="store_true", help="fsync every write (etcd-like durability, slower)")
    up.add_argument("--apiservers", type=int, default=None,
                    help="API server replicas sharing the port (default 1, kept in the home)")
    up.add_argument("--nodes", type=int, default=None,
                    help="kubelets to run on this host (default 1, kept in the home; 0: control plane only)")
    up.add_argument("--runtime", choices=("docker", "sim"), default=None,
                    help="docker: real containers (default); sim: simulated nodes, pods Running without containers")
    up.add_argument("--node-monitor-grace-period", type=float, default=None, metavar="SECONDS",
                    help="a node whose lease is not renewed this long becomes unreachable (default 40)")
    up.add_argument("--default-toleration-seconds", type=int, default=None, metavar="SECONDS",
                    help="new pods stay this long on a not-ready/unreachable node before eviction (default 300)")
    up.add_argument("--history", type=int, default=None, metavar="N",
                    help="versions kept per object (default 64, kept in the home)")
    up.add_argument("--deleted-horizon", type=float, default=None, metavar="SECONDS",
                    help="how long a deleted object's versions stay readable (default 3600; 0: forever)")
    up.add_argument("--snapshot-every", type=float, default=None, metavar="SECONDS",
                    help="take a snapshot this often when the cluster changed (default 600; 0: never)")
    up.add_argument("--snapshot-keep", type=int, default=None, metavar="N",
                    help="scheduled snapshots kept (default 24)")
    up.add_argument("--restore", default=None, metavar="FILE",
                    help="first restore this backup into the (empty) store, then start the cluster on it")
    up.add_argument("--at", default=None, metavar="REV|TIME", help="with --restore: the state at this revision or time")
    up.add_argument("--timeout", type=float, default=90.0)
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop what `up` started")
    down.add_argument("--keep-containers", action="store_true",
                      help="leave the pods' containers running (the next `up`, or a restored cluster, adopts them)")
    down.add_argument("--timeout", type=float, default=30.0)
    down.set_defaults(func=cmd_down)
    st = sub.add_parser("status", help="what runs where")
    st.set_defaults(func=cmd_status)
    img = sub.add_parser("image", help="build and list the local images pods run (no registry is reachable)")
    isub = img.add_subparsers(dest="image_command", required=True)
    ib = isub.add_parser("build", help="build images: busybox, pause, nginx")
    ib.add_argument("names", nargs="*", help="which (default: every recipe)")
    ib.add_argument("--missing", action="store_true", help="only those not built yet")
    ib.set_defaults(func=cmd_image_build)
    il = isub.add_parser("ls", help="the local images")
    il.set_defaults(func=cmd_image_ls)
    add_home(up, down, st, img, ib, il)
    for module in (cmd_backup, cmd_at, cmd_history, cmd_replay):
        module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        return int(a.func(a))
    except KeyboardInterrupt:
        return 130
    except OSError as e:
        err.print(f"jetkube: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
