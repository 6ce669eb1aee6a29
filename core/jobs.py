"""What the Job controller decides, and the Job's status. Pure: a Job and its pods in, a `JobPlan` out.

Kubernetes 1.32 semantics (pkg/controller/job), as far as they go here:

- Pods: at most `parallelism` active at once, never more than the completions still missing;
  NonIndexed counts successes, Indexed (`completionMode: Indexed`) gives each pod an index
  (annotation and label `batch.kubernetes.io/job-completion-index`, env `JOB_COMPLETION_INDEX`,
  hostname `<job>-<index>`) and is done when every index 0..completions-1 has succeeded
  (`status.completedIndexes`, "0-2,4" style). With `completions` unset one success suffices: no
  pod is started after it and the Job completes when the others are done.
- Failures: a Failed pod counts (restartPolicy Never; the pod stays). With restartPolicy OnFailure
  the kubelet restarts containers; as Kubernetes' `pastBackoffLimitOnFailure`, the container
  restarts of running pods count towards `backoffLimit` too. `failed > backoffLimit` →
  FailureTarget BackoffLimitExceeded. A replacement for a failed pod waits 10 s · 2^(n−1) (capped at
  10 min) after the last failure, n the failures since the last success (Kubernetes' pod failure
  backoff).
- `activeDeadlineSeconds` from `status.startTime` → FailureTarget DeadlineExceeded. Pods still active
  when a Job fails are deleted and counted as failed.
- 1.32's delayed terminal conditions: success first sets SuccessCriteriaMet (reason
  CompletionsReached), failure FailureTarget; active pods are deleted; once no pod is active or
  terminating the Job gets Complete (with completionTime) or Failed, with the same reason and
  message, and the Event (`Completed "Job completed"`, or the failure reason and message).
- `suspend`: active pods deleted (not counted as failures), condition Suspended; resuming resets
  `startTime` (the deadline counts from the resume).
- `ttlSecondsAfterFinished` (the TTL-after-finished controller): the Job is deleted that long after
  its terminal condition.

Deliberate departure: no `batch.kubernetes.io/job-tracking` pod finalizers. Counts come from the pods
present and never go below what the status already says; a terminated pod someone deletes before
another one finishes is therefore not counted again, and an active pod deleted by someone else is
replaced without counting as a failure. Pod failure policies and success policies are not
implemented (the API server stores them; this controller ignores them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.events import Event
from core.meta import rfc3339
from core.workload import (deletion_order, generate_name_prefix, is_active, is_deleting, is_ready, name_of,
                           parse_time, phase, pod_from_template)

Obj = dict[str, Any]

INDEX_KEY = "batch.kubernetes.io/job-completion-index"
INDEX_ENV = "JOB_COMPLETION_INDEX"
POD_FAILURE_BACKOFF = 10.0  # seconds: Kubernetes' DefaultJobPodFailureBackOff
MAX_POD_FAILURE_BACKOFF = 600.0  # MaxJobPodFailureBackOff

COMPLETE, FAILED = "Complete", "Failed"
SUCCESS_CRITERIA_MET, FAILURE_TARGET, SUSPENDED = "SuccessCriteriaMet", "FailureTarget", "Suspended"
BACKOFF_LIMIT_EXCEEDED = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("DeadlineExceeded", "Job was active longer than specified deadline")
COMPLETIONS_REACHED = ("CompletionsReached", "Reached expected number of succeeded pods")


@dataclass
class JobPlan:
    """What to do for one Job, in order: delete pods, create pods, write the status, record the
    events, delete the Job (TTL), look again after `requeue` seconds."""

    create: list[int | None] = field(default_factory=list)  # one entry per pod: its index (Indexed) or None
    delete: list[Obj] = field(default_factory=list)
    status: Obj | None = None  # the new status; None: unchanged
    events: list[Event] = field(default_factory=list)
    delete_job: bool = False
    requeue: float | None = None

    def after(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.requeue = seconds if self.requeue is None else min(self.requeue, seconds)


# -- small readers -----------------------------------------------------------------------------
def spec_of(job: Mapping[str, Any]) -> Obj:
    return dict(job.get("spec") or {})


def status_of(job: Mapping[str, Any]) -> Obj:
    return dict(job.get("status") or {})


def condition(status: Mapping[str, Any], type_: str) -> Obj | None:
    for c in status.get("conditions") or []:
        if c.get("type") == type_ and c.get("status") == "True":
            return dict(c)
    return None


def finished(job: Mapping[str, Any]) -> str | None:
    """"Complete" or "Failed" when the Job has that terminal condition, else None."""
    st = status_of(job)
    for t in (COMPLETE, FAILED):
        if condition(st, t) is not None:
            return t
    return None


def finish_time(job: Mapping[str, Any]) -> datetime | None:
    st = status_of(job)
    for t in (COMPLETE, FAILED):
        c = condition(st, t)
        if c is not None:
            return parse_time(c.get("lastTransitionTime")) or parse_time(st.get("completionTime"))
    return None


def is_indexed(job: Mapping[str, Any]) -> bool:
    return spec_of(job).get("completionMode") == "Indexed"


def pod_index(pod: Mapping[str, Any]) -> int | None:
    md = pod.get("metadata") or {}
    raw = (md.get("annotations") or {}).get(INDEX_KEY, (md.get("labels") or {}).get(INDEX_KEY))
    try:
        i = int(str(raw))
    except ValueError:
        return None
    return i if i >= 0 else None


def pod_finished_at(pod: Mapping[str, Any]) -> datetime | None:
    """When a terminated pod finished: its containers' latest finishedAt, else its Ready
    condition's last transition."""
    st = pod.get("status") or {}
    times = [parse_time(((s.get("state") or {}).get("terminated") or {}).get("finishedAt"))
             for s in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or [])]
    known = [t for t in times if t is not None]
    if known:
        return max(known)
    for c in st.get("conditions") or []:
        if c.get("type") == "Ready":
            return parse_time(c.get("lastTransitionTime"))
    return None


