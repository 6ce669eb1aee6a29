"""The kubelet's state machine for one pod: what to do next. Pure: no I/O, no clock of its own.

`decide(pod, obs, memory, now, policy)` looks at the pod as the API holds it (None once it is gone
from the log), what the runtime shows for it (`PodObs`: sandboxes and every container attempt)
and what the kubelet remembers between syncs (`Memory`: back-off entries and the reason each
container waits), and returns a `Plan`: actions for the async shell to perform, updates to the
memory, Events to record, and when to look again. The shell performs the actions, observes the
runtime again and calls `decide` again until a plan has no actions (see `node.py`).

The order mirrors Kubernetes' computePodActions: a pod being deleted is killed, then removed, then
its deletion completed; a pod without a ready sandbox gets one (after killing what ran in the old
one); init containers run one at a time, in order, each to success; then every app container runs,
restarted as the restart policy says with CrashLoopBackOff between attempts. Containers that
failed to start (image, config, create errors) are retried with the same back-off. The last
terminated attempt of each container is kept (for `logs --previous`), older ones are removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import orjson

from components.kubelet.backoff import Backoff, BackoffPolicy
from core.podstatus import (CONFIG_ERROR, CREATE_ERROR, CREATED, CRASH_LOOP, ERR_IMAGE_NEVER_PULL, ERR_IMAGE_PULL,
                            EXITED, IMAGE_PULL_BACKOFF, PENDING, RUNNING, TERMINAL_PHASES, ContainerObs, PodObs,
                            SandboxObs, Waiting)

Pod = Mapping[str, Any]

# Failures that happen before a container exists: retried with the "start:<name>" back-off.
PRESTART_REASONS = frozenset({ERR_IMAGE_PULL, IMAGE_PULL_BACKOFF, ERR_IMAGE_NEVER_PULL, CONFIG_ERROR, CREATE_ERROR})
SANDBOX_KEY = "sandbox"


# -- actions -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreateSandbox:
    """Prepare volumes, allocate the pod IP, create and start the sandbox."""

    attempt: int


@dataclass(frozen=True)
class StartContainer:
    """Resolve image, env and mounts; create the container in `sandbox`; start it."""

    name: str
    init: bool
    attempt: int
    sandbox: SandboxObs


@dataclass(frozen=True)
class KillContainer:
    container: ContainerObs
    grace: int
    message: str = ""  # the Killing Event's message; none when empty


@dataclass(frozen=True)
class StopSandbox:
    sandbox: SandboxObs


@dataclass(frozen=True)
class Remove:
    """Remove a stopped container or sandbox from the runtime."""

    id: str
    sandbox: bool = False


@dataclass(frozen=True)
class Finalize:
    """Nothing of the pod is left in the runtime: release its IP and directories; when `delete`,
    complete its deletion in the API (grace 0, uid precondition)."""

    delete: bool


Action = Union[CreateSandbox, StartContainer, KillContainer, StopSandbox, Remove, Finalize]


@dataclass(frozen=True)
class Note:
    """An Event to record about the pod."""

    type: str
    reason: str
    message: str
    field_path: str = ""


@dataclass
class Memory:
    """What the kubelet keeps about a pod between syncs. Lost on restart, as in Kubernetes: a
    restarted kubelet starts every back-off afresh."""

    backoff: dict[str, Backoff] = field(default_factory=dict)
    reasons: dict[str, Waiting] = field(default_factory=dict)
    rejected: Waiting | None = None
    admitted: bool = False
    grace: int = 0  # for killing the containers of a pod that vanished from the log


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...] = ()
    reasons: Mapping[str, Waiting | None] = field(default_factory=dict)  # None clears an entry
    backoff: Mapping[str, Backoff] = field(default_factory=dict)
    notes: tuple[Note, ...] = ()
    requeue: float | None = None  # seconds until the pod should be looked at again


def remember(mem: Memory, plan: Plan) -> None:
    """Fold a plan's memory updates into `mem`."""
    for name, w in plan.reasons.items():
        if w is None:
            mem.reasons.pop(name, None)
        else:
            mem.reasons[name] = w
    mem.backoff.update(plan.backoff)


