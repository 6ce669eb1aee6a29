"""pods/exec and pods/attach over WebSocket (v5, v4, base64), relayed over the bus to docker."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.integration.streaming.conftest import NS, Env, wait_until

pytestmark = pytest.mark.integration

V5, V4, V4B64 = "v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io"


@dataclass
class Session:
    ws: aiohttp.ClientWebSocketResponse
    out: dict[int, bytes] = field(default_factory=lambda: {1: b"", 2: b"", 3: b""})
    frames: list[tuple[int, bytes]] = field(default_factory=list)

    @property
    def text(self) -> bool:
        return self.ws.protocol == V4B64

    async def send(self, channel: int, data: bytes) -> None:
        if self.text:
            await self.ws.send_str(chr(ord("0") + channel) + base64.b64encode(data).decode())
        else:
            await self.ws.send_bytes(bytes([channel]) + data)

    async def next(self) -> tuple[int, bytes] | None:
        msg = await self.ws.receive(timeout=30)
        if msg.type == aiohttp.WSMsgType.BINARY:
            frame = (msg.data[0], msg.data[1:])
        elif msg.type == aiohttp.WSMsgType.TEXT:
            frame = (ord(msg.data[0]) - ord("0"), base64.b64decode(msg.data[1:]))
        else:
            return None
        self.frames.append(frame)
        self.out[frame[0]] = self.out.get(frame[0], b"") + frame[1]
        return frame

    async def until(self, channel: int, needle: bytes) -> None:
        while needle not in self.out.get(channel, b""):
            assert await self.next() is not None, self.out

    async def drain(self) -> dict[int, bytes]:
        while await self.next() is not None:
            pass
        return self.out

    @property
    def status(self) -> Any:
        return json.loads(self.out[3])


def url(env: Env, pod: str, op: str = "exec", command: list[str] | None = None, **flags: Any) -> str:
    query: list[tuple[str, str]] = [("command", c) for c in command or []]
    query += [(k, "true" if v is True else "false" if v is False else str(v)) for k, v in flags.items()]
    return f"{env.url}/api/v1/namespaces/{NS}/pods/{pod}/{op}?{urlencode(query)}"


async def connect(env: Env, address: str, protocols: tuple[str, ...] = (V5, V4)) -> Session:
    ws = await env.http.ws_connect(address, protocols=protocols, autoping=True)
    return Session(ws)


async def test_exec_stdout_stderr_and_exit_code_v5(env: Env) -> None:
    cid = await env.container("sleep 300")
    await env.pod("box", {"app": cid})
    s = await connect(env, url(env, "box", command=["sh", "-c", "echo out; echo err >&2; exit 3"], stdout=True,
                              stderr=True))
    assert s.ws.protocol == V5
    out = await s.drain()
    assert s.frames[0] == (1, b"")  # the "streams are up" message
    assert out[1] == b"out\n" and out[2] == b"err\n"
    assert s.status == {"metadata": {}, "status": "Failure",
                        "message": "command terminated with non-zero exit code: error executing command "
                                   "[sh -c echo out; echo err >&2; exit 3], exit code 3",
                        "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    assert s.ws.close_code == 1000


async def test_exec_success_v4_and_base64(env: Env) -> None:
    cid = await env.container("sleep 300")
    await env.pod("box", {"app": cid})
    for proto in (V4, V4B64):
        s = await connect(env, url(env, "box", command=["echo", "hi"], stdout=True, stderr=True, stdin=False),
                          protocols=(proto,))
        assert s.ws.protocol == proto
        out = await s.drain()
        assert out[1] == b"hi\n" and s.status == {"metadata": {}, "status": "Success"}


async def test_exec_stdin_with_close_signal(env: Env) -> None:
    cid = await env.container("sleep 300")
    await env.pod("box", {"app": cid})
    s = await connect(env, url(env, "box", command=["cat"], stdin=True, stdout=True, stderr=True))
    payload = b"".join(b"%06d\n" % i for i in range(50_000))  # 350 kB through stdin and back
    for i in range(0, len(payload), 32 << 10):
        await s.send(0, payload[i:i + (32 << 10)])
    await s.ws.send_bytes(bytes([255, 0]))  # v5: stdin is done
    out = await s.drain()
    assert out[1] == payload and s.status["status"] == "Success"


async def test_exec_tty_with_resize(env: Env) -> None:
    cid = await env.container("sleep 300")
    await env.pod("box", {"app": cid})
    s = await connect(env, url(env, "box", command=["sh"], stdin=True, stdout=True, tty=True))
    await s.send(4, b'{"Width":100,"Height":30}\n')
    await s.send(0, b"stty size; exit 7\n")
    out = await s.drain()
    assert b"30 100" in out[1]
    assert s.status["details"]["causes"][0]["message"] == "7"


async def test_large_exec_output_arrives_whole(env: Env) -> None:
    cid = await env.container("sleep 300")
    await env.pod("box", {"app": cid})
    s = await connect(env, url(env, "box", command=["sh", "-c", "head -c 6000000 /dev/zero"], stdout=True))
    total = 0
    while (frame := await s.next()) is not None:
        if frame[0] == 1:
            total += len(frame[1])
            s.out[1] = b""
            if total % (1 << 20) < 70_000:
                await asyncio.sleep(0.05)  # a slow client now and then
    assert total == 6_000_000 and s.status["status"] == "Success"


async def test_attach_to_a_reading_container(env: Env) -> None:
    cid = await env.container("while read line; do echo got:$line; done", stdin_open=True)
    await env.pod("reader", {"app": cid}, stdin=True)
    s = await connect(env, url(env, "reader", "attach", stdin=True, stdout=True, stderr=True))
    await s.send(0, b"hello\n")
    await s.until(1, b"got:hello\n")
    await s.send(0, b"again\n")
    await s.until(1, b"got:again\n")
    await s.ws.close()
    await wait_until(lambda: env.server.sessions == 0)
    state = await asyncio.to_thread(lambda: env.docker.api.inspect_container(cid)["State"])
    assert state["Running"]  # leaving an attach does not stop the container


async def test_attach_tty_shell_and_its_end(env: Env) -> None:
    cid = await env.container("sh", tty=True, stdin_open=True)
    await env.pod("shell", {"app": cid}, tty=True, stdin=True)
    s = await connect(env, url(env, "shell", "attach", stdin=True, stdout=True, tty=True))
    await s.send(4, b'{"Width":90,"Height":20}')
    await s.send(0, b"stty size\n")
    await s.until(1, b"20 90")
    await s.send(0, b"exit\n")
    await s.drain()  # the container's shell ended: so does the attach
    assert s.status == {"metadata": {}, "status": "Success"}


async def test_refusals_before_and_after_the_upgrade(env: Env) -> None:
    cid = await env.container("sleep 300")
    await env.pod("box", {"app": cid})
    async with env.http.get(url(env, "missing", command=["ls"], stdout=True),
                            headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                                     "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                     "Sec-WebSocket-Protocol": V5}) as r:
        assert r.status == 404 and 'pods \\"missing\\" not found' in await r.text()
    async with env.http.post(url(env, "box", command=["ls"], stdout=True),
                             headers={"Upgrade": "SPDY/3.1", "Connection": "Upgrade"}) as r:
        assert r.status == 400 and "SPDY is not supported" in await r.text()
    async with env.http.get(url(env, "box", command=["ls"])) as r:
        assert r.status == 400 and "you must specify at least 1 of stdin, stdout, stderr" in await r.text()
    await env.pod("unbound", {"app": None}, node=None)
    async with env.http.get(url(env, "unbound", command=["ls"], stdout=True)) as r:
        assert r.status == 400 and "pod unbound does not have a host assigned" in await r.text()
    async with env.http.get(url(env, "box", "portforward", ports=80)) as r:
        assert r.status == 503 and "portforward is not supported yet" in await r.text()
    # the kubelet's refusals come after the upgrade, as the final status
    await env.pod("simmed", {"app": None}, sim=True)
    s = await connect(env, url(env, "simmed", command=["ls"], stdout=True))
    await s.drain()
    assert s.status["message"] == "cannot exec into a container on a simulated node"
    await env.pod("elsewhere", {"app": cid}, node="node-z")
    s = await connect(env, url(env, "elsewhere", command=["ls"], stdout=True))
    await s.drain()
    assert s.status["code"] == 503 and 'node "node-z"' in s.status["message"]
    s = await connect(env, url(env, "box", command=["no-such-binary"], stdout=True))
    await s.drain()
    assert s.status["reason"] == "NonZeroExitCode"  # docker: exit 127 from the runtime
