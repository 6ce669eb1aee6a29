"""The wire format of pods' streams over the bus: frame kinds and encoding, credit and acks,
the open request, subjects and the error a node reports. Pure data, no I/O; `bus.nodeio` runs
sessions with it (see its docstring for the protocol as a whole).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from core import errors

VERSION = 1
WINDOW = 1 << 20  # bytes a receiver lets a sender have in flight
CHUNK = 64 << 10  # largest data payload in one frame
HEADER = struct.Struct(">BI")


class Op(str, enum.Enum):
    LOG = "log"
    EXEC = "exec"
    ATTACH = "attach"


class Kind(enum.IntEnum):
    STDIN = 0
    STDOUT = 1
    STDERR = 2
    RESIZE = 4
    ACK = 0x80
    EOF = 0x81
    END = 0x82
    PING = 0x83
    CANCEL = 0x84


DATA_KINDS = frozenset({Kind.STDIN, Kind.STDOUT, Kind.STDERR})  # counted against the window


@dataclass(frozen=True)
class Timing:
    keepalive: float = 2.0  # send a PING after this long without sending anything
    dead_after: float = 6.0  # give the session up after this long without hearing anything
    open_timeout: float = 10.0  # the kubelet must accept or refuse within this


DEFAULT_TIMING = Timing()


# -- pure: frames, credit, requests, statuses --------------------------------------------------
class ProtocolError(Exception):
    """A frame that cannot be decoded, or one out of sequence."""


@dataclass(frozen=True, slots=True)
class Frame:
    kind: int
    seq: int
    payload: bytes


def encode(kind: int, seq: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, seq & 0xFFFFFFFF) + payload


def decode(data: bytes) -> Frame:
    if len(data) < HEADER.size:
        raise ProtocolError(f"frame of {len(data)} bytes is shorter than its header")
    kind, seq = HEADER.unpack_from(data)
    return Frame(kind, seq, bytes(data[HEADER.size:]))


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    """`data` cut into pieces of at most `size` bytes (nothing for empty data)."""
    for i in range(0, len(data), size):
        yield data[i:i + size]


def encode_ack(consumed: int) -> bytes:
    return struct.pack(">Q", consumed)


def decode_ack(payload: bytes) -> int:
    if len(payload) != 8:
        raise ProtocolError(f"ACK payload of {len(payload)} bytes")
    return int(struct.unpack(">Q", payload)[0])


def encode_resize(width: int, height: int) -> bytes:
    return orjson.dumps({"Width": width, "Height": height})


def decode_resize(payload: bytes) -> tuple[int, int]:
    try:
        size = orjson.loads(payload)
        return int(size["Width"]), int(size["Height"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ProtocolError(f"bad resize payload {payload[:64]!r}") from e


class Credit:
    """The sender's side of the window: how many data bytes it may still send."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.sent = 0
        self.acked = 0

    def available(self) -> int:
        return self.acked + self.window - self.sent

    def take(self, n: int) -> None:
        self.sent += n

    def ack(self, consumed: int) -> None:
        """Acks are cumulative; an old one arriving late changes nothing."""
        if consumed > self.sent:
            raise ProtocolError(f"peer acknowledged {consumed} bytes but only {self.sent} were sent")
        self.acked = max(self.acked, consumed)


class Acker:
    """The receiver's side: counts what its consumer took and says when to acknowledge. Acks go
    out once a quarter of the window has been consumed, so a sender blocked on a full window is
    always released once its data is consumed, with one ack per quarter window, not per frame."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.consumed = 0
        self.acked = 0

    def consume(self, n: int) -> int | None:
        """Record `n` bytes consumed; returns the cumulative count to acknowledge, if it is time."""
        self.consumed += n
        if self.consumed - self.acked >= max(1, self.window // 4):
            self.acked = self.consumed
            return self.consumed
        return None


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: str | None = None  # RFC 3339
    limit_bytes: int | None = None


@dataclass(frozen=True)
class ExecOptions:
    command: tuple[str, ...] = ()  # empty for attach
    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    tty: bool = False


@dataclass(frozen=True)
class StreamRequest:
    op: Op
    node: str
    namespace: str
    pod: str
    container: str
    log: LogOptions | None = None
    exec: ExecOptions | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"op": self.op.value, "node": self.node, "namespace": self.namespace, "pod": self.pod,
                             "container": self.container}
        if self.log is not None:
            d["log"] = asdict(self.log)
        if self.exec is not None:
            d["exec"] = {**asdict(self.exec), "command": list(self.exec.command)}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StreamRequest:
        try:
            ex = d.get("exec")
            lg = d.get("log")
            return cls(op=Op(d["op"]), node=str(d["node"]), namespace=str(d["namespace"]), pod=str(d["pod"]),
                       container=str(d["container"]), log=LogOptions(**lg) if lg is not None else None,
                       exec=ExecOptions(**{**ex, "command": tuple(ex.get("command") or ())}) if ex is not None else None)
        except (KeyError, TypeError, ValueError) as e:
            raise ProtocolError(f"bad stream request: {e}") from e


def success_status() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def exit_code_status(code: int, message: str) -> dict[str, Any]:
    """What Kubernetes' remotecommand writes for a command that exited non-zero: clients read the
    exit code from the ExitCode cause."""
    return {"metadata": {}, "status": "Failure", "message": f"command terminated with non-zero exit code: {message}",
            "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def error_status(err: errors.ApiError) -> dict[str, Any]:
    """An error as a stream status: the Status body without kind/apiVersion (as remotecommand)."""
    status = err.to_status()
    status.pop("kind", None)
    status.pop("apiVersion", None)
    return status


class NodeError(errors.ApiError):
    """A failure the kubelet reported (or the bus on its behalf), carried as its Status."""

    def __init__(self, status: dict[str, Any], code: int | None = None) -> None:
        super().__init__(str(status.get("message", "")))
        self.status = status
        self.code = int(code or status.get("code") or 500)
        self.reason = str(status.get("reason") or "InternalError")

    def to_status(self) -> dict[str, Any]:
        return {"kind": "Status", "apiVersion": "v1", **self.status, "code": self.code}


def _token(name: str) -> str:
    return name.replace(".", "~")


def open_subject(prefix: str, node: str, op: Op | str) -> str:
    return f"{prefix}.node.{_token(node)}.stream.{Op(op).value}"


def node_subjects(prefix: str, node: str) -> str:
    """What a kubelet subscribes to serve one node: every op."""
    return f"{prefix}.node.{_token(node)}.stream.*"


def session_subjects(prefix: str, session: str) -> tuple[str, str]:
    """(to the client, to the kubelet)."""
    return f"{prefix}.nodeio.{session}.c", f"{prefix}.nodeio.{session}.k"