def container_restarts(pod: Mapping[str, Any]) -> int:
    st = pod.get("status") or {}
    return sum(int(s.get("restartCount") or 0)
               for s in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or []))


# -- completed indexes ("1,3-5") ------------------------------------------------------------------
def parse_indexes(text: Any, completions: int) -> set[int]:
    out: set[int] = set()
    if not isinstance(text, str):
        return out
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            a = int(lo)
            b = int(hi) if hi else a
        except ValueError:
            continue
        out.update(i for i in range(a, b + 1) if 0 <= i < completions)
    return out


def format_indexes(indexes: Iterable[int]) -> str:
    out: list[str] = []
    run: list[int] = []
    for i in sorted(set(indexes)):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [i]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


def _int(value: Any, default: int) -> int:
    return int(value) if isinstance(value, (int, float, str)) and str(value).lstrip("-").isdigit() else default


# -- the decision ------------------------------------------------------------------------------------
def _new_condition(type_: str, reason: str, message: str, now: datetime, status: str = "True") -> Obj:
    t = rfc3339(now)
    return {"type": type_, "status": status, "lastProbeTime": t, "lastTransitionTime": t,
            "reason": reason, "message": message}


def _set_condition(conditions: list[Obj], cond: Obj) -> list[Obj]:
    """Add or replace the condition of that type; a condition whose status, reason and message are
    unchanged keeps its times (Kubernetes only probes and transitions on a change)."""
    out = []
    replaced = False
    for c in conditions:
        if c.get("type") == cond["type"]:
            replaced = True
            if (c.get("status"), c.get("reason"), c.get("message")) == (cond["status"], cond["reason"], cond["message"]):
                out.append(c)
            else:
                out.append(cond)
        else:
            out.append(c)
    if not replaced:
        out.append(cond)
    return out


def backoff_remaining(pods: Sequence[Mapping[str, Any]], now: datetime, *, base: float = POD_FAILURE_BACKOFF,
                      cap: float = MAX_POD_FAILURE_BACKOFF) -> float:
    """Seconds before a replacement may be created after failures (0: now)."""
    last_success: datetime | None = None
    failures: list[datetime | None] = []
    for p in pods:
        if phase(p) == "Succeeded":
            t = pod_finished_at(p)
            if t is not None and (last_success is None or t > last_success):
                last_success = t
    for p in pods:
        if phase(p) == "Failed":
            t = pod_finished_at(p)
            if last_success is None or t is None or t > last_success:
                failures.append(t)
    known = [t for t in failures if t is not None]
    if not failures or not known or base <= 0:
        return 0.0
    delay = min(base * 2 ** (len(failures) - 1), cap)
    return max(0.0, (max(known) + timedelta(seconds=delay) - now).total_seconds())


