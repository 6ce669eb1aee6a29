"""The Job controller (and the TTL-after-finished controller): the async shell around `core.jobs.decide`.

Reads two informers of the OBJECTS stream: Jobs, and pods (indexed by their controller's uid, and
orphans by namespace for adoption). Handlers only enqueue: a Job's change enqueues the Job, a pod's
change enqueues the Job that controls it (or, for an orphan, the Jobs whose selector it matches).
Creations and deletions are counted through `Expectations`, observed by the pod handler, so a
projection that lags behind our own writes never makes a sync create or delete twice.

`sync("ns/name")` re-reads the Job and its pods, adopts matching orphans and releases pods that no
longer match (ownerReferences patched at the revision read), asks `decide`, and performs the plan
in order: delete pods, create pods (generateName `<job>-`), write the status (compare-and-swap: a
409 requeues), record the Events on the Job (source "job-controller"), delete the Job
(Background propagation) when its ttlSecondsAfterFinished ran out, and requeue for the next time
something falls due (activeDeadlineSeconds, pod failure backoff, TTL). What is decided, and where
this departs from Kubernetes, is documented in core/jobs.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from bus.apiclient import ApiReplyError
from bus.informer import Informer, Obj
from bus.log import Op
from components.controllers.base import ControllerContext, Expectations, Requeue, Workers, object_key, revision_of, caught_up
from components.controllers.informers import BY_CONTROLLER, ORPHANS, controller_uid, orphan_namespace
from components.controllers.podcontrol import CreateFailed, ObjectControl
from core import jobs
from core.keys import KeyFilter
from core.kinds import Stream
from core.selectors import LabelSelector
from core.workload import claim, controller_key, controller_ref, is_deleting, labels_of, owner_reference, uid_of

log = structlog.get_logger("job-controller")

COMPONENT = "job-controller"
JOBS = "jobs.batch"
# Read at build time: tests make failed pods come back sooner than Kubernetes' 10 s.
POD_FAILURE_BACKOFF = jobs.POD_FAILURE_BACKOFF


class JobController(Workers):
    name = "job"

    def __init__(self, ctx: ControllerContext, *, workers: int = 4, backoff_base: float | None = None,
                 catch_up_timeout: float = 5.0) -> None:
        super().__init__(ctx, workers=workers, catch_up_timeout=catch_up_timeout)
        self.backoff_base = POD_FAILURE_BACKOFF if backoff_base is None else backoff_base
        self.recorder = ctx.recorder(COMPONENT)
        self.control = ObjectControl(self.api, self.recorder)
        self.expectations = Expectations(self.clock)
        inf = ctx.informers
        self.jobs = inf.informer(Stream.OBJECTS, KeyFilter("batch", "jobs"))
        self.pods = inf.informer(Stream.OBJECTS, KeyFilter("", "pods"))
        self.pods_by_owner = inf.index(self.pods, BY_CONTROLLER, controller_uid)
        self.orphans = inf.index(self.pods, ORPHANS, orphan_namespace)
        inf.add_handler(self.jobs, self._on_job)
        inf.add_handler(self.pods, self._on_pod)

    # -- lifecycle ------------------------------------------------------------------------------

    # -- handlers: enqueue only (and note what our expectations waited for) -----------------------
    def _on_job(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if op is Op.DELETED and old is not None:
            self.expectations.forget(object_key(old))
            return
        self.queue.enqueue_object(new)

    def _on_pod(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        for pod in (old, new):
            if pod is None:
                continue
            if controller_ref(pod) is None:
                if pod is new and op is not Op.DELETED:
                    self._enqueue_matching(pod)
                continue
            key = controller_key(pod, "Job")
            if key is None:
                continue
            if pod is new:
                if op is Op.ADDED:
                    self.expectations.creation_observed(key)
                if is_deleting(new) and not is_deleting(old):
                    self.expectations.deletion_observed(key, uid_of(new))
            elif op is Op.DELETED:
                self.expectations.deletion_observed(key, uid_of(pod))
            self.queue.enqueue(key, revision_of(pod))

    def _enqueue_matching(self, pod: Obj) -> None:
        ns = str((pod.get("metadata") or {}).get("namespace") or "")
        labels = labels_of(pod)
        for job in self.jobs.items():
            if (job.get("metadata") or {}).get("namespace") != ns:
                continue
            selector = _selector(job)
            if selector is not None and selector.matches(labels):
                self.queue.enqueue_object(job)

    # -- reconcile ------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        ns, _, name = key.rpartition("/")
        job = self.jobs.get(ns, name)
        if job is None:
            self.expectations.forget(key)
            return
        if is_deleting(job):
            return  # the garbage collector takes its pods
        now = self.clock.wall()
        pods: list[Obj] = []
        if jobs.finished(job) is None:
            pods = await self._claim(job)
        plan = jobs.decide(job, pods, now, backoff_base=self.backoff_base,
                           manage=self.expectations.satisfied(key))
        if plan.delete or plan.create or plan.status is not None or plan.delete_job:
            log.debug("job plan", job=key, create=len(plan.create), delete=len(plan.delete),
                      status=plan.status is not None, delete_job=plan.delete_job)
        await self._perform(key, job, plan)

    async def _claim(self, job: Obj) -> list[Obj]:
        ns = str(job["metadata"].get("namespace") or "")
        selector = _selector(job)
        if selector is None:
            return self.pods_by_owner.get(uid_of(job))
        candidates = self.pods_by_owner.get(uid_of(job)) + self.orphans.get(ns)
        c = claim(job, selector, candidates, can_adopt=True)
        owned = c.owned
        if c.adopt or c.release:
            fresh = await self._fresh(job)  # adopt only for the Job that still exists with this uid
            if fresh is not None:
                ref = owner_reference(job, "batch/v1", "Job")
                for pod in c.adopt:
                    adopted = await self.control.adopt(ref, pod)
                    if adopted is not None:
                        owned.append(adopted)
            for pod in c.release:
                await self.control.release(uid_of(job), pod)
        return owned

    async def _fresh(self, job: Obj) -> Obj | None:
        md = job["metadata"]
        try:
            fresh = await self.api.get(JOBS, str(md.get("namespace") or ""), str(md.get("name")))
        except ApiReplyError as e:
            if e.code == 404:
                return None
            raise
        return fresh if uid_of(fresh) == uid_of(job) and not is_deleting(fresh) else None

    async def _perform(self, key: str, job: Obj, plan: jobs.JobPlan) -> None:
        if plan.delete or plan.create:
            self.expectations.expect(key, creations=len(plan.create), deletions=[uid_of(p) for p in plan.delete])
        if plan.delete:
            results = await asyncio.gather(*(self.control.delete(job, p) for p in plan.delete),
                                           return_exceptions=True)
            for pod, r in zip(plan.delete, results):
                if r is not True:  # already gone, or failed: nothing to wait for
                    self.expectations.deletion_observed(key, uid_of(pod))
            errors = [r for r in results if isinstance(r, BaseException)]
            if errors:
                raise errors[0]
        if plan.create:
            ref = owner_reference(job, "batch/v1", "Job")
            made = await asyncio.gather(
                *(self.control.create(job, jobs.pod_body(job, ref, i)) for i in plan.create), return_exceptions=True)
            failures = [r for r in made if isinstance(r, BaseException)]
            if failures:
                self.expectations.creations_failed(key, len(failures))
                first = failures[0]
                if isinstance(first, CreateFailed):
                    raise Requeue(f"creating pods for {key} failed: {first}") from first
                raise first
        if plan.status is not None:
            body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": dict(job["metadata"]),
                    "spec": job.get("spec") or {}, "status": plan.status}
            try:
                written = await self.api.update(JOBS, str(job["metadata"].get("namespace") or ""),
                                                str(job["metadata"]["name"]), body, subresource="status")
            except ApiReplyError as e:
                if e.code == 404:
                    return
                if e.code == 409:
                    raise Requeue(f"job {key} changed under us") from e
                raise
            await self._caught_up(self.jobs, written)
            job = written
        for ev in plan.events:
            self.recorder.record(job, ev.type, ev.reason, ev.message)
        if plan.delete_job:
            await self._delete_job(key, job)
            return
        if plan.requeue is not None:
            self.queue.enqueue(key, after=max(plan.requeue, 0.001) + 0.001)

    async def _delete_job(self, key: str, job: Obj) -> None:
        """ttlSecondsAfterFinished ran out: delete the Job (only this incarnation), its dependents in
        the background, as the TTL-after-finished controller does."""
        md = job["metadata"]
        try:
            await self.api.delete(JOBS, str(md.get("namespace") or ""), str(md["name"]), uid=uid_of(job) or None,
                                  propagation="Background")
        except ApiReplyError as e:
            if e.code in (404, 409):
                return
            raise
        log.info("deleted finished job: its ttlSecondsAfterFinished ran out", job=key)

    async def _caught_up(self, informer: Informer, written: Any) -> None:
        await caught_up(informer, written, self.catch_up_timeout)


def _selector(job: Obj) -> LabelSelector | None:
    """The Job's selector; None when it has none (then it claims nothing it does not own)."""
    raw = (job.get("spec") or {}).get("selector")
    return LabelSelector.from_spec(raw) if raw else None


def build(ctx: ControllerContext, cfg: Any) -> JobController:
    return JobController(ctx, workers=int(getattr(cfg, "workers", 4)),
                         backoff_base=getattr(cfg, "job_pod_failure_backoff", None))
