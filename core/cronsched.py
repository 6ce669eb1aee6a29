"""CronJob schedules and what the CronJob controller decides. Pure: a CronJob, its Jobs and the time in;
times and a `CronPlan` out.

Schedules (robfig/cron's standard parser, as Kubernetes uses it; the syntax is checked by
`core.schema.cron.schedule_error`, whose error texts the API server already returns):
five fields (minute hour day-of-month month day-of-week) of lists, ranges, steps and names
(JAN-DEC, SUN-SAT), `*`/`?`; descriptors `@yearly` `@annually` `@monthly` `@weekly` `@daily`
`@midnight` `@hourly` and `@every <duration>`; a `TZ=`/`CRON_TZ=` prefix (kept by the API server
only on objects that had it). As in cron, when neither day field is `*` a day matches either.
Times are wall times in `spec.timeZone` (zoneinfo), UTC without one.

The controller's decision (Kubernetes 1.32's cronjob_controllerv2 `syncCronJob`):
- Jobs it controls that finished leave `status.active` (event SawCompletedJob); Jobs in the active
  list that no longer exist leave it too (MissingJob); `lastSuccessfulTime` follows the newest
  completed Job.
- Not when suspended or being deleted. Otherwise the most recent unmet schedule time since
  `lastScheduleTime` (or the creation) — only the most recent: missed earlier ones are not run —
  unless it is older than `startingDeadlineSeconds` (MissSchedule); more than 100 missed start times
  warn TooManyMissedTimes. Forbid skips while a Job is active (JobAlreadyActive); Replace deletes
  the active ones first. The Job is named `<cronjob>-<scheduled minutes since the epoch>`, so a
  second attempt at the same time finds it instead of making another.
- Finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit are deleted, oldest first.
- Then look again at the next schedule time (+100 ms).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.events import Event
from core.schema.cron import schedule_error
from core.workload import controller_ref, name_of, parse_time, uid_of

Obj = dict[str, Any]

SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
MANY_MISSED = 100
NEXT_SCHEDULE_DELTA = 0.1  # seconds past the schedule time to look again (Kubernetes' nextScheduleDelta)

_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                           "nov", "dec"))}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_FIELDS = ((0, 59, None), (0, 23, None), (1, 31, None), (1, 12, _MONTHS), (0, 6, _DAYS))
_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_SEARCH_YEARS = 5  # robfig gives up after five years without a match (e.g. "0 0 30 2 *")


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    doms: frozenset[int]
    months: frozenset[int]
    dows: frozenset[int]
    dom_star: bool = False
    dow_star: bool = False
    every: float = 0.0  # @every: a constant delay instead of the fields
    tz: tzinfo = timezone.utc

    def next(self, t: datetime) -> datetime | None:
        """The first schedule time strictly after `t` (aware), None if there is none within five years."""
        if self.every:
            base = t.replace(microsecond=0)
            return base + timedelta(seconds=max(int(self.every), 1))
        local = t.astimezone(self.tz)
        start = local.replace(second=0, microsecond=0, tzinfo=None) + timedelta(minutes=1)
        day = start.date()
        end = date(min(start.year + _SEARCH_YEARS, 9999), start.month, 1)
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        while day < end:
            if day.month not in self.months:
                day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
                continue
            if self._day_matches(day):
                for h in hours:
                    for m in minutes:
                        naive = datetime.combine(day, time(h, m))
                        if naive < start:
                            continue
                        aware = naive.replace(tzinfo=self.tz)
                        if aware.astimezone(timezone.utc).astimezone(self.tz).replace(tzinfo=None) != naive:
                            continue  # a wall time skipped by a DST change does not exist
                        if aware > t:
                            return aware.astimezone(timezone.utc)
            day += timedelta(days=1)
        return None

    def _day_matches(self, d: date) -> bool:
        dom = d.day in self.doms
        dow = (d.isoweekday() % 7) in self.dows
        if self.dom_star or self.dow_star:
            return dom and dow
        return dom or dow


def _expand(expr: str, lo: int, hi: int, names: Mapping[str, int] | None) -> tuple[set[int], bool]:
    out: set[int] = set()
    star = False
    for part in expr.split(","):
        range_step = part.split("/")
        low_high = range_step[0].split("-")
        part_star = False
        if low_high[0] in ("*", "?"):
            start, end, part_star = lo, hi, True
        else:
            start = _value(low_high[0], names)
            end = _value(low_high[1], names) if len(low_high) == 2 else start
        step = 1
        if len(range_step) == 2:
            step = int(range_step[1])
            if len(low_high) == 1:
                end = hi
            if step > 1:
                part_star = False
        out.update(range(start, end + 1, step))
        star = star or part_star
    return out, star


def _value(text: str, names: Mapping[str, int] | None) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    return int(text)


def _duration(text: str) -> float:
    total, pos = 0.0, 0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            raise ScheduleError(f"invalid duration {text!r}")
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or total <= 0:
        raise ScheduleError(f"invalid duration {text!r}")
    return total


def zone(name: str | None) -> tzinfo:
    """The time zone `name` (spec.timeZone); UTC for None or "". ScheduleError if unknown."""
    if not name or name == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ScheduleError(f"unknown time zone {name}") from e


def parse(spec: str, time_zone: str | None = None) -> Schedule:
    """A schedule in `time_zone` (a `TZ=` prefix in the schedule wins, as Kubernetes formats it)."""
    error = schedule_error(spec)
    if error:
        raise ScheduleError(error)
    tz = zone(time_zone)
    text = spec.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        prefix, _, text = text.partition(" ")
        tz = zone(prefix.partition("=")[2])
        text = text.strip()
    if text.startswith("@every "):
        return Schedule(frozenset(), frozenset(), frozenset(), frozenset(), frozenset(),
                        every=_duration(text[len("@every "):].strip()), tz=tz)
    text = _DESCRIPTORS.get(text, text)
    sets: list[set[int]] = []
    stars: list[bool] = []
    for expr, (lo, hi, names) in zip(text.split(), _FIELDS):
        values, star = _expand(expr, lo, hi, names)
        sets.append(values)
        stars.append(star)
    return Schedule(frozenset(sets[0]), frozenset(sets[1]), frozenset(sets[2]), frozenset(sets[3]),
                    frozenset(sets[4]), dom_star=stars[2], dow_star=stars[4], tz=tz)


@dataclass(frozen=True)
class Missed:
    earliest: datetime  # lastScheduleTime, the creation, or the starting deadline: where counting began
    most_recent: datetime | None  # the latest schedule time not after now, None if none is due
    count: int  # roughly how many were missed (Kubernetes' estimate); > MANY_MISSED warns


def most_recent(schedule: Schedule, earliest: datetime, now: datetime) -> Missed:
    """Kubernetes' mostRecentScheduleTime: the latest schedule time in (earliest, now]."""
    t1 = schedule.next(earliest)
    if t1 is None or now < t1:
        return Missed(earliest, None, 0)
    t2 = schedule.next(t1)
    if t2 is None or now < t2:
        return Missed(earliest, t1, 1)
    between = round((t2 - t1).total_seconds())
    if between < 1:
        raise ScheduleError("time difference between two schedules is less than 1 second")
    count = int((now - t1).total_seconds()) // between + 1
    t: datetime | None = schedule.next(t1 + timedelta(seconds=(count - 2) * between))
    recent: datetime | None = None
    while t is not None and t <= now:
        recent = t
        t = schedule.next(t)
    return Missed(earliest, recent, count)


