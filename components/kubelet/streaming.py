"""The kubelet's end of logs, exec and attach: requests come over the bus, the work goes to docker.

The API server asks on `<prefix>.node.<node>.stream.<op>` (bus/nodeio.py: framing, flow control,
keepalives); `StreamServer` answers for the nodes it serves. The kubelet's own code tells it
which docker container a (namespace, pod, container) is, through `resolve` — and refuses with an
`ApiError` (NotFound, BadRequest…) that the user then sees as the request's Status.

Docker is spoken to over its API socket with asyncio, never through blocking calls: a log,
an exec or an attach can last hours and there may be many, so none may hold a thread. The
streams (`POST /exec/<id>/start`, `POST /containers/<id>/attach`) are hijacked connections read
with an `asyncio.StreamReader`, which keeps whatever docker sent right behind its response
headers; short calls (create, inspect, resize) and the chunked `GET …/logs` use aiohttp over the
same socket. Output of a container without a tty is docker's multiplexed stream (8-byte frame
headers), demultiplexed here into stdout and stderr; Kubernetes' log endpoint interleaves both.
Docker's log timestamps are already Kubernetes' (RFC 3339 with nine fraction digits).
A simulated node has nothing to stream: its logs are empty, exec and attach are refused.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import nats.aio.client
import orjson
import structlog

from bus import nodeio
from bus.nodeio import Kind, Op, ServerStream
from core import errors

log = structlog.get_logger("kubelet.streaming")


@dataclass(frozen=True)
class StreamTarget:
    container_id: str | None  # docker container id; None for sim
    tty: bool = False  # the container spec's tty
    stdin: bool = False  # the container spec's stdin
    sim: bool = False


Resolver = Callable[[str, str, str, str, bool], Awaitable[StreamTarget]]  # (node, namespace, pod, container, previous)


class StreamServer:
    """Serves the stream requests of any number of nodes from one process: one bus subscription
    per node, one task per open stream, no thread."""

    def __init__(self, nc: nats.aio.client.Client, prefix: str, resolve: Resolver, *, docker_host: str | None = None,
                 timing: nodeio.Timing = nodeio.DEFAULT_TIMING, window: int = nodeio.WINDOW) -> None:
        self.resolve = resolve
        self.docker = DockerApi(docker_host)
        self._service = nodeio.StreamService(nc, prefix, self._handle, window=window, timing=timing)

    async def serve_node(self, node: str) -> None:
        await self._service.serve_node(node)

    async def serve_nodes(self, nodes: Iterable[str]) -> None:
        """Many nodes at once (sim): one subscription each, one round trip in all."""
        await self._service.serve_nodes(nodes)

    async def unserve_node(self, node: str) -> None:
        await self._service.unserve_node(node)

    @property
    def sessions(self) -> int:
        return self._service.sessions

    async def stop(self) -> None:
        await self._service.stop()
        await self.docker.close()

    async def _handle(self, stream: ServerStream) -> None:
        req = stream.request
        previous = bool(req.log and req.log.previous)
        target = await self.resolve(req.node, req.namespace, req.pod, req.container, previous)
        if req.op is Op.LOG:
            await self._logs(stream, target)
        elif target.sim:
            verb = "exec into" if req.op is Op.EXEC else "attach to"
            raise errors.BadRequest(f"cannot {verb} a container on a simulated node")
        elif req.op is Op.EXEC:
            await self._exec(stream, _container_id(req, target))
        else:
            await self._attach(stream, _container_id(req, target), target)

    # -- logs -----------------------------------------------------------------------------
    async def _logs(self, stream: ServerStream, target: StreamTarget) -> None:
        req = stream.request
        opts = req.log or nodeio.LogOptions()
        if target.sim:
            await stream.accept()
            return
        cid = _container_id(req, target)
        info = await self.docker.inspect(cid, req)
        tty = bool((info.get("Config") or {}).get("Tty"))
        params = docker_log_params(opts, now=time.time())
        resp = await self.docker.stream_get(f"/containers/{cid}/logs", params, req)
        try:
            await stream.accept()
            left = opts.limit_bytes
            demux = None if tty else Demuxer()
            async for chunk in resp.content.iter_any():
                for _channel, data in demux.feed(chunk) if demux is not None else [(Kind.STDOUT, chunk)]:
                    if left is not None:
                        data = data[:left]
                        left -= len(data)
                    if data:
                        await stream.write(Kind.STDOUT, data)  # stdout and stderr interleaved, as Kubernetes
                    if left == 0:
                        return
        finally:
            resp.close()  # a followed log stops at docker too

    # -- exec and attach ------------------------------------------------------------------
    async def _exec(self, stream: ServerStream, cid: str) -> None:
        req = stream.request
        opts = req.exec or nodeio.ExecOptions()
        tty = opts.tty
        body = {"AttachStdin": opts.stdin, "AttachStdout": opts.stdout, "AttachStderr": opts.stderr and not tty,
                "Tty": tty, "Cmd": list(opts.command)}
        created = await self.docker.call("POST", f"/containers/{cid}/exec", req, body=body)
        exec_id = str(created["Id"])
        await stream.accept()
        reader, writer = await self.docker.hijack(f"/exec/{exec_id}/start", req, body={"Detach": False, "Tty": tty})
        try:
            await self._pump(stream, reader, writer, tty=tty, stdin=opts.stdin,
                             resize=lambda w, h: self.docker.resize(f"/exec/{exec_id}/resize", w, h))
        finally:
            writer.close()
        code = await self.docker.exit_code(exec_id)
        if code:
            await stream.finish(nodeio.exit_code_status(
                code, f"error executing command {go_list(opts.command)}, exit code {code}"))

    async def _attach(self, stream: ServerStream, cid: str, target: StreamTarget) -> None:
        req = stream.request
        opts = req.exec or nodeio.ExecOptions()
        info = await self.docker.inspect(cid, req)
        if not (info.get("State") or {}).get("Running"):
            raise errors.BadRequest(f'container "{req.container}" in pod "{req.pod}" is not running')
        tty = bool((info.get("Config") or {}).get("Tty", target.tty))  # attach gets the container's own tty
        stdin = opts.stdin and bool((info.get("Config") or {}).get("OpenStdin", target.stdin))
        params = {"stream": "1", "stdin": _flag(stdin), "stdout": _flag(opts.stdout),
                  "stderr": _flag(opts.stderr and not tty)}
        await stream.accept()
        reader, writer = await self.docker.hijack(f"/containers/{cid}/attach", req, params=params)
        try:
            await self._pump(stream, reader, writer, tty=tty, stdin=stdin,
                             resize=lambda w, h: self.docker.resize(f"/containers/{cid}/resize", w, h))
        finally:
            writer.close()

    async def _pump(self, stream: ServerStream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                    tty: bool, stdin: bool, resize: Callable[[int, int], Awaitable[None]]) -> None:
        """Copy docker's output to the client and the client's input to docker until docker's
        output ends (the process exited, or the container did)."""

        async def output() -> None:
            demux = None if tty else Demuxer()
            while data := await reader.read(nodeio.CHUNK):
                for channel, payload in demux.feed(data) if demux is not None else [(Kind.STDOUT, data)]:
                    await stream.write(channel, payload)

        async def feed_input() -> None:
            while (event := await stream.read()) is not None:
                kind, payload = event
                if kind == Kind.STDIN and stdin:
                    writer.write(payload)
                    await writer.drain()
                elif kind == Kind.EOF and payload[:1] == bytes([Kind.STDIN]) and writer.can_write_eof():
                    writer.write_eof()  # the process sees end of input
                elif kind == Kind.RESIZE:
                    try:
                        await resize(*nodeio.decode_resize(payload))
                    except (DockerError, nodeio.ProtocolError) as e:
                        log.debug("resize failed", error=str(e))

        feeder = asyncio.create_task(feed_input(), name=f"stream-input:{stream.session}")
        try:
            await output()
        finally:
            feeder.cancel()
            await asyncio.gather(feeder, return_exceptions=True)


def _container_id(req: nodeio.StreamRequest, target: StreamTarget) -> str:
    if not target.container_id:
        raise errors.BadRequest(f'container "{req.container}" in pod "{req.pod}" is not available')
    return target.container_id


def _flag(b: bool) -> str:
    return "1" if b else "0"


def go_list(items: tuple[str, ...] | list[str]) -> str:
    """A string slice as Go's %v prints it: `[sh -c exit 3]`."""
    return "[" + " ".join(items) + "]"


