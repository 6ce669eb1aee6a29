"""Pod status as a kubelet reports it, computed from what its container runtime shows. Pure.

Inputs: the pod as stored (spec, and the status already written: its conditions keep their
`lastTransitionTime` while unchanged, `startTime` is kept), the runtime's observation of the pod
(`PodObs`: every sandbox and every container attempt the runtime still holds), the kubelet's
"reason cache" (why a container is waiting: CrashLoopBackOff, ErrImagePull, a config error…) and
the time. Output: the status fields the kubelet owns, as Kubernetes spells them, and the merge
patch that moves the stored status there (only the fields that changed; lists whole).

The phase follows Kubernetes' `getPhase`; the conditions its `generateAPIPodStatus`. There are
no probes yet: a container is ready when it runs, started when it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

# Sandbox and container states as the runtime reports them.
READY, PENDING, EXITED = "ready", "pending", "exited"  # sandbox
CREATED, RUNNING = "created", "running"  # container (EXITED shared)

TERMINAL_PHASES = ("Succeeded", "Failed")
KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
# The status keys the kubelet writes; anything else (qosClass, nominatedNodeName, …) is left alone.
OWNED_KEYS = ("phase", "conditions", "hostIP", "hostIPs", "podIP", "podIPs", "startTime",
              "initContainerStatuses", "containerStatuses", "reason", "message")

# Waiting reasons (Kubernetes' spelling).
CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
CRASH_LOOP = "CrashLoopBackOff"
ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACKOFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
CONFIG_ERROR = "CreateContainerConfigError"
CREATE_ERROR = "CreateContainerError"
RUN_ERROR = "RunContainerError"
START_ERROR = "StartError"  # a terminated reason: the runtime could not start the process


@dataclass(frozen=True)
class Waiting:
    reason: str
    message: str = ""


@dataclass(frozen=True)
class SandboxObs:
    """One pod sandbox (docker: the pause container owning the network namespace)."""

    id: str
    attempt: int
    state: str  # READY, PENDING (sim: becomes ready at `ready_at`), EXITED
    ip: str = ""
    created_at: float = 0.0
    ready_at: float = 0.0


@dataclass(frozen=True)
class ContainerObs:
    """One attempt of one container. A restart is a new attempt (a new container)."""

    id: str
    name: str
    attempt: int
    state: str  # CREATED, RUNNING, EXITED
    init: bool = False
    sandbox_attempt: int = 0
    hash: str = ""
    image: str = ""
    image_id: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    reason: str = ""  # for EXITED: Completed, Error, OOMKilled, StartError
    message: str = ""

    @property
    def exited(self) -> bool:
        return self.state == EXITED

    @property
    def succeeded(self) -> bool:
        return self.state == EXITED and self.exit_code == 0


@dataclass(frozen=True)
class PodObs:
    """What the runtime holds for one pod: every sandbox and every container attempt."""

    sandboxes: tuple[SandboxObs, ...] = ()
    containers: tuple[ContainerObs, ...] = ()
    scheme: str = "docker"  # containerID prefix: docker://, sim://

    @property
    def empty(self) -> bool:
        return not self.sandboxes and not self.containers

    @property
    def sandbox(self) -> SandboxObs | None:
        """The newest sandbox (the one containers join)."""
        return max(self.sandboxes, key=lambda s: s.attempt) if self.sandboxes else None

    def attempts(self, name: str, *, init: bool | None = None) -> list[ContainerObs]:
        """Every attempt of container `name`, newest first."""
        out = [c for c in self.containers if c.name == name and (init is None or c.init == init)]
        return sorted(out, key=lambda c: c.attempt, reverse=True)

    def latest(self, name: str, *, init: bool | None = None) -> ContainerObs | None:
        a = self.attempts(name, init=init)
        return a[0] if a else None

    def running(self) -> list[ContainerObs]:
        return [c for c in self.containers if c.state == RUNNING]


def timestamp(t: float) -> str:
    """RFC 3339 seconds, UTC, as Kubernetes writes container and pod times."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def container_id(obs: PodObs, c: ContainerObs) -> str:
    return f"{obs.scheme}://{c.id}"


def image_ref(image: str) -> str:
    """The image as reported in status: a tag made explicit (`busybox` → `busybox:latest`)."""
    if "@" in image:
        return image
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last else f"{image}:latest"