def job_name(cronjob_name: str, scheduled: datetime) -> str:
    return f"{cronjob_name}-{int(scheduled.timestamp()) // 60}"


def rfc3339_in(t: datetime, tz: tzinfo) -> str:
    local = t.astimezone(tz)
    text = local.strftime("%Y-%m-%dT%H:%M:%S%z")
    if text.endswith("+0000"):
        return text[:-5] + "Z"
    return text[:-2] + ":" + text[-2:]


def _utc(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the controller's decision -------------------------------------------------------------------

@dataclass
class CronPlan:
    """In order: delete the Jobs in `replace` (Replace policy), create `create` (a Job body), write
    `status` (None: unchanged), delete the `prune`d Jobs (history limits), record the events (those
    after a create/delete are the shell's: SuccessfulCreate, SuccessfulDelete), look again after
    `requeue` seconds."""

    replace: list[Obj] = field(default_factory=list)
    create: Obj | None = None
    scheduled: datetime | None = None
    status: Obj | None = None
    prune: list[Obj] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    requeue: float | None = None


def job_finished(job: Mapping[str, Any]) -> str | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return None


def job_ref(job: Mapping[str, Any]) -> Obj:
    md = job.get("metadata") or {}
    return {"kind": "Job", "namespace": md.get("namespace", ""), "name": md.get("name", ""),
            "uid": md.get("uid", ""), "apiVersion": "batch/v1", "resourceVersion": md.get("resourceVersion", "")}


def job_from_template(cronjob: Mapping[str, Any], scheduled: datetime, tz: tzinfo) -> Obj:
    md = cronjob.get("metadata") or {}
    template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
    tmd = template.get("metadata") or {}
    annotations = dict(tmd.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP] = rfc3339_in(scheduled, tz)
    meta: Obj = {"name": job_name(str(md.get("name", "")), scheduled), "annotations": annotations,
                 "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": md.get("name", ""),
                                      "uid": md.get("uid", ""), "controller": True, "blockOwnerDeletion": True}]}
    if tmd.get("labels"):
        meta["labels"] = dict(tmd["labels"])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": copy.deepcopy(template.get("spec") or {})}


