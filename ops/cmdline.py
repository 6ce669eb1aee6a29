"""What every `jetkube` subcommand shares: the consoles, the hidden per-subcommand `--home`, and
running a coroutine so that every expected failure is one line on stderr and an exit code."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from rich.console import Console

console = Console()
err = Console(stderr=True, highlight=False)


class CommandError(Exception):
    """A failure the user caused or can fix; its message is the whole story (one line)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def add_home(*parsers: argparse.ArgumentParser) -> None:
    """`jetkube SUB --home H` as well as `jetkube --home H SUB`."""
    for p in parsers:
        p.add_argument("--home", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def run(coro: Coroutine[Any, Any, int]) -> int:
    """Run a command's coroutine; expected failures become one line on stderr."""
    from ops.clusterbus import ClusterUnreachable
    from replay.archive import ArchiveError
    try:
        return asyncio.run(coro)
    except CommandError as e:
        err.print(f"jetkube: {e}", markup=False, soft_wrap=True)
        return e.code
    except (ClusterUnreachable, ArchiveError) as e:
        err.print(f"jetkube: {e}", markup=False, soft_wrap=True)
        return 1