# -- helpers -------------------------------------------------------------------------------------
def spec_hash(container: Mapping[str, Any]) -> str:
    """A stable hash of a container's spec: a running container whose hash differs is restarted."""
    return hashlib.sha256(orjson.dumps(container, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def go_duration(seconds: float) -> str:
    """Go's time.Duration text: 10s, 1m20s, 5m0s, 500ms."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    total = round(seconds, 3)
    minutes, secs = divmod(total, 60)
    s = f"{secs:g}s"
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return f"{int(hours)}h{int(minutes)}m{s}"
    return f"{int(minutes)}m{s}" if minutes else s


def pod_ref(pod: Pod) -> str:
    md = pod.get("metadata") or {}
    return f"{md.get('name', '')}_{md.get('namespace', '')}({md.get('uid', '')})"


def field_path(name: str, init: bool) -> str:
    return f"spec.{'initContainers' if init else 'containers'}{{{name}}}"


def should_restart(restart_policy: str, exit_code: int | None) -> bool:
    if restart_policy == "Never":
        return False
    if restart_policy == "OnFailure":
        return exit_code != 0
    return True


def next_attempt(obs: PodObs, name: str, init: bool) -> int:
    """One more than the newest attempt that ran (a leftover never started is replaced, not counted)."""
    attempts = [a for a in obs.attempts(name, init=init) if a.state != CREATED]
    return attempts[0].attempt + 1 if attempts else 0


def grace_of(pod: Pod) -> int:
    md = pod.get("metadata") or {}
    g = md.get("deletionGracePeriodSeconds")
    if g is None:
        g = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
    try:
        return max(int(g), 0)
    except (TypeError, ValueError):
        return 30


def pod_done(spec: Mapping[str, Any], obs: PodObs) -> bool:
    """Will nothing of this pod run again? (Never: every app container ran, or an init container
    failed; OnFailure: every app container succeeded; Always: never done.)"""
    restart = spec.get("restartPolicy") or "Always"
    if restart == "Always":
        return False
    if restart == "Never":
        for c in spec.get("initContainers") or []:
            last = obs.latest(c.get("name", ""), init=True)
            if last is not None and last.exited and last.exit_code != 0:
                return True
    apps = spec.get("containers") or []
    for c in apps:
        last = obs.latest(c.get("name", ""), init=False)
        if last is None or not last.exited:
            return False
        if restart == "OnFailure" and last.exit_code != 0:
            return False
    return bool(apps)


def _garbage(obs: PodObs) -> list[Action]:
    """Exited attempts older than the previous one of each container, and old stopped sandboxes."""
    out: list[Action] = []
    groups: dict[tuple[str, bool], list[ContainerObs]] = {}
    for c in obs.containers:
        groups.setdefault((c.name, c.init), []).append(c)
    for attempts in groups.values():
        attempts.sort(key=lambda c: c.attempt, reverse=True)
        kept_previous = False
        for c in attempts[1:]:
            if c.state != EXITED:
                continue
            if not kept_previous:
                kept_previous = True
                continue
            out.append(Remove(c.id))
    newest = obs.sandbox
    for s in obs.sandboxes:
        if s is not newest and s.state == EXITED:
            out.append(Remove(s.id, sandbox=True))
    return out


# -- the decision --------------------------------------------------------------------------------
def decide(pod: Pod | None, obs: PodObs, mem: Memory, now: float, policy: BackoffPolicy) -> Plan:
    if pod is None:
        return _gone(obs, mem)
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    if md.get("deletionTimestamp"):
        return _terminate(obs, grace_of(pod), delete=True)
    if mem.rejected is not None or (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
        return _stop(obs, grace_of(pod))
    sandbox = obs.sandbox
    if sandbox is None or sandbox.state == EXITED:
        if sandbox is not None and pod_done(spec, obs):
            return _stop(obs, grace_of(pod))
        return _new_sandbox(pod, obs, mem, now, policy)
    if sandbox.state == PENDING:
        return Plan(requeue=max(0.0, sandbox.ready_at - now))
    return _containers(pod, obs, sandbox, mem, now, policy)


def _kill_all(obs: PodObs, grace: int, message: bool) -> list[Action]:
    out: list[Action] = []
    for c in obs.running():
        out.append(KillContainer(c, grace, f"Stopping container {c.name}" if message else ""))
    for s in obs.sandboxes:
        if s.state != EXITED:
            out.append(StopSandbox(s))
    return out


def _gone(obs: PodObs, mem: Memory) -> Plan:
    """The pod left the log (force delete, or its deletion completed): clear out the runtime."""
    actions = _kill_all(obs, mem.grace, message=False)
    actions += [Remove(c.id) for c in obs.containers] + [Remove(s.id, sandbox=True) for s in obs.sandboxes]
    return Plan(actions=(*actions, Finalize(delete=False)))


def _terminate(obs: PodObs, grace: int, *, delete: bool) -> Plan:
    """Graceful deletion: stop every container (SIGTERM, SIGKILL after `grace`), remove, finish."""
    actions = _kill_all(obs, grace, message=True)
    actions += [Remove(c.id) for c in obs.containers] + [Remove(s.id, sandbox=True) for s in obs.sandboxes]
    return Plan(actions=(*actions, Finalize(delete=delete)))


def _stop(obs: PodObs, grace: int) -> Plan:
    """A finished pod: nothing runs any more; the sandbox goes (its IP is released), the exited
    containers stay for their logs until the pod is deleted."""
    return Plan(actions=tuple(_kill_all(obs, grace, message=True) + _garbage(obs)))


def _new_sandbox(pod: Pod, obs: PodObs, mem: Memory, now: float, policy: BackoffPolicy) -> Plan:
    entry = mem.backoff.get(SANDBOX_KEY)
    wait = policy.waiting(entry, entry.updated, now) if entry is not None else 0.0
    if wait > 0:
        return Plan(requeue=wait)
    kills: list[Action] = [KillContainer(c, grace_of(pod), "Pod sandbox changed, it will be killed and re-created.")
                           for c in obs.running()]
    if kills:
        return Plan(actions=tuple(kills))
    old = obs.sandbox
    removes: list[Action] = [Remove(s.id, sandbox=True) for s in obs.sandboxes if s.state == EXITED]
    attempt = old.attempt + 1 if old is not None else 0
    return Plan(actions=(*removes, CreateSandbox(attempt)))


@dataclass
class _Builder:
    pod: Pod
    obs: PodObs
    mem: Memory
    now: float
    policy: BackoffPolicy
    actions: list[Action] = field(default_factory=list)
    reasons: dict[str, Waiting | None] = field(default_factory=dict)
    backoff: dict[str, Backoff] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    requeue: float | None = None

    def later(self, seconds: float) -> None:
        self.requeue = seconds if self.requeue is None else min(self.requeue, seconds)

    def wait(self, name: str, w: Waiting, note: Note | None) -> None:
        if self.mem.reasons.get(name) != w:
            self.reasons[name] = w
            if note is not None:
                self.notes.append(note)

    def plan(self) -> Plan:
        return Plan(tuple(self.actions), self.reasons, self.backoff, tuple(self.notes), self.requeue)

    def start(self, spec_c: Mapping[str, Any], *, init: bool, sandbox: SandboxObs, latest: ContainerObs | None,
              restarting: bool) -> None:
        """Start `spec_c` now, or record why it waits (back-off) and when to look again."""
        name = str(spec_c.get("name", ""))
        fp = field_path(name, init)
        cached = self.mem.reasons.get(name)
        entry = self.mem.backoff.get(f"start:{name}")
        if cached is not None and cached.reason in PRESTART_REASONS and entry is not None:
            wait = self.policy.waiting(entry, entry.updated, self.now)
            if wait > 0:
                if cached.reason in (ERR_IMAGE_PULL, IMAGE_PULL_BACKOFF):
                    half = entry.updated + entry.delay / 2 - self.now
                    if cached.reason == ERR_IMAGE_PULL and half > 0:
                        self.later(half)  # show ErrImagePull a while, then ImagePullBackOff
                        return
                    image = str(spec_c.get("image", ""))
                    hint = cached.message.rsplit("; ", 1)[1] if "; " in cached.message else ""
                    msg = f'Back-off pulling image "{image}"' + (f"; {hint}" if hint else "")
                    self.wait(name, Waiting(IMAGE_PULL_BACKOFF, msg),
                              Note("Normal", "BackOff", f'Back-off pulling image "{image}"', fp))
                self.later(wait)
                return
        if restarting and latest is not None:
            key = f"crash:{name}"
            crash = self.mem.backoff.get(key)
            finished = latest.finished_at if latest.finished_at is not None else self.now
            wait = self.policy.waiting(crash, finished, self.now)
            if wait > 0 and crash is not None:
                msg = (f"back-off {go_duration(crash.delay)} restarting failed container={name} "
                       f"pod={pod_ref(self.pod)}")
                note = Note("Warning", "BackOff", f"Back-off restarting failed container {name} in pod "
                            f"{pod_ref(self.pod)}", fp)
                self.wait(name, Waiting(CRASH_LOOP, msg), note)
                self.later(wait)
                return
            self.backoff[key] = self.policy.next(crash, self.now)
        self.actions.append(StartContainer(name, init, next_attempt(self.obs, name, init), sandbox))


def _containers(pod: Pod, obs: PodObs, sandbox: SandboxObs, mem: Memory, now: float, policy: BackoffPolicy) -> Plan:
    spec = pod.get("spec") or {}
    restart = spec.get("restartPolicy") or "Always"
    b = _Builder(pod, obs, mem, now, policy)
    b.actions += _garbage(obs)
    if pod_done(spec, obs):
        b.actions += _kill_all(obs, grace_of(pod), message=True)
        return b.plan()
    gen = sandbox.attempt

    def current(name: str, init: bool) -> ContainerObs | None:
        a = [c for c in obs.attempts(name, init=init) if c.sandbox_attempt == gen]
        return a[0] if a else None

    # Leftovers: created but never started (a kubelet stopped between create and start).
    for c in obs.containers:
        if c.state == CREATED:
            b.actions.append(Remove(c.id))
    fresh = {c.id for c in obs.containers if c.state == CREATED}

    for spec_c in spec.get("initContainers") or []:
        name = str(spec_c.get("name", ""))
        last = current(name, True)
        if last is not None and last.id in fresh:
            last = None
        if last is not None and last.succeeded:
            continue
        if last is not None and last.state == RUNNING:
            return b.plan()  # wait for it to finish
        if last is None:
            b.start(spec_c, init=True, sandbox=sandbox, latest=None, restarting=False)
        elif restart == "Never":
            pass  # a failed init container fails the pod (the phase says Failed)
        else:
            b.start(spec_c, init=True, sandbox=sandbox, latest=last, restarting=True)
        return b.plan()

    for spec_c in spec.get("containers") or []:
        name = str(spec_c.get("name", ""))
        last = current(name, False)
        if last is not None and last.id in fresh:
            last = None
        want = spec_hash(spec_c)
        if last is not None and last.state == RUNNING:
            if last.hash and last.hash != want:
                b.actions.append(KillContainer(last, grace_of(pod),
                                               f"Container {name} definition changed, will be restarted"))
            continue
        if last is None:
            b.start(spec_c, init=False, sandbox=sandbox, latest=None, restarting=False)
        elif last.hash and last.hash != want:  # stopped for a spec change: starts again, whatever the policy
            b.start(spec_c, init=False, sandbox=sandbox, latest=None, restarting=False)
        elif should_restart(restart, last.exit_code):
            b.start(spec_c, init=False, sandbox=sandbox, latest=last, restarting=True)
    return b.plan()

