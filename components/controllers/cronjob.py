"""The CronJob controller: the async shell around `core.cronsched.decide`.

Reads two informers of the OBJECTS stream: CronJobs, and Jobs (indexed by their controller's uid).
Handlers only enqueue: a CronJob's change enqueues it, a Job's change enqueues the CronJob that
controls it. Time is `ctx.clock.wall()`; after each sync the key is requeued for the next schedule
time (`queue.enqueue(key, after=…)`), so with a FakeClock the controller runs by advancing it.

`sync("ns/name")` re-reads the CronJob and its Jobs, confirms with a GET that Jobs in
`status.active` the projection does not hold are really gone, asks `decide`, and performs the
plan: delete the active Jobs (Replace), create the due Job (named for its scheduled minute, so a
retry finds the Job it made: 409 AlreadyExists is "made already"), write the status
(compare-and-swap; a 409 requeues), delete finished Jobs beyond the history limits, and record
the Events on the CronJob (source "cronjob-controller"). Job deletions use Background
propagation: the garbage collector takes their pods.
"""

from __future__ import annotations

from typing import Any

import structlog

from bus.apiclient import ApiReplyError
from bus.informer import Informer, Obj
from bus.log import Op
from components.controllers.base import ControllerContext, Requeue, Workers, revision_of, caught_up
from components.controllers.informers import BY_CONTROLLER, controller_uid
from core import cronsched
from core.keys import KeyFilter
from core.kinds import Stream
from core.workload import controller_key, controller_ref, name_of, uid_of

log = structlog.get_logger("cronjob-controller")

COMPONENT = "cronjob-controller"
JOBS = "jobs.batch"
CRONJOBS = "cronjobs.batch"


class CronJobController(Workers):
    name = "cronjob"

    def __init__(self, ctx: ControllerContext, *, workers: int = 4, catch_up_timeout: float = 5.0) -> None:
        super().__init__(ctx, workers=workers, catch_up_timeout=catch_up_timeout)
        self.recorder = ctx.recorder(COMPONENT)
        inf = ctx.informers
        self.cronjobs = inf.informer(Stream.OBJECTS, KeyFilter("batch", "cronjobs"))
        self.jobs = inf.informer(Stream.OBJECTS, KeyFilter("batch", "jobs"))
        self.jobs_by_owner = inf.index(self.jobs, BY_CONTROLLER, controller_uid)
        inf.add_handler(self.cronjobs, self._on_cronjob)
        inf.add_handler(self.jobs, self._on_job)


    # -- handlers: enqueue only -------------------------------------------------------------------
    def _on_cronjob(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if new is not None:
            self.queue.enqueue_object(new)

    def _on_job(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        for job in (old, new):
            key = controller_key(job, "CronJob") if job is not None else None
            if job is not None and key is not None:
                self.queue.enqueue(key, revision_of(job))

    # -- reconcile --------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        ns, _, name = key.rpartition("/")
        cj = self.cronjobs.get(ns, name)
        if cj is None:
            return
        jobs = self.jobs_by_owner.get(uid_of(cj))
        held = {uid_of(j) for j in jobs}
        missing = []
        for ref in (cj.get("status") or {}).get("active") or []:
            if ref.get("uid") not in held and await self._gone(ns, str(ref.get("name", "")), str(ref.get("uid", ""))):
                missing.append(str(ref.get("uid", "")))
        now = self.clock.wall()
        plan = cronsched.decide(cj, jobs, now, missing=missing)
        await self._perform(key, cj, plan)

    async def _gone(self, ns: str, name: str, uid: str) -> bool:
        try:
            job = await self.api.get(JOBS, ns, name)
        except ApiReplyError as e:
            if e.code == 404:
                return True
            raise
        return uid_of(job) != uid

    async def _perform(self, key: str, cj: Obj, plan: cronsched.CronPlan) -> None:
        ns = str(cj["metadata"].get("namespace") or "")
        status = plan.status
        for ref in plan.replace:
            await self._delete_job(cj, ns, str(ref.get("name", "")), str(ref.get("uid", "")) or None)
        if plan.create is not None:
            made = await self._create_job(cj, ns, plan.create)
            if made is None:
                status = None  # someone else's Job of that name: leave the status alone
            elif status is not None:
                want = name_of(made)
                status["active"] = [cronsched.job_ref(made) if r.get("name") == want else r
                                    for r in status.get("active") or []]
        for ev in plan.events:
            self.recorder.record(cj, ev.type, ev.reason, ev.message)
        if status is not None:
            body = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": dict(cj["metadata"]),
                    "spec": cj.get("spec") or {}, "status": status}
            try:
                written = await self.api.update(CRONJOBS, ns, name_of(cj), body, subresource="status")
            except ApiReplyError as e:
                if e.code == 404:
                    return
                if e.code == 409:
                    raise Requeue(f"cronjob {key} changed under us") from e
                raise
            await self._caught_up(self.cronjobs, written)
        for job in plan.prune:
            await self._delete_job(cj, ns, name_of(job), uid_of(job) or None)
        if plan.requeue is not None:
            self.queue.enqueue(key, after=plan.requeue)

    async def _create_job(self, cj: Obj, ns: str, body: Obj) -> Obj | None:
        try:
            made = await self.api.create(JOBS, ns, body)
        except ApiReplyError as e:
            if e.code != 409:
                self.recorder.record(cj, "Warning", "FailedCreate",
                                     f"Error creating job: {e.status.get('message', e)}")
                raise Requeue(f"creating job {body['metadata']['name']} failed: {e}") from e
            try:
                existing = await self.api.get(JOBS, ns, str(body["metadata"]["name"]))
            except ApiReplyError as e2:
                raise Requeue(f"job {body['metadata']['name']} exists but cannot be read") from e2
            ref = controller_ref(existing)
            if ref is None or ref.get("uid") != uid_of(cj):
                return None
            await self._caught_up(self.jobs, existing)
            return existing
        self.recorder.record(cj, "Normal", "SuccessfulCreate", f"Created job {name_of(made)}")
        await self._caught_up(self.jobs, made)
        return made

    async def _delete_job(self, cj: Obj, ns: str, name: str, uid: str | None) -> None:
        try:
            await self.api.delete(JOBS, ns, name, uid=uid, propagation="Background")
        except ApiReplyError as e:
            if e.code in (404, 409):
                return
            self.recorder.record(cj, "Warning", "FailedDelete", f"Deleted job: {e.status.get('message', e)}")
            raise
        self.recorder.record(cj, "Normal", "SuccessfulDelete", f"Deleted job {name}")

    async def _caught_up(self, informer: Informer, written: Any) -> None:
        await caught_up(informer, written, self.catch_up_timeout)


def build(ctx: ControllerContext, cfg: Any) -> CronJobController:
    return CronJobController(ctx, workers=int(getattr(cfg, "workers", 4)))

