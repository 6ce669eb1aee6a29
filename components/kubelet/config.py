"""The kubelet's settings (the CLI's flags, and what tests set directly)."""

from __future__ import annotations

import socket
from dataclasses import dataclass


def default_node_name() -> str:
    return socket.gethostname().split(".")[0].lower() or "node"


@dataclass
class KubeletConfig:
    nats_url: str
    prefix: str = "jk"
    node_name: str = ""  # the node (docker); the base of `<name>-<i>` names (sim with `nodes`)
    node_names: tuple[str, ...] = ()  # explicit simulated node names
    runtime: str = "docker"  # docker | sim
    nodes: int | None = None  # sim: how many nodes
    pod_cidr: str = ""  # docker: this node's pod range (default: the Node's, else a free /24)
    cluster_cidr: str = "10.244.0.0/16"
    network: str = ""  # docker network (default jetkube-<prefix>)
    root_dir: str = "/var/lib/jetkube/kubelet"
    cpu: str | None = None
    memory: str | None = None
    max_pods: int = 110
    sim_start_delay: float = 1.0
    sim_stop_delay: float = 0.2
    registries: tuple[str, ...] = ()
    node_ip: str = ""
    backoff_base: float = 10.0  # CrashLoopBackOff / ImagePullBackOff: first delay, doubling…
    backoff_cap: float = 300.0  # …up to this
    lease_duration: int = 40
    lease_renew: float = 10.0
    status_report: float = 300.0  # node status posted at least this often (else only on change)
    resync: float = 10.0  # docker: every pod is looked at again this often
    workers: int = 0  # pods synced at once (0: 32 for docker, 256 for sim)
    write_concurrency: int = 32  # node status and lease writes in flight at once
    docker_threads: int = 16
    connect_timeout: float = 30.0  # NATS must answer within this at start-up

    @property
    def network_name(self) -> str:
        return self.network or f"jetkube-{self.prefix}"

    def names(self) -> list[str]:
        base = self.node_name or default_node_name()
        if self.runtime != "sim":
            return [base]
        if self.node_names:
            return list(self.node_names)
        if self.nodes is None:
            return [base]
        return [f"{base}-{i}" for i in range(self.nodes)]
