"""The Job controller against a real nats-server and API server, pods run on simulated nodes whose
containers exit as their `sim.jetkube.io/run-seconds` / `exit-code` annotations say."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import components.controllers.job as job_module
from components.kubelet.service import Kubelet
from components.kubelet.sim_runtime import EXIT_CODE, RUN_SECONDS
from tests.integration.conftest import Plane, eventually
from tests.integration.controllers.conftest import controllers, get_or_none, pods_of, sim_cluster

pytestmark = pytest.mark.integration

JOBS = "jobs.batch"
NS = "default"


@contextlib.asynccontextmanager
async def cluster(plane: Plane, root: Path, *, nodes: int = 2) -> AsyncIterator[Kubelet]:
    """`sim_cluster` whose simulated exits wake the kubelet at once (`SimRuntime.watch`, wired here
    in case the kubelet service does not wire it itself)."""
    async with sim_cluster(plane, root, nodes=nodes) as kubelet:
        for agent in kubelet.agents.values():
            watch = getattr(agent.runtime, "watch", None)
            if watch is not None:
                watch(lambda uid, n=agent.name: kubelet.queue.add((n, uid)))
        yield kubelet


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replacements for failed pods wait 0.2 s · 2^n instead of Kubernetes' 10 s · 2^n."""
    monkeypatch.setattr(job_module, "POD_FAILURE_BACKOFF", 0.2)


def job_body(name: str, *, run: float = 0.3, code: int = 0, restart: str = "Never", **spec: Any) -> dict[str, Any]:
    template = {"metadata": {"annotations": {RUN_SECONDS: str(run), EXIT_CODE: str(code)}},
                "spec": {"restartPolicy": restart, "containers": [{"name": "c", "image": "busybox"}]}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {**spec, "template": template}}


