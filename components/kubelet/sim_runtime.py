"""The simulated runtime (kwok-style): pods look as if they ran; nothing runs.

A sandbox becomes ready `start_delay` seconds after it is created (0: at once) and has the IP the
kubelet allocated; containers "run" from the moment they start, forever, with ids derived from
node, pod uid, name and attempt (`sim://<hex>`, the same in every re-run of a replay); stopping
one takes min(grace, `stop_delay`) seconds. Everything is in memory: a restarted sim kubelet
`adopt`s what each pod's stored status says was running, so its pods keep their IPs and
container ids instead of starting over. Images are always present; env and volumes are not
resolved (the shell skips them for a simulated runtime).

Simulated exits, so Jobs can finish on sim nodes: two pod annotations make every app container
of the pod exit (init containers are not affected):
- `sim.jetkube.io/run-seconds: "<float>"`: each attempt exits that long after it started;
- `sim.jetkube.io/exit-code: "<int>"` (default 0): with that code, reason Completed (0) or Error.
The kubelet hands a simulated runtime every pod it syncs through `adopt`, which is where they are
read. As docker's, `watch(on_uid)` calls back when a container exits, so the kubelet looks at the
pod at once; its state machine then does what it does for docker: restart per restartPolicy, or
set the phase Succeeded / Failed.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from components.kubelet.runtime import ContainerConfig, ImageInfo, RuntimeFailure, SandboxConfig
from core.podstatus import (CREATED, EXITED, PENDING, READY, RUNNING, ContainerObs, PodObs, SandboxObs,
                            image_ref)

VERSION = "sim://0.1"
RUN_SECONDS = "sim.jetkube.io/run-seconds"
EXIT_CODE = "sim.jetkube.io/exit-code"


def _hex(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _epoch(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _sim_exit(pod: dict[str, Any]) -> tuple[float, int] | None:
    """(run seconds, exit code) from the pod's sim annotations; None: run forever."""
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    try:
        run = float(ann[RUN_SECONDS])
    except (KeyError, TypeError, ValueError):
        return None
    try:
        code = int(ann.get(EXIT_CODE, 0))
    except (TypeError, ValueError):
        code = 0
    return max(run, 0.0), code


@dataclass
class _Pod:
    namespace: str
    name: str
    sandboxes: dict[str, SandboxObs] = field(default_factory=dict)
    containers: dict[str, ContainerObs] = field(default_factory=dict)


