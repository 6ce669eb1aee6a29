"""One node's kubelet: the thin async shell around the pure state machine.

`NodeAgent` holds the pods bound to its node (fed by the process's shared pod informer), what it
remembers about each (`decide.Memory`), its pod IP allocator and its runtime. `sync(uid)` is the
whole loop for one pod: observe the runtime, `decide`, perform the actions (pull check, env and
volume resolution, create/start/kill/remove through the runtime, Events), observe again, until a
plan has nothing left to do; then compute the status (`core.podstatus`) and patch it when it
changed. The work queue guarantees one sync per pod at a time; every decision is in `decide.py`,
every status field in `core/podstatus.py`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from bus.apiclient import ApiClient, ApiReplyError
from bus.log import Op
from bus.recorder import EventRecorder
from components.kubelet import images, mounts
from components.kubelet.admission import admit
from components.kubelet.backoff import BackoffPolicy
from components.kubelet.containerspec import container_config, host_network, sandbox_config
from components.kubelet.decide import (SANDBOX_KEY, Action, CreateSandbox, Finalize, KillContainer, Memory, Remove,
                                       StartContainer, StopSandbox, decide, field_path, remember)
from components.kubelet.envvars import ConfigError, PodFacts, Sources, resolve_env
from components.kubelet.envvars import references as env_references
from components.kubelet.ipam import PodIPs, RangeFull
from components.kubelet.runtime import ImageMissing, Mount, Runtime, RuntimeFailure
from components.kubelet.volumes import MountError, VolumePlan, container_mounts, mount_plan, plan_volume
from components.kubelet.volumes import references as volume_references
from core.podstatus import (CONFIG_ERROR, CONTAINER_CREATING, CREATE_ERROR, ERR_IMAGE_NEVER_PULL, ERR_IMAGE_PULL,
                            POD_INITIALIZING, RUN_ERROR, TERMINAL_PHASES, PodObs, Waiting, pod_status, status_patch)

log = structlog.get_logger("kubelet")

Obj = dict[str, Any]
MAX_ROUNDS = 12


@dataclass
class Shared:
    """What every node agent of one kubelet process shares."""

    api: ApiClient
    enqueue: Callable[[str, str], None]  # (node, uid)
    enqueue_after: Callable[[str, str, float], None]
    policy: BackoffPolicy
    root_dir: Path
    registries: tuple[str, ...] = ()
    status_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(32))
    clock: Callable[[], float] = time.time


def _uid(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("uid", ""))


def _rv(pod: Mapping[str, Any] | None) -> int:
    try:
        return int(((pod or {}).get("metadata") or {}).get("resourceVersion", 0))
    except (TypeError, ValueError):
        return 0


def _container_spec(pod: Mapping[str, Any], name: str, init: bool) -> Obj | None:
    spec = pod.get("spec") or {}
    for c in spec.get("initContainers" if init else "containers") or []:
        if c.get("name") == name:
            return dict(c)
    return None


class NodeAgent:
    def __init__(self, name: str, runtime: Runtime, shared: Shared, *, pod_cidr: str, node_ip: str,
                 allocatable: Mapping[str, str], recorder: EventRecorder | None = None) -> None:
        self.name = name
        self.runtime = runtime
        self.shared = shared
        self.pod_cidr = pod_cidr
        self.node_ip = node_ip
        self.allocatable = dict(allocatable)
        self.recorder = recorder
        self.ipam = PodIPs(pod_cidr)
        self.pods: dict[str, Obj] = {}  # uid → the pod as the informer has it
        self.by_name: dict[tuple[str, str], str] = {}  # (namespace, name) → uid
        self.mem: dict[str, Memory] = {}
        self.written: dict[str, Obj] = {}  # uid → the pod our last status patch returned
        self.sending: dict[str, Obj] = {}  # uid → the status a patch in flight will leave
        self.sandbox_errors: dict[str, str] = {}
        self.log = log.bind(node=name)

    # -- the feed ---------------------------------------------------------------------------------
    def on_pod(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        """Informer handler (must not block): keep the projection, enqueue what needs a look."""
        if new is None:
            if old is None:
                return
            uid = _uid(old)
            self.pods.pop(uid, None)
            md = old.get("metadata") or {}
            if self.by_name.get((md.get("namespace", ""), md.get("name", ""))) == uid:
                del self.by_name[(md.get("namespace", ""), md.get("name", ""))]
            self.shared.enqueue(self.name, uid)
            return
        uid = _uid(new)
        prev = self.pods.get(uid)
        self.pods[uid] = new
        md = new.get("metadata") or {}
        self.by_name[(md.get("namespace", ""), md.get("name", ""))] = uid
        if prev is None or self._changed(uid, prev, new):
            self.shared.enqueue(self.name, uid)

    def _changed(self, uid: str, prev: Obj, new: Obj) -> bool:
        if prev.get("spec") != new.get("spec"):
            return True
        pm, nm = prev.get("metadata") or {}, new.get("metadata") or {}
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            if pm.get(key) != nm.get(key):
                return True
        status = new.get("status") or {}
        if uid in self.sending and status == self.sending[uid]:
            return False  # our own status patch, seen before its reply came back
        ours = self.written.get(uid)
        return status != ((ours or {}).get("status") or {})

    def find(self, namespace: str, name: str) -> Obj | None:
        uid = self.by_name.get((namespace, name))
        return self.pods.get(uid) if uid is not None else None

    async def restore(self) -> None:
        """After a restart: re-learn the IPs of running sandboxes, and look at every pod the
        runtime still holds (pods gone from the log are cleaned up by their sync)."""
        if self.runtime.simulated:  # a simulated runtime re-learns its pods from their stored status
            for pod in list(self.pods.values()):
                self.runtime.adopt(pod)
        for uid, ip in (await self.runtime.sandbox_ips()).items():
            if ip != self.node_ip and not self.ipam.restore(uid, ip):  # hostNetwork pods have the node's
                self.log.warning("sandbox IP outside this node's pod range", uid=uid, ip=ip, range=self.pod_cidr)
        for uid in await self.runtime.pods():
            self.shared.enqueue(self.name, uid)

    # -- the sync ---------------------------------------------------------------------------------
    async def sync(self, uid: str) -> None:
        pod = self.pods.get(uid)
        mem = self.mem.setdefault(uid, Memory())
        if pod is not None:
            md = pod.get("metadata") or {}
            mem.grace = int(md.get("deletionGracePeriodSeconds") or 0)
            if self.runtime.simulated:
                self.runtime.adopt(pod)
        requeue: float | None = None
        obs = await self.runtime.observe(uid)
        if pod is not None and not mem.admitted and mem.rejected is None:
            self._admit(uid, pod, mem, obs)
        outcome = "idle"
        for _ in range(MAX_ROUNDS):
            plan = decide(pod, obs, mem, self.shared.clock(), self.shared.policy)
            remember(mem, plan)
            for note in plan.notes:
                self._event(pod, note.type, note.reason, note.message, note.field_path)
            requeue = plan.requeue
            if not plan.actions:
                outcome = "idle"
                break
            outcome = await self._perform(uid, pod, plan.actions, mem)
            if outcome == "finished":
                return
            obs = await self.runtime.observe(uid)
            if outcome == "failed":
                # Look once more without acting, to learn when the failure's back-off ends.
                probe = decide(pod, obs, mem, self.shared.clock(), self.shared.policy)
                if probe.actions:
                    requeue = self.shared.policy.base
                else:
                    remember(mem, probe)
                    for note in probe.notes:
                        self._event(pod, note.type, note.reason, note.message, note.field_path)
                    requeue = probe.requeue
                break
        else:
            requeue = 0.0  # more to do: go round again through the queue
        if pod is not None:
            await self._write_status(uid, pod, obs, mem)
        if requeue is not None:
            self.shared.enqueue_after(self.name, uid, requeue)

    def _admit(self, uid: str, pod: Obj, mem: Memory, obs: PodObs) -> None:
        status = pod.get("status") or {}
        if (pod.get("metadata") or {}).get("deletionTimestamp") or status.get("phase") in TERMINAL_PHASES \
                or not obs.empty or status.get("containerStatuses"):
            mem.admitted = True  # already running here (a restarted kubelet), or nothing to run
            return
        others = []
        for other_uid, other in self.pods.items():
            if other_uid == uid or (other.get("status") or {}).get("phase") in TERMINAL_PHASES:
                continue
            om = self.mem.get(other_uid)
            if om is not None and om.admitted and om.rejected is None:
                others.append(other)
            elif om is None and (other.get("status") or {}).get("containerStatuses"):
                others.append(other)  # ran here before a restart, not looked at yet: it holds its ports
        verdict = admit(pod, others, self.allocatable)
        if verdict is None:
            mem.admitted = True
        else:
            mem.rejected = verdict
            self._event(pod, "Warning", verdict.reason, verdict.message.removeprefix("Pod was rejected: "))
            self.log.info("pod rejected", pod=_key(pod), reason=verdict.reason)

    async def _perform(self, uid: str, pod: Obj | None, actions: tuple[Action, ...], mem: Memory) -> str:
        kills = [a for a in actions if isinstance(a, KillContainer)]
        try:
            if kills:
                await asyncio.gather(*(self._kill(pod, a) for a in kills))
            for a in actions:
                if isinstance(a, KillContainer):
                    continue
                if isinstance(a, StopSandbox):
                    await self.runtime.stop_container(a.sandbox.id, 2)
                    self.ipam.release(uid)
                elif isinstance(a, Remove):
                    await self.runtime.remove_container(a.id)
                elif isinstance(a, CreateSandbox):
                    assert pod is not None
                    if not await self._create_sandbox(uid, pod, a, mem):
                        return "failed"
                elif isinstance(a, StartContainer):
                    assert pod is not None
                    if not await self._start(pod, a, mem):
                        return "failed"
                elif isinstance(a, Finalize):
                    await self._finalize(uid, pod, a)
                    return "finished"
        except (RuntimeFailure, OSError) as e:
            self.log.warning("runtime operation failed", pod=_key(pod) if pod else uid, error=str(e))
            return "failed"
        return "acted"

    # -- actions ----------------------------------------------------------------------------------
    async def _kill(self, pod: Obj | None, a: KillContainer) -> None:
        if a.message and pod is not None:
            self._event(pod, "Normal", "Killing", a.message, field_path(a.container.name, a.container.init))
        await self.runtime.stop_container(a.container.id, a.grace)

    def _fail_start(self, mem: Memory, name: str, reason: str, message: str) -> None:
        mem.reasons[name] = Waiting(reason, message)
        if reason != RUN_ERROR:
            key = f"start:{name}"
            mem.backoff[key] = self.shared.policy.next(mem.backoff.get(key), self.shared.clock())

    async def _create_sandbox(self, uid: str, pod: Obj, a: CreateSandbox, mem: Memory) -> bool:
        def failed(reason: str, event: str, message: str) -> bool:
            mem.backoff[SANDBOX_KEY] = self.shared.policy.next(mem.backoff.get(SANDBOX_KEY), self.shared.clock())
            self.sandbox_errors[uid] = message
            self._event(pod, "Warning", reason, event)
            return False
        try:
            ip = self.node_ip if host_network(pod) else self.ipam.allocate(uid)
        except RangeFull as e:
            return failed("FailedCreatePodSandBox", f"Failed to create pod sandbox: {e}", str(e))
        if not self.runtime.simulated:
            try:
                await self._prepare_volumes(uid, pod, ip)
            except _VolumeFailure as e:
                return failed("FailedMount", f'MountVolume.SetUp failed for volume "{e.volume}" : {e.message}',
                              f'volume "{e.volume}": {e.message}')
        try:
            await self.runtime.create_sandbox(sandbox_config(pod, a.attempt, ip))
        except RuntimeFailure as e:
            return failed("FailedCreatePodSandBox", f"Failed to create pod sandbox: {e}",
                          f"failed to create pod sandbox: {e}")
        mem.backoff.pop(SANDBOX_KEY, None)
        self.sandbox_errors.pop(uid, None)
        return True

    async def _sources(self, namespace: str, configmaps: set[str], secrets: set[str]) -> Sources:
        async def get(resource: str, name: str) -> Obj | None:
            try:
                return await self.shared.api.get(resource, namespace, name)
            except ApiReplyError as e:
                if e.code == 404:
                    return None
                raise ConfigError(f"failed to get {resource[:-1]} {namespace}/{name}: {e}") from e
            except asyncio.TimeoutError as e:
                raise ConfigError(f"failed to get {resource[:-1]} {namespace}/{name}: API server timed out") from e
        cms = {n: await get("configmaps", n) for n in sorted(configmaps) if n}
        secs = {n: await get("secrets", n) for n in sorted(secrets) if n}
        return Sources(cms, secs)

    def _facts(self, pod_ip: str) -> PodFacts:
        return PodFacts(pod_ip=pod_ip, host_ip=self.node_ip, allocatable=self.allocatable)

    async def _prepare_volumes(self, uid: str, pod: Obj, ip: str) -> None:
        volumes = (pod.get("spec") or {}).get("volumes") or []
        pdir = mounts.pod_dir(self.shared.root_dir, uid)
        if not volumes:
            return
        ns = str((pod.get("metadata") or {}).get("namespace", ""))
        try:
            sources = await self._sources(ns, *volume_references(pod))
        except ConfigError as e:
            raise _VolumeFailure(str(volumes[0].get("name", "")), str(e)) from e
        for v in volumes:
            try:
                plan = plan_volume(v, pod, sources, self._facts(ip))
                await asyncio.to_thread(mounts.prepare, plan, pdir)
            except MountError as e:
                raise _VolumeFailure(str(v.get("name", "")), str(e)) from e

    async def _ensure_image(self, pod: Obj, spec_c: Obj, fp: str, mem: Memory) -> bool:
        image = str(spec_c.get("image", ""))
        name = str(spec_c.get("name", ""))
        policy = images.policy_of(spec_c)
        info = await self.runtime.image(image)
        if not images.pull_wanted(policy, info is not None):
            if info is None:
                msg = images.never_pull_message(image)
                self._fail_start(mem, name, ERR_IMAGE_NEVER_PULL, msg)
                self._event(pod, "Warning", ERR_IMAGE_NEVER_PULL, msg, fp)
                return False
            self._event(pod, "Normal", "Pulled", images.present_message(image), fp)
            return True
        errors = []
        for registry in self.shared.registries:
            self._event(pod, "Normal", "Pulling", f'Pulling image "{image}" from {registry}', fp)
            try:
                await self.runtime.pull(image, registry)
            except RuntimeFailure as e:
                errors.append(str(e))
                continue
            self._event(pod, "Normal", "Pulled", f'Successfully pulled image "{image}" from {registry}', fp)
            return True
        if info is not None:
            self._event(pod, "Warning", "Pulled", images.unpullable_message(image, self.shared.registries), fp)
            return True
        msg = images.pull_failed_message(image, self.shared.registries, errors)
        self._fail_start(mem, name, ERR_IMAGE_PULL, msg)
        self._event(pod, "Warning", "Failed", msg, fp)
        self._event(pod, "Warning", "Failed", f"Error: {ERR_IMAGE_PULL}", fp)
        return False

    async def _start(self, pod: Obj, a: StartContainer, mem: Memory) -> bool:
        spec_c = _container_spec(pod, a.name, a.init)
        if spec_c is None:
            return True
        fp = field_path(a.name, a.init)
        uid = _uid(pod)
        env: list[tuple[str, str]] = []
        mount_list: list[Mount] = []
        if not self.runtime.simulated:
            if not await self._ensure_image(pod, spec_c, fp, mem):
                return False
            ns = str((pod.get("metadata") or {}).get("namespace", ""))
            try:
                sources = await self._sources(ns, *env_references(spec_c))
                env = resolve_env(spec_c, pod, sources, self._facts(a.sandbox.ip))
                specs = container_mounts(spec_c, _mount_plans(pod), mounts.pod_dir(self.shared.root_dir, uid),
                                         dict(env))
                for m in specs:
                    await asyncio.to_thread(mounts.prepare_mount, m)
                mount_list = [Mount(m.source, m.target, m.read_only) for m in specs]
            except (ConfigError, MountError) as e:
                self._fail_start(mem, a.name, CONFIG_ERROR, str(e))
                self._event(pod, "Warning", "Failed", f"Error: {e}", fp)
                return False
        cfg = container_config(pod, spec_c, init=a.init, attempt=a.attempt, sandbox=a.sandbox, env=env,
                               mounts=mount_list)
        try:
            cid = await self.runtime.create_container(cfg)
        except ImageMissing as e:
            msg = images.pull_failed_message(cfg.image, self.shared.registries, [str(e)])
            self._fail_start(mem, a.name, ERR_IMAGE_PULL, msg)
            self._event(pod, "Warning", "Failed", msg, fp)
            return False
        except RuntimeFailure as e:
            self._fail_start(mem, a.name, CREATE_ERROR, str(e))
            self._event(pod, "Warning", "Failed", f"Error: {e}", fp)
            return False
        self._event(pod, "Normal", "Created", f"Created container: {a.name}", fp)
        try:
            await self.runtime.start_container(cid)
        except RuntimeFailure as e:
            self._fail_start(mem, a.name, RUN_ERROR, str(e))
            self._event(pod, "Warning", "Failed", f"Error: {e}", fp)
            return False
        self._event(pod, "Normal", "Started", f"Started container {a.name}", fp)
        mem.reasons.pop(a.name, None)
        mem.backoff.pop(f"start:{a.name}", None)
        return True

    async def _finalize(self, uid: str, pod: Obj | None, a: Finalize) -> None:
        self.ipam.release(uid)
        self.sandbox_errors.pop(uid, None)
        if not self.runtime.simulated:
            await asyncio.to_thread(mounts.remove_pod_dir, self.shared.root_dir, uid)
        if a.delete and pod is not None:
            md = pod.get("metadata") or {}
            try:
                await self.shared.api.delete("pods", md.get("namespace", ""), md.get("name", ""),
                                             grace_period_seconds=0, uid=uid)
            except ApiReplyError as e:
                if e.code not in (404, 409):
                    raise RuntimeFailure(f"completing the deletion failed: {e}") from e
            self.log.info("pod deleted", pod=_key(pod))
        if not a.delete:  # the pod is gone from the log and from the runtime: forget it
            self.mem.pop(uid, None)
            self.written.pop(uid, None)

    # -- status and events ------------------------------------------------------------------------
    def _newest(self, uid: str, pod: Obj) -> Obj:
        ours = self.written.get(uid)
        return ours if ours is not None and _rv(ours) > _rv(pod) else pod

    def _reasons(self, uid: str, pod: Obj, obs: PodObs, mem: Memory) -> Mapping[str, Waiting]:
        err = self.sandbox_errors.get(uid)
        if not err:
            return mem.reasons
        spec = pod.get("spec") or {}
        default = POD_INITIALIZING if spec.get("initContainers") else CONTAINER_CREATING
        out = dict(mem.reasons)
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            name = str(c.get("name", ""))
            if name not in out and obs.latest(name) is None:
                out[name] = Waiting(default, err)
        return out

    async def _write_status(self, uid: str, pod: Obj, obs: PodObs, mem: Memory) -> None:
        current = self._newest(uid, pod)
        desired = pod_status(current, obs, reasons=self._reasons(uid, current, obs, mem), host_ip=self.node_ip,
                             now=self.shared.clock(), rejected=mem.rejected)
        patch = status_patch(current.get("status") or {}, desired)
        if not patch:
            return
        md = pod.get("metadata") or {}
        # The informer may deliver the patched pod before the reply: it is ours, not a change to act on.
        self.sending[uid] = {**(current.get("status") or {}), **patch}
        async with self.shared.status_slots:
            try:
                written = await self.shared.api.patch("pods", md.get("namespace", ""), md.get("name", ""),
                                                      {"status": patch}, subresource="status")
            except ApiReplyError as e:
                if e.code != 404:
                    self.log.warning("pod status not written", pod=_key(pod), error=str(e))
                return
            except asyncio.TimeoutError:
                self.log.warning("pod status not written: API server timed out", pod=_key(pod))
                self.shared.enqueue_after(self.name, uid, 1.0)
                return
            finally:
                self.sending.pop(uid, None)
        if _uid(written) == uid:
            self.written[uid] = written

    def _event(self, pod: Obj | None, type_: str, reason: str, message: str, fp: str = "") -> None:
        if self.recorder is not None and pod is not None:
            self.recorder.record(pod, type_, reason, message, fp)


class _VolumeFailure(Exception):
    def __init__(self, volume: str, message: str) -> None:
        super().__init__(message)
        self.volume = volume
        self.message = message


def _mount_plans(pod: Obj) -> dict[str, VolumePlan]:
    """Where each volume of the pod lives (no contents needed: for mapping volumeMounts)."""
    return {str(v.get("name", "")): mount_plan(v, pod) for v in (pod.get("spec") or {}).get("volumes") or []}


def _key(pod: Mapping[str, Any]) -> str:
    md = pod.get("metadata") or {}
    return f"{md.get('namespace', '')}/{md.get('name', '')}"

