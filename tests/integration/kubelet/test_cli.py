"""`python -m components.kubelet` as a process: killed with SIGKILL and started again it adopts the
running containers and resumes status; without dockerd it says so in one line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Plane, free_cluster_cidr, remove_prefix_objects
from tests.integration.kubelet.conftest import pod, pod_cidr, sh, until

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


async def _spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    with open(log, "ab") as out:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "components.kubelet", *argv, cwd=ROOT,
                                                    stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL,
                                                    env={**os.environ, **(env or {})})


async def test_kill_9_and_restart_adopts_and_resumes(plane: Plane, docker_client: Any, tmp_path: Path) -> None:
    api = plane.api
    cidr = free_cluster_cidr(docker_client)
    argv = ["--nats", plane.nats_url, "--prefix", plane.prefix, "--node-name", "kcli", "--cluster-cidr", cidr,
            "--pod-cidr", pod_cidr(cidr), "--root-dir", str(tmp_path / "root"), "--backoff-base", "0.5"]
    log = tmp_path / "kubelet.log"
    procs: list[asyncio.subprocess.Process] = []
    try:
        procs.append(await _spawn(argv, log))

        async def registered() -> bool:
            try:
                await api.get("leases.coordination.k8s.io", "kube-node-lease", "kcli")
                return True
            except Exception:
                return False
        await until(registered, timeout=30)
        await api.create("pods", "default", pod("survivor", [sh("c", "sleep 3600")], node="kcli"))

        async def status() -> dict[str, Any] | None:
            p = await api.get("pods", "default", "survivor")
            return p["status"] if p["status"].get("phase") == "Running" else None
        before = (await until(status))["containerStatuses"][0]
        procs[0].kill()  # SIGKILL: no clean-up at all
        await procs[0].wait()
        procs.append(await _spawn(argv, log))

        async def running_again() -> bool:
            return log.read_bytes().count(b"kubelet ready") == 2
        await until(running_again, timeout=30)
        after = (await until(status))["containerStatuses"][0]
        assert after["containerID"] == before["containerID"]
        assert after["state"] == before["state"] and after["restartCount"] == 0

        # Status resumes: the container dies, the restarted kubelet restarts it.
        await asyncio.to_thread(docker_client.api.kill, before["containerID"].removeprefix("docker://"))

        async def restarted() -> dict[str, Any] | None:
            cs = (await api.get("pods", "default", "survivor"))["status"]["containerStatuses"][0]
            return cs if cs["restartCount"] == 1 and "running" in cs["state"] else None
        cs = await until(restarted)
        assert cs["lastState"]["terminated"]["exitCode"] == 137
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        await asyncio.to_thread(remove_prefix_objects, docker_client, plane.prefix)


async def test_without_dockerd_one_clear_line(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    proc = await _spawn(["--nats", "nats://127.0.0.1:1", "--node-name", "x", "--root-dir", str(tmp_path)], log,
                        env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    assert await asyncio.wait_for(proc.wait(), 30) == 1
    lines = log.read_text().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("jetkube-kubelet: dockerd is not reachable") and "dockerd" in lines[0]