# -- container statuses -------------------------------------------------------------------------
def _terminated(obs: PodObs, c: ContainerObs) -> dict[str, Any]:
    started = c.started_at if c.started_at is not None else (c.finished_at or 0.0)
    finished = c.finished_at if c.finished_at is not None else started
    exit_code = c.exit_code if c.exit_code is not None else 0
    reason = c.reason or ("Completed" if exit_code == 0 else "Error")
    out: dict[str, Any] = {"exitCode": exit_code, "reason": reason}
    if c.message:
        out["message"] = c.message
    out.update({"startedAt": timestamp(started), "finishedAt": timestamp(max(finished, started)),
                "containerID": container_id(obs, c)})
    return {"terminated": out}


def will_restart(restart_policy: str, c: ContainerObs) -> bool:
    """Will the kubelet start an exited container again (Kubernetes' ShouldContainerBeRestarted)?"""
    if restart_policy == "Never":
        return False
    if restart_policy == "OnFailure" or c.init:
        return c.exit_code != 0
    return True


def container_status(spec: Mapping[str, Any], obs: PodObs, reasons: Mapping[str, Waiting], *, init: bool,
                     default_waiting: str, restart_policy: str = "Always") -> dict[str, Any]:
    """One entry of containerStatuses / initContainerStatuses."""
    name = str(spec.get("name", ""))
    attempts = [a for a in obs.attempts(name, init=init)]
    latest = attempts[0] if attempts else None
    previous = next((a for a in attempts[1:] if a.exited), None)
    cached = reasons.get(name)
    state: dict[str, Any]
    last: dict[str, Any] = _terminated(obs, previous) if previous is not None else {}
    if latest is None or latest.state == CREATED:
        w = cached or Waiting(default_waiting)
        state = {"waiting": _waiting(w)}
    elif latest.state == RUNNING:
        state = {"running": {"startedAt": timestamp(latest.started_at or 0.0)}}
    elif cached is not None and will_restart(restart_policy, latest):  # exited; why it waits to start again
        state = {"waiting": _waiting(cached)}
        last = _terminated(obs, latest)
    else:
        state = _terminated(obs, latest)
    running = latest is not None and latest.state == RUNNING
    ready = (latest is not None and latest.succeeded and "terminated" in state) if init else running
    status: dict[str, Any] = {
        "name": name,
        "state": state,
        "lastState": last,
        "ready": ready,
        "restartCount": latest.attempt if latest is not None else 0,
        "image": latest.image if latest is not None and latest.image else image_ref(str(spec.get("image", ""))),
        "imageID": latest.image_id if latest is not None else "",
        "started": running,
    }
    if latest is not None and latest.state != CREATED:
        status["containerID"] = container_id(obs, latest)
    return status


def _waiting(w: Waiting) -> dict[str, str]:
    return {"reason": w.reason, "message": w.message} if w.message else {"reason": w.reason}


