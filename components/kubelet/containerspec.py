"""From a pod's spec to what the runtime creates: sandbox and container configurations. Pure.

Resources map as Kubernetes maps them onto cgroups: limits.cpu → CPU quota (docker nano_cpus),
requests.cpu → cpu shares (1024 per CPU, at least 2), limits.memory → the memory limit. Host
ports are published on the sandbox, which owns the network namespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.kubelet.decide import spec_hash
from components.kubelet.envvars import command_line
from components.kubelet.runtime import ContainerConfig, Mount, PodIdentity, PortBinding, SandboxConfig
from core.podstatus import SandboxObs
from core.schema.quantity import QuantityError, parse_quantity

Obj = Mapping[str, Any]
MIN_SHARES = 2


def identity(pod: Obj) -> PodIdentity:
    md = pod.get("metadata") or {}
    return PodIdentity(str(md.get("uid", "")), str(md.get("name", "")), str(md.get("namespace", "")))


def hostname(pod: Obj) -> str:
    spec = pod.get("spec") or {}
    name = str(spec.get("hostname") or (pod.get("metadata") or {}).get("name", ""))
    return name[:63].rstrip("-.") or "pod"


def grace(pod: Obj) -> int:
    g = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
    return int(g) if isinstance(g, int) and g >= 0 else 30


def port_bindings(pod: Obj) -> tuple[PortBinding, ...]:
    spec = pod.get("spec") or {}
    out = []
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append(PortBinding(int(p.get("containerPort", 0)), str(p.get("protocol") or "TCP"),
                                       int(p["hostPort"]), str(p.get("hostIP") or "")))
    return tuple(out)


def host_network(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("hostNetwork"))


def sandbox_config(pod: Obj, attempt: int, ip: str) -> SandboxConfig:
    return SandboxConfig(identity(pod), attempt, ip, hostname(pod), port_bindings(pod), grace(pod),
                         host_network=host_network(pod))


def _q(raw: Any) -> float | None:
    if raw is None:
        return None
    try:
        return float(parse_quantity(raw).value)
    except QuantityError:
        return None


def cgroup_settings(container: Obj) -> tuple[int | None, int | None, int]:
    """(nano_cpus, mem_limit bytes, cpu_shares) for a container's resources."""
    res = container.get("resources") or {}
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    cpu_limit, mem_limit, cpu_req = _q(limits.get("cpu")), _q(limits.get("memory")), _q(requests.get("cpu"))
    nano = int(cpu_limit * 1e9) if cpu_limit else None
    mem = int(mem_limit) if mem_limit else None
    shares = max(MIN_SHARES, int(cpu_req * 1024)) if cpu_req else MIN_SHARES
    return nano, mem, shares


def container_config(pod: Obj, container: Obj, *, init: bool, attempt: int, sandbox: SandboxObs,
                     env: Sequence[tuple[str, str]], mounts: Sequence[Mount]) -> ContainerConfig:
    env_map = dict(env)
    command, args = command_line(container, env_map)
    nano, mem, shares = cgroup_settings(container)
    return ContainerConfig(
        pod=identity(pod), name=str(container.get("name", "")), attempt=attempt, init=init,
        sandbox_id=sandbox.id, sandbox_attempt=sandbox.attempt, image=str(container.get("image", "")),
        hash=spec_hash(container), command=command, args=args, env=tuple(env),
        working_dir=str(container.get("workingDir") or ""), tty=bool(container.get("tty")),
        stdin=bool(container.get("stdin")), stdin_once=bool(container.get("stdinOnce")), mounts=tuple(mounts),
        nano_cpus=nano, mem_limit=mem, cpu_shares=shares, grace=grace(pod))
