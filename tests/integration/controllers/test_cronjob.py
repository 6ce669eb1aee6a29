"""The CronJob controller against a real nats-server and API server, driven by a FakeClock: the
test advances time minute by minute and watches the Jobs appear. No Job controller runs, so a Job
stays active until the test writes a terminal condition into its status."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import pytest

from components.clock import FakeClock
from components.controllers.manager import ControllerManager, ManagerConfig
from core.cronsched import SCHEDULED_TIMESTAMP
from tests.integration.conftest import Plane, eventually
from tests.integration.controllers.conftest import get_or_none

pytestmark = pytest.mark.integration

NS = "default"
JOBS = "jobs.batch"
CRONJOBS = "cronjobs.batch"


@contextlib.asynccontextmanager
async def cronjob_manager(plane: Plane) -> AsyncIterator[FakeClock]:
    clock = FakeClock(wall=datetime.now(timezone.utc))
    m = ControllerManager(ManagerConfig(nats_url=plane.nats_url, prefix=plane.prefix, controllers=("cronjob",)),
                          clock=clock)
    await m.start()
    try:
        yield clock
    finally:
        await m.stop()
    assert m.failed is not None and not m.failed.done()


def next_minute(clock: FakeClock) -> None:
    """Advance the clock to one second past the next minute."""
    now = clock.wall()
    clock.advance(60 - now.second - now.microsecond / 1e6 + 1)


def cronjob(name: str, **spec: Any) -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": name}, "annotations": {"note": "from-template"}},
                "spec": {"template": {"spec": {"restartPolicy": "Never",
                                               "containers": [{"name": "c", "image": "busybox"}]}}}}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": "* * * * *", "jobTemplate": template, **spec}}


async def owned_jobs(plane: Plane, cj: dict[str, Any]) -> list[dict[str, Any]]:
    items = (await plane.api.list(JOBS, NS))["items"]
    return sorted((j for j in items if any(r.get("uid") == cj["metadata"]["uid"]
                                           for r in j["metadata"].get("ownerReferences") or [])
                   and not j["metadata"].get("deletionTimestamp")), key=lambda j: j["metadata"]["name"])


async def wait_jobs(plane: Plane, cj: dict[str, Any], n: int) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        jobs = await owned_jobs(plane, cj)
        return jobs if len(jobs) == n else None
    result: list[dict[str, Any]] = await eventually(check, timeout=15, what=f"{n} jobs")
    return result


async def finish(plane: Plane, job: dict[str, Any], type_: str = "Complete") -> None:
    current = await plane.api.get(JOBS, NS, job["metadata"]["name"])
    t = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    status: dict[str, Any] = {"startTime": current["metadata"]["creationTimestamp"], "conditions": [
        {"type": type_, "status": "True", "lastProbeTime": t, "lastTransitionTime": t}]}
    if type_ == "Complete":
        status["completionTime"] = t
        status["succeeded"] = 1
    else:
        status["failed"] = 1
    await plane.api.update(JOBS, NS, job["metadata"]["name"], {**current, "status": status}, subresource="status")


async def events_of(plane: Plane, name: str) -> list[tuple[str, str]]:
    items = (await plane.api.list("events", NS))["items"]
    return [(e.get("reason", ""), e.get("message", "")) for e in items
            if (e.get("involvedObject") or {}).get("name") == name]


async def test_every_minute_creates_a_job(plane: Plane) -> None:
    async with cronjob_manager(plane) as clock:
        cj = await plane.api.create(CRONJOBS, NS, cronjob("tick"))
        next_minute(clock)
        [job] = await wait_jobs(plane, cj, 1)
        scheduled = datetime.fromisoformat(job["metadata"]["annotations"][SCHEDULED_TIMESTAMP].replace("Z", "+00:00"))
        assert scheduled.second == 0 and job["metadata"]["name"] == f"tick-{int(scheduled.timestamp()) // 60}"
        assert job["metadata"]["labels"]["app"] == "tick"
        assert job["metadata"]["annotations"]["note"] == "from-template"
        ref = job["metadata"]["ownerReferences"][0]
        assert ref["kind"] == "CronJob" and ref["controller"] is True and ref["uid"] == cj["metadata"]["uid"]

        async def status() -> dict[str, Any] | None:
            c = await plane.api.get(CRONJOBS, NS, "tick")
            return c if (c.get("status") or {}).get("active") else None
        st = (await eventually(status, what="status.active"))["status"]
        assert [a["name"] for a in st["active"]] == [job["metadata"]["name"]]
        assert st["active"][0]["uid"] == job["metadata"]["uid"]
        assert st["lastScheduleTime"] == job["metadata"]["annotations"][SCHEDULED_TIMESTAMP]

        next_minute(clock)
        jobs = await wait_jobs(plane, cj, 2)
        evs = await events_of(plane, "tick")
        assert all(("SuccessfulCreate", f"Created job {j['metadata']['name']}") in evs for j in jobs)


async def test_forbid_skips_while_a_job_is_active(plane: Plane) -> None:
    async with cronjob_manager(plane) as clock:
        cj = await plane.api.create(CRONJOBS, NS, cronjob("forbid", concurrencyPolicy="Forbid"))
        next_minute(clock)
        [first] = await wait_jobs(plane, cj, 1)

        async def active() -> bool:
            c = await plane.api.get(CRONJOBS, NS, "forbid")
            return bool((c.get("status") or {}).get("active"))
        await eventually(active, what="status.active")
        next_minute(clock)

        async def refused() -> bool:
            return any(r == "JobAlreadyActive" for r, _ in await events_of(plane, "forbid"))
        await eventually(refused, what="JobAlreadyActive event")
        assert len(await owned_jobs(plane, cj)) == 1

        await finish(plane, first)
        # The run skipped at the last minute is still due (no startingDeadlineSeconds): it starts
        # as soon as the first Job is seen completed.
        [_, second] = await wait_jobs(plane, cj, 2)

        async def saw_completed() -> dict[str, Any] | None:
            c = await plane.api.get(CRONJOBS, NS, "forbid")
            st = c.get("status") or {}
            return c if [a["name"] for a in st.get("active") or []] == [second["metadata"]["name"]] \
                and st.get("lastSuccessfulTime") else None
        await eventually(saw_completed, what="the completed job leaves status.active")
        assert ("SawCompletedJob", f"Saw completed job: {first['metadata']['name']}, status: Complete") \
            in await events_of(plane, "forbid")


async def test_replace_deletes_the_active_job(plane: Plane) -> None:
    async with cronjob_manager(plane) as clock:
        cj = await plane.api.create(CRONJOBS, NS, cronjob("swap", concurrencyPolicy="Replace"))
        next_minute(clock)
        [first] = await wait_jobs(plane, cj, 1)

        async def active() -> bool:
            c = await plane.api.get(CRONJOBS, NS, "swap")
            return bool((c.get("status") or {}).get("active"))
        await eventually(active, what="status.active")
        next_minute(clock)

        async def replaced() -> list[dict[str, Any]] | None:
            jobs = await owned_jobs(plane, cj)
            return jobs if len(jobs) == 1 and jobs[0]["metadata"]["uid"] != first["metadata"]["uid"] else None
        [second] = await eventually(replaced, what="the job replaced")
        gone = await get_or_none(plane.api, JOBS, NS, first["metadata"]["name"])
        assert gone is None or gone["metadata"].get("deletionTimestamp")

        async def only_second() -> bool:
            c = await plane.api.get(CRONJOBS, NS, "swap")
            return [a["uid"] for a in (c.get("status") or {}).get("active") or []] == [second["metadata"]["uid"]]
        await eventually(only_second, what="status.active holds only the new job")
        assert ("SuccessfulDelete", f"Deleted job {first['metadata']['name']}") in await events_of(plane, "swap")


async def test_history_limits_prune_the_oldest_finished_jobs(plane: Plane) -> None:
    async with cronjob_manager(plane) as clock:
        cj = await plane.api.create(CRONJOBS, NS, cronjob("hist", successfulJobsHistoryLimit=2,
                                                          failedJobsHistoryLimit=1))
        made: list[dict[str, Any]] = []
        for i, outcome in enumerate(("Complete", "Failed", "Complete", "Failed", "Complete")):
            next_minute(clock)

            async def new_job() -> dict[str, Any] | None:
                names = {m["metadata"]["name"] for m in made}
                fresh = [j for j in await owned_jobs(plane, cj) if j["metadata"]["name"] not in names]
                return fresh[0] if fresh else None
            job = await eventually(new_job, timeout=15, what=f"job {i}")
            made.append(job)
            await finish(plane, job, outcome)

        def name(i: int) -> str:
            return str(made[i]["metadata"]["name"])

        async def pruned() -> list[str] | None:
            names = [j["metadata"]["name"] for j in await owned_jobs(plane, cj)]
            return names if sorted(names) == sorted([name(2), name(3), name(4)]) else None
        await eventually(pruned, what="only the newest finished jobs kept")
        evs = await events_of(plane, "hist")
        for i in (0, 1):
            assert ("SuccessfulDelete", f"Deleted job {name(i)}") in evs


async def test_suspended_cronjob_schedules_nothing(plane: Plane) -> None:
    async with cronjob_manager(plane) as clock:
        cj = await plane.api.create(CRONJOBS, NS, cronjob("paused", suspend=True))
        next_minute(clock)
        next_minute(clock)
        await plane.api.patch(CRONJOBS, NS, "paused", {"metadata": {"labels": {"touched": "yes"}}})

        async def seen() -> bool:
            return (await plane.api.get(CRONJOBS, NS, "paused"))["metadata"].get("labels", {}).get("touched") == "yes"
        await eventually(seen)
        assert await owned_jobs(plane, cj) == []