def _start_key(job: Mapping[str, Any]) -> tuple[int, float, str]:
    """Kubernetes' byJobStartTime: by status.startTime (none last), then by name."""
    start = parse_time((job.get("status") or {}).get("startTime"))
    return (1, 0.0, name_of(job)) if start is None else (0, start.timestamp(), name_of(job))


def decide(cronjob: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]], now: datetime, *,
           missing: Sequence[str] = ()) -> CronPlan:
    """The plan for `cronjob` given the Jobs it controls. `missing`: uids in status.active the
    shell confirmed no longer exist (a fresh GET said 404)."""
    plan = CronPlan()
    spec = dict(cronjob.get("spec") or {})
    old = dict(cronjob.get("status") or {})
    st = dict(old)
    active: list[Obj] = [dict(r) for r in old.get("active") or []]
    uid = uid_of(cronjob)
    children = [j for j in jobs if (controller_ref(j) or {}).get("uid") == uid]
    child_uids = {uid_of(j) for j in children}
    active_uids = {r.get("uid") for r in active}

    for j in children:
        done = job_finished(j)
        if done is None and uid_of(j) not in active_uids:
            plan.events.append(Event("Warning", "UnexpectedJob",
                                     f"Saw a job that the controller did not create or forgot: {name_of(j)}"))
            active.append(job_ref(j))
            active_uids.add(uid_of(j))
        elif done is not None and uid_of(j) in active_uids:
            active = [r for r in active if r.get("uid") != uid_of(j)]
            active_uids.discard(uid_of(j))
            plan.events.append(Event("Normal", "SawCompletedJob", f"Saw completed job: {name_of(j)}, status: {done}"))
        if done == "Complete":
            completed = parse_time((j.get("status") or {}).get("completionTime"))
            last = parse_time(st.get("lastSuccessfulTime"))
            if completed is not None and (last is None or completed > last):
                st["lastSuccessfulTime"] = _utc(completed)
    for r in list(active):
        if r.get("uid") not in child_uids and r.get("uid") in missing:
            active = [a for a in active if a.get("uid") != r.get("uid")]
            plan.events.append(Event("Normal", "MissingJob", f"Active job went missing: {r.get('name', '')}"))

    # History limits (cleanupFinishedJobs), on the Jobs finished by now.
    for kind, limit_key in (("Complete", "successfulJobsHistoryLimit"), ("Failed", "failedJobsHistoryLimit")):
        limit = spec.get(limit_key)
        if limit is None:
            continue
        done_jobs = sorted((j for j in children if job_finished(j) == kind and not (j.get("metadata") or {})
                            .get("deletionTimestamp")), key=_start_key)
        plan.prune.extend(dict(j) for j in done_jobs[:max(len(done_jobs) - int(limit), 0)])

    scheduled = _schedule(plan, cronjob, spec, st, active, now)
    if scheduled is not None:
        st["lastScheduleTime"] = _utc(scheduled)
    if active:
        st["active"] = active
    else:
        st.pop("active", None)
    if st != old:
        plan.status = st
    return plan


