"""The stream protocol over a real nats-server, with handlers standing in for a kubelet:
flow control, cancellation, a vanished peer, refusals."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable

import nats
import pytest
from nats.aio.client import Client

from bus import nodeio
from bus.nodeio import Kind, Op, ServerStream, StreamRequest
from bus.server import NatsServer
from core import errors

pytestmark = pytest.mark.integration

FAST = nodeio.Timing(keepalive=0.2, dead_after=1.0, open_timeout=5.0)


@pytest.fixture
async def conns(nats_server: NatsServer) -> AsyncIterator[tuple[Client, Client]]:
    """Two connections: the API server's and the kubelet's."""
    a = await nats.connect(nats_server.url)
    k = await nats.connect(nats_server.url)
    try:
        yield a, k
    finally:
        for c in (a, k):
            if not c.is_closed:
                await c.close()


def exec_request(node: str = "n1") -> StreamRequest:
    return StreamRequest(Op.EXEC, node, "ns", "p", "c", exec=nodeio.ExecOptions(command=("x",), stdin=True))


async def serve(k: Client, prefix: str, handler: Callable[[ServerStream], Awaitable[None]], *,
                window: int = nodeio.WINDOW, timing: nodeio.Timing = FAST) -> nodeio.StreamService:
    service = nodeio.StreamService(k, prefix, handler, window=window, timing=timing)
    await service.serve_node("n1")
    return service


async def test_a_slow_reader_gets_every_byte_and_the_sender_waits(conns: tuple[Client, Client], prefix: str) -> None:
    a, k = conns
    data = hashlib.sha256(b"seed").digest() * (3 * (1 << 20) // 32)  # 3 MiB, three windows of 1 MiB... of 64 KiB
    window = 64 << 10
    peak = 0

    async def handler(stream: ServerStream) -> None:
        nonlocal peak
        await stream.accept()
        for i in range(0, len(data), 10_000):
            await stream.write(Kind.STDOUT, data[i:i + 10_000])
            peak = max(peak, stream.credit.sent - stream.credit.acked)
        await stream.finish(nodeio.success_status())

    service = await serve(k, prefix, handler)
    stream = await nodeio.open_stream(a, prefix, exec_request(), window=window, timing=FAST)
    got = bytearray()
    reads = 0
    while (item := await stream.read()) is not None:
        assert item[0] == Kind.STDOUT
        got += item[1]
        reads += 1
        if reads % 16 == 0:
            await asyncio.sleep(0.01)  # a slow client
    await stream.close()
    assert bytes(got) == data
    assert stream.status == {"metadata": {}, "status": "Success"}
    assert 0 < peak <= window
    await service.stop()


async def test_stdin_resize_and_eof_reach_the_kubelet(conns: tuple[Client, Client], prefix: str) -> None:
    a, k = conns
    seen: list[tuple[int, bytes]] = []

    async def handler(stream: ServerStream) -> None:
        await stream.accept()
        while (event := await stream.read()) is not None:
            seen.append(event)
            if event[0] == Kind.EOF:
                break
        total = sum(len(p) for kind, p in seen if kind == Kind.STDIN)
        await stream.write(Kind.STDERR, str(total).encode())

    service = await serve(k, prefix, handler, window=1000)  # a small stdin window: the client must wait
    stream = await nodeio.open_stream(a, prefix, exec_request(), timing=FAST)
    await stream.resize(80, 24)
    await stream.write_stdin(b"z" * 5000)
    await stream.close_stdin()
    assert await stream.read() == (Kind.STDERR, b"5000")
    assert await stream.read() is None
    assert stream.status == nodeio.success_status()
    assert seen[0] == (Kind.RESIZE, b'{"Width":80,"Height":24}')
    assert seen[-1] == (Kind.EOF, b"\x00")
    assert b"".join(p for kind, p in seen if kind == Kind.STDIN) == b"z" * 5000
    await stream.close()
    await service.stop()


async def test_refusals_come_back_as_their_status(conns: tuple[Client, Client], prefix: str) -> None:
    a, k = conns

    async def handler(stream: ServerStream) -> None:
        raise errors.NotFound('pods "p" not found', kind="pods", name="p")

    service = await serve(k, prefix, handler)
    with pytest.raises(nodeio.NodeError) as e:
        await nodeio.open_stream(a, prefix, exec_request(), timing=FAST)
    assert e.value.code == 404 and e.value.to_status()["message"] == 'pods "p" not found'
    await service.stop()


async def test_no_kubelet_for_the_node_is_503(conns: tuple[Client, Client], prefix: str) -> None:
    a, _ = conns
    with pytest.raises(errors.ServiceUnavailable) as e:
        await nodeio.open_stream(a, prefix, exec_request("nowhere"), timing=FAST)
    assert 'node "nowhere"' in e.value.message


async def test_a_failure_after_accepting_ends_the_stream_with_its_status(conns: tuple[Client, Client],
                                                                          prefix: str) -> None:
    a, k = conns

    async def handler(stream: ServerStream) -> None:
        await stream.accept()
        await stream.write(Kind.STDOUT, b"partial")
        raise RuntimeError("disk on fire")

    service = await serve(k, prefix, handler)
    stream = await nodeio.open_stream(a, prefix, exec_request(), timing=FAST)
    assert await stream.read() == (Kind.STDOUT, b"partial")
    assert await stream.read() is None
    assert stream.status is not None and stream.status["reason"] == "InternalError"
    assert "disk on fire" in stream.status["message"]
    await stream.close()
    await service.stop()


async def test_client_leaving_cancels_the_kubelets_work(conns: tuple[Client, Client], prefix: str) -> None:
    a, k = conns
    cancelled = asyncio.Event()

    async def handler(stream: ServerStream) -> None:
        await stream.accept()
        try:
            while True:
                await stream.write(Kind.STDOUT, b"tick\n")
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    patient = nodeio.Timing(keepalive=0.2, dead_after=60.0)  # only the CANCEL can end it in time
    service = await serve(k, prefix, handler, timing=patient)
    stream = await nodeio.open_stream(a, prefix, exec_request(), timing=patient)
    assert (await stream.read()) == (Kind.STDOUT, b"tick\n")
    await stream.close()
    await asyncio.wait_for(cancelled.wait(), 5)
    for _ in range(100):
        if service.sessions == 0:
            break
        await asyncio.sleep(0.01)
    assert service.sessions == 0
    await service.stop()


async def test_a_vanished_kubelet_ends_the_session(conns: tuple[Client, Client], prefix: str) -> None:
    a, k = conns

    async def handler(stream: ServerStream) -> None:
        await stream.accept()
        await stream.write(Kind.STDOUT, b"hello")
        await asyncio.Event().wait()  # a follow that never ends

    await serve(k, prefix, handler)
    stream = await nodeio.open_stream(a, prefix, exec_request(), timing=FAST)
    assert await stream.read() == (Kind.STDOUT, b"hello")
    await k.close()  # the kubelet's process dies: no END, no PING
    assert await asyncio.wait_for(stream.read(), 10) is None
    assert stream.status is not None and stream.status["code"] == 503
    await stream.close()


async def test_a_vanished_api_server_ends_the_kubelets_work(conns: tuple[Client, Client], prefix: str) -> None:
    a, k = conns
    cancelled = asyncio.Event()

    async def handler(stream: ServerStream) -> None:
        await stream.accept()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    service = await serve(k, prefix, handler)
    await nodeio.open_stream(a, prefix, exec_request(), timing=FAST)
    await a.close()  # the API server's process dies without a word
    await asyncio.wait_for(cancelled.wait(), 10)
    await service.stop()


async def test_stopping_the_service_fails_open_sessions(conns: tuple[Client, Client], prefix: str) -> None:
    a, k = conns

    async def handler(stream: ServerStream) -> None:
        await stream.accept()
        await asyncio.Event().wait()

    service = await serve(k, prefix, handler)
    stream = await nodeio.open_stream(a, prefix, exec_request(), timing=FAST)
    await service.stop()
    assert await asyncio.wait_for(stream.read(), 5) is None
    assert stream.status is not None and stream.status["code"] == 503
    assert "shutting down" in stream.status["message"]
    await stream.close()