def decide(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], now: datetime, *,
           backoff_base: float = POD_FAILURE_BACKOFF, manage: bool = True) -> JobPlan:
    """The plan for `job` given its pods (those it controls). `manage=False` (expectations not
    yet met) computes the status but neither creates nor deletes pods."""
    plan = JobPlan()
    spec, old = spec_of(job), status_of(job)
    if finished(job) is not None:
        _ttl(job, now, plan)
        return plan

    st: Obj = dict(old)
    conditions: list[Obj] = [dict(c) for c in old.get("conditions") or []]
    parallelism = max(_int(spec.get("parallelism"), 1), 0)
    completions_raw = spec.get("completions")
    completions = int(completions_raw) if completions_raw is not None else None
    backoff_limit = _int(spec.get("backoffLimit"), 6)
    indexed = is_indexed(job) and completions is not None
    restart_policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")

    active = [dict(p) for p in pods if is_active(p)]
    terminating: list[Mapping[str, Any]] = [p for p in pods if is_deleting(p) and phase(p) not in ("Succeeded", "Failed")]
    failed = max(int(old.get("failed") or 0), sum(1 for p in pods if phase(p) == "Failed"))
    done_indexes: set[int] = set()
    if indexed:
        assert completions is not None
        done_indexes = parse_indexes(old.get("completedIndexes"), completions)
        done_indexes |= {i for p in pods if phase(p) == "Succeeded" and (i := pod_index(p)) is not None
                         and i < completions}
        succeeded = max(int(old.get("succeeded") or 0), len(done_indexes))
    else:
        succeeded = max(int(old.get("succeeded") or 0), sum(1 for p in pods if phase(p) == "Succeeded"))

    # Suspension.
    suspended = bool(spec.get("suspend"))
    was_suspended = condition(old, SUSPENDED) is not None
    targeted = condition(old, FAILURE_TARGET) or condition(old, SUCCESS_CRITERIA_MET)
    if suspended and targeted is None:
        if manage:
            plan.delete.extend(deletion_order(active))
            terminating = [*terminating, *active]
            active = []
        if not was_suspended:
            conditions = _set_condition(conditions, _new_condition(SUSPENDED, "JobSuspended", "Job suspended", now))
            plan.events.append(Event("Normal", "Suspended", "Job suspended"))
    else:
        if was_suspended and not suspended:
            conditions = _set_condition(conditions, _new_condition(SUSPENDED, "JobResumed", "Job resumed", now,
                                                                   status="False"))
            plan.events.append(Event("Normal", "Resumed", "Job resumed"))
            st["startTime"] = rfc3339(now)
        if not st.get("startTime"):
            st["startTime"] = rfc3339(now)

    # Success or failure decided once (the target conditions), acted on until the pods are gone.
    if not suspended and targeted is None:
        start = parse_time(st.get("startTime"))
        deadline = spec.get("activeDeadlineSeconds")
        on_failure_restarts = (sum(container_restarts(p) for p in active if phase(p) in ("Pending", "Running"))
                               if restart_policy == "OnFailure" else 0)
        past_restarts = restart_policy == "OnFailure" and (
            on_failure_restarts > 0 if backoff_limit == 0 else on_failure_restarts >= backoff_limit)
        if completions is not None:
            success = (len(done_indexes) >= completions) if indexed else succeeded >= completions
        else:
            success = succeeded > 0 and not active
        if failed > backoff_limit or past_restarts:
            targeted = _new_condition(FAILURE_TARGET, *BACKOFF_LIMIT_EXCEEDED, now)
        elif deadline is not None and start is not None and now >= start + timedelta(seconds=int(deadline)):
            targeted = _new_condition(FAILURE_TARGET, *DEADLINE_EXCEEDED, now)
        elif success:
            targeted = _new_condition(SUCCESS_CRITERIA_MET, *COMPLETIONS_REACHED, now)
        elif deadline is not None and start is not None:
            plan.after((start + timedelta(seconds=int(deadline)) - now).total_seconds())
        if targeted is not None:
            conditions = _set_condition(conditions, targeted)

    if targeted is not None:
        if manage and active:
            if targeted["type"] == FAILURE_TARGET:
                failed += len(active)  # killed by the failure: Kubernetes counts them as failed
            plan.delete.extend(deletion_order(active))
            terminating = [*terminating, *active]
            active = []
        if not active and not terminating:
            terminal = COMPLETE if targeted["type"] == SUCCESS_CRITERIA_MET else FAILED
            conditions = _set_condition(conditions, _new_condition(terminal, targeted.get("reason", ""),
                                                                   targeted.get("message", ""), now))
            if terminal == COMPLETE:
                st["completionTime"] = rfc3339(now)
                if completions is not None and succeeded > completions:
                    plan.events.append(Event("Warning", "TooManySucceededPods",
                                             "Too many succeeded pods running after completion count reached"))
                plan.events.append(Event("Normal", "Completed", "Job completed"))
            else:
                plan.events.append(Event("Warning", str(targeted.get("reason", "")), str(targeted.get("message", ""))))
            if spec.get("ttlSecondsAfterFinished") is not None:
                plan.after(float(spec["ttlSecondsAfterFinished"]))
    elif not suspended and manage:
        _manage(plan, job, pods, active, now, parallelism=parallelism, completions=completions,
                succeeded=succeeded, indexed=indexed, done_indexes=done_indexes, backoff_base=backoff_base)
        deleted = {name_of(p) for p in plan.delete}
        active = [p for p in active if name_of(p) not in deleted]
        terminating = [*terminating, *plan.delete]

    st["active"] = len(active)
    st["ready"] = sum(1 for p in active if is_ready(p))
    st["succeeded"] = succeeded
    st["failed"] = failed
    st["terminating"] = len(terminating)
    if indexed:
        st["completedIndexes"] = format_indexes(done_indexes)
    st["conditions"] = conditions
    for key in ("active", "succeeded", "failed"):  # omitempty in Kubernetes' JobStatus
        if not st[key]:
            del st[key]
    if not st["conditions"]:
        del st["conditions"]
    if st != old:
        plan.status = st
    return plan


