"""What the host is: CPUs, memory, disk, kernel, OS, machine and boot ids (read from /proc and /etc).

The docker kubelet reports these as its Node's capacity and nodeInfo; `--cpu` and `--memory`
override the measured values. Simulated nodes do not read the host (see `service.py`).
"""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from components.kubelet.nodestatus import arch


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def memory_ki() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return platform.system()


def disk_ki(path: str | Path) -> int:
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).total // 1024
    except OSError:
        return 0


def capacity(root_dir: str | Path, *, cpu: str | None, memory: str | None, max_pods: int) -> dict[str, str]:
    return {"cpu": cpu or str(os.cpu_count() or 1), "memory": memory or f"{memory_ki()}Ki",
            "ephemeral-storage": f"{disk_ki(root_dir)}Ki", "pods": str(max_pods)}


def node_info() -> dict[str, str]:
    machine_id = _read("/etc/machine-id") or _read("/var/lib/dbus/machine-id")
    return {"kernel_version": platform.release(), "os_image": os_image(), "architecture": arch(platform.machine()),
            "machine_id": machine_id, "boot_id": _read("/proc/sys/kernel/random/boot_id"),
            "system_uuid": _read("/sys/class/dmi/id/product_uuid") or machine_id}
