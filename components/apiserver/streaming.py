"""pods/log, pods/exec and pods/attach: the API server's end of a stream to a pod's kubelet.

The pod comes from the watch cache (its node, containers and container states); the checks
Kubernetes makes before reaching a kubelet are made here with Kubernetes' wording; then the
stream is opened over the bus to the node's kubelet (bus/nodeio.py). Logs are a chunked
`text/plain` body. Exec and attach are WebSockets in Kubernetes' channel protocols: each message
starts with its channel (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize); `v4.channel.k8s.io`
ends with the final Status as JSON on channel 3, `v5.channel.k8s.io` adds `[255, channel]` to
close a channel (stdin EOF), the older `channel.k8s.io` sends only a failure's message, and the
`base64.` variants carry text frames (channel digit + base64). As in Kubernetes ≥ 1.30, the
socket is upgraded before the kubelet is asked, so a kubelet's refusal arrives as the channel-3
Status (`kubectl` prints its message) rather than as a failed upgrade. SPDY is not spoken.
Port-forward is not implemented yet and says so.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from aiohttp import WSMsgType, web
from multidict import MultiMapping
from nats.aio.client import Client

from bus import nodeio
from bus.nodeio import Op
from components.apiserver.resources import Resources
from core import errors
from core.kinds import Kind
from core.schema import causes

log = structlog.get_logger("apiserver.streaming")

STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


# -- pure: checks and options, worded as Kubernetes words them ------------------------------------
def container_names(pod: dict[str, Any]) -> list[str]:
    """Init, then regular, then ephemeral containers (podutil.VisitContainers' order)."""
    spec = pod.get("spec") or {}
    return [c.get("name", "") for key in ("initContainers", "containers", "ephemeralContainers")
            for c in spec.get(key) or []]


def pick_container(pod: dict[str, Any], requested: str) -> str:
    """validateContainer: the one container when there is one, else the named one."""
    name = (pod.get("metadata") or {}).get("name", "")
    if not requested:
        regular = (pod.get("spec") or {}).get("containers") or []
        if len(regular) == 1:
            return str(regular[0].get("name", ""))
        if not regular:
            raise errors.BadRequest(f"a container name must be specified for pod {name}")
        raise errors.BadRequest(f"a container name must be specified for pod {name}, choose one of: "
                                f"[{' '.join(container_names(pod))}]")
    if requested not in container_names(pod):
        raise errors.BadRequest(f"container {requested} is not valid for pod {name}")
    return requested


def check_log_status(pod: dict[str, Any], container: str, previous: bool) -> None:
    """The kubelet's validateContainerLogStatus, on the status this server holds: a container
    waiting to start, or no previous instance to show, is a 400. A container with no status yet
    is the kubelet's to judge (it may have started it a moment ago)."""
    pod_name = (pod.get("metadata") or {}).get("name", "")
    status = pod.get("status") or {}
    found: dict[str, Any] | None = None
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        found = next((s for s in status.get(key) or [] if s.get("name") == container), None)
        if found is not None:
            break
    if found is None:
        return
    state, last = found.get("state") or {}, (found.get("lastState") or {}).get("terminated")
    waiting, running, terminated = state.get("waiting"), state.get("running"), state.get("terminated")
    where = f'container "{container}" in pod "{pod_name}"'
    if previous:
        if not last or not last.get("containerID"):
            raise errors.BadRequest(f'previous terminated {where} not found')
    elif running is not None:
        return
    elif terminated is not None:
        if not terminated.get("containerID") and not (last and last.get("containerID")):
            raise errors.BadRequest(f"{where} is terminated")
    elif last is not None:
        if not last.get("containerID"):
            raise errors.BadRequest(f"{where} is terminated")
    elif waiting is not None:
        reason = waiting.get("reason", "")
        if reason == "ErrImagePull":
            raise errors.BadRequest(f"{where} is waiting to start: image can't be pulled")
        if reason == "ImagePullBackOff":
            raise errors.BadRequest(f"{where} is waiting to start: trying and failing to pull image")
        raise errors.BadRequest(f"{where} is waiting to start: {reason}")
    else:
        raise errors.BadRequest(f"{where} is waiting to start - no logs yet")


def query_bool(q: Mapping[str, str], key: str) -> bool:
    """Kubernetes' query booleans: absent, "0", "f" and "false" are false, anything else true."""
    if key not in q:
        return False
    return q[key].lower() not in ("0", "f", "false")


def _query_int(q: Mapping[str, str], key: str) -> int | None:
    if key not in q:
        return None
    try:
        return int(q[key])
    except ValueError:
        raise errors.BadRequest(f'strconv.ParseInt: parsing "{q[key]}": invalid syntax') from None


def log_options(q: Mapping[str, str], pod_name: str) -> nodeio.LogOptions:
    """PodLogOptions from the query, validated as ValidatePodLogOptions does (422)."""
    since_time = q.get("sinceTime") or None
    if since_time is not None:
        try:
            datetime.fromisoformat(since_time.replace("Z", "+00:00"))
        except ValueError:
            raise errors.BadRequest(f'parsing time "{since_time}" as RFC3339: cannot parse') from None
    opts = nodeio.LogOptions(follow=query_bool(q, "follow"), previous=query_bool(q, "previous"),
                             timestamps=query_bool(q, "timestamps"), tail_lines=_query_int(q, "tailLines"),
                             since_seconds=_query_int(q, "sinceSeconds"), since_time=since_time,
                             limit_bytes=_query_int(q, "limitBytes"))
    found: list[errors.Cause] = []
    if opts.tail_lines is not None and opts.tail_lines < 0:
        found.append(causes.invalid("tailLines", opts.tail_lines, "must be greater than or equal to 0"))
    if opts.limit_bytes is not None and opts.limit_bytes < 1:
        found.append(causes.invalid("limitBytes", opts.limit_bytes, "must be greater than 0"))
    if opts.since_seconds is not None and opts.since_time is not None:
        found.append(causes.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
    elif opts.since_seconds is not None and opts.since_seconds < 1:
        found.append(causes.invalid("sinceSeconds", opts.since_seconds, "must be greater than 0"))
    if found:
        raise errors.invalid("PodLogOptions", pod_name, found)
    return opts


def exec_options(q: MultiMapping[str], op: Op) -> nodeio.ExecOptions:
    tty = query_bool(q, "tty")
    opts = nodeio.ExecOptions(command=tuple(q.getall("command", [])) if op is Op.EXEC else (),
                              stdin=query_bool(q, "stdin"), stdout=query_bool(q, "stdout"),
                              stderr=query_bool(q, "stderr") and not tty,  # a tty has no separate stderr
                              tty=tty)
    if not (opts.stdin or opts.stdout or opts.stderr):
        raise errors.BadRequest("you must specify at least 1 of stdin, stdout, stderr")
    if op is Op.EXEC and not opts.command:
        raise errors.BadRequest("you must specify at least one command for the container")
    return opts


@dataclass(frozen=True)
class ChannelProtocol:
    name: str
    text: bool  # base64 text frames instead of binary ones
    json_status: bool  # v4+: the final Status as JSON on channel 3 (else only a failure's message)
    close_signal: bool  # v5: [255, channel] closes a channel


CHANNEL_PROTOCOLS = {p.name: p for p in (
    ChannelProtocol("v5.channel.k8s.io", text=False, json_status=True, close_signal=True),
    ChannelProtocol("v4.channel.k8s.io", text=False, json_status=True, close_signal=False),
    ChannelProtocol("v4.base64.channel.k8s.io", text=True, json_status=True, close_signal=False),
    ChannelProtocol("channel.k8s.io", text=False, json_status=False, close_signal=False),
    ChannelProtocol("base64.channel.k8s.io", text=True, json_status=False, close_signal=False),
)}
LEGACY = CHANNEL_PROTOCOLS["channel.k8s.io"]  # a client that names no protocol


def encode_message(proto: ChannelProtocol, channel: int, data: bytes) -> bytes | str:
    if proto.text:
        return chr(ord("0") + channel) + base64.b64encode(data).decode()
    return bytes([channel]) + data


def decode_message(proto: ChannelProtocol, data: bytes | str) -> tuple[int, bytes] | None:
    """(channel, payload) of a client message; None for an empty one. A text message under a
    binary protocol is taken as its UTF-8 bytes (the Python client sends str as text)."""
    if proto.text:
        text = data if isinstance(data, str) else data.decode("ascii", "replace")
        if not text:
            return None
        channel = ord(text[0]) - ord("0")
        if channel == CLOSE - ord("0") or not 0 <= channel <= 9:
            raise errors.BadRequest(f"bad channel {text[0]!r} in a base64 message")
        try:
            return channel, base64.b64decode(text[1:], validate=True)
        except binascii.Error as e:
            raise errors.BadRequest(f"bad base64 in channel {channel}: {e}") from e
    raw = data.encode() if isinstance(data, str) else data
    if not raw:
        return None
    return raw[0], raw[1:]


def status_message(proto: ChannelProtocol, status: dict[str, Any]) -> bytes | None:
    """What channel 3 carries at the end: the Status JSON (v4+), or a failure's message (older)."""
    if proto.json_status:
        return json.dumps(status, separators=(",", ":")).encode()
    if status.get("status") == "Success":
        return None
    return str(status.get("message", "")).encode()


def resize_events(data: bytes) -> list[tuple[int, int]]:
    """Terminal sizes in a resize message: one or more `{"Width":…,"Height":…}` documents."""
    out: list[tuple[int, int]] = []
    text, pos, decoder = data.decode("utf-8", "replace"), 0, json.JSONDecoder()
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        try:
            doc, pos = decoder.raw_decode(text, pos)
            out.append((int(doc["Width"]), int(doc["Height"])))
        except (ValueError, KeyError, TypeError):
            return out  # a malformed size is ignored, as the kubelet does


def _offered(request: web.Request) -> list[str]:
    header = request.headers.get("Sec-WebSocket-Protocol", "")
    return [p.strip() for p in header.split(",") if p.strip()]


# -- the handlers ----------------------------------------------------------------------------------
class PodStreams:
    """The streaming subresources of pods; `handle` is called by the REST router."""

    def __init__(self, resources: Resources, nc: Client, prefix: str, *, window: int = nodeio.WINDOW,
                 timing: nodeio.Timing = nodeio.DEFAULT_TIMING) -> None:
        self.resources = resources
        self.nc = nc
        self.prefix = prefix
        self.window = window
        self.timing = timing

    async def handle(self, request: web.Request, kind: Kind, namespace: str, name: str,
                     subresource: str) -> web.StreamResponse:
        pod = await self.resources.get(kind, namespace, name)
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        if subresource == "log":
            if request.method != "GET":
                raise errors.MethodNotAllowed(f"{request.method} is not supported on pods/log")
            return await self._log(request, pod, namespace, name, node)
        if subresource == "portforward":
            if not node:
                raise errors.BadRequest(f"pod {name} does not have a host assigned")
            raise errors.ServiceUnavailable("pods/portforward is not supported yet: jetkube does not forward ports "
                                            "to pods (logs, exec and attach are supported)")
        if request.method not in ("GET", "POST"):
            raise errors.MethodNotAllowed(f"{request.method} is not supported on pods/{subresource}")
        return await self._remote_command(request, pod, namespace, name, node, Op(subresource))

    async def _open(self, req: nodeio.StreamRequest) -> nodeio.ClientStream:
        return await nodeio.open_stream(self.nc, self.prefix, req, window=self.window, timing=self.timing)

    # -- logs -----------------------------------------------------------------------------
    async def _log(self, request: web.Request, pod: dict[str, Any], namespace: str, name: str,
                   node: str) -> web.StreamResponse:
        opts = log_options(request.query, name)
        container = pick_container(pod, request.query.get("container", ""))
        if not node:
            return web.Response(status=204)  # not scheduled yet: nothing to show (Kubernetes' null stream)
        check_log_status(pod, container, opts.previous)
        stream = await self._open(nodeio.StreamRequest(Op.LOG, node, namespace, name, container, log=opts))
        try:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await self._log_websocket(request, stream)
            response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
            await response.prepare(request)
            try:
                while (item := await stream.read()) is not None:
                    await response.write(item[1])
                if stream.status and stream.status.get("status") != "Success":
                    log.warning("log stream ended early", pod=f"{namespace}/{name}", status=stream.status)
                await response.write_eof()
            except ConnectionResetError:
                pass  # the client went away; the kubelet is told below
            except Exception:  # the 200 is out: all that is left is to end the body and say why in the log
                log.exception("log stream failed", pod=f"{namespace}/{name}")
            return response
        finally:
            await stream.close()

    async def _log_websocket(self, request: web.Request, stream: nodeio.ClientStream) -> web.StreamResponse:
        """Logs over a WebSocket (wsstream's reader protocols): one message per chunk."""
        ws = web.WebSocketResponse(protocols=("binary.k8s.io", "base64.binary.k8s.io"), compress=False)
        await ws.prepare(request)
        text = ws.ws_protocol == "base64.binary.k8s.io"

        async def output() -> None:
            while (item := await stream.read()) is not None:
                if text:
                    await ws.send_str(base64.b64encode(item[1]).decode())
                else:
                    await ws.send_bytes(item[1])

        async def until_closed() -> None:  # a client that leaves is noticed even while the log is quiet
            async for _ in ws:
                pass

        tasks = [asyncio.create_task(output()), asyncio.create_task(until_closed())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            await ws.close()
        except ConnectionResetError:
            pass
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return ws

    # -- exec and attach ------------------------------------------------------------------
    async def _remote_command(self, request: web.Request, pod: dict[str, Any], namespace: str, name: str,
                              node: str, op: Op) -> web.StreamResponse:
        opts = exec_options(request.query, op)
        container = pick_container(pod, request.query.get("container", ""))
        if not node:
            raise errors.BadRequest(f"pod {name} does not have a host assigned")
        ws = web.WebSocketResponse(protocols=tuple(CHANNEL_PROTOCOLS), compress=False, max_msg_size=16 << 20)
        ready = ws.can_prepare(request)
        if not ready.ok:
            if "spdy" in request.headers.get("Upgrade", "").lower():
                raise errors.BadRequest(f"pods/{op.value} over SPDY is not supported: use a WebSocket client "
                                        f"(kubectl 1.30 or newer; v5.channel.k8s.io or v4.channel.k8s.io)")
            raise errors.BadRequest("Upgrade request required")
        offered = _offered(request)
        if offered and ready.protocol is None:
            raise errors.BadRequest(f"unable to upgrade connection: none of the subprotocols {offered} is supported "
                                    f"(this server speaks {list(CHANNEL_PROTOCOLS)})")
        proto = CHANNEL_PROTOCOLS.get(ready.protocol or "", LEGACY)
        await ws.prepare(request)
        # An empty message on the lowest output channel tells the client the streams are up.
        first = STDOUT if opts.stdout else STDERR if opts.stderr else STATUS
        await self._send(ws, proto, first, b"")
        req = nodeio.StreamRequest(op, node, namespace, name, container, exec=opts)
        try:
            stream = await self._open(req)
        except errors.ApiError as e:
            await self._finish(ws, proto, nodeio.error_status(e))
            return ws
        try:
            await self._relay(ws, proto, stream, opts)
        except Exception as e:  # the socket is upgraded: a failure can only be the final status
            log.exception("stream relay failed", op=op.value, pod=f"{namespace}/{name}")
            await self._finish(ws, proto, nodeio.error_status(errors.InternalError(
                f"Internal error occurred: {type(e).__name__}: {e}")))
        finally:
            await stream.close()
        return ws

    @staticmethod
    async def _send(ws: web.WebSocketResponse, proto: ChannelProtocol, channel: int, data: bytes) -> None:
        message = encode_message(proto, channel, data)
        if isinstance(message, str):
            await ws.send_str(message)
        else:
            await ws.send_bytes(message)

    async def _finish(self, ws: web.WebSocketResponse, proto: ChannelProtocol, status: dict[str, Any]) -> None:
        """The final status on channel 3, then a normal close (clients read it as the end)."""
        if ws.closed:
            return
        body = status_message(proto, status)
        try:
            if body is not None:
                await self._send(ws, proto, STATUS, body)
            await ws.close()
        except ConnectionResetError:
            pass

    async def _relay(self, ws: web.WebSocketResponse, proto: ChannelProtocol, stream: nodeio.ClientStream,
                     opts: nodeio.ExecOptions) -> None:
        """Output to the client until the kubelet's END; the client's input to the kubelet until
        the client goes. Whichever side ends first ends the session."""

        async def output() -> None:
            while (item := await stream.read()) is not None:
                await self._send(ws, proto, item[0], item[1])

        async def input() -> None:
            async for msg in ws:
                if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    continue
                frame = decode_message(proto, msg.data)
                if frame is None:
                    continue
                channel, data = frame
                if channel == STDIN and opts.stdin and data:
                    await stream.write_stdin(data)
                elif channel == RESIZE:
                    for width, height in resize_events(data):
                        await stream.resize(width, height)
                elif channel == CLOSE and proto.close_signal and data[:1] == bytes([STDIN]):
                    await stream.close_stdin()

        out_task = asyncio.create_task(output(), name="stream-output")
        in_task = asyncio.create_task(input(), name="stream-input")
        try:
            done, _ = await asyncio.wait({out_task, in_task}, return_when=asyncio.FIRST_COMPLETED)
            if out_task not in done:
                exc = in_task.exception()
                if isinstance(exc, errors.ApiError):  # the client sent something we refuse
                    await stream.close()
                    await self._finish(ws, proto, nodeio.error_status(exc))
                    return
                if not isinstance(exc, nodeio.StreamClosed):  # the client closed the socket: stop the remote side
                    await stream.close()
                    if exc is not None:
                        raise exc
                    return
                # the session ended while input was being written: its output and status are on their way
            await out_task
            await self._finish(ws, proto, stream.status or nodeio.success_status())
        except (nodeio.StreamClosed, ConnectionResetError) as e:
            log.debug("stream relay ended", reason=str(e))
        finally:
            for t in (out_task, in_task):
                t.cancel()
            await asyncio.gather(out_task, in_task, return_exceptions=True)