def _manage(plan: JobPlan, job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], active: list[Obj],
            now: datetime, *, parallelism: int, completions: int | None, succeeded: int, indexed: bool,
            done_indexes: set[int], backoff_base: float) -> None:
    """Create or delete pods so that the right number is active (manageJob)."""
    if indexed:
        assert completions is not None
        # Pods of indexes already done, or duplicates of an index, go first.
        seen: set[int] = set()
        extra: list[Obj] = []
        for p in sorted(active, key=lambda p: (not is_ready(p), name_of(p))):
            i = pod_index(p)
            if i is None or i >= completions or i in done_indexes or i in seen:
                extra.append(p)
            else:
                seen.add(i)
        extra_names = {name_of(p) for p in extra}
        keep = [p for p in active if name_of(p) not in extra_names]
        missing = [i for i in range(completions) if i not in done_indexes and i not in seen]
        want = min(parallelism, len(keep) + len(missing))
        surplus = deletion_order(keep)[:max(len(keep) - want, 0)]
        plan.delete.extend(extra + surplus)
        room = want - (len(keep) - len(surplus))
        if room > 0:
            wait = backoff_remaining(pods, now, base=backoff_base)
            if wait > 0:
                plan.after(wait)
            else:
                plan.create.extend(missing[:room])
        return
    if completions is None:
        want = len(active) if succeeded > 0 else parallelism  # after a success: no new pods
    else:
        want = max(min(parallelism, completions - succeeded), 0)
    if len(active) > want:
        plan.delete.extend(deletion_order(active)[:len(active) - want])
    elif len(active) < want:
        wait = backoff_remaining(pods, now, base=backoff_base)
        if wait > 0:
            plan.after(wait)
        else:
            plan.create.extend([None] * (want - len(active)))


def _ttl(job: Mapping[str, Any], now: datetime, plan: JobPlan) -> None:
    ttl = spec_of(job).get("ttlSecondsAfterFinished")
    if ttl is None:
        return
    at = finish_time(job)
    if at is None:
        return
    expires = at + timedelta(seconds=int(ttl))
    if now >= expires:
        plan.delete_job = True
    else:
        plan.after((expires - now).total_seconds())


# -- pods ------------------------------------------------------------------------------------------
def pod_body(job: Mapping[str, Any], owner_ref: Mapping[str, Any], index: int | None) -> Obj:
    """A pod for `job` (its template, generateName `<job>-` or `<job>-<index>-`, the controller
    reference); Indexed pods carry their index as Kubernetes puts it."""
    template = (spec_of(job).get("template") or {})
    name = name_of(job)
    if index is None:
        return pod_from_template(template, owner_ref, generate_name=generate_name_prefix(name))
    pod = pod_from_template(template, owner_ref, generate_name=generate_name_prefix(f"{name}-{index}"),
                            extra_labels={INDEX_KEY: str(index)})
    md = pod["metadata"]
    md["annotations"] = {**(md.get("annotations") or {}), INDEX_KEY: str(index)}
    pspec = pod["spec"]
    if not pspec.get("hostname"):
        pspec["hostname"] = f"{name}-{index}"[:63].rstrip("-.")
    env = {"name": INDEX_ENV, "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                         "fieldPath": f"metadata.annotations['{INDEX_KEY}']"}}}
    for key in ("containers", "initContainers"):
        for c in pspec.get(key) or []:
            if not any(e.get("name") == INDEX_ENV for e in c.get("env") or []):
                c["env"] = list(c.get("env") or []) + [dict(env)]
    return pod
