"""Logs, exec and attach between the API server and a node's kubelet, over core NATS.

A node needs no inbound port: the API server asks the node's kubelet for a stream over the bus and
both ends exchange frames on per-session subjects. `open_stream` is the API server's half,
`StreamService` the kubelet's. Nothing here knows about HTTP, WebSockets or docker.

Subjects (`.` inside a node name is written `~`, as in bus/subjects.py):
  `<prefix>.node.<node>.stream.<op>`  the open request (request/reply), op `log`, `exec` or `attach`;
                                      a kubelet holds one subscription per node, `…stream.*`
  `<prefix>.nodeio.<session>.c`       frames for the API server (the client) of one session
  `<prefix>.nodeio.<session>.k`       frames for the kubelet
The client subscribes its subject before asking, so nothing the kubelet sends after accepting can
be missed; the kubelet subscribes its own before replying. The reply is `{"ok": true, "window": n}`
or `{"ok": false, "code": 404, "status": <Status>}` (the resolver's error, relayed as is).

Frames: `[kind u8][seq u32 big-endian][payload]`. Kinds 0 stdin, 1 stdout, 2 stderr and 4 resize are
Kubernetes' channel numbers; the control kinds are ACK (u64: data bytes consumed so far), EOF
(payload: the channel that ended, e.g. stdin), END (the final Status JSON, kubelet → client),
PING and CANCEL (client → kubelet: the user went away). Each direction numbers its frames from 0;
core NATS may drop messages for a slow consumer, so a gap in the numbers ends the session with an
error rather than silently losing output.

Flow control: credit in bytes. Each receiver grants a window (1 MiB by default; the client's in its
open request, the kubelet's in its reply); a sender never has more than a window of unacknowledged
data bytes in flight, and a receiver acknowledges only what its consumer has taken (the consumer
asks for the next frame), so a fast `cat` of a large log waits for a slow HTTP client instead of
overrunning it. Payloads are cut to 64 KiB (under NATS's 1 MiB max payload).

Liveness: each end sends PING when it has sent nothing for `keepalive` seconds and gives up when
it has heard nothing for `dead_after` seconds, so a dead kubelet ends the client's session (with a
503 Status) and a vanished API server ends the kubelet's (its handler is cancelled) within a few
seconds; an orderly goodbye (END, CANCEL) is immediate.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from core import errors
from bus.nodewire import (  # noqa: F401  (re-exported: the protocol's names live in one place)
    Acker,
    CHUNK,
    Credit,
    DATA_KINDS,
    DEFAULT_TIMING,
    ExecOptions,
    Frame,
    HEADER,
    Kind,
    LogOptions,
    NodeError,
    Op,
    ProtocolError,
    StreamRequest,
    Timing,
    VERSION,
    WINDOW,
    _token,
    chunks,
    decode,
    decode_ack,
    decode_resize,
    encode,
    encode_ack,
    encode_resize,
    error_status,
    exit_code_status,
    node_subjects,
    open_subject,
    session_subjects,
    success_status,
)

log = structlog.get_logger("bus.nodeio")


# -- the session machinery both halves share --------------------------------------------------------
class StreamClosed(Exception):
    """The session ended (peer gone, cancelled, or finished) while writing to it."""


@dataclass
class _State:
    closed: bool = False
    reason: str = ""
    last_sent: float = 0.0
    last_heard: float = 0.0
    seq_out: int = 0
    seq_in: int = 0
    pending_consumed: int = 0  # data bytes handed to the consumer, acked on its next read
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class _Endpoint:
    """One end of a session: its own subscription, frames to the peer, credit both ways,
    keepalive and the silence timeout."""

    def __init__(self, nc: Client, *, inbox: str, peer: str, recv_window: int, timing: Timing) -> None:
        self.nc = nc
        self.inbox = inbox
        self.peer = peer
        self.timing = timing
        self.acker = Acker(recv_window)
        self.credit = Credit(0)  # until the peer tells us its window
        self.chunk = max(1, min(CHUNK, nc.max_payload - HEADER.size - 64))
        self.frames: asyncio.Queue[Frame | None] = asyncio.Queue()
        self.s = _State()
        self._sub: Subscription | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._on_close: Callable[[str], None] | None = None

    @property
    def closed(self) -> bool:
        return self.s.closed

    async def _subscribe(self) -> None:
        self.s.last_heard = self.s.last_sent = asyncio.get_running_loop().time()
        self._sub = await self.nc.subscribe(self.inbox, cb=self._on_msg)

    def _start_ticker(self, window: int) -> None:
        self.credit.window = window
        self._wake()
        loop = asyncio.get_running_loop()
        self.s.last_heard = max(self.s.last_heard, loop.time())
        self._ticker = loop.create_task(self._tick(), name=f"nodeio-keepalive:{self.inbox}")

    async def _on_msg(self, msg: Msg) -> None:
        if self.s.closed:
            return
        try:
            frame = decode(msg.data)
            if frame.seq != self.s.seq_in:
                raise ProtocolError(f"frame {frame.seq} arrived where {self.s.seq_in} was due: frames were lost")
            self.s.seq_in = (self.s.seq_in + 1) & 0xFFFFFFFF
            self.s.last_heard = asyncio.get_running_loop().time()
            if frame.kind == Kind.ACK:
                self.credit.ack(decode_ack(frame.payload))
                self._wake()
            elif frame.kind == Kind.CANCEL:  # at once: a log handler never reads its input
                self._close("cancelled by the other end")
            elif frame.kind != Kind.PING:
                self.frames.put_nowait(frame)
        except ProtocolError as e:
            log.warning("stream protocol error", subject=self.inbox, error=str(e))
            await self._abort(f"stream protocol error: {e}")

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        t = self.timing
        while not self.s.closed:
            await asyncio.sleep(min(t.keepalive, t.dead_after) / 2)
            now = loop.time()
            if now - self.s.last_heard > t.dead_after:
                self._close(f"no word from the other end for {t.dead_after:g}s")
                return
            if now - self.s.last_sent >= t.keepalive:
                await self._send_quiet(Kind.PING)

    async def _send(self, kind: int, payload: bytes = b"") -> None:
        # The sequence number is taken and the message queued with no await in between
        # (nats-py appends to its buffer before its first await), so frames keep their order.
        seq, self.s.seq_out = self.s.seq_out, (self.s.seq_out + 1) & 0xFFFFFFFF
        self.s.last_sent = asyncio.get_running_loop().time()
        await self.nc.publish(self.peer, encode(kind, seq, payload))

    async def _send_quiet(self, kind: int, payload: bytes = b"") -> None:
        """A best-effort control frame: a connection that is gone is not an error here."""
        try:
            await self._send(kind, payload)
        except Exception as e:  # the NATS connection closed or is draining
            log.debug("could not send control frame", kind=kind, error=str(e))

    async def _send_data(self, kind: int, data: bytes) -> None:
        view = memoryview(data)
        pos = 0
        while pos < len(data):
            if self.s.closed:
                raise StreamClosed(self.s.reason)
            room = self.credit.available()
            if room <= 0:
                await self._wait_credit()
                continue
            n = min(room, self.chunk, len(data) - pos)
            self.credit.take(n)  # taken before the await: concurrent writers never overdraw
            await self._send(kind, bytes(view[pos:pos + n]))
            pos += n

    async def _wait_credit(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.s.waiters.append(fut)
        await fut

    def _wake(self) -> None:
        waiters, self.s.waiters = self.s.waiters, []
        for f in waiters:
            if not f.done():
                f.set_result(None)

    async def _next(self) -> Frame | None:
        """The next frame for the consumer; what it took before is acknowledged first."""
        if self.s.pending_consumed:
            n, self.s.pending_consumed = self.s.pending_consumed, 0
            ack = self.acker.consume(n)
            if ack is not None and not self.s.closed:
                await self._send_quiet(Kind.ACK, encode_ack(ack))
        if self.s.closed and self.frames.empty():
            return None
        frame = await self.frames.get()
        if frame is not None and frame.kind in DATA_KINDS:
            self.s.pending_consumed = len(frame.payload)
        return frame

    async def _abort(self, reason: str) -> None:
        """Give the session up and tell the peer (the client cancels; the kubelet ends)."""
        raise NotImplementedError

    def _close(self, reason: str) -> None:
        if self.s.closed:
            return
        self.s.closed = True
        self.s.reason = reason
        self.frames.put_nowait(None)
        self._wake()
        if self._on_close is not None:
            self._on_close(reason)

    async def _teardown(self) -> None:
        self._close(self.s.reason or "closed")
        ticker, self._ticker = self._ticker, None
        if ticker is not None and ticker is not asyncio.current_task():
            ticker.cancel()
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception as e:  # the connection is already closed: nothing left to undo
                log.debug("unsubscribe failed", subject=self.inbox, error=str(e))


# -- the client half (API server) -----------------------------------------------------------------
class ClientStream(_Endpoint):
    """The API server's view of one session: output frames to read, input to write."""

    def __init__(self, nc: Client, prefix: str, session: str, *, window: int, timing: Timing) -> None:
        to_client, to_kubelet = session_subjects(prefix, session)
        super().__init__(nc, inbox=to_client, peer=to_kubelet, recv_window=window, timing=timing)
        self.session = session
        self.status: dict[str, Any] | None = None  # the final Status, once the session has ended

    async def read(self) -> tuple[int, bytes] | None:
        """The next piece of output as (channel, data); None once the session has ended, with
        `status` set to the kubelet's final Status, or to a Failure if the session was lost."""
        if self.status is not None:
            return None
        while True:
            frame = await self._next()
            if frame is None:
                self.status = error_status(errors.ServiceUnavailable(
                    f"lost the stream from the node: {self.s.reason}"))
                return None
            if frame.kind == Kind.END:
                try:
                    self.status = orjson.loads(frame.payload)
                except orjson.JSONDecodeError:
                    self.status = error_status(errors.InternalError("the node sent an unreadable status"))
                self._close("ended")
                return None
            if frame.kind in (Kind.STDOUT, Kind.STDERR):
                return frame.kind, frame.payload
            # EOF of an output channel, or anything newer than this code: nothing to hand out

    async def write_stdin(self, data: bytes) -> None:
        await self._send_data(Kind.STDIN, data)

    async def close_stdin(self) -> None:
        if not self.s.closed:
            await self._send(Kind.EOF, bytes([Kind.STDIN]))

    async def resize(self, width: int, height: int) -> None:
        if not self.s.closed:
            await self._send(Kind.RESIZE, encode_resize(width, height))

    async def _abort(self, reason: str) -> None:
        await self._send_quiet(Kind.CANCEL, reason.encode())
        self._close(reason)

    async def close(self) -> None:
        """Leave the session; the kubelet is told to stop if it has not finished."""
        if not self.s.closed:
            await self._send_quiet(Kind.CANCEL)
        await self._teardown()

    async def __aenter__(self) -> ClientStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def open_stream(nc: Client, prefix: str, request: StreamRequest, *, window: int = WINDOW,
                      timing: Timing = DEFAULT_TIMING) -> ClientStream:
    """Ask the kubelet of `request.node` for a stream. Raises the kubelet's refusal as a
    `NodeError` (its Status and code), or 503 when no kubelet serves the node."""
    session = uuid.uuid4().hex
    stream = ClientStream(nc, prefix, session, window=window, timing=timing)
    await stream._subscribe()
    body = orjson.dumps({"v": VERSION, "session": session, "window": window, "request": request.to_dict()})
    try:
        reply = await nc.request(open_subject(prefix, request.node, request.op), body, timeout=timing.open_timeout)
    except NoRespondersError:
        await stream._teardown()
        raise errors.ServiceUnavailable(f'no node agent serves node "{request.node}" (it is down or not '
                                        f'connected to the bus)', retry_after=1) from None
    except (NatsTimeout, asyncio.TimeoutError):
        await stream.close()
        raise errors.Timeout(f'the node agent of "{request.node}" did not answer within '
                             f'{timing.open_timeout:g}s') from None
    except BaseException:
        await stream.close()
        raise
    try:
        answer = orjson.loads(reply.data)
        if answer.get("ok"):
            stream._start_ticker(int(answer["window"]))
            return stream
        error = NodeError(answer["status"], answer.get("code"))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        error = NodeError(error_status(errors.InternalError(f"unreadable answer from the node agent: {e}")))
    await stream._teardown()
    raise error


