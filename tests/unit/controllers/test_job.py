"""The Job controller's decisions (core/jobs.py): pods to create and delete, status, conditions,
events, deadlines, backoff, suspension, Indexed completion and the TTL after finishing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from core.jobs import (INDEX_ENV, INDEX_KEY, Event, backoff_remaining, decide, finished, format_indexes,
                       parse_indexes, pod_body)
from core.meta import rfc3339
from core.workload import owner_reference

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
T = rfc3339(NOW)
UID = "job-uid"


def job(*, status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
                            "suspend": False,
                            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": UID}},
                            "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": UID,
                                                                 "job-name": "j"}},
                                         "spec": {"restartPolicy": "Never",
                                                  "containers": [{"name": "c", "image": "busybox"}]}}}
    base.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "j", "namespace": "ns", "uid": UID, "resourceVersion": "5"},
            "spec": base, "status": status if status is not None else {}}


def pod(name: str, phase: str = "Running", *, ready: bool = False, finished_at: datetime | None = None,
        deleting: bool = False, index: int | None = None, restarts: int = 0) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                          "creationTimestamp": rfc3339(NOW - timedelta(minutes=5)),
                          "ownerReferences": [{"kind": "Job", "name": "j", "uid": UID, "controller": True}]}
    if deleting:
        md["deletionTimestamp"] = T
    if index is not None:
        md["annotations"] = {INDEX_KEY: str(index)}
    status: dict[str, Any] = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": rfc3339(NOW)}]}
    cs: dict[str, Any] = {"name": "c", "restartCount": restarts, "state": {"running": {}}}
    if finished_at is not None:
        cs["state"] = {"terminated": {"exitCode": 0 if phase == "Succeeded" else 1,
                                      "finishedAt": rfc3339(finished_at)}}
    status["containerStatuses"] = [cs]
    return {"metadata": md, "spec": {"nodeName": "n1"}, "status": status}


def started(**extra: Any) -> dict[str, Any]:
    return {"startTime": T, "ready": 0, "terminating": 0, **extra}


def conds(status: dict[str, Any] | None) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c.get("reason", "")) for c in (status or {}).get("conditions") or []}


# -- creating pods ----------------------------------------------------------------------------------
def test_new_job_starts_parallelism_pods_and_sets_start_time() -> None:
    plan = decide(job(completions=5, parallelism=2), [], NOW)
    assert plan.create == [None, None] and plan.delete == []
    assert plan.status == {"startTime": T, "ready": 0, "terminating": 0}
    assert plan.events == []


def test_never_more_than_the_completions_still_missing() -> None:
    j = job(completions=3, parallelism=5, status=started(succeeded=2))
    plan = decide(j, [pod("a", "Succeeded", finished_at=NOW), pod("b", "Succeeded", finished_at=NOW)], NOW)
    assert plan.create == [None]


def test_active_pods_count_against_parallelism() -> None:
    plan = decide(job(completions=4, parallelism=2, status=started(active=1)), [pod("a", ready=True)], NOW)
    assert plan.create == [None]
    assert plan.status is not None and plan.status["active"] == 1 and plan.status["ready"] == 1


def test_surplus_active_pods_are_deleted_least_useful_first() -> None:
    j = job(completions=10, parallelism=1, status=started(active=2))
    pods = [pod("ready", ready=True), pod("notready")]
    plan = decide(j, pods, NOW)
    assert [p["metadata"]["name"] for p in plan.delete] == ["notready"]
    assert plan.create == []
    assert plan.status is not None and plan.status["active"] == 1 and plan.status["terminating"] == 1


def test_unmet_expectations_neither_create_nor_delete() -> None:
    plan = decide(job(completions=3, parallelism=2), [], NOW, manage=False)
    assert plan.create == [] and plan.delete == []
    assert plan.status is not None and plan.status["startTime"] == T


def test_nothing_changes_nothing_is_written() -> None:
    j = job(completions=2, parallelism=1, status=started(active=1))
    plan = decide(j, [pod("a")], NOW)
    assert plan.create == [] and plan.delete == [] and plan.status is None and plan.events == []


def test_terminating_pods_are_not_active_and_are_replaced() -> None:
    j = job(completions=1, parallelism=1, status=started(active=1))
    plan = decide(j, [pod("a", deleting=True)], NOW)
    assert plan.create == [None]
    assert plan.status is not None and "active" not in plan.status and plan.status["terminating"] == 1


# -- success -------------------------------------------------------------------------------------------
def test_success_sets_success_criteria_met_then_complete() -> None:
    j = job(completions=2, parallelism=2, status=started(active=1, succeeded=1))
    plan = decide(j, [pod("a", "Succeeded", finished_at=NOW), pod("b", "Succeeded", finished_at=NOW)], NOW)
    st = plan.status
    assert st is not None
    assert conds(st) == {"SuccessCriteriaMet": ("True", "CompletionsReached"), "Complete": ("True", "CompletionsReached")}
    complete = next(c for c in st["conditions"] if c["type"] == "Complete")
    assert complete == {"type": "Complete", "status": "True", "lastProbeTime": T, "lastTransitionTime": T,
                        "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}
    assert st["succeeded"] == 2 and "active" not in st and st["completionTime"] == T
    assert plan.events == [Event("Normal", "Completed", "Job completed")]


def test_complete_waits_for_terminating_pods() -> None:
    j = job(completions=1, parallelism=2, status=started(active=2))
    pods = [pod("a", "Succeeded", finished_at=NOW), pod("b", ready=True)]
    plan = decide(j, pods, NOW)
    assert [p["metadata"]["name"] for p in plan.delete] == ["b"]
    assert conds(plan.status) == {"SuccessCriteriaMet": ("True", "CompletionsReached")}
    assert plan.events == []
    # Next pass: b still terminating → no Complete yet; then b is gone → Complete.
    j2 = job(completions=1, parallelism=2, status=plan.status)
    later = decide(j2, [pods[0], pod("b", deleting=True)], NOW)
    assert later.delete == [] and "Complete" not in conds(later.status or j2["status"])
    done = decide(j2, [pods[0]], NOW)
    assert conds(done.status)["Complete"] == ("True", "CompletionsReached")
    assert done.events == [Event("Normal", "Completed", "Job completed")]


def test_without_completions_one_success_stops_new_pods_and_completes_when_others_finish() -> None:
    j = job(completions=None, parallelism=3, status=started(active=3))
    running = [pod("b"), pod("c")]
    plan = decide(j, [pod("a", "Succeeded", finished_at=NOW), *running], NOW)
    assert plan.create == [] and plan.delete == [] and "SuccessCriteriaMet" not in conds(plan.status)
    plan = decide(j, [pod("a", "Succeeded", finished_at=NOW), pod("b", "Succeeded", finished_at=NOW),
                      pod("c", "Failed", finished_at=NOW)], NOW)
    assert conds(plan.status)["Complete"] == ("True", "CompletionsReached")


def test_finished_job_is_left_alone() -> None:
    st = started(succeeded=1, conditions=[{"type": "Complete", "status": "True", "lastTransitionTime": T}])
    j = job(status=st)
    assert finished(j) == "Complete"
    plan = decide(j, [pod("x")], NOW)
    assert plan.create == [] and plan.delete == [] and plan.status is None and plan.requeue is None


# -- failure -------------------------------------------------------------------------------------------
def test_backoff_limit_exceeded() -> None:
    j = job(completions=1, backoffLimit=2, status=started(failed=2))
    pods = [pod(n, "Failed", finished_at=NOW - timedelta(minutes=1)) for n in ("a", "b", "c")]
    plan = decide(j, pods, NOW)
    st = plan.status
    assert st is not None and st["failed"] == 3
    assert conds(st) == {"FailureTarget": ("True", "BackoffLimitExceeded"), "Failed": ("True", "BackoffLimitExceeded")}
    failed = next(c for c in st["conditions"] if c["type"] == "Failed")
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert "completionTime" not in st
    assert plan.create == []
    assert plan.events == [Event("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]


def test_failures_within_the_limit_are_replaced_after_backoff() -> None:
    j = job(completions=1, backoffLimit=6, status=started(failed=1))
    failed = pod("a", "Failed", finished_at=NOW - timedelta(seconds=4))
    plan = decide(j, [failed], NOW)
    assert plan.create == [] and plan.requeue == pytest.approx(6.0)
    plan = decide(j, [failed], NOW + timedelta(seconds=7))
    assert plan.create == [None]


def test_backoff_doubles_per_failure_since_the_last_success_and_is_capped() -> None:
    fails = [pod(f"f{i}", "Failed", finished_at=NOW - timedelta(seconds=100 - i)) for i in range(3)]
    assert backoff_remaining(fails, NOW) == 0.0  # 40 s after the last failure, 98 s ago
    last = NOW - timedelta(seconds=1)
    fails = [pod(f"f{i}", "Failed", finished_at=last) for i in range(3)]
    assert backoff_remaining(fails, NOW) == pytest.approx(39.0)  # 10 · 2² − 1
    ok = pod("s", "Succeeded", finished_at=last - timedelta(seconds=1))
    newer_ok = pod("s2", "Succeeded", finished_at=last + timedelta(microseconds=1))
    assert backoff_remaining([*fails, ok], NOW) == pytest.approx(39.0)
    assert backoff_remaining([*fails, newer_ok], NOW) == 0.0
    many = [pod(f"m{i}", "Failed", finished_at=last) for i in range(20)]
    assert backoff_remaining(many, NOW) == pytest.approx(599.0)
    assert backoff_remaining(fails, NOW, base=0.5) == pytest.approx(1.0)


def test_on_failure_container_restarts_count_towards_the_backoff_limit() -> None:
    tpl = {"metadata": {"labels": {"job-name": "j"}},
           "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}
    j = job(backoffLimit=3, template=tpl, status=started(active=1))
    assert "FailureTarget" not in conds(decide(j, [pod("a", restarts=2)], NOW).status or {})
    plan = decide(j, [pod("a", restarts=3)], NOW)
    assert conds(plan.status)["FailureTarget"] == ("True", "BackoffLimitExceeded")
    assert [p["metadata"]["name"] for p in plan.delete] == ["a"]
    assert "Failed" not in conds(plan.status)  # until the pod is gone
    assert plan.status is not None and plan.status["failed"] == 1


def test_active_deadline_exceeded_deletes_active_pods() -> None:
    start = NOW - timedelta(seconds=30)
    j = job(completions=3, parallelism=2, activeDeadlineSeconds=30, status=started(startTime=rfc3339(start), active=2))
    plan = decide(j, [pod("a"), pod("b")], NOW)
    assert sorted(p["metadata"]["name"] for p in plan.delete) == ["a", "b"]
    assert conds(plan.status) == {"FailureTarget": ("True", "DeadlineExceeded")}
    assert plan.status is not None and plan.status["failed"] == 2 and plan.status["terminating"] == 2
    j2 = job(completions=3, parallelism=2, activeDeadlineSeconds=30, status=plan.status)
    done = decide(j2, [], NOW)
    assert conds(done.status)["Failed"] == ("True", "DeadlineExceeded")
    assert done.events == [Event("Warning", "DeadlineExceeded", "Job was active longer than specified deadline")]


def test_deadline_not_yet_reached_requeues_for_it() -> None:
    j = job(activeDeadlineSeconds=60, status=started(startTime=rfc3339(NOW - timedelta(seconds=20)), active=1))
    plan = decide(j, [pod("a")], NOW)
    assert plan.requeue == pytest.approx(40.0) and plan.status is None


# -- suspend ---------------------------------------------------------------------------------------------
def test_suspend_deletes_active_pods_and_sets_the_condition() -> None:
    j = job(completions=2, parallelism=2, suspend=True, status=started(active=2))
    plan = decide(j, [pod("a"), pod("b")], NOW)
    assert len(plan.delete) == 2 and plan.create == []
    assert conds(plan.status) == {"Suspended": ("True", "JobSuspended")}
    assert plan.events == [Event("Normal", "Suspended", "Job suspended")]
    assert plan.status is not None and "failed" not in plan.status


def test_a_job_created_suspended_has_no_start_time() -> None:
    plan = decide(job(suspend=True), [], NOW)
    assert plan.status is not None and "startTime" not in plan.status and plan.create == []


def test_resume_resets_the_start_time() -> None:
    susp = {"type": "Suspended", "status": "True", "reason": "JobSuspended", "message": "Job suspended",
            "lastProbeTime": "2023-01-01T00:00:00Z", "lastTransitionTime": "2023-01-01T00:00:00Z"}
    j = job(status={"startTime": "2023-01-01T00:00:00Z", "conditions": [susp]})
    plan = decide(j, [], NOW)
    assert plan.create == [None]
    assert plan.status is not None and plan.status["startTime"] == T
    assert conds(plan.status) == {"Suspended": ("False", "JobResumed")}
    assert plan.events == [Event("Normal", "Resumed", "Job resumed")]


# -- TTL ---------------------------------------------------------------------------------------------------
def test_ttl_after_finished() -> None:
    done = NOW - timedelta(seconds=10)
    st = {"conditions": [{"type": "Failed", "status": "True", "lastTransitionTime": rfc3339(done)}]}
    assert decide(job(ttlSecondsAfterFinished=30, status=st), [], NOW).requeue == pytest.approx(20.0)
    plan = decide(job(ttlSecondsAfterFinished=10, status=st), [], NOW)
    assert plan.delete_job and plan.status is None
    assert not decide(job(status=st), [], NOW).delete_job


def test_finishing_with_a_ttl_requeues_for_it() -> None:
    j = job(ttlSecondsAfterFinished=5, status=started(active=1))
    plan = decide(j, [pod("a", "Succeeded", finished_at=NOW)], NOW)
    assert "Complete" in conds(plan.status) and plan.requeue == pytest.approx(5.0)


# -- Indexed ---------------------------------------------------------------------------------------------
def test_indexed_creates_missing_indexes_and_tracks_completed_ones() -> None:
    j = job(completionMode="Indexed", completions=5, parallelism=2, status=started(active=1))
    pods = [pod("p0", "Succeeded", index=0, finished_at=NOW), pod("p1", index=1)]
    plan = decide(j, pods, NOW)
    assert plan.create == [2]
    assert plan.status is not None and plan.status["completedIndexes"] == "0" and plan.status["succeeded"] == 1


def test_indexed_completes_when_every_index_succeeded() -> None:
    j = job(completionMode="Indexed", completions=3, parallelism=3, status=started(completedIndexes="0,2", succeeded=2))
    plan = decide(j, [pod("p1", "Succeeded", index=1, finished_at=NOW)], NOW)
    assert plan.status is not None and plan.status["completedIndexes"] == "0-2"
    assert conds(plan.status)["Complete"] == ("True", "CompletionsReached")


def test_indexed_duplicates_are_deleted() -> None:
    j = job(completionMode="Indexed", completions=2, parallelism=2, status=started(active=2))
    plan = decide(j, [pod("a", index=0, ready=True), pod("b", index=0)], NOW)
    assert [p["metadata"]["name"] for p in plan.delete] == ["b"]
    assert plan.create == [1]


def test_index_sets_format_and_parse() -> None:
    assert format_indexes([5, 0, 1, 2, 7, 8]) == "0-2,5,7-8"
    assert format_indexes([]) == ""
    assert parse_indexes("0-2,5,7-8", 8) == {0, 1, 2, 5, 7}
    assert parse_indexes(None, 3) == set()


# -- pod bodies ---------------------------------------------------------------------------------------------
def test_pod_body_from_template() -> None:
    j = job()
    ref = owner_reference(j, "batch/v1", "Job")
    body = pod_body(j, ref, None)
    assert body["metadata"]["generateName"] == "j-"
    assert body["metadata"]["labels"] == {"batch.kubernetes.io/controller-uid": UID, "job-name": "j"}
    assert body["metadata"]["ownerReferences"] == [ref] and ref["controller"] is True
    assert body["spec"]["restartPolicy"] == "Never"


def test_indexed_pod_body_carries_its_index() -> None:
    j = job(completionMode="Indexed", completions=3)
    body = pod_body(j, owner_reference(j, "batch/v1", "Job"), 2)
    md = body["metadata"]
    assert md["generateName"] == "j-2-" and md["annotations"][INDEX_KEY] == "2" and md["labels"][INDEX_KEY] == "2"
    assert body["spec"]["hostname"] == "j-2"
    env = body["spec"]["containers"][0]["env"]
    assert env == [{"name": INDEX_ENV, "valueFrom": {"fieldRef": {
        "apiVersion": "v1", "fieldPath": f"metadata.annotations['{INDEX_KEY}']"}}}]