# -- phase ---------------------------------------------------------------------------------------
def phase(spec: Mapping[str, Any], init_statuses: list[dict[str, Any]],
          statuses: list[dict[str, Any]]) -> str:
    """Kubernetes' getPhase over computed container statuses (no sidecar init containers)."""
    restart = spec.get("restartPolicy") or "Always"
    pending_init = failed_init = 0
    by_name = {s["name"]: s for s in init_statuses}
    for c in spec.get("initContainers") or []:
        s = by_name.get(c.get("name"))
        if s is None:
            pending_init += 1
            continue
        st, last = s["state"], s.get("lastState") or {}
        if "running" in st:
            pending_init += 1
        elif "terminated" in st:
            if st["terminated"].get("exitCode") != 0:
                failed_init += 1
        elif "waiting" in st and "terminated" in last:
            if last["terminated"].get("exitCode") != 0:
                failed_init += 1
        else:
            pending_init += 1
    unknown = running = waiting = stopped = succeeded = 0
    by_name = {s["name"]: s for s in statuses}
    for c in spec.get("containers") or []:
        s = by_name.get(c.get("name"))
        if s is None:
            unknown += 1
            continue
        st, last = s["state"], s.get("lastState") or {}
        if "running" in st:
            running += 1
        elif "terminated" in st:
            stopped += 1
            if st["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif "waiting" in st:
            if "terminated" in last:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    if failed_init > 0 and restart == "Never":
        return "Failed"
    if pending_init > 0 or waiting > 0 or (failed_init > 0):
        return "Pending"
    if running > 0 and unknown == 0:
        return "Running"
    if running == 0 and stopped > 0 and unknown == 0:
        if restart == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart == "Never":
            return "Failed"
        return "Running"
    return "Pending"


# -- conditions ----------------------------------------------------------------------------------
def _condition(type_: str, ok: bool, old: Mapping[str, Mapping[str, Any]], now: str, reason: str = "",
               message: str = "") -> dict[str, Any]:
    status = "True" if ok else "False"
    prev = old.get(type_)
    since = prev.get("lastTransitionTime") if prev is not None and prev.get("status") == status else None
    cond: dict[str, Any] = {"type": type_, "status": status, "lastProbeTime": None,
                            "lastTransitionTime": since or now}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _names(names: list[str]) -> str:
    return "[" + " ".join(names) + "]"  # Go's %v of a []string


def conditions(spec: Mapping[str, Any], old_conditions: list[dict[str, Any]], *, phase_: str,
               sandbox_ready: bool, init_statuses: list[dict[str, Any]], statuses: list[dict[str, Any]],
               now: str) -> list[dict[str, Any]]:
    old = {str(c.get("type")): c for c in old_conditions if isinstance(c, dict)}
    completed = phase_ == "Succeeded"
    incomplete = [s["name"] for s in init_statuses if not s["ready"]]
    unready = [s["name"] for s in statuses if not s["ready"]]
    out = [_condition("PodReadyToStartContainers", sandbox_ready and phase_ not in TERMINAL_PHASES, old, now)]
    if completed:
        out.append(_condition("Initialized", True, old, now, "PodCompleted"))
    elif incomplete:
        out.append(_condition("Initialized", False, old, now, "ContainersNotInitialized",
                              f"containers with incomplete status: {_names(incomplete)}"))
    else:
        out.append(_condition("Initialized", True, old, now))
    for type_ in ("Ready", "ContainersReady"):
        if completed:
            out.append(_condition(type_, False, old, now, "PodCompleted"))
        elif unready:
            out.append(_condition(type_, False, old, now, "ContainersNotReady",
                                  f"containers with unready status: {_names(unready)}"))
        else:
            out.append(_condition(type_, True, old, now))
    # Conditions the kubelet does not own (PodScheduled, DisruptionTarget, …) stay as they are.
    out += [c for c in old_conditions if isinstance(c, dict) and c.get("type") not in KUBELET_CONDITIONS]
    return out


# -- the pod -------------------------------------------------------------------------------------
def pod_status(pod: Mapping[str, Any], obs: PodObs, *, reasons: Mapping[str, Waiting], host_ip: str, now: float,
               rejected: Waiting | None = None) -> dict[str, Any]:
    """The status fields the kubelet owns, computed from the runtime's view of the pod."""
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    stamp = timestamp(now)
    out: dict[str, Any] = {"hostIP": host_ip, "hostIPs": [{"ip": host_ip}] if host_ip else [],
                           "startTime": old.get("startTime") or stamp}
    if rejected is not None:
        out.update({"phase": "Failed", "reason": rejected.reason, "message": rejected.message})
        out["conditions"] = [c for c in old.get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS]
        return out
    init_specs = spec.get("initContainers") or []
    default = POD_INITIALIZING if init_specs else CONTAINER_CREATING
    restart = str(spec.get("restartPolicy") or "Always")
    if old.get("phase") in TERMINAL_PHASES:
        restart = "Never"  # nothing of a finished pod starts again
    init_statuses = [container_status(c, obs, reasons, init=True, default_waiting=default, restart_policy=restart)
                     for c in init_specs]
    statuses = [container_status(c, obs, reasons, init=False, default_waiting=default, restart_policy=restart)
                for c in spec.get("containers") or []]
    ph = phase(spec, init_statuses, statuses)
    if old.get("phase") in TERMINAL_PHASES:
        ph = old["phase"]  # a terminal phase never changes back
    sandbox = obs.sandbox
    ready = sandbox is not None and sandbox.state == READY
    ip = sandbox.ip if ready and sandbox is not None else ""
    if ip:
        out["podIP"], out["podIPs"] = ip, [{"ip": ip}]
    elif old.get("podIP"):  # a stopped pod keeps reporting the address it had
        out["podIP"], out["podIPs"] = old["podIP"], old.get("podIPs") or [{"ip": old["podIP"]}]
    elif ph in TERMINAL_PHASES and sandbox is not None and sandbox.ip:  # it finished before a report
        out["podIP"], out["podIPs"] = sandbox.ip, [{"ip": sandbox.ip}]
    out["phase"] = ph
    out["conditions"] = conditions(spec, list(old.get("conditions") or []), phase_=ph, sandbox_ready=ready,
                                   init_statuses=init_statuses, statuses=statuses, now=stamp)
    if init_specs:
        out["initContainerStatuses"] = init_statuses
    out["containerStatuses"] = statuses
    return out


def status_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch of `status` taking `current` to `desired` (owned keys that differ; {} if none)."""
    return {k: v for k, v in desired.items() if k in OWNED_KEYS and current.get(k) != v}