# -- the server half (kubelet) --------------------------------------------------------------------
class ServerStream(_Endpoint):
    """The kubelet's view of one session. The handler resolves the target, calls `accept()`, then
    writes output and reads input; returning ends the session with Success unless it called
    `finish()`. Raising an `ApiError` before accepting refuses the request with that Status."""

    def __init__(self, nc: Client, prefix: str, session: str, request: StreamRequest, *, reply: str,
                 peer_window: int, window: int, timing: Timing) -> None:
        to_client, to_kubelet = session_subjects(prefix, session)
        super().__init__(nc, inbox=to_kubelet, peer=to_client, recv_window=window, timing=timing)
        self.session = session
        self.request = request
        self.accepted = False
        self.finished = False
        self._reply = reply
        self._peer_window = peer_window
        self._window = window

    async def accept(self) -> None:
        if self.accepted:
            return
        await self._subscribe()
        self.accepted = True
        await self.nc.publish(self._reply, orjson.dumps({"ok": True, "window": self._window}))
        self._start_ticker(self._peer_window)

    async def _refuse(self, err: errors.ApiError) -> None:
        body = {"ok": False, "code": err.code, "status": error_status(err)}
        await self.nc.publish(self._reply, orjson.dumps(body))

    async def write(self, channel: int, data: bytes) -> None:
        """Output on stdout (1) or stderr (2); waits while the client's window is full."""
        await self._send_data(channel, data)

    async def read(self) -> tuple[int, bytes] | None:
        """The next input as (Kind.STDIN, data), (Kind.RESIZE, json) or (Kind.EOF, channel byte);
        None once the session is over (the client cancelled or went silent)."""
        while True:
            frame = await self._next()
            if frame is None:
                return None
            if frame.kind in (Kind.STDIN, Kind.RESIZE, Kind.EOF):
                return frame.kind, frame.payload

    async def _abort(self, reason: str) -> None:
        if not self.s.closed:
            await self._send_quiet(Kind.END, orjson.dumps(error_status(errors.InternalError(reason))))
        self._close(reason)  # not finished: the handler is cancelled

    async def finish(self, status: dict[str, Any]) -> None:
        """End the session with its final Status (Success, an exit code, or a failure)."""
        if self.finished:
            return
        self.finished = True
        if not self.s.closed:
            await self._send_quiet(Kind.END, orjson.dumps(status))
        self._close("finished")


