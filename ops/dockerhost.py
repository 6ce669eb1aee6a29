"""The host's dockerd as `jetkube up` needs it: reachable, the images present, a pod network range
that no other docker network overlaps, and a way to remove what a cluster left running.

Containers and networks a kubelet creates carry the label `io.jetkube.prefix=<cluster prefix>`;
that label is how `jetkube down` finds what belongs to its cluster and nothing else.
"""

from __future__ import annotations

import ipaddress
from typing import Any

PREFIX_LABEL = "io.jetkube.prefix"
HOW_TO_START = ("start it with `dockerd >/var/log/dockerd.log 2>&1 &` (as root; `apt-get install docker.io` "
                "first if it is missing; `make run` does both), or use `--runtime sim`")


class DockerUnavailable(Exception):
    """dockerd cannot be reached; the message says how to start it."""


def connect(timeout: float = 120) -> Any:
    try:
        import docker
    except ImportError as e:  # pragma: no cover - a dependency of the package
        raise DockerUnavailable("the docker Python package is missing; reinstall jetkube") from e
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except Exception as e:
        raise DockerUnavailable(f"dockerd is not reachable ({type(e).__name__}); {HOW_TO_START}") from e


def network_name(prefix: str) -> str:
    return f"jetkube-{prefix}"


def cluster_cidr(client: Any, prefix: str, preferred: str) -> str:
    """The pod range to use: the cluster network's own if it exists, else `preferred` unless another
    docker network overlaps it, else the first free 10.x.0.0/16 from 10.244 on."""
    used: list[ipaddress.IPv4Network] = []
    for net in client.networks.list():
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
            try:
                sub = ipaddress.ip_network(cfg.get("Subnet", ""), strict=False)
            except ValueError:
                continue
            if net.name == network_name(prefix) and isinstance(sub, ipaddress.IPv4Network):
                return str(sub)
            if isinstance(sub, ipaddress.IPv4Network):
                used.append(sub)
    candidates = [preferred] + [f"10.{i}.0.0/16" for i in [*range(244, 256), *range(100, 244)]]
    for c in candidates:
        net = ipaddress.ip_network(c, strict=False)
        if not any(isinstance(net, ipaddress.IPv4Network) and net.overlaps(u) for u in used):
            return str(net)
    raise DockerUnavailable("no free 10.x.0.0/16 range for pods: remove unused docker networks")


def pod_cidr(cluster: str, index: int) -> str:
    """Node `index`'s /24 inside the cluster range."""
    net = ipaddress.ip_network(cluster, strict=False)
    subnets = list(net.subnets(new_prefix=24)) if net.prefixlen <= 24 else [net]
    if index >= len(subnets):
        raise ValueError(f"{cluster} has room for {len(subnets)} nodes, not {index + 1}")
    return str(subnets[index])


def remove_cluster_objects(client: Any, prefix: str) -> int:
    """Remove every container and network labelled with the cluster's prefix; how many containers."""
    import docker
    n = 0
    for c in client.containers.list(all=True, filters={"label": f"{PREFIX_LABEL}={prefix}"}):
        try:
            c.remove(force=True)
            n += 1
        except docker.errors.NotFound:
            pass
    for net in client.networks.list(filters={"label": f"{PREFIX_LABEL}={prefix}"}):
        try:
            net.remove()
        except docker.errors.APIError:
            pass
    return n
