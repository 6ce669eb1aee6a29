"""A cluster's home directory (`$JETKUBE_HOME`, default `~/.jetkube`): its settings, its running
state, its logs, the NATS store and the kubeconfig.

`cluster.json` holds what must stay the same across restarts (ports, prefix) so a kubeconfig
written once keeps working; `state.json` exists while a supervisor runs and says what runs where.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def default_home() -> Path:
    return Path(os.environ.get("JETKUBE_HOME") or Path.home() / ".jetkube").expanduser()


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def any_free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class ClusterSettings:
    api_port: int
    nats_port: int
    prefix: str = "jk"
    sync_always: bool = False
    service_cidr: str = "10.96.0.0/12"
    apiservers: int = 1  # replicas sharing api_port (SO_REUSEPORT)
    nodes: int = 1  # kubelets (docker) or simulated nodes (sim)
    runtime: str = "docker"  # docker | sim
    cluster_cidr: str = "10.244.0.0/16"  # pod IPs; node i gets the /24 number i
    node_monitor_grace_period: float = 40.0  # seconds without a lease renewal before a node is unreachable
    toleration_seconds: int = 300  # how long new pods stay on a not-ready/unreachable node
    history: int = 64  # versions kept per object; older ones are compacted away
    deleted_horizon: float = 3600.0  # seconds a deleted object's versions stay readable
    snapshot_every: float = 600.0  # seconds between scheduled snapshots (0: none)
    snapshot_keep: int = 24  # scheduled snapshots kept (older ones are removed)


@dataclass
class RunState:
    supervisor_pid: int
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → {pid, command, log}


class Home:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path or default_home()).expanduser().resolve()

    @property
    def settings_file(self) -> Path:
        return self.path / "cluster.json"

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    @property
    def kubeconfig(self) -> Path:
        return self.path / "kubeconfig"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def nats_dir(self) -> Path:
        return self.path / "nats"

    @property
    def kubelet_dir(self) -> Path:
        return self.path / "kubelet"

    def settings(self, **given: Any) -> ClusterSettings:
        """Load the cluster's settings, creating them on first use; given values that are not
        None replace the stored ones and are kept."""
        self.path.mkdir(parents=True, exist_ok=True)
        if self.settings_file.exists():
            s = ClusterSettings(**json.loads(self.settings_file.read_text()))
        else:
            # A prefix of its own per home: containers and docker networks are labelled with it, so two
            # clusters on one host never adopt or clean up each other's.
            s = ClusterSettings(api_port=6443 if port_free(6443) else any_free_port(), nats_port=any_free_port(),
                                prefix="jk" + secrets.token_hex(3))
        for name, value in given.items():
            if value is not None:
                setattr(s, name, value)
        self.save_settings(s)
        return s

    def save_settings(self, s: ClusterSettings) -> None:
        self.settings_file.write_text(json.dumps(asdict(s), indent=2) + "\n")

    def read_state(self) -> RunState | None:
        try:
            return RunState(**json.loads(self.state_file.read_text()))
        except (FileNotFoundError, json.JSONDecodeError, TypeError):
            return None

    def write_state(self, state: RunState) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
        tmp.replace(self.state_file)

    def clear_state(self) -> None:
        self.state_file.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split(" ")[0] != "Z"
    except OSError:
        return True
