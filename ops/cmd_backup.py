"""`jetkube snapshot create|ls|rm` and `jetkube backup create|verify|restore`.

Snapshots live in the cluster's object store bucket; a backup is an archive file (snapshot plus
log tail, see `replay.backup`). `backup restore` fills the store of a cluster that is down — its
home's NATS store, which must be empty — starting that NATS only for the restore; `jetkube up
--restore FILE` does the same as part of starting the cluster. Every check (archive integrity,
format, `--at` range, an empty store) happens before anything is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from ops import clusterbus
from ops.cmdline import CommandError, add_home, console, local_time, run, when_arg
from ops.home import Home, pid_alive
from replay import archive
from replay.restore import BUMP, Restored, RestoreError, restore, target
from replay.state import State


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


# -- snapshots -------------------------------------------------------------------------------
async def _snapshot_create(a: argparse.Namespace) -> int:
    from replay.snapshots import SnapshotStore
    bus = await clusterbus.connect(*clusterbus.target(a))
    try:
        info = await SnapshotStore(bus).create(reason="on demand")
    finally:
        await bus.close()
    console.print(f"snapshot {info.name}: revision {info.revision}, {info.objects} objects, {_size(info.size)}, "
                  f"digest {info.digest[:16]}")
    return 0


async def _snapshot_ls(a: argparse.Namespace) -> int:
    from replay.snapshots import SnapshotStore
    bus = await clusterbus.connect(*clusterbus.target(a))
    try:
        infos = await SnapshotStore(bus).list()
    finally:
        await bus.close()
    t = Table(title=f"snapshots ({len(infos)})")
    for col in ("name", "revision", "taken", "objects", "size", "reason", "digest"):
        t.add_column(col)
    for i in infos:
        t.add_row(i.name, str(i.revision), local_time(i.created), str(i.objects), _size(i.size), i.reason, i.digest[:16])
    console.print(t)
    return 0


async def _snapshot_rm(a: argparse.Namespace) -> int:
    from replay.snapshots import SnapshotStore
    bus = await clusterbus.connect(*clusterbus.target(a))
    try:
        store = SnapshotStore(bus)
        for name in a.names:
            try:
                await store.remove(name)
            except KeyError:
                raise CommandError(f"no snapshot named {name} (see `jetkube snapshot ls`)") from None
            console.print(f"removed {name}")
    finally:
        await bus.close()
    return 0


# -- backups ---------------------------------------------------------------------------------
async def _backup_create(a: argparse.Namespace) -> int:
    from replay.backup import create
    path = Path(a.file)
    if path.is_dir():
        raise CommandError(f"{path} is a directory; give a file name")
    if not path.parent.exists():
        raise CommandError(f"{path.parent} does not exist")
    url, prefix = clusterbus.target(a)
    bus = await clusterbus.connect(url, prefix)
    try:
        with console.status("taking the backup (writes go on)"):
            s = await create(bus, path, fresh=a.fresh, info=_settings_of(a))
    finally:
        await bus.close()
    t = Table(title=f"backup {path}")
    for col in ("stream", "snapshot at", "log to", "log entries", "objects"):
        t.add_column(col)
    for name, st in s["streams"].items():
        t.add_row(name, str(s["base"][name]), str(st["revision"]), str(s["tail"][name]), str(st["objects"]))
    console.print(t)
    console.print(f"{_size(s['bytes'])} in {s['seconds']:.2f} s; consistent at revision "
                  f"{s['streams']['objects']['revision']}; sha256 {s['sha256'][:16]}")
    return 0


def _settings_of(a: argparse.Namespace) -> dict[str, Any]:
    home = Home(a.home)
    if a.nats or not home.settings_file.exists():
        return {}
    from dataclasses import asdict
    return {"settings": asdict(home.settings())}


def _describe(ar: archive.Archive, path: str) -> Table:
    t = Table(title=f"{ar.kind} {path} (cluster {ar.prefix}, taken {local_time(ar.created)})")
    for col in ("stream", "snapshot at", "log to", "log entries", "objects at end", "digest"):
        t.add_column(col)
    for name, sec in ar.sections.items():
        end = ar.end["streams"][name]
        t.add_row(name, str(sec.base), str(sec.until), str(len(sec.tail)), str(end["objects"]), end["digest"][:16])
    return t


async def _backup_verify(a: argparse.Namespace) -> int:
    ar = archive.read(Path(a.file))
    console.print(_describe(ar, a.file))
    console.print(f"ok: every checksum, the file hash and every stream's rebuilt state match "
                  f"(format {archive.FORMAT})")
    return 0


def prepare(file: str, at: str | None) -> tuple[archive.Archive, State, dict[str, int]]:
    """Read and check an archive and work out the state to restore: all before touching a store."""
    ar = archive.read(Path(file))
    if ar.kind not in ("backup", "snapshot"):
        raise CommandError(f"{file} is a {ar.kind} archive, not a backup")
    when: int | float | None = None
    if at is not None:
        when = when_arg(at, "--at")
    try:
        revisions = target(ar, when)
    except RestoreError as e:
        raise CommandError(f"--at {at}: {e}") from None
    return ar, ar.state_at(revisions), revisions


def show_restored(r: Restored, ar: archive.Archive, revisions: dict[str, int]) -> None:
    t = Table(title="restored")
    for col in ("stream", "from revision", "objects", "now revisions"):
        t.add_column(col)
    for name, (first, last, n) in r.streams.items():
        t.add_row(name, str(revisions.get(name, "")), str(n), f"{first}..{last}" if n else f"(empty, next {first})")
    console.print(t)
    console.print(f"digest {r.digest[:16]} (the backup's state at revision {revisions['objects']}), "
                  f"{r.seconds:.2f} s; resourceVersions before {r.streams['objects'][0]} now answer 410")


async def _backup_restore(a: argparse.Namespace) -> int:
    from bus.connection import Bus
    from bus.server import NatsServer
    ar, state, revisions = prepare(a.file, a.at)
    home = Home(a.home)
    running = home.read_state()
    if running is not None and pid_alive(running.supervisor_pid):
        raise CommandError(f"jetkube is running in {home.path}; a restore fills a fresh store: `jetkube down`, "
                           f"then restore into a new --home (or remove {home.nats_dir})")
    settings = home.settings()
    if settings.prefix != ar.prefix:
        settings.prefix = ar.prefix  # subjects, buckets and container labels all carry the prefix
        home.save_settings(settings)
    server = NatsServer(store_dir=home.nats_dir, port=settings.nats_port, sync_always=settings.sync_always)
    await server.start()
    try:
        bus = await Bus(server.url, prefix=ar.prefix, name="jetkube-restore").connect(quick=True)
        try:
            r = await restore(bus, state, bump=a.revision_bump)
        except RestoreError as e:
            raise CommandError(str(e)) from None
        finally:
            await bus.close()
    finally:
        await server.stop()
    show_restored(r, ar, revisions)
    console.print(f"start the cluster: jetkube up{' --home ' + str(home.path) if a.home else ''}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    snap = sub.add_parser("snapshot", help="the cluster's state at one revision, kept in its object store")
    ssub = snap.add_subparsers(dest="snapshot_command", required=True)
    sc = ssub.add_parser("create", help="take a snapshot now (writes go on)")
    sc.set_defaults(func=lambda a: run(_snapshot_create(a)))
    sl = ssub.add_parser("ls", help="list the snapshots")
    sl.set_defaults(func=lambda a: run(_snapshot_ls(a)))
    sr = ssub.add_parser("rm", help="remove snapshots")
    sr.add_argument("names", nargs="+")
    sr.set_defaults(func=lambda a: run(_snapshot_rm(a)))
    for p in (sc, sl, sr):
        clusterbus.add_arguments(p)

    bk = sub.add_parser("backup", help="online backups to a file, checked and restored")
    bsub = bk.add_subparsers(dest="backup_command", required=True)
    bc = bsub.add_parser("create", help="write a backup of the running cluster to FILE (writes go on)")
    bc.add_argument("file")
    bc.add_argument("--fresh", action="store_true", help="take a new snapshot as its base, not a stored one")
    clusterbus.add_arguments(bc)
    bc.set_defaults(func=lambda a: run(_backup_create(a)))
    bv = bsub.add_parser("verify", help="check a backup file: checksums, hash, format, rebuilt state")
    bv.add_argument("file")
    bv.set_defaults(func=lambda a: run(_backup_verify(a)))
    br = bsub.add_parser("restore", help="restore a backup into the (empty) store of a cluster that is down")
    br.add_argument("file")
    br.add_argument("--at", default=None, metavar="REV|TIME",
                    help="restore the state at this revision or time (within the backup) instead of its end")
    br.add_argument("--revision-bump", type=int, default=BUMP, metavar="N",
                    help=f"restored revisions start this far above the backup's (default {BUMP:,})")
    br.set_defaults(func=lambda a: run(_backup_restore(a)))
    add_home(snap, sc, sl, sr, bk, bc, bv, br)