def docker_log_params(opts: nodeio.LogOptions, *, now: float) -> dict[str, str]:
    """Kubernetes' log options as docker's query (`now`: the wall clock, for sinceSeconds)."""
    params = {"stdout": "1", "stderr": "1", "follow": _flag(opts.follow), "timestamps": _flag(opts.timestamps),
              "tail": "all" if opts.tail_lines is None else str(opts.tail_lines)}
    if opts.since_seconds is not None:
        params["since"] = f"{now - opts.since_seconds:.9f}"
    elif opts.since_time:
        params["since"] = f"{datetime.fromisoformat(opts.since_time.replace('Z', '+00:00')).timestamp():.9f}"
    return params


class Demuxer:
    """docker's multiplexed stream (`[type u8][0 0 0][size u32 BE]` + payload per frame) split into
    (channel, bytes); a frame's payload is handed out as it arrives, not held until complete."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._left = 0
        self._channel = int(Kind.STDOUT)

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        view = memoryview(data)
        i = 0
        while i < len(view):
            if self._left == 0:
                take = view[i:i + 8 - len(self._head)]
                self._head += take
                i += len(take)
                if len(self._head) < 8:
                    break
                # 0 is stdin echoed on stdout, 1 stdout, 2 stderr, 3 docker's own error: as stderr
                self._channel = int(Kind.STDOUT) if self._head[0] in (0, 1) else int(Kind.STDERR)
                self._left = int.from_bytes(self._head[4:8], "big")
                self._head.clear()
                continue
            piece = view[i:i + self._left]
            i += len(piece)
            self._left -= len(piece)
            if out and out[-1][0] == self._channel:
                out[-1] = (self._channel, out[-1][1] + bytes(piece))
            else:
                out.append((self._channel, bytes(piece)))
        return out


# -- docker over its API socket, without blocking -------------------------------------------------
class DockerError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"docker answered {status}: {message}")
        self.status = status
        self.message = message


def _api_error(e: DockerError, req: nodeio.StreamRequest) -> errors.ApiError:
    """A docker failure as the user should see it."""
    if e.status == 404:
        return errors.NotFound(f'container not found ("{req.container}")')
    if e.status == 409:  # not running, paused, restarting
        return errors.BadRequest(f'container "{req.container}" in pod "{req.pod}" is not running: {e.message}')
    return errors.InternalError(f"error talking to the container runtime: {e.message}")


class DockerApi:
    """The few docker endpoints streaming needs, on `DOCKER_HOST` (a unix socket or tcp://)."""

    def __init__(self, host: str | None = None) -> None:
        url = host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        parts = urlsplit(url)
        if parts.scheme in ("unix", "http+unix"):
            self.unix_path: str | None = parts.path
            self.address = ("", 0)
        elif parts.scheme in ("tcp", "http"):
            self.unix_path = None
            self.address = (parts.hostname or "127.0.0.1", parts.port or 2375)
        else:
            raise ValueError(f"unsupported DOCKER_HOST {url!r} (unix:// or tcp:// without TLS)")
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector: aiohttp.BaseConnector = (aiohttp.UnixConnector(path=self.unix_path) if self.unix_path
                                                else aiohttp.TCPConnector())
            self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=10))
        return self._session

    def _url(self, path: str) -> str:
        host = "docker" if self.unix_path else f"{self.address[0]}:{self.address[1]}"
        return f"http://{host}{path}"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @staticmethod
    async def _error(resp: aiohttp.ClientResponse) -> DockerError:
        text = await resp.text()
        try:
            message = str(orjson.loads(text).get("message", text))
        except (orjson.JSONDecodeError, AttributeError):
            message = text.strip()
        return DockerError(resp.status, message)

    async def call(self, method: str, path: str, req: nodeio.StreamRequest, *, body: Any = None,
                   params: dict[str, str] | None = None) -> Any:
        """A short call; docker's failure becomes the ApiError the user sees."""
        try:
            return await self._call(method, path, body=body, params=params)
        except DockerError as e:
            raise _api_error(e, req) from e
        except aiohttp.ClientError as e:
            raise errors.InternalError(f"cannot reach the container runtime: {e}") from e

    async def _call(self, method: str, path: str, *, body: Any = None, params: dict[str, str] | None = None) -> Any:
        data = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else None
        async with self._http().request(method, self._url(path), data=data, params=params, headers=headers,
                                        timeout=aiohttp.ClientTimeout(total=30)) as resp:
            if resp.status >= 400:
                raise await self._error(resp)
            raw = await resp.read()
            return orjson.loads(raw) if raw.strip() else None

    async def inspect(self, cid: str, req: nodeio.StreamRequest) -> dict[str, Any]:
        info = await self.call("GET", f"/containers/{cid}/json", req)
        return info if isinstance(info, dict) else {}

    async def stream_get(self, path: str, params: dict[str, str], req: nodeio.StreamRequest) -> aiohttp.ClientResponse:
        """A streamed GET (logs); the caller closes the response (`async with`)."""
        try:
            resp = await self._http().get(self._url(path), params=params)
        except aiohttp.ClientError as e:
            raise errors.InternalError(f"cannot reach the container runtime: {e}") from e
        if resp.status >= 400:
            err = await self._error(resp)
            resp.release()
            raise _api_error(err, req)
        return resp

    async def resize(self, path: str, width: int, height: int) -> None:
        # A resize can race the exec's start (kubectl sends the size first): try again briefly.
        for attempt in range(10):
            try:
                await self._call("POST", path, params={"h": str(height), "w": str(width)})
                return
            except DockerError:
                if attempt == 9:
                    raise
                await asyncio.sleep(0.05)

    async def exit_code(self, exec_id: str) -> int:
        """The exec's exit code, once docker has noticed that it ended (just after its output does)."""
        info: Any = None
        for _ in range(100):
            info = await self._call("GET", f"/exec/{exec_id}/json")
            if not info.get("Running"):
                break
            await asyncio.sleep(0.05)
        return int((info or {}).get("ExitCode") or 0)

    async def hijack(self, path: str, req: nodeio.StreamRequest, *, params: dict[str, str] | None = None,
                     body: Any = None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """POST with `Upgrade: tcp`; the connection then carries the raw stream both ways."""
        if self.unix_path:
            reader, writer = await asyncio.open_unix_connection(self.unix_path)
        else:
            reader, writer = await asyncio.open_connection(*self.address)
        try:
            payload = orjson.dumps(body) if body is not None else b""
            query = f"?{urlencode(params)}" if params else ""
            head = (f"POST {path}{query} HTTP/1.1\r\nHost: docker\r\nUser-Agent: jetkube-kubelet\r\n"
                    f"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n")
            writer.write(head.encode() + payload)
            await writer.drain()
            raw = await reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            if status in (101, 200):
                return reader, writer  # bytes docker sent after the headers stay in `reader`
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            text = (await reader.readexactly(length)).decode(errors="replace") if length else ""
            try:
                message = str(orjson.loads(text).get("message", text))
            except (orjson.JSONDecodeError, AttributeError):
                message = text.strip()
            raise _api_error(DockerError(status, message), req)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError) as e:
            writer.close()
            raise errors.InternalError(f"cannot start the stream with the container runtime: {e}") from e
        except BaseException:
            writer.close()
            raise
