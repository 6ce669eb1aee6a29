"""Setting up a pod's volume directories on the host (the I/O half of `volumes.py`).

Called from the kubelet's thread pool, never on the event loop. emptyDir directories are created
once and keep their data while the pod lives (a re-created sandbox finds them again); config
volumes are written afresh into a temporary directory that then replaces the old one, so a
container never sees half a volume. Everything of a pod goes with `remove_pod_dir`, except a
persistentVolumeClaim's directory (`<root>/pvc/<namespace>/<claim>`), which is outside it and stays.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from components.kubelet.volumes import MountError, MountSpec, VolumePlan, volume_dir

_HOST_TYPE_CHECKS = {
    "Directory": (stat.S_ISDIR, "is not a directory"),
    "File": (stat.S_ISREG, "is not a file"),
    "Socket": (stat.S_ISSOCK, "is not a socket"),
    "CharDevice": (stat.S_ISCHR, "is not a character device"),
    "BlockDevice": (stat.S_ISBLK, "is not a block device"),
}


def pod_dir(root: str | Path, uid: str) -> str:
    return str(Path(root) / "pods" / uid)


def prepare(plan: VolumePlan, pdir: str) -> None:
    """Make the volume's directory (or host path) ready to bind-mount; MountError if it cannot be."""
    target = Path(volume_dir(pdir, plan))
    try:
        if plan.kind in ("emptyDir", "persistentVolumeClaim"):
            target.mkdir(parents=True, exist_ok=True)
        elif plan.kind == "hostPath":
            _host_path(target, plan.host_type)
        else:
            _write_files(plan, target)
    except OSError as e:
        raise MountError(f"{e.strerror or e}: {e.filename or target}") from e


def _host_path(path: Path, type_: str) -> None:
    if type_ == "DirectoryOrCreate":
        path.mkdir(parents=True, exist_ok=True)
        return
    if type_ == "FileOrCreate":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
        return
    check = _HOST_TYPE_CHECKS.get(type_)
    if check is None:
        return  # "" (no check) and anything unknown
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as e:
        raise MountError(f"hostPath type check failed: {path} {check[1]}") from e
    if not check[0](mode):
        raise MountError(f"hostPath type check failed: {path} {check[1]}")


def _write_files(plan: VolumePlan, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{plan.name}-", dir=target.parent))
    try:
        for f in plan.files:
            dest = tmp / f.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(f.data)
            os.chmod(dest, f.mode & 0o7777)
        os.chmod(tmp, 0o755)
        if target.exists():
            old = target.with_name(f".{plan.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def prepare_mount(m: MountSpec) -> None:
    if m.make_dir and not os.path.exists(m.source):
        os.makedirs(m.source, exist_ok=True)


def remove_pod_dir(root: str | Path, uid: str) -> None:
    shutil.rmtree(pod_dir(root, uid), ignore_errors=True)
