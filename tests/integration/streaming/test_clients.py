"""The real kubectl v1.32 and the Python `kubernetes` client against logs, exec and attach."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.stream import stream

from tests.integration.streaming.conftest import NS, Env, wait_until

pytestmark = pytest.mark.integration

KUBECTL = "/usr/bin/kubectl"


async def kubectl(env: Env, *args: str, stdin: bytes | None = None, timeout: float = 60) -> tuple[int, str, str]:
    """kubectl as a child process: the API server under test runs in this event loop, so never block it."""
    proc = await asyncio.create_subprocess_exec(
        KUBECTL, "--request-timeout=30s", *args, env=env.kubeconfig(), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_kubectl_logs(env: Env) -> None:
    cid = await env.container("echo one; echo two; echo three; sleep 300")
    await env.pod("talker", {"app": cid})
    await wait_until(lambda: b"three" in env.docker.api.logs(cid))
    rc, out, err = await kubectl(env, "logs", "talker")
    assert (rc, out) == (0, "one\ntwo\nthree\n"), err
    rc, out, err = await kubectl(env, "logs", "talker", "--tail=1", "--timestamps")
    assert rc == 0 and out.endswith("Z three\n"), err


async def test_kubectl_logs_follow(env: Env) -> None:
    cid = await env.container("i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done")
    await env.pod("ticker", {"app": cid})
    proc = await asyncio.create_subprocess_exec(KUBECTL, "logs", "-f", "ticker", env=env.kubeconfig(),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip() for _ in range(5)]
        assert lines == [f"tick {i}" for i in range(5)]
    finally:
        proc.terminate()
        await proc.wait()
    await wait_until(lambda: env.server.sessions == 0)


async def test_kubectl_logs_follow_ends_with_the_container(env: Env) -> None:
    cid = await env.container("echo a; sleep 1; echo b")
    await env.pod("brief", {"app": cid})
    rc, out, err = await kubectl(env, "logs", "-f", "brief")
    assert (rc, out) == (0, "a\nb\n"), err


async def test_kubectl_exec(env: Env) -> None:
    cid = await env.container("sleep 300")
    await env.pod("box", {"app": cid})
    rc, out, err = await kubectl(env, "exec", "box", "--", "echo", "hi")
    assert (rc, out) == (0, "hi\n"), err
    rc, out, err = await kubectl(env, "exec", "box", "--", "sh", "-c", "echo to-err >&2; exit 3")
    assert rc == 3 and err.startswith("to-err\n") and "command terminated with exit code 3" in err, err
    data = "".join(f"{i}\n" for i in range(20_000)).encode()
    rc, out, err = await kubectl(env, "exec", "-i", "box", "--", "cat", stdin=data)
    assert rc == 0 and out.encode() == data, err
    rc, out, err = await kubectl(env, "exec", "-i", "box", "--", "wc", "-c", stdin=b"12345")
    assert (rc, out.strip()) == (0, "5"), err


async def test_kubectl_exec_errors(env: Env) -> None:
    cid = await env.container("sleep 300")
    await env.pod("pair", {"a": cid, "b": cid})
    rc, out, err = await kubectl(env, "exec", "pair", "-c", "b", "--", "echo", "from-b")
    assert (rc, out) == (0, "from-b\n"), err
    rc, _, err = await kubectl(env, "exec", "nothere", "--", "ls")
    assert rc == 1 and 'pods "nothere" not found' in err
    await env.pod("simmed", {"app": None}, sim=True)
    rc, _, err = await kubectl(env, "exec", "simmed", "--", "ls")
    assert rc == 1 and "cannot exec into a container on a simulated node" in err


async def test_kubectl_attach(env: Env) -> None:
    cid = await env.container("while read line; do echo got:$line; done", stdin_open=True)
    await env.pod("reader", {"app": cid}, stdin=True)
    proc = await asyncio.create_subprocess_exec(KUBECTL, "attach", "-i", "reader", env=env.kubeconfig(),
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        deadline = time.monotonic() + 30
        got = b""
        while b"got:ping" not in got and time.monotonic() < deadline:
            proc.stdin.write(b"ping\n")  # attach only sees input sent after it is attached
            await proc.stdin.drain()
            try:
                got += await asyncio.wait_for(proc.stdout.read(100), 0.5)
            except asyncio.TimeoutError:
                pass
        assert b"got:ping" in got
    finally:
        proc.terminate()
        await proc.wait()


def api(env: Env) -> k8s.CoreV1Api:
    cfg = k8s.Configuration()
    cfg.host = env.url
    return k8s.CoreV1Api(k8s.ApiClient(cfg))


async def test_python_client_logs_and_exec(env: Env) -> None:
    cid = await env.container("i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done")
    await env.pod("ticker", {"app": cid})
    core = api(env)

    def follow() -> list[str]:
        resp = core.read_namespaced_pod_log("ticker", NS, container="app", follow=True, _preload_content=False)
        lines: list[str] = []
        try:
            for chunk in resp.stream(64):
                lines += chunk.decode().splitlines()
                if len(lines) >= 5:
                    return lines
        finally:
            resp.release_conn()
        return lines

    lines = await asyncio.to_thread(follow)
    assert lines[:5] == [f"tick {i}" for i in range(5)]
    tail = await asyncio.to_thread(core.read_namespaced_pod_log, "ticker", NS, tail_lines=2)
    assert len(tail.splitlines()) == 2

    def run(command: list[str], **kw: Any) -> Any:
        return stream(core.connect_get_namespaced_pod_exec, "ticker", NS, command=command, stderr=True, stdin=False,
                      stdout=True, tty=False, **kw)

    out = await asyncio.to_thread(run, ["sh", "-c", "echo from-exec; echo to-stderr >&2"])
    assert "from-exec" in out and "to-stderr" in out

    def exit_code() -> Any:
        ws = run(["sh", "-c", "exit 4"], _preload_content=False)
        ws.run_forever(timeout=30)
        return ws.returncode

    assert await asyncio.to_thread(exit_code) == 4

    def interactive() -> str:
        ws = stream(core.connect_get_namespaced_pod_exec, "ticker", NS, command=["cat"], stderr=True, stdin=True,
                    stdout=True, tty=False, _preload_content=False)
        ws.write_stdin("typed text\n")
        line = ws.readline_stdout(timeout=30)
        ws.close()
        return str(line)

    assert await asyncio.to_thread(interactive) == "typed text"