class SimRuntime:
    scheme = "sim"
    simulated = True

    def __init__(self, node: str, *, start_delay: float = 1.0, stop_delay: float = 0.2,
                 clock: Callable[[], float] = time.time) -> None:
        self.node = node
        self.start_delay = max(start_delay, 0.0)
        self.stop_delay = max(stop_delay, 0.0)
        self.clock = clock
        self._pods: dict[str, _Pod] = {}
        self._where: dict[str, str] = {}  # container or sandbox id → pod uid
        self._exits: dict[str, tuple[float, int]] = {}  # pod uid → (run seconds, exit code)
        self._on_uid: Callable[[str], None] | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}  # container id → its exit's wake-up

    def watch(self, on_uid: Callable[[str], None]) -> None:
        """Call `on_uid(uid)` on the event loop when a container of pod `uid` exits (as
        DockerRuntime.watch does for a container's death)."""
        self._on_uid = on_uid

    def _arm(self, uid: str, c: ContainerObs) -> None:
        """Wake the watcher when running container `c` is due to exit."""
        exit_ = self._exits.get(uid)
        if (self._on_uid is None or exit_ is None or c.init or c.state != RUNNING or c.started_at is None
                or c.id in self._timers):
            return
        on_uid = self._on_uid
        delay = max(c.started_at + exit_[0] - self.clock(), 0.0) + 0.01
        self._timers[c.id] = asyncio.get_running_loop().call_later(delay, lambda: on_uid(uid))

    async def version(self) -> str:
        return VERSION

    async def observe(self, uid: str) -> PodObs:
        p = self._pods.get(uid)
        if p is None:
            return PodObs(scheme=self.scheme)
        now = self.clock()
        for sid, s in list(p.sandboxes.items()):
            if s.state == PENDING and now >= s.ready_at:
                p.sandboxes[sid] = replace(s, state=READY)
        exit_ = self._exits.get(uid)
        if exit_ is not None:
            run, code = exit_
            for cid, c in list(p.containers.items()):
                if c.state == RUNNING and not c.init and c.started_at is not None and now >= c.started_at + run:
                    p.containers[cid] = replace(c, state=EXITED, exit_code=code, finished_at=c.started_at + run,
                                                reason="Completed" if code == 0 else "Error")
                else:
                    self._arm(uid, c)
        return PodObs(tuple(p.sandboxes.values()), tuple(p.containers.values()), scheme=self.scheme)

    async def pods(self) -> dict[str, tuple[str, str]]:
        return {uid: (p.namespace, p.name) for uid, p in self._pods.items()}

    async def sandbox_ips(self) -> dict[str, str]:
        return {uid: s.ip for uid, p in self._pods.items() for s in p.sandboxes.values() if s.state != EXITED}

    async def image(self, ref: str) -> ImageInfo | None:
        return ImageInfo("sha256:" + _hex("image", image_ref(ref)))

    async def pull(self, ref: str, registry: str) -> ImageInfo:
        return ImageInfo("sha256:" + _hex("image", image_ref(ref)))

    def _pod(self, uid: str, namespace: str, name: str) -> _Pod:
        p = self._pods.get(uid)
        if p is None:
            p = self._pods[uid] = _Pod(namespace, name)
        return p

    async def create_sandbox(self, cfg: SandboxConfig) -> str:
        p = self._pod(cfg.pod.uid, cfg.pod.namespace, cfg.pod.name)
        sid = _hex(self.node, cfg.pod.uid, "sandbox", str(cfg.attempt))
        now = self.clock()
        state = READY if self.start_delay == 0 else PENDING
        p.sandboxes[sid] = SandboxObs(sid, cfg.attempt, state, ip=cfg.ip, created_at=now,
                                      ready_at=now + self.start_delay)
        self._where[sid] = cfg.pod.uid
        return sid

    async def create_container(self, cfg: ContainerConfig) -> str:
        p = self._pod(cfg.pod.uid, cfg.pod.namespace, cfg.pod.name)
        cid = _hex(self.node, cfg.pod.uid, cfg.name, str(cfg.attempt))
        p.containers[cid] = ContainerObs(cid, cfg.name, cfg.attempt, CREATED, init=cfg.init,
                                         sandbox_attempt=cfg.sandbox_attempt, hash=cfg.hash,
                                         image=image_ref(cfg.image), image_id="sha256:" + _hex("image", image_ref(cfg.image)))
        self._where[cid] = cfg.pod.uid
        return cid

    def _find(self, cid: str) -> tuple[_Pod, ContainerObs | None]:
        uid = self._where.get(cid)
        p = self._pods.get(uid) if uid is not None else None
        if p is None:
            raise RuntimeFailure(f"no such container: {cid}")
        return p, p.containers.get(cid)

    async def start_container(self, cid: str) -> None:
        p, c = self._find(cid)
        if c is None:
            raise RuntimeFailure(f"no such container: {cid}")
        p.containers[cid] = replace(c, state=RUNNING, started_at=self.clock())
        self._arm(self._where[cid], p.containers[cid])

    async def stop_container(self, cid: str, grace: int) -> None:
        uid = self._where.get(cid)
        p = self._pods.get(uid) if uid is not None else None
        if p is None:
            return
        if cid in p.sandboxes:
            p.sandboxes[cid] = replace(p.sandboxes[cid], state=EXITED)
            return
        c = p.containers.get(cid)
        if c is None or c.state != RUNNING:
            return
        delay = min(float(grace), self.stop_delay)
        if delay > 0:
            await asyncio.sleep(delay)
        c = p.containers.get(cid)
        if c is not None and c.state == RUNNING:
            p.containers[cid] = replace(c, state=EXITED, exit_code=0, reason="Completed", finished_at=self.clock())

    async def remove_container(self, cid: str) -> None:
        uid = self._where.pop(cid, None)
        p = self._pods.get(uid) if uid is not None else None
        if p is None:
            return
        p.sandboxes.pop(cid, None)
        p.containers.pop(cid, None)
        timer = self._timers.pop(cid, None)
        if timer is not None:
            timer.cancel()
        if not p.sandboxes and not p.containers and uid is not None:
            del self._pods[uid]
            self._exits.pop(uid, None)

    def adopt(self, pod: dict[str, Any]) -> None:
        """Take over a pod whose stored status says it ran here (a restarted sim kubelet). Also
        where the pod's simulated exit (its sim annotations) is learnt."""
        md, status = pod.get("metadata") or {}, pod.get("status") or {}
        uid = str(md.get("uid", ""))
        exit_ = _sim_exit(pod)
        if uid and exit_ is not None:
            self._exits[uid] = exit_
        elif uid:
            self._exits.pop(uid, None)
        if not uid or uid in self._pods or not status.get("podIP"):
            return
        statuses = [(s, False) for s in status.get("containerStatuses") or []]
        statuses += [(s, True) for s in status.get("initContainerStatuses") or []]
        if not any(str(s.get("containerID", "")).startswith("sim://") for s, _ in statuses):
            return
        p = self._pod(uid, str(md.get("namespace", "")), str(md.get("name", "")))
        sid = _hex(self.node, uid, "sandbox", "0")
        started = _epoch(status.get("startTime")) or self.clock()
        p.sandboxes[sid] = SandboxObs(sid, 0, READY, ip=str(status["podIP"]), created_at=started, ready_at=started)
        self._where[sid] = uid
        for s, init in statuses:
            cid = str(s.get("containerID", "")).removeprefix("sim://")
            state = s.get("state") or {}
            if not cid:
                continue
            if "running" in state:
                c = ContainerObs(cid, str(s.get("name", "")), int(s.get("restartCount") or 0), RUNNING, init=init,
                                 image=str(s.get("image", "")), image_id=str(s.get("imageID", "")),
                                 started_at=_epoch(state["running"].get("startedAt")))
            elif "terminated" in state:
                t = state["terminated"]
                c = ContainerObs(cid, str(s.get("name", "")), int(s.get("restartCount") or 0), EXITED, init=init,
                                 image=str(s.get("image", "")), image_id=str(s.get("imageID", "")),
                                 started_at=_epoch(t.get("startedAt")), finished_at=_epoch(t.get("finishedAt")),
                                 exit_code=int(t.get("exitCode") or 0), reason=str(t.get("reason", "")))
            else:
                continue
            p.containers[cid] = c
            self._where[cid] = uid

    async def close(self) -> None:
        self._pods.clear()
        self._where.clear()
        self._exits.clear()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