def cond(job: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
    for c in ((job or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == type_ and c.get("status") == "True":
            return dict(c)
    return None


async def events_of(plane: Plane, name: str) -> list[tuple[str, str]]:
    items = (await plane.api.list("events", NS))["items"]
    return [(e.get("reason", ""), e.get("message", "")) for e in items
            if (e.get("involvedObject") or {}).get("name") == name and (e.get("involvedObject") or {}).get("kind") == "Job"]


def non_terminal(pods: list[dict[str, Any]]) -> int:
    return sum(1 for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
               and not p["metadata"].get("deletionTimestamp"))


async def test_job_with_three_completions_two_at_a_time_completes(plane: Plane, tmp_path: Path) -> None:
    api = plane.api
    async with cluster(plane, tmp_path, nodes=2), controllers(plane, "job"):
        job = await api.create(JOBS, NS, job_body("three", completions=3, parallelism=2, run=0.5))
        selector = f"batch.kubernetes.io/controller-uid={job['metadata']['uid']}"
        most = 0

        async def complete() -> dict[str, Any] | None:
            nonlocal most
            most = max(most, non_terminal(await pods_of(api, NS, selector)))
            j = await api.get(JOBS, NS, "three")
            return j if cond(j, "Complete") else None
        done = await eventually(complete, timeout=30, every=0.05, what="job Complete")
        assert most <= 2
        st = done["status"]
        assert st["succeeded"] == 3 and "failed" not in st and "active" not in st
        assert st["startTime"] and st["completionTime"]
        assert cond(done, "SuccessCriteriaMet") is not None
        c = cond(done, "Complete")
        assert c is not None and c["reason"] == "CompletionsReached" and c["lastProbeTime"]
        pods = await pods_of(api, NS, selector)
        assert len(pods) == 3 and all(p["status"]["phase"] == "Succeeded" for p in pods)
        assert all(p["metadata"]["name"].startswith("three-") for p in pods)
        ref = pods[0]["metadata"]["ownerReferences"][0]
        assert ref["kind"] == "Job" and ref["controller"] is True and ref["uid"] == job["metadata"]["uid"]
        assert pods[0]["metadata"]["labels"]["job-name"] == "three"

        async def completed_event() -> list[tuple[str, str]] | None:
            evs = await events_of(plane, "three")
            return evs if ("Completed", "Job completed") in evs else None
        evs = await eventually(completed_event, what="Completed event")
        assert sum(1 for r, m in evs if r == "SuccessfulCreate" and m.startswith("Created pod: three-")) == 3


async def test_failing_pods_exceed_the_backoff_limit(plane: Plane, tmp_path: Path) -> None:
    api = plane.api
    async with cluster(plane, tmp_path, nodes=2), controllers(plane, "job"):
        job = await api.create(JOBS, NS, job_body("fails", code=1, run=0.2, backoffLimit=2))

        async def failed() -> dict[str, Any] | None:
            j = await api.get(JOBS, NS, "fails")
            return j if cond(j, "Failed") else None
        done = await eventually(failed, timeout=30, what="job Failed")
        c = cond(done, "Failed")
        assert c is not None and c["reason"] == "BackoffLimitExceeded"
        assert c["message"] == "Job has reached the specified backoff limit"
        assert cond(done, "FailureTarget") is not None
        assert done["status"]["failed"] == 3 and "completionTime" not in done["status"]
        pods = await pods_of(api, NS, f"batch.kubernetes.io/controller-uid={job['metadata']['uid']}")
        assert len(pods) == 3 and all(p["status"]["phase"] == "Failed" for p in pods)
        cs = pods[0]["status"]["containerStatuses"][0]
        assert cs["state"]["terminated"]["exitCode"] == 1

        async def warned() -> bool:
            return ("BackoffLimitExceeded", "Job has reached the specified backoff limit") in await events_of(plane, "fails")
        await eventually(warned, what="BackoffLimitExceeded event")


async def test_active_deadline_fails_the_job_and_deletes_its_pods(plane: Plane, tmp_path: Path) -> None:
    api = plane.api
    async with cluster(plane, tmp_path, nodes=1), controllers(plane, "job"):
        job = await api.create(JOBS, NS, job_body("slow", run=3600, activeDeadlineSeconds=1))
        selector = f"batch.kubernetes.io/controller-uid={job['metadata']['uid']}"

        async def failed() -> dict[str, Any] | None:
            j = await api.get(JOBS, NS, "slow")
            return j if cond(j, "Failed") else None
        done = await eventually(failed, timeout=30, what="job Failed")
        c = cond(done, "Failed")
        assert c is not None and c["reason"] == "DeadlineExceeded"
        assert c["message"] == "Job was active longer than specified deadline"
        assert done["status"]["failed"] == 1 and "active" not in done["status"]

        async def pods_gone() -> bool:
            return non_terminal(await pods_of(api, NS, selector)) == 0
        await eventually(pods_gone, what="the job's pods deleted")


async def test_ttl_after_finished_deletes_the_job(plane: Plane, tmp_path: Path) -> None:
    api = plane.api
    async with cluster(plane, tmp_path, nodes=1), controllers(plane, "job"):
        await api.create(JOBS, NS, job_body("short-lived", run=0.1, ttlSecondsAfterFinished=1))

        async def gone() -> bool:
            return await get_or_none(api, JOBS, NS, "short-lived") is None
        await eventually(gone, timeout=30, what="job deleted by its TTL")


async def test_suspended_job_makes_no_pods_until_resumed(plane: Plane, tmp_path: Path) -> None:
    api = plane.api
    async with cluster(plane, tmp_path, nodes=1), controllers(plane, "job"):
        job = await api.create(JOBS, NS, job_body("later", run=0.2, suspend=True))
        selector = f"batch.kubernetes.io/controller-uid={job['metadata']['uid']}"

        async def suspended() -> dict[str, Any] | None:
            j = await api.get(JOBS, NS, "later")
            return j if cond(j, "Suspended") else None
        await eventually(suspended, what="Suspended condition")
        assert await pods_of(api, NS, selector) == []
        await api.patch(JOBS, NS, "later", {"spec": {"suspend": False}})

        async def complete() -> dict[str, Any] | None:
            j = await api.get(JOBS, NS, "later")
            return j if cond(j, "Complete") else None
        done = await eventually(complete, timeout=30, what="job Complete")
        susp = next(c for c in done["status"]["conditions"] if c["type"] == "Suspended")
        assert susp["status"] == "False" and susp["reason"] == "JobResumed"
