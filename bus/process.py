"""Child processes: stopping one politely (SIGTERM, a grace period, then SIGKILL), and making
one die with its parent.

Shared by the nats-server launcher here and by ops (the supervisor, the benchmarks), which sit
above bus/ and may use it.
"""

from __future__ import annotations

import asyncio
import ctypes
import signal


async def terminate(proc: asyncio.subprocess.Process | None, grace: float) -> None:
    if proc is None or proc.returncode is not None:
        return
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()


def die_with_parent() -> None:
    """For `preexec_fn`: the child gets SIGTERM when its parent dies (Linux), so a supervisor
    killed with -9 leaves no orphans."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
