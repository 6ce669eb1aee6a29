"""pods/log over HTTP, served by a kubelet stand-in over the bus from real docker containers."""

from __future__ import annotations

import re

import pytest

from components.kubelet.streaming import StreamTarget
from tests.integration.streaming.conftest import NS, Env, wait_until

pytestmark = pytest.mark.integration

FIVE = "for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2; sleep 300"


async def get(env: Env, pod: str, query: str = "") -> tuple[int, str, str]:
    async with env.http.get(f"{env.url}/api/v1/namespaces/{NS}/pods/{pod}/log{query}") as r:
        return r.status, r.headers.get("Content-Type", ""), (await r.read()).decode()


async def test_logs_tail_timestamps_and_limit(env: Env) -> None:
    cid = await env.container(FIVE)
    await env.pod("five", {"app": cid})
    await wait_until(lambda: "oops" in env.docker.api.logs(cid, stderr=True).decode())
    status, ctype, body = await get(env, "five")
    assert status == 200 and ctype.startswith("text/plain")
    assert sorted(body.splitlines()) == sorted([f"line {i}" for i in range(1, 6)] + ["oops"])  # stdout + stderr
    status, _, body = await get(env, "five", "?container=app&tailLines=2")
    assert status == 200 and len(body.splitlines()) == 2
    status, _, body = await get(env, "five", "?timestamps=true&tailLines=1")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \S+( \d)?\n", body), body
    status, _, body = await get(env, "five", "?limitBytes=9")
    assert status == 200 and len(body) == 9
    assert env.resolved[0] == ("node-a", NS, "five", "app", False)


async def test_follow_streams_new_lines_and_stops_with_the_client(env: Env) -> None:
    cid = await env.container("i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done")
    await env.pod("ticker", {"app": cid})
    async with env.http.get(f"{env.url}/api/v1/namespaces/{NS}/pods/ticker/log?follow=true") as r:
        assert r.status == 200
        lines = [(await r.content.readline()).decode().strip() for _ in range(8)]
    assert lines == [f"tick {i}" for i in range(8)]
    await wait_until(lambda: env.server.sessions == 0)  # the kubelet side stopped following


async def test_follow_ends_when_the_container_does(env: Env) -> None:
    cid = await env.container("echo first; sleep 1; echo last")
    await env.pod("brief", {"app": cid})
    status, _, body = await get(env, "brief", "?follow=true")
    assert status == 200 and body == "first\nlast\n"


async def test_previous_instance(env: Env) -> None:
    old = await env.container("echo from the first run")
    await env.wait_exited(old)
    cur = await env.container("echo second run; sleep 300")
    await env.pod("restarted", {"app": cur}, statuses={"app": {
        "state": {"running": {}}, "restartCount": 1,
        "lastState": {"terminated": {"exitCode": 0, "containerID": f"docker://{old}"}}}})
    env.previous[(NS, "restarted", "app")] = StreamTarget(old)
    status, _, body = await get(env, "restarted", "?previous=true")
    assert (status, body) == (200, "from the first run\n")
    del env.previous[(NS, "restarted", "app")]  # the kubelet no longer has it: its refusal is relayed
    status, _, body = await get(env, "restarted", "?previous=true")
    assert status == 400 and 'previous terminated container \\"app\\" in pod \\"restarted\\" not found' in body


async def test_refusals_worded_as_kubernetes(env: Env) -> None:
    cid = await env.container("sleep 300")
    await env.pod("pair", {"a": cid, "b": cid})
    status, ctype, body = await get(env, "pair")
    assert status == 400 and ctype.startswith("application/json")
    assert "a container name must be specified for pod pair, choose one of: [a b]" in body
    status, _, body = await get(env, "pair", "?container=x")
    assert status == 400 and "container x is not valid for pod pair" in body
    status, _, body = await get(env, "missing")
    assert status == 404 and 'pods \\"missing\\" not found' in body
    status, _, body = await get(env, "pair", "?container=a&tailLines=-1")
    assert status == 422 and "must be greater than or equal to 0" in body
    await env.pod("creating", {"app": None}, statuses={"app": {"state": {"waiting": {"reason": "ContainerCreating"}}}})
    status, _, body = await get(env, "creating")
    assert status == 400 and 'container \\"app\\" in pod \\"creating\\" is waiting to start: ContainerCreating' in body


async def test_unscheduled_pod_has_no_logs_and_an_absent_node_is_503(env: Env) -> None:
    await env.pod("pending", {"app": None}, node=None, statuses={"app": {"state": {"waiting": {"reason": "x"}}}})
    status, _, body = await get(env, "pending")
    assert (status, body) == (204, "")
    await env.pod("elsewhere", {"app": "0" * 64}, node="node-z")
    status, _, body = await get(env, "elsewhere")
    assert status == 503 and 'no node agent serves node \\"node-z\\"' in body


async def test_simulated_node_logs_are_empty(env: Env) -> None:
    await env.pod("simmed", {"app": None}, sim=True)
    assert await get(env, "simmed") == (200, "text/plain", "")


async def test_a_large_log_arrives_whole(env: Env) -> None:
    """More than a few windows of output, read by an HTTP client: flow control loses nothing."""
    cid = await env.container("i=0; while [ $i -lt 40000 ]; do echo \"line $i ................................\"; "
                              "i=$((i+1)); done; sleep 300")
    await env.pod("big", {"app": cid})
    await wait_until(lambda: b"line 39999 " in env.docker.api.logs(cid, tail=1), timeout=60)
    status, _, body = await get(env, "big")
    lines = body.splitlines()
    assert status == 200 and len(lines) == 40000 and len(body) > 1 << 20
    assert all(line.startswith(f"line {i} ") for i, line in enumerate(lines))


async def test_logs_over_a_websocket(env: Env) -> None:
    cid = await env.container("echo via-ws; sleep 300")
    await env.pod("wsl", {"app": cid})
    await wait_until(lambda: b"via-ws" in env.docker.api.logs(cid))
    ws = await env.http.ws_connect(f"{env.url}/api/v1/namespaces/{NS}/pods/wsl/log", protocols=("binary.k8s.io",))
    assert ws.protocol == "binary.k8s.io"
    msg = await ws.receive(timeout=10)
    assert msg.data == b"via-ws\n"
    await ws.close()
    await wait_until(lambda: env.server.sessions == 0)


async def test_a_quiet_followed_log_over_a_websocket_ends_when_the_client_leaves(env: Env) -> None:
    cid = await env.container("echo once; sleep 300")
    await env.pod("quiet", {"app": cid})
    ws = await env.http.ws_connect(f"{env.url}/api/v1/namespaces/{NS}/pods/quiet/log?follow=true",
                                   protocols=("base64.binary.k8s.io",))
    msg = await ws.receive(timeout=10)
    assert msg.data == "b25jZQo="  # "once\n"
    await wait_until(lambda: env.server.sessions == 1)
    await ws.close()
    await wait_until(lambda: env.server.sessions == 0)