def _schedule(plan: CronPlan, cronjob: Mapping[str, Any], spec: Obj, st: Obj, active: list[Obj],
              now: datetime) -> datetime | None:
    """Whether a Job is due now (appends to `plan`); the scheduled time of the Job to create."""
    if (cronjob.get("metadata") or {}).get("deletionTimestamp") or spec.get("suspend"):
        return None
    try:
        tz = zone(spec.get("timeZone"))
    except ScheduleError as e:
        plan.events.append(Event("Warning", "UnknownTimeZone", f"invalid timeZone: {spec.get('timeZone')!r}: {e}"))
        return None
    try:
        schedule = parse(str(spec.get("schedule") or ""), spec.get("timeZone"))
    except ScheduleError as e:
        plan.events.append(Event("Warning", "UnparseableSchedule",
                                 f"unparseable schedule: {spec.get('schedule')!r} : {e}"))
        return None
    created = parse_time((cronjob.get("metadata") or {}).get("creationTimestamp")) or now
    last = parse_time(st.get("lastScheduleTime"))
    earliest = last or created
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=int(deadline)))
    try:
        missed = most_recent(schedule, earliest, now)
    except ScheduleError as e:
        plan.events.append(Event("Warning", "InvalidSchedule", f"invalid schedule: {spec.get('schedule')} : {e}"))
        plan.requeue = _requeue(schedule, now, now)
        return None
    scheduled = missed.most_recent
    if scheduled is not None and missed.count > MANY_MISSED:
        plan.events.append(Event("Warning", "TooManyMissedTimes", "too many missed start times. Set or decrease "
                                 ".spec.startingDeadlineSeconds or check clock skew"))
    due = scheduled
    if due is not None:
        too_late = deadline is not None and due + timedelta(seconds=int(deadline)) < now
        name = job_name(str((cronjob.get("metadata") or {}).get("name", "")), due)
        if too_late:
            plan.events.append(Event("Warning", "MissSchedule", "Missed scheduled time to start a job: "
                                     + due.astimezone(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")))
            due = None
        elif any(r.get("name") == name for r in active) or (last is not None and last == due):
            due = None
        elif spec.get("concurrencyPolicy") == "Forbid" and active:
            plan.events.append(Event("Normal", "JobAlreadyActive",
                                     "Not starting job because prior execution is running and concurrency policy is Forbid"))
            due = None
        else:
            if spec.get("concurrencyPolicy") == "Replace":
                plan.replace.extend(dict(r) for r in active)
                active.clear()
            plan.create = job_from_template(cronjob, due, tz)
            plan.scheduled = due
            active.append({"kind": "Job", "namespace": (cronjob.get("metadata") or {}).get("namespace", ""),
                           "name": name, "apiVersion": "batch/v1"})  # the shell fills in uid and resourceVersion
    # When to look again (nextScheduleTimeDuration, on the status as it will be).
    base_last = due or last
    earliest2 = base_last or created
    try:
        again = most_recent(schedule, earliest2, now)
        from_ = again.most_recent or (earliest2 if again.count == 0 else now)
    except ScheduleError:
        from_ = now
    plan.requeue = _requeue(schedule, from_, now)
    return due


def _requeue(schedule: Schedule, from_: datetime, now: datetime) -> float | None:
    nxt = schedule.next(from_)
    if nxt is None:
        return None
    return max((nxt - now).total_seconds() + NEXT_SCHEDULE_DELTA, NEXT_SCHEDULE_DELTA)
