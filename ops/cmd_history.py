"""`jetkube history KIND/NAME` and `jetkube log`: see exactly what happened, read from the log.

`history` lists every retained version of one object with its time, operation, actor, cause and
what changed from the version before (`replay.history.annotate`, `core.objdiff`). `log` prints the
cluster's timeline in a window (`--since`/`--until`: a revision, a time or a duration ago, see
`replay.when`), filtered by kind, namespace and actor, each change with the revision that caused
it. Both read the log directly (`ops.clusterbus`), so they work while the API server is down;
`--output json` prints one JSON object per line instead of a table.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

import orjson
from rich.table import Table
from rich.text import Text

from bus.log import Entry, LogError
from core.kinds import Stream
from core.objdiff import render
from ops import clusterbus
from ops.cmdline import CommandError, add_home, console, local_time, run, when_arg
from replay.history import (BadName, CauseResolver, Happening, Version, What, annotate, key_filter,
                            object_text, resolve_kind, resolve_object, summary, timeline, versions)
from replay.when import WHEN_HELP

HIDDEN = ("metadata.managedFields",)  # bookkeeping of server-side apply: noise in a history


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    h = sub.add_parser("history", help="every retained version of one object, with what changed")
    h.add_argument("object", metavar="KIND/NAME", help="e.g. deployment/web, cm/settings, nodes/n1")
    h.add_argument("name", nargs="?", default=None, help=argparse.SUPPRESS)  # `history deploy web`
    h.add_argument("-n", "--namespace", default=None, help="namespace (default: default)")
    h.add_argument("--all-fields", action="store_true", help="diff metadata.managedFields too")
    h.add_argument("-o", "--output", choices=("table", "json"), default="table")
    clusterbus.add_arguments(h)
    h.set_defaults(func=lambda a: run(_history(a)))

    lg = sub.add_parser("log", help="the timeline of changes, each with its cause")
    lg.add_argument("--since", default=None, metavar="WHEN", help=WHEN_HELP)
    lg.add_argument("--until", default=None, metavar="WHEN", help=WHEN_HELP)
    lg.add_argument("--kind", default=None, help="only this kind (e.g. deploy, pods, cm)")
    lg.add_argument("-n", "--namespace", default=None, help="only this namespace")
    lg.add_argument("--actor", default=None, help="only writers whose name contains this")
    lg.add_argument("--limit", type=int, default=500, help="at most this many, newest last (default 500)")
    lg.add_argument("-o", "--output", choices=("table", "json"), default="table")
    clusterbus.add_arguments(lg)
    lg.set_defaults(func=lambda a: run(_log(a)))
    add_home(h, lg)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="milliseconds") if ts else ""


def _print_json(obj: dict[str, Any]) -> None:
    # Plain stdout, not rich: JSON lines are for programs, and rich would wrap or colour them.
    print(orjson.dumps(obj).decode(), flush=True)


def _entry_json(e: Entry) -> dict[str, Any]:
    k = e.key
    return {"revision": e.revision, "time": _iso(e.timestamp), "timestamp": e.timestamp, "op": e.op.value,
            "object": object_text(k), "key": {"group": k.group, "resource": k.resource, "namespace": k.namespace,
                                              "name": k.name},
            "actor": e.meta.actor, "requestId": e.meta.request_id, "causation": e.meta.causation}


def _when(text: str | None, flag: str) -> int | float | None:
    return None if text is None else when_arg(text, flag)


# -- history -------------------------------------------------------------------------------------

async def _history(a: argparse.Namespace) -> int:
    try:
        key = resolve_object(a.object, a.namespace, a.name)
        kind = resolve_kind(a.object.partition("/")[0])
    except BadName as e:
        raise CommandError(str(e)) from None
    bus = await clusterbus.connect(*clusterbus.target(a))
    try:
        log = bus.logs[kind.stream]
        resolver = CauseResolver(bus.logs[Stream.OBJECTS])
        try:
            entries = await versions(log, key)
            if not entries:
                floor = await log.compacted_revision(key_filter(kind, key.namespace or None))
                gone = f" (the log holds {kind.resource} from revision {floor + 1})" if floor else ""
                raise CommandError(f"no retained versions of {object_text(key)}{gone}")
            rows = annotate(entries, skip=() if a.all_fields else HIDDEN)
            causes = [await resolver.resolve(v.entry.meta.causation) for v in rows]
        except LogError as e:
            raise CommandError(f"reading the log: {e}") from None
    finally:
        await bus.close()
    if a.output == "json":
        for v, cause in zip(rows, causes):
            _print_json({**_entry_json(v.entry), "what": v.what.value, "cause": cause.as_json() if cause else None,
                         "changes": [c.as_json() for c in v.changes], "body": v.body})
        return 0
    t = Table(title=f"history of {object_text(key)}", title_justify="left")
    for col in ("revision", "time", "op", "actor", "cause", "changes"):
        t.add_column(col, overflow="fold")
    for v, cause in zip(rows, causes):
        entry = v.entry
        t.add_row(str(entry.revision), local_time(entry.timestamp), entry.op.value, Text(entry.meta.actor or "-"),
                  Text(cause.describe() if cause else ""), Text("\n".join(_change_lines(v))))
    console.print(t)
    return 0


def _change_lines(v: Version) -> list[str]:
    if v.what is What.CREATED:
        return ["created", *("  " + s for s in summary(v.body))]
    if v.what is What.DELETED:
        return ["deleted"]
    if v.what is What.EARLIEST:
        return ["earliest retained version (older ones compacted)"]
    return render(v.changes) or ["(no change)"]


# -- log -----------------------------------------------------------------------------------------

async def _log(a: argparse.Namespace) -> int:
    since, until = _when(a.since, "--since"), _when(a.until, "--until")
    if a.limit < 1:
        raise CommandError("--limit must be at least 1")
    try:
        kind = resolve_kind(a.kind) if a.kind else None
    except BadName as e:
        raise CommandError(str(e)) from None
    bus = await clusterbus.connect(*clusterbus.target(a))
    try:
        objects = bus.logs[Stream.OBJECTS]
        log = bus.logs[kind.stream] if kind else objects
        try:
            happened = await timeline(log, since=since, until=until, flt=key_filter(kind, a.namespace),
                                      actor=a.actor, limit=a.limit, causes=objects)
        except LogError as e:
            raise CommandError(f"reading the log: {e}") from None
    finally:
        await bus.close()
    if a.output == "json":
        for h in happened:
            _print_json({**_entry_json(h.entry), "cause": h.cause.as_json() if h.cause else None})
        return 0
    console.print(_log_table(happened))
    return 0


def _log_table(happened: list[Happening]) -> Table:
    t = Table(title=f"{len(happened)} change{'' if len(happened) == 1 else 's'}", title_justify="left")
    for col in ("time", "revision", "op", "object", "actor", "cause"):
        t.add_column(col, overflow="fold")
    for h in happened:
        e = h.entry
        t.add_row(local_time(e.timestamp), str(e.revision), e.op.value, Text(object_text(e.key)),
                  Text(e.meta.actor or "-"), Text(h.cause.describe() if h.cause else ""))
    return t
