"""The CronJob controller's decisions (core/cronsched.decide): which Job is due, concurrency
policies, missed and late schedules, the active list, history limits and when to look again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from core.cronsched import SCHEDULED_TIMESTAMP, Event, decide, job_name
from core.meta import rfc3339

UTC = timezone.utc
CREATED = datetime(2024, 1, 1, 0, 0, 30, tzinfo=UTC)
UID = "cj-uid"


def at(minute: int, second: int = 0, hour: int = 0) -> datetime:
    return datetime(2024, 1, 1, hour, minute, second, tzinfo=UTC)


def cronjob(*, status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"schedule": "* * * * *", "concurrencyPolicy": "Allow", "suspend": False,
                            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                            "jobTemplate": {"metadata": {"labels": {"app": "x"}, "annotations": {"a": "b"}},
                                            "spec": {"backoffLimit": 1, "template": {"spec": {
                                                "restartPolicy": "Never", "containers": [{"name": "c"}]}}}}}
    base.update(spec)
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "cj", "namespace": "ns", "uid": UID, "creationTimestamp": rfc3339(CREATED),
                         "resourceVersion": "3"},
            "spec": base, "status": status or {}}


def job(scheduled: datetime, finished: str | None = None, *, start: datetime | None = None,
        completed: datetime | None = None) -> dict[str, Any]:
    name = job_name("cj", scheduled)
    st: dict[str, Any] = {}
    if start is not None:
        st["startTime"] = rfc3339(start)
    if finished is not None:
        st["conditions"] = [{"type": finished, "status": "True"}]
        if finished == "Complete":
            st["completionTime"] = rfc3339(completed or scheduled + timedelta(seconds=10))
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": "9",
                         "ownerReferences": [{"kind": "CronJob", "name": "cj", "uid": UID, "controller": True}]},
            "status": st}


def ref(j: dict[str, Any]) -> dict[str, Any]:
    md = j["metadata"]
    return {"kind": "Job", "namespace": "ns", "name": md["name"], "uid": md["uid"], "apiVersion": "batch/v1",
            "resourceVersion": md["resourceVersion"]}


def test_nothing_due_yet_requeues_for_the_next_minute() -> None:
    plan = decide(cronjob(), [], at(0, 50))
    assert plan.create is None and plan.status is None and plan.events == []
    assert plan.requeue == pytest.approx(10.1)


def test_due_time_creates_the_job_from_the_template() -> None:
    plan = decide(cronjob(), [], at(1, 5))
    body = plan.create
    assert body is not None and plan.scheduled == at(1)
    md = body["metadata"]
    assert md["name"] == f"cj-{int(at(1).timestamp()) // 60}"
    assert md["labels"] == {"app": "x"}
    assert md["annotations"] == {"a": "b", SCHEDULED_TIMESTAMP: "2024-01-01T00:01:00Z"}
    assert md["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "cj", "uid": UID,
                                      "controller": True, "blockOwnerDeletion": True}]
    assert body["spec"]["backoffLimit"] == 1
    assert plan.status == {"lastScheduleTime": "2024-01-01T00:01:00Z",
                           "active": [{"kind": "Job", "namespace": "ns", "name": md["name"], "apiVersion": "batch/v1"}]}
    assert plan.requeue == pytest.approx(55.1)


def test_scheduled_timestamp_in_the_time_zone() -> None:
    plan = decide(cronjob(schedule="0 9 * * *", timeZone="America/New_York"), [],
                  datetime(2024, 1, 1, 14, 0, 2, tzinfo=UTC))
    assert plan.create is not None
    assert plan.create["metadata"]["annotations"][SCHEDULED_TIMESTAMP] == "2024-01-01T09:00:00-05:00"


def test_only_the_most_recent_missed_time_runs() -> None:
    plan = decide(cronjob(status={"lastScheduleTime": rfc3339(at(1))}), [], at(10, 30))
    assert plan.scheduled == at(10) and plan.events == []


def test_already_processed_time_is_not_run_again() -> None:
    j = job(at(1))
    cj = cronjob(status={"lastScheduleTime": rfc3339(at(1)), "active": [ref(j)]})
    plan = decide(cj, [j], at(1, 40))
    assert plan.create is None and plan.status is None and plan.requeue == pytest.approx(20.1)


def test_starting_deadline_skips_a_late_start() -> None:
    cj = cronjob(schedule="0 * * * *", startingDeadlineSeconds=30, status={"lastScheduleTime": rfc3339(at(0))})
    plan = decide(cj, [], at(0, 45, hour=1))
    assert plan.create is None
    # Nothing within the deadline window: not even a MissSchedule (as Kubernetes: the window hides it).
    assert plan.events == []
    plan = decide(cj, [], at(0, 20, hour=1))
    assert plan.scheduled == at(0, hour=1)


def test_a_start_just_within_the_deadline_runs() -> None:
    cj = cronjob(schedule="0 * * * *", startingDeadlineSeconds=100, status={"lastScheduleTime": rfc3339(at(0))})
    # At 1:01:39 the 1:00 run is 99 s late, still allowed; at 1:01:41 it is outside the window.
    assert decide(cj, [], at(1, 39, hour=1)).scheduled == at(0, hour=1)
    assert decide(cj, [], at(1, 41, hour=1)).scheduled is None


def test_too_many_missed_start_times_warn() -> None:
    plan = decide(cronjob(), [], at(0, 5, hour=5))  # 299 missed minutes
    assert plan.scheduled == at(0, hour=5)
    assert Event("Warning", "TooManyMissedTimes", "too many missed start times. Set or decrease "
                 ".spec.startingDeadlineSeconds or check clock skew") in plan.events


def test_forbid_skips_while_active() -> None:
    j = job(at(1))
    cj = cronjob(concurrencyPolicy="Forbid", status={"lastScheduleTime": rfc3339(at(1)), "active": [ref(j)]})
    plan = decide(cj, [j], at(2, 1))
    assert plan.create is None and plan.status is None
    assert plan.events == [Event("Normal", "JobAlreadyActive", "Not starting job because prior execution is "
                                 "running and concurrency policy is Forbid")]
    assert plan.requeue == pytest.approx(59.1)


def test_replace_deletes_the_active_jobs_first() -> None:
    j = job(at(1))
    cj = cronjob(concurrencyPolicy="Replace", status={"lastScheduleTime": rfc3339(at(1)), "active": [ref(j)]})
    plan = decide(cj, [j], at(2, 1))
    assert plan.replace == [ref(j)]
    assert plan.create is not None and plan.create["metadata"]["name"] == job_name("cj", at(2))
    assert plan.status is not None and [a["name"] for a in plan.status["active"]] == [job_name("cj", at(2))]


def test_allow_runs_concurrently() -> None:
    j = job(at(1))
    cj = cronjob(status={"lastScheduleTime": rfc3339(at(1)), "active": [ref(j)]})
    plan = decide(cj, [j], at(2, 1))
    assert plan.replace == [] and plan.create is not None
    assert plan.status is not None and len(plan.status["active"]) == 2


def test_suspended_schedules_nothing() -> None:
    plan = decide(cronjob(suspend=True), [], at(5))
    assert plan.create is None and plan.requeue is None


def test_completed_job_leaves_the_active_list() -> None:
    j = job(at(1), "Complete", completed=at(1, 30))
    cj = cronjob(status={"lastScheduleTime": rfc3339(at(1)), "active": [ref(j)]})
    plan = decide(cj, [j], at(1, 40))
    assert plan.status == {"lastScheduleTime": rfc3339(at(1)), "lastSuccessfulTime": rfc3339(at(1, 30))}
    assert plan.events == [Event("Normal", "SawCompletedJob", f"Saw completed job: {j['metadata']['name']}, "
                                 "status: Complete")]


def test_failed_job_leaves_the_active_list_without_success_time() -> None:
    j = job(at(1), "Failed")
    cj = cronjob(status={"lastScheduleTime": rfc3339(at(1)), "active": [ref(j)]})
    plan = decide(cj, [j], at(1, 40))
    assert plan.status == {"lastScheduleTime": rfc3339(at(1))}
    assert plan.events[0].message.endswith("status: Failed")


def test_unknown_running_job_is_added_to_active() -> None:
    j = job(at(1))
    plan = decide(cronjob(status={"lastScheduleTime": rfc3339(at(1))}), [j], at(1, 40))
    assert plan.status is not None and plan.status["active"] == [ref(j)]
    assert plan.events[0].reason == "UnexpectedJob"


def test_missing_active_job_is_dropped() -> None:
    j = job(at(1))
    cj = cronjob(status={"lastScheduleTime": rfc3339(at(1)), "active": [ref(j)]})
    assert decide(cj, [], at(1, 40)).status is None  # not confirmed gone: kept
    plan = decide(cj, [], at(1, 40), missing=[j["metadata"]["uid"]])
    assert plan.status == {"lastScheduleTime": rfc3339(at(1))}
    assert plan.events == [Event("Normal", "MissingJob", f"Active job went missing: {j['metadata']['name']}")]


def test_history_limits_prune_the_oldest() -> None:
    done = [job(at(i), "Complete", start=at(i, 1)) for i in range(1, 6)]
    failed = [job(at(i), "Failed", start=at(i, 1)) for i in range(10, 13)]
    plan = decide(cronjob(successfulJobsHistoryLimit=2, failedJobsHistoryLimit=1,
                          status={"lastScheduleTime": rfc3339(at(12))}), [*done, *failed], at(12, 30))
    assert [j["metadata"]["name"] for j in plan.prune] == [job_name("cj", at(i)) for i in (1, 2, 3, 10, 11)]


def test_history_limit_zero_keeps_nothing_and_active_jobs_are_never_pruned() -> None:
    jobs = [job(at(1), "Complete", start=at(1, 1)), job(at(2), start=at(2, 1))]
    plan = decide(cronjob(successfulJobsHistoryLimit=0, status={"lastScheduleTime": rfc3339(at(2)),
                                                                "active": [ref(jobs[1])]}), jobs, at(2, 30))
    assert [j["metadata"]["name"] for j in plan.prune] == [job_name("cj", at(1))]


def test_jobs_of_other_owners_are_ignored() -> None:
    other = job(at(1))
    other["metadata"]["ownerReferences"][0]["uid"] = "someone-else"
    plan = decide(cronjob(status={"lastScheduleTime": rfc3339(at(1))}), [other], at(1, 40))
    assert plan.status is None and plan.events == []


def test_bad_time_zone_is_an_event() -> None:
    plan = decide(cronjob(timeZone="Mars/Olympus"), [], at(5))
    assert plan.create is None and plan.events[0].reason == "UnknownTimeZone"
