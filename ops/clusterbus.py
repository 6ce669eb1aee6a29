"""Reaching a cluster's log from the CLI: the NATS URL and prefix of a home, or given ones.

The time-machine commands (snapshot, backup, at, history, log, replay) read and write the log
directly, not through the API server: `connect` opens a `Bus` on the home's NATS (it must be
running) or on `--nats URL` with `--prefix`. A cluster that cannot be reached is a one-line
`ClusterUnreachable`, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio

from nats.errors import NoServersError

from bus.connection import Bus
from ops.home import Home, pid_alive


class ClusterUnreachable(Exception):
    """No NATS of that cluster answers; the message says what to do."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nats", default=None, metavar="URL", help="the cluster's NATS (default: the home's)")
    p.add_argument("--prefix", default=None, help="the cluster's prefix (default: the home's)")


def target(a: argparse.Namespace) -> tuple[str, str]:
    """(nats url, prefix) named by the arguments or the home."""
    home = Home(a.home)
    if a.nats:
        if a.prefix is None and not home.settings_file.exists():
            raise ClusterUnreachable("--nats needs --prefix (no cluster home to read it from)")
        return a.nats, a.prefix or home.settings().prefix
    if not home.settings_file.exists():
        raise ClusterUnreachable(f"no cluster in {home.path}; start one with `jetkube up` or give --nats URL --prefix P")
    s = home.settings()
    state = home.read_state()
    if state is None or not pid_alive(state.supervisor_pid):
        raise ClusterUnreachable(f"jetkube is not running in {home.path}; start it with `jetkube up`")
    return f"nats://127.0.0.1:{s.nats_port}", a.prefix or s.prefix


async def connect(url: str, prefix: str, *, provision: bool = False, timeout: float = 5.0) -> Bus:
    bus = Bus(url, prefix=prefix, name="jetkube-cli")
    try:
        return await asyncio.wait_for(bus.connect(provision_streams=provision, quick=True), timeout)
    except (OSError, asyncio.TimeoutError, NoServersError) as e:
        await bus.close()
        raise ClusterUnreachable(f"cannot reach NATS at {url}: {str(e) or type(e).__name__}") from None
