"""The container runtime interface the kubelet drives, and what goes through it.

Two implementations: `docker_runtime.DockerRuntime` (a pause container per pod holding the network
namespace, app and init containers joined to it, everything labelled so a restarted kubelet
adopts it) and `sim_runtime.SimRuntime` (kwok-style: nothing runs, pods only look as if they did).
One runtime object serves one node. The kubelet shell (`node.py`) only ever talks to this
interface; what the runtime reports comes back as `core.podstatus.PodObs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from core.podstatus import PodObs

# Labels on every container a kubelet creates; a restarted kubelet finds and adopts by them.
PREFIX_LABEL = "io.jetkube.prefix"
NODE_LABEL = "io.jetkube.node"
UID_LABEL = "io.jetkube.pod.uid"
NAME_LABEL = "io.jetkube.pod.name"
NAMESPACE_LABEL = "io.jetkube.pod.namespace"
CONTAINER_LABEL = "io.jetkube.container.name"
ATTEMPT_LABEL = "io.jetkube.container.attempt"
HASH_LABEL = "io.jetkube.container.hash"
INIT_LABEL = "io.jetkube.container.init"
IMAGE_LABEL = "io.jetkube.container.image"
SANDBOX_LABEL = "io.jetkube.sandbox"  # "true" on the pause container
SANDBOX_ATTEMPT_LABEL = "io.jetkube.sandbox.attempt"
IP_LABEL = "io.jetkube.pod.ip"
GRACE_LABEL = "io.jetkube.pod.grace"


class RuntimeFailure(Exception):
    """The runtime refused an operation; the message is the runtime's own (docker's explanation)."""


class ImageMissing(RuntimeFailure):
    """The image is not in the local store."""


@dataclass(frozen=True)
class PortBinding:
    container_port: int
    protocol: str  # TCP, UDP, SCTP
    host_port: int
    host_ip: str = ""


@dataclass(frozen=True)
class PodIdentity:
    uid: str
    name: str
    namespace: str


@dataclass(frozen=True)
class SandboxConfig:
    pod: PodIdentity
    attempt: int
    ip: str
    hostname: str
    ports: tuple[PortBinding, ...] = ()
    grace: int = 30
    host_network: bool = False  # the node's network namespace; the pod's IP is the node's


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerConfig:
    pod: PodIdentity
    name: str
    attempt: int
    init: bool
    sandbox_id: str
    sandbox_attempt: int
    image: str
    hash: str
    command: tuple[str, ...] | None = None  # → docker entrypoint
    args: tuple[str, ...] | None = None  # → docker cmd
    env: tuple[tuple[str, str], ...] = ()
    working_dir: str = ""
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False
    mounts: tuple[Mount, ...] = ()
    nano_cpus: int | None = None
    mem_limit: int | None = None
    cpu_shares: int | None = None
    grace: int = 30


@dataclass(frozen=True)
class ImageInfo:
    id: str  # sha256:…
    repo_digests: tuple[str, ...] = field(default_factory=tuple)

    @property
    def image_id(self) -> str:
        """containerStatuses[].imageID: a pullable digest when the image came from a registry."""
        return f"docker-pullable://{self.repo_digests[0]}" if self.repo_digests else self.id


class Runtime(Protocol):
    scheme: str  # containerID prefix: "docker", "sim"
    simulated: bool  # sim: no images, env, volumes to resolve

    async def version(self) -> str:
        """containerRuntimeVersion: "docker://20.10.24", "sim://0.1"."""
        ...

    async def observe(self, uid: str) -> PodObs:
        """Every sandbox and container attempt the runtime holds for pod `uid`."""
        ...

    async def pods(self) -> dict[str, tuple[str, str]]:
        """uid → (namespace, name) of every pod with anything in the runtime on this node."""
        ...

    async def sandbox_ips(self) -> dict[str, str]:
        """uid → IP of every running sandbox (rebuilds the IP allocator after a restart)."""
        ...

    async def image(self, ref: str) -> ImageInfo | None:
        """The local image `ref`, or None when it is not present."""
        ...

    async def pull(self, ref: str, registry: str) -> ImageInfo:
        """Pull `ref` from `registry` and tag it as `ref` locally; RuntimeFailure if it cannot."""
        ...

    async def create_sandbox(self, cfg: SandboxConfig) -> str:
        """Create and start the sandbox; its id. RuntimeFailure (and nothing left behind) on error."""
        ...

    async def create_container(self, cfg: ContainerConfig) -> str:
        ...

    async def start_container(self, cid: str) -> None:
        ...

    async def stop_container(self, cid: str, grace: int) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; returns once it has stopped."""
        ...

    async def remove_container(self, cid: str) -> None:
        """Remove a container or sandbox (gone already is fine)."""
        ...

    def adopt(self, pod: dict[str, Any]) -> None:
        """Take over what the pod's stored status says runs (sim after a restart; docker adopts
        from container labels instead, so this does nothing there)."""
        ...

    async def close(self) -> None:
        ...