Handler = Callable[[ServerStream], Coroutine[Any, Any, None]]


class StreamService:
    """Serves stream requests for any number of nodes with one handler: one subscription per node,
    one task per open session."""

    def __init__(self, nc: Client, prefix: str, handler: Handler, *, window: int = WINDOW,
                 timing: Timing = DEFAULT_TIMING) -> None:
        self.nc = nc
        self.prefix = prefix
        self.handler = handler
        self.window = window
        self.timing = timing
        self._subs: dict[str, Subscription] = {}
        self._sessions: dict[str, asyncio.Task[None]] = {}
        self._stopping = False

    async def serve_node(self, node: str) -> None:
        await self.serve_nodes([node])

    async def serve_nodes(self, nodes: Iterable[str]) -> None:
        """Serve several nodes (a simulator's thousand) with one round trip to the server."""
        added = False
        for node in nodes:
            if node not in self._subs:
                self._subs[node] = await self.nc.subscribe(node_subjects(self.prefix, node), cb=self._on_request)
                added = True
        if added:
            # Known to the server before anyone is told the node is up. Twice: nats-py writes a
            # flush's PING straight to the socket, ahead of a SUB still in its buffer, so the
            # first PONG can come back before the server has seen the SUB (seen as spurious "no
            # responders" in tests); the second PING follows the SUB.
            await self.nc.flush()
            await self.nc.flush()

    async def unserve_node(self, node: str) -> None:
        sub = self._subs.pop(node, None)
        if sub is not None:
            await sub.unsubscribe()

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    async def stop(self) -> None:
        """Stop taking requests and end every open session (the clients get a failure Status)."""
        self._stopping = True
        for node in list(self._subs):
            try:
                await self.unserve_node(node)
            except Exception as e:  # the connection is gone: the subscriptions went with it
                log.debug("unsubscribe failed", node=node, error=str(e))
        tasks = list(self._sessions.values())
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _on_request(self, msg: Msg) -> None:
        if self._stopping or not msg.reply:
            return
        key = uuid.uuid4().hex  # the session's own id is only known once the request is parsed
        task = asyncio.create_task(self._session(msg), name="nodeio-session")
        self._sessions[key] = task
        task.add_done_callback(lambda _t: self._sessions.pop(key, None))

    async def _session(self, msg: Msg) -> None:
        try:
            env = orjson.loads(msg.data)
            if env.get("v") != VERSION:
                raise ProtocolError(f"stream protocol version {env.get('v')!r}; this node speaks {VERSION}")
            request = StreamRequest.from_dict(env["request"])
            session, peer_window = str(env["session"]), int(env["window"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, ProtocolError) as e:
            err = errors.BadRequest(f"bad stream request: {e}")
            await msg.respond(orjson.dumps({"ok": False, "code": err.code, "status": error_status(err)}))
            return
        stream = ServerStream(self.nc, self.prefix, session, request, reply=msg.reply, peer_window=peer_window,
                              window=self.window, timing=self.timing)
        work: asyncio.Task[None] = asyncio.create_task(self.handler(stream), name=f"nodeio-handler:{session}")

        def on_close(_reason: str) -> None:
            if not stream.finished:  # the client left or went silent: stop the work
                work.cancel()

        stream._on_close = on_close
        try:
            await work
            if not stream.accepted:
                await stream._refuse(errors.InternalError("the node agent neither accepted nor refused the stream"))
            else:
                await stream.finish(success_status())
        except errors.ApiError as e:
            await self._fail(stream, e)
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if (me is not None and me.cancelling()) or not work.cancelled():  # stopping, not the client leaving
                await self._fail(stream, errors.ServiceUnavailable("the node agent is shutting down"))
                if not work.done():
                    work.cancel()
                raise
        except StreamClosed:
            pass  # the client left while output was being written: nobody to tell
        except Exception as e:  # a bug in a handler: the client gets a Status, the log the traceback
            log.exception("stream handler failed", op=request.op.value, pod=f"{request.namespace}/{request.pod}")
            await self._fail(stream, errors.InternalError(f"error in the node agent: {type(e).__name__}: {e}"))
        finally:
            await stream._teardown()

    async def _fail(self, stream: ServerStream, err: errors.ApiError) -> None:
        try:
            if stream.accepted:
                await stream.finish(error_status(err))
            else:
                await stream._refuse(err)
        except Exception as e:  # the connection is gone
            log.debug("could not report a stream failure", error=str(e))
