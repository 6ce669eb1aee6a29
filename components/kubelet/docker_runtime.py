"""The docker runtime: real containers through dockerd (docker-py's low-level API).

Each pod gets a pause container (`jetkube/pause:latest`) that owns its network namespace on the
cluster's docker network, with the pod IP set as a static address and the pod's host ports
published; app and init containers join it (`network_mode` and `ipc_mode` "container:<pause>"),
so the containers of a pod talk over localhost. Every container carries labels naming cluster
prefix, node, pod uid/name/namespace, container name, attempt, spec hash and sandbox attempt:
`observe` rebuilds a pod's whole state from them plus `docker inspect`, which is how a kubelet
restarted with the same flags adopts running containers without restarting them.

docker-py blocks, so every call runs in this runtime's own thread pool; docker events (die, oom,
start, destroy) are read on a thread of their own and handed to the event loop as pod uids.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import docker
import docker.errors
import docker.types
import structlog

from components.kubelet import images
from components.kubelet.runtime import (ATTEMPT_LABEL, CONTAINER_LABEL, GRACE_LABEL, HASH_LABEL, IMAGE_LABEL,
                                        INIT_LABEL, IP_LABEL, NAME_LABEL, NAMESPACE_LABEL, NODE_LABEL, PREFIX_LABEL,
                                        SANDBOX_ATTEMPT_LABEL, SANDBOX_LABEL, UID_LABEL, ContainerConfig, ImageInfo,
                                        ImageMissing, PodIdentity, RuntimeFailure, SandboxConfig)
from core.podstatus import (CREATED, EXITED, READY, RUNNING, START_ERROR, ContainerObs, PodObs, SandboxObs,
                            image_ref)

log = structlog.get_logger("kubelet.docker")

PAUSE_IMAGE = "jetkube/pause:latest"
HOW_TO_START = ("start it with `dockerd >/var/log/dockerd.log 2>&1 &` (as root; `apt-get install docker.io` first "
                "if it is missing), or run simulated nodes with `--runtime sim`")
T = TypeVar("T")


class DockerUnavailable(Exception):
    """dockerd cannot be reached; the message says how to start it."""


class NetworkError(Exception):
    """The cluster's docker network cannot be had (an overlapping range, a clash of settings)."""


def _epoch(text: str | None) -> float | None:
    if not text or text.startswith("0001-"):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _explain(e: Exception) -> str:
    if isinstance(e, docker.errors.APIError):
        return str(e.explanation or e)
    return str(e)


def _name_part(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in s)


