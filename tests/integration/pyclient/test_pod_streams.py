"""The Python `kubernetes` client streams a running pod's logs and runs an exec in it (WebSocket)."""

from __future__ import annotations

import time

import pytest
from kubernetes import client
from kubernetes.stream import stream

pytestmark = pytest.mark.integration


def _running(core: client.CoreV1Api, ns: str, name: str, timeout: float = 90) -> client.V1Pod:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = core.read_namespaced_pod(name, ns)
        if p.status.phase == "Running":
            return p
        time.sleep(0.5)
    raise AssertionError(f"pod {name} not Running: {p.status}")


def test_logs_stream_and_exec(core: client.CoreV1Api, ns: str) -> None:
    script = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"
    core.create_namespaced_pod(ns, client.V1Pod(
        metadata=client.V1ObjectMeta(name="ticker"),
        spec=client.V1PodSpec(containers=[client.V1Container(
            name="ticker", image="busybox", image_pull_policy="IfNotPresent", command=["sh", "-c", script])])))
    _running(core, ns, "ticker")

    resp = core.read_namespaced_pod_log("ticker", ns, container="ticker", follow=True, _preload_content=False)
    try:
        lines: list[str] = []
        for chunk in resp.stream(64):
            lines += chunk.decode().splitlines()
            if len(lines) >= 5:
                break
        assert lines[0] == "tick 0" and all(line.startswith("tick ") for line in lines[:5]), lines
    finally:
        resp.release_conn()

    out = stream(core.connect_get_namespaced_pod_exec, "ticker", ns, container="ticker",
                 command=["sh", "-c", "echo from-exec; echo to-stderr >&2"], stderr=True, stdin=False, stdout=True,
                 tty=False, _preload_content=True)
    assert "from-exec" in out

    ws = stream(core.connect_get_namespaced_pod_exec, "ticker", ns, container="ticker", command=["sh", "-c", "exit 4"],
                stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    ws.run_forever(timeout=30)
    assert ws.returncode == 4
    core.delete_namespaced_pod("ticker", ns, grace_period_seconds=0)
