"""What every `jetkube` subcommand shares: the consoles, the hidden per-subcommand `--home`, and
running a coroutine so that every expected failure is one line on stderr and an exit code."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import datetime
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from rich.console import Console

# Piped output is not cut at 80 columns: tables stay one row per line for scripts and tests.
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 200)


class CommandError(Exception):
    """A failure the user caused or can fix; its message is the whole story (one line)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def local_time(ts: float) -> str:
    """A moment for a table: local time to the second ("-" for none)."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def when_arg(text: str, flag: str = "") -> int | float:
    """A REV|TIME argument (`replay.when.parse_when`); unreadable text is exit 2 with one line."""
    from replay.when import parse_when
    try:
        return parse_when(text, time.time())
    except ValueError as e:
        raise CommandError(f"{flag}: {e}" if flag else str(e), code=2) from None


def add_home(*parsers: argparse.ArgumentParser) -> None:
    """`jetkube SUB --home H` as well as `jetkube --home H SUB`."""
    for p in parsers:
        p.add_argument("--home", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def quiet_logs(name: str) -> None:
    """A command's own output is its tables and lines; the libraries' logs go to stderr and
    only at level error (JETKUBE_LOG_LEVEL=info shows everything)."""
    from components.runtime import configure_logging
    configure_logging(name, level=os.environ.get("JETKUBE_LOG_LEVEL") or "error")


def run(coro: Coroutine[Any, Any, int]) -> int:
    """Run a command's coroutine; expected failures become one line on stderr."""
    from ops.clusterbus import ClusterUnreachable
    from replay.archive import ArchiveError
    quiet_logs("jetkube")
    try:
        return asyncio.run(coro)
    except CommandError as e:
        err.print(f"jetkube: {e}", markup=False, soft_wrap=True)
        return e.code
    except (ClusterUnreachable, ArchiveError) as e:
        err.print(f"jetkube: {e}", markup=False, soft_wrap=True)
        return 1