class DockerRuntime:
    scheme = "docker"
    simulated = False

    def __init__(self, *, prefix: str, node: str, network: str, threads: int = 16, timeout: float = 60.0) -> None:
        self.prefix = prefix
        self.node = node
        self.network = network
        self.threads = threads
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"docker-{node}")
        self._api: Any = None
        self._seen: dict[str, dict[str, tuple[str, ContainerObs | SandboxObs]]] = {}  # uid → id → (state, obs)
        self._image_infos: dict[str, ImageInfo] = {}
        self._closed = False
        self._stale: set[str] = set()  # containers an event reported on since they were last inspected
        # Containers this runtime is starting (id → when): their "start" event is no news to the
        # sync that started them, which observes them right after, so it wakes no other sync.
        self._starting: dict[str, float] = {}
        self._events: Any = None
        self._events_thread: threading.Thread | None = None

    # -- plumbing ---------------------------------------------------------------------------------
    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    @property
    def api(self) -> Any:
        if self._api is None:
            raise DockerUnavailable("the docker runtime is not connected")
        return self._api

    async def connect(self) -> None:
        def _connect() -> Any:
            client = docker.from_env(timeout=int(self.timeout), max_pool_size=self.threads + 2)
            client.ping()
            return client.api
        try:
            self._api = await self._call(_connect)
        except Exception as e:
            raise DockerUnavailable(f"dockerd is not reachable ({type(e).__name__}); {HOW_TO_START}") from e

    async def version(self) -> str:
        v = await self._call(lambda: self.api.version())
        return f"docker://{v.get('Version', 'unknown')}"

    def _labels(self, pod: PodIdentity) -> dict[str, str]:
        return {PREFIX_LABEL: self.prefix, NODE_LABEL: self.node, UID_LABEL: pod.uid, NAME_LABEL: pod.name,
                NAMESPACE_LABEL: pod.namespace}

    def _filters(self, *extra: str) -> dict[str, Any]:
        return {"label": [f"{PREFIX_LABEL}={self.prefix}", f"{NODE_LABEL}={self.node}", *extra]}

    # -- the network ------------------------------------------------------------------------------
    async def ensure_network(self, cluster_cidr: str) -> tuple[str, str]:
        """The cluster's docker network (created when absent, tolerating a concurrent creator):
        (its subnet, its gateway: the host's own address on the bridge)."""
        return await self._call(self._ensure_network, cluster_cidr)

    def _ensure_network(self, cidr: str) -> tuple[str, str]:
        import ipaddress
        api = self.api

        def existing() -> list[dict[str, Any]]:
            nets = [n for n in api.networks(names=[self.network]) if n.get("Name") == self.network]
            return sorted(nets, key=lambda n: (n.get("Created", ""), n.get("Id", "")))

        nets = existing()
        if not nets:
            net = ipaddress.ip_network(cidr, strict=False)
            gateway = str(net.network_address + 1)
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=str(net), gateway=gateway)])
            try:
                created = api.create_network(self.network, driver="bridge", ipam=ipam, check_duplicate=True,
                                             labels={PREFIX_LABEL: self.prefix})
            except docker.errors.APIError as e:
                if "already exists" not in _explain(e):
                    raise NetworkError(f"cannot create docker network {self.network} ({cidr}): {_explain(e)}") from e
                created = None
            nets = existing()
            if created is not None and len(nets) > 1 and nets[0]["Id"] != created.get("Id"):
                try:  # another kubelet created it at the same moment: keep the older one
                    api.remove_network(created["Id"])
                except docker.errors.APIError:
                    pass
                nets = existing()
        if not nets:
            raise NetworkError(f"docker network {self.network} vanished while being created; try again")
        info = api.inspect_network(nets[0]["Id"])
        configs = (info.get("IPAM") or {}).get("Config") or []
        if not configs or not configs[0].get("Subnet"):
            raise NetworkError(f"docker network {self.network} has no subnet; remove it (`docker network rm "
                               f"{self.network}`) and start again")
        subnet = configs[0]["Subnet"]
        gateway = configs[0].get("Gateway") or str(ipaddress.ip_network(subnet, strict=False).network_address + 1)
        return subnet, gateway

    # -- observing --------------------------------------------------------------------------------
    async def observe(self, uid: str) -> PodObs:
        return await self._call(self._observe, uid)

    def _observe(self, uid: str) -> PodObs:
        api = self.api
        items = api.containers(all=True, filters=self._filters(f"{UID_LABEL}={uid}"))
        seen = self._seen.setdefault(uid, {})
        fresh: dict[str, tuple[str, ContainerObs | SandboxObs]] = {}
        sandboxes: list[SandboxObs] = []
        containers: list[ContainerObs] = []
        for it in items:
            cid, state = it["Id"], it.get("State", "")
            if state == "removing":
                continue
            cached = seen.get(cid)
            if cid in self._stale:  # an event said it changed: the listing may not show it yet
                self._stale.discard(cid)
                cached = None
            if cached is not None and cached[0] == state:
                obs = cached[1]
            else:
                try:
                    obs = self._inspect(cid, it.get("Labels") or {})
                except docker.errors.NotFound:
                    continue
            fresh[cid] = (state, obs)
            if isinstance(obs, SandboxObs):
                sandboxes.append(obs)
            else:
                containers.append(obs)
        if fresh:
            self._seen[uid] = fresh
        else:
            self._seen.pop(uid, None)
        return PodObs(tuple(sandboxes), tuple(containers), scheme=self.scheme)

    def _inspect(self, cid: str, labels: dict[str, str]) -> ContainerObs | SandboxObs:
        info = self.api.inspect_container(cid)
        st = info.get("State") or {}
        status = st.get("Status", "")
        created = _epoch(info.get("Created")) or 0.0
        started, finished = _epoch(st.get("StartedAt")), _epoch(st.get("FinishedAt"))
        error = str(st.get("Error") or "")
        exit_code = int(st.get("ExitCode") or 0)
        live = status in ("running", "paused", "restarting")
        if labels.get(SANDBOX_LABEL) == "true":
            return SandboxObs(cid, int(labels.get(SANDBOX_ATTEMPT_LABEL, "0") or 0), READY if live else EXITED,
                              ip=labels.get(IP_LABEL, ""), created_at=created)
        reason, message = "", ""
        if live:
            state = RUNNING
        elif status == "created" and not error and exit_code == 0:
            state = CREATED
        else:
            state = EXITED
            if status == "created":  # the runtime could not start the process
                reason, message, exit_code = START_ERROR, error, 128
                started = finished = created
            elif st.get("OOMKilled"):
                reason = "OOMKilled"
            else:
                reason = "Completed" if exit_code == 0 else "Error"
                message = error
        return ContainerObs(
            id=cid, name=labels.get(CONTAINER_LABEL, ""), attempt=int(labels.get(ATTEMPT_LABEL, "0") or 0),
            state=state, init=labels.get(INIT_LABEL) == "true",
            sandbox_attempt=int(labels.get(SANDBOX_ATTEMPT_LABEL, "0") or 0), hash=labels.get(HASH_LABEL, ""),
            image=image_ref(labels.get(IMAGE_LABEL, "") or str((info.get("Config") or {}).get("Image", ""))),
            image_id=self._image_id(str(info.get("Image") or "")), started_at=started,
            finished_at=finished if state == EXITED else None, exit_code=exit_code if state == EXITED else None,
            reason=reason, message=message)

    def _image_id(self, image_id: str) -> str:
        if not image_id:
            return ""
        info = self._image_infos.get(image_id)
        if info is None:
            try:
                raw = self.api.inspect_image(image_id)
                info = ImageInfo(raw.get("Id", image_id), tuple(raw.get("RepoDigests") or ()))
            except docker.errors.APIError:
                info = ImageInfo(image_id)
            self._image_infos[image_id] = info
        return info.image_id

    async def pods(self) -> dict[str, tuple[str, str]]:
        def _pods() -> dict[str, tuple[str, str]]:
            out = {}
            for it in self.api.containers(all=True, filters=self._filters()):
                labels = it.get("Labels") or {}
                if labels.get(UID_LABEL):
                    out[labels[UID_LABEL]] = (labels.get(NAMESPACE_LABEL, ""), labels.get(NAME_LABEL, ""))
            return out
        return await self._call(_pods)

    async def sandbox_ips(self) -> dict[str, str]:
        def _ips() -> dict[str, str]:
            out = {}
            for it in self.api.containers(filters={**self._filters(f"{SANDBOX_LABEL}=true"), "status": "running"}):
                labels = it.get("Labels") or {}
                if labels.get(UID_LABEL) and labels.get(IP_LABEL):
                    out[labels[UID_LABEL]] = labels[IP_LABEL]
            return out
        return await self._call(_ips)

    # -- images -----------------------------------------------------------------------------------
    async def image(self, ref: str) -> ImageInfo | None:
        def _image() -> ImageInfo | None:
            try:
                raw = self.api.inspect_image(ref)
            except docker.errors.ImageNotFound:
                return None
            except docker.errors.NotFound:
                return None
            return ImageInfo(raw.get("Id", ""), tuple(raw.get("RepoDigests") or ()))
        return await self._call(_image)

    async def pull(self, ref: str, registry: str) -> ImageInfo:
        remote = images.registry_ref(ref, registry)

        def _pull() -> None:
            repo, sep, tag = remote.rpartition(":")
            if not sep or "/" in tag:
                repo, tag = remote, "latest"
            try:
                self.api.pull(repo, tag=tag)
                local = image_ref(ref)
                lrepo, _, ltag = local.rpartition(":")
                self.api.tag(f"{repo}:{tag}", lrepo, ltag)
            except docker.errors.APIError as e:
                raise RuntimeFailure(f"{registry}: {_explain(e)}") from e
            except Exception as e:  # connection refused, timeouts
                raise RuntimeFailure(f"{registry}: {e}") from e
        await self._call(_pull)
        info = await self.image(ref)
        if info is None:
            raise RuntimeFailure(f"{registry}: pulled, but {ref} is not in the local store")
        return info

    # -- sandboxes and containers -----------------------------------------------------------------
    def _create(self, name: str, image: str, **kwargs: Any) -> str:
        """create_container; a leftover of the same name (a kubelet stopped mid-creation) is removed."""
        api = self.api
        for attempt in range(2):
            try:
                return str(api.create_container(image, name=name, **kwargs)["Id"])
            except docker.errors.ImageNotFound as e:
                raise ImageMissing(_explain(e)) from e
            except docker.errors.APIError as e:
                if e.status_code == 409 and attempt == 0:
                    try:
                        api.remove_container(name, force=True)
                    except docker.errors.APIError:
                        pass
                    continue
                raise RuntimeFailure(_explain(e)) from e
        raise RuntimeFailure(f"container name {name} is in use")

    async def create_sandbox(self, cfg: SandboxConfig) -> str:
        def _sandbox() -> str:
            api = self.api
            p = cfg.pod
            labels = {**self._labels(p), SANDBOX_LABEL: "true", SANDBOX_ATTEMPT_LABEL: str(cfg.attempt),
                      IP_LABEL: cfg.ip, GRACE_LABEL: str(cfg.grace)}
            ports: list[Any] = []
            bindings: dict[str, list[tuple[str, int]]] = {}
            for b in cfg.ports:
                proto = b.protocol.lower()
                ports.append((b.container_port, proto))
                bindings.setdefault(f"{b.container_port}/{proto}", []).append((b.host_ip or "0.0.0.0", b.host_port))
            name = f"jk_POD_{_name_part(p.name)}_{_name_part(p.namespace)}_{p.uid[:8]}_{cfg.attempt}"
            if cfg.host_network:  # the host's own network: its ports are the host ports, no address to set
                network: dict[str, Any] = {"host_config": api.create_host_config(network_mode="host",
                                                                                 ipc_mode="shareable")}
            else:
                network = {"host_config": api.create_host_config(network_mode=self.network, ipc_mode="shareable",
                                                                 port_bindings=bindings or None),
                           "networking_config": api.create_networking_config(
                               {self.network: api.create_endpoint_config(ipv4_address=cfg.ip)}),
                           "hostname": cfg.hostname, "ports": ports or None}
            try:
                cid = self._create(name, PAUSE_IMAGE, labels=labels, **network)
            except ImageMissing as e:
                raise RuntimeFailure(f'sandbox image "{PAUSE_IMAGE}" is missing; build it with '
                                     "`jetkube image build pause`") from e
            try:
                self._start_own(cid)
            except docker.errors.APIError as e:
                try:
                    api.remove_container(cid, force=True)
                except docker.errors.APIError:
                    pass
                raise RuntimeFailure(_explain(e)) from e
            return cid
        return await self._call(_sandbox)

    async def create_container(self, cfg: ContainerConfig) -> str:
        def _container() -> str:
            api = self.api
            p = cfg.pod
            labels = {**self._labels(p), CONTAINER_LABEL: cfg.name, ATTEMPT_LABEL: str(cfg.attempt),
                      HASH_LABEL: cfg.hash, INIT_LABEL: "true" if cfg.init else "false",
                      SANDBOX_ATTEMPT_LABEL: str(cfg.sandbox_attempt), IMAGE_LABEL: cfg.image,
                      GRACE_LABEL: str(cfg.grace)}
            mounts = [docker.types.Mount(target=m.target, source=m.source, type="bind", read_only=m.read_only)
                      for m in cfg.mounts]
            host_config = api.create_host_config(
                network_mode=f"container:{cfg.sandbox_id}", ipc_mode=f"container:{cfg.sandbox_id}",
                mounts=mounts or None, nano_cpus=cfg.nano_cpus, mem_limit=cfg.mem_limit, cpu_shares=cfg.cpu_shares)
            name = f"jk_{_name_part(cfg.name)}_{_name_part(p.name)}_{_name_part(p.namespace)}_{p.uid[:8]}_{cfg.attempt}"
            return self._create(
                name, cfg.image, labels=labels, host_config=host_config,
                entrypoint=list(cfg.command) if cfg.command else None,
                command=list(cfg.args) if cfg.args else None,
                environment=[f"{k}={v}" for k, v in cfg.env] or None, working_dir=cfg.working_dir or None,
                tty=cfg.tty, stdin_open=cfg.stdin)
        return await self._call(_container)

    async def start_container(self, cid: str) -> None:
        def _start() -> None:
            try:
                self._start_own(cid)
            except docker.errors.APIError as e:
                raise RuntimeFailure(_explain(e)) from e
        await self._call(_start)

    def _start_own(self, cid: str) -> None:
        """`docker start`, marking the container so its own "start" event is not taken as news."""
        now = time.monotonic()
        if len(self._starting) > 256:  # events missed (a reconnect): forget marks that are old
            for old in [k for k, t in list(self._starting.items()) if now - t > 60.0]:
                self._starting.pop(old, None)
        self._starting[cid] = now
        try:
            self.api.start(cid)
        except BaseException:
            self._starting.pop(cid, None)
            raise

    async def stop_container(self, cid: str, grace: int) -> None:
        """The image's stop signal (SIGTERM by default), SIGKILL once `grace` seconds have passed.
        Waiting happens on the event loop, not in a thread, so long grace periods hold no thread."""
        def _state() -> tuple[bool, str]:
            try:
                info = self.api.inspect_container(cid)
            except docker.errors.NotFound:
                return False, ""
            return bool((info.get("State") or {}).get("Running")), str((info.get("Config") or {}).get("StopSignal")
                                                                        or "SIGTERM")

        def _signal(sig: str) -> None:
            try:
                self.api.kill(cid, signal=sig)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as e:
                if e.status_code != 409:  # 409: not running any more
                    raise RuntimeFailure(_explain(e)) from e

        running, sig = await self._call(_state)
        if not running:
            return
        await self._call(_signal, sig)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(grace, 0)
        pause = 0.05
        while loop.time() < deadline:
            if not (await self._call(_state))[0]:
                return
            await asyncio.sleep(min(pause, max(deadline - loop.time(), 0.0)))
            pause = min(pause * 2, 0.5)
        for _ in range(100):
            if not (await self._call(_state))[0]:
                return
            await self._call(_signal, "SIGKILL")
            await asyncio.sleep(0.1)
        raise RuntimeFailure(f"container {cid[:12]} did not stop after SIGKILL")

    async def remove_container(self, cid: str) -> None:
        def _remove() -> None:
            try:
                self.api.remove_container(cid, force=True, v=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as e:
                if e.status_code != 409:  # 409: removal already in progress
                    raise RuntimeFailure(_explain(e)) from e
        await self._call(_remove)

    def adopt(self, pod: dict[str, Any]) -> None:
        return None

    # -- events -----------------------------------------------------------------------------------
    def watch(self, on_uid: Callable[[str], None]) -> None:
        """Call `on_uid(uid)` on the event loop whenever a container of a pod on this node starts,
        dies or goes away (so a crash is seen at once, not at the next resync). The "start" of a
        container this runtime started itself is skipped: the sync that started it observes it next."""
        loop = asyncio.get_running_loop()

        def _run() -> None:
            while not self._closed:
                try:
                    stream = self.api.events(decode=True, filters={
                        "type": "container", **self._filters(),
                        "event": ["start", "die", "oom", "destroy"]})
                    self._events = stream
                    if self._closed:
                        stream.close()
                        return
                    for ev in stream:
                        uid = ((ev.get("Actor") or {}).get("Attributes") or {}).get(UID_LABEL)
                        action = str(ev.get("Action") or ev.get("status") or "")
                        cid = str(ev.get("id") or (ev.get("Actor") or {}).get("ID") or "")
                        if action == "start" and self._starting.pop(cid, None) is not None:
                            continue  # we started it; the sync that did is looking at it
                        if uid and not self._closed:
                            # dockerd sends "die" before its container listing says "exited":
                            # the next observation inspects this container afresh.
                            self._stale.add(cid)
                            loop.call_soon_threadsafe(on_uid, uid)
                except Exception as e:
                    if self._closed:
                        return
                    log.warning("docker events interrupted; reconnecting", error=str(e))
                    time.sleep(1.0)
        self._events_thread = threading.Thread(target=_run, name=f"docker-events-{self.node}", daemon=True)
        self._events_thread.start()

    async def close(self) -> None:
        self._closed = True
        stream = self._events
        if stream is not None:
            try:
                stream.close()
            except Exception:
                pass
        # Calls already running in the pool finish (a create must not land after whoever stops us
        # has looked at what exists); queued ones are dropped.
        await asyncio.to_thread(self._pool.shutdown, True, cancel_futures=True)
        if self._api is not None:
            try:
                self._api.close()
            except Exception:
                pass
