"""Cron schedules: parsing (robfig/cron's standard syntax) and next / missed schedule times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core.cronsched import ScheduleError, job_name, most_recent, parse, rfc3339_in, zone

UTC = timezone.utc


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc,arg-type]


def times(spec: str, start: datetime, n: int, tz: str | None = None) -> list[datetime]:
    s = parse(spec, tz)
    out: list[datetime] = []
    t: datetime | None = start
    for _ in range(n):
        assert t is not None
        t = s.next(t)
        assert t is not None
        out.append(t)
    return out


@pytest.mark.parametrize("spec,start,want", [
    ("* * * * *", at(2024, 1, 1, 0, 0, 30), [at(2024, 1, 1, 0, 1), at(2024, 1, 1, 0, 2)]),
    ("*/15 * * * *", at(2024, 1, 1, 0, 50), [at(2024, 1, 1, 1, 0), at(2024, 1, 1, 1, 15)]),
    ("5/20 * * * *", at(2024, 1, 1, 0, 0), [at(2024, 1, 1, 0, 5), at(2024, 1, 1, 0, 25)]),
    ("0 9-17/4 * * *", at(2024, 1, 1, 10, 0), [at(2024, 1, 1, 13, 0), at(2024, 1, 1, 17, 0), at(2024, 1, 2, 9, 0)]),
    ("0,30 1 * * *", at(2024, 1, 1, 0, 0), [at(2024, 1, 1, 1, 0), at(2024, 1, 1, 1, 30), at(2024, 1, 2, 1, 0)]),
    ("0 0 1 JAN,jul *", at(2024, 2, 1), [at(2024, 7, 1), at(2025, 1, 1)]),
    ("0 12 * * MON-FRI", at(2024, 1, 5, 13, 0), [at(2024, 1, 8, 12, 0), at(2024, 1, 9, 12, 0)]),  # Fri → Mon
    ("0 0 * * 0", at(2024, 1, 1), [at(2024, 1, 7), at(2024, 1, 14)]),
    ("@hourly", at(2024, 1, 1, 0, 0), [at(2024, 1, 1, 1, 0), at(2024, 1, 1, 2, 0)]),
    ("@daily", at(2024, 1, 1, 0, 0), [at(2024, 1, 2), at(2024, 1, 3)]),
    ("@midnight", at(2024, 1, 1, 5, 0), [at(2024, 1, 2)]),
    ("@weekly", at(2024, 1, 1), [at(2024, 1, 7)]),
    ("@monthly", at(2024, 1, 15), [at(2024, 2, 1), at(2024, 3, 1)]),
    ("@yearly", at(2024, 1, 15), [at(2025, 1, 1)]),
    ("@annually", at(2024, 1, 15), [at(2025, 1, 1)]),
    ("0 0 29 2 *", at(2024, 3, 1), [at(2028, 2, 29)]),
    ("@every 1h30m", at(2024, 1, 1, 0, 0, 10), [at(2024, 1, 1, 1, 30, 10), at(2024, 1, 1, 3, 0, 10)]),
])
def test_next_times(spec: str, start: datetime, want: list[datetime]) -> None:
    assert times(spec, start, len(want)) == want


def test_day_fields_or_when_both_restricted_and_when_one_is_star() -> None:
    # Both restricted: the 13th OR a Friday.
    assert times("0 0 13 * 5", at(2024, 1, 1), 3) == [at(2024, 1, 5), at(2024, 1, 12), at(2024, 1, 13)]
    # Day of week '*': only the 13th.
    assert times("0 0 13 * *", at(2024, 1, 1), 2) == [at(2024, 1, 13), at(2024, 2, 13)]
    # A step over '*' is no longer a star: '*/2' in dom with a dow → OR.
    assert times("0 0 */10 * 1", at(2024, 1, 1, 1), 3) == [at(2024, 1, 8), at(2024, 1, 11), at(2024, 1, 15)]


def test_impossible_schedule_has_no_next_time() -> None:
    assert parse("0 0 30 2 *").next(at(2024, 1, 1)) is None


def test_time_zone_from_spec_and_prefix() -> None:
    assert times("0 9 * * *", at(2024, 1, 1), 1, "America/New_York") == [at(2024, 1, 1, 14, 0)]
    assert times("0 9 * * *", at(2024, 7, 1), 1, "America/New_York") == [at(2024, 7, 1, 13, 0)]
    assert times("CRON_TZ=Asia/Tokyo 0 9 * * *", at(2024, 1, 1), 1) == [at(2024, 1, 2, 0, 0)]
    assert times("TZ=UTC 0 9 * * *", at(2024, 1, 1), 1) == [at(2024, 1, 1, 9, 0)]


def test_wall_times_skipped_by_dst_do_not_exist() -> None:
    # 2024-03-10 02:30 does not exist in New York: the next is the day after.
    assert times("30 2 * * *", at(2024, 3, 10, 0, 0), 1, "America/New_York") == [at(2024, 3, 11, 6, 30)]


def test_bad_schedules_and_zones_are_errors() -> None:
    with pytest.raises(ScheduleError, match="expected exactly 5 fields"):
        parse("* * * *")
    with pytest.raises(ScheduleError, match="above maximum"):
        parse("60 * * * *")
    with pytest.raises(ScheduleError, match="unknown time zone"):
        parse("* * * * *", "Mars/Olympus")
    with pytest.raises(ScheduleError):
        zone("Not/AZone")
    assert zone(None) is UTC and zone("") is UTC


def test_most_recent_none_due() -> None:
    s = parse("0 * * * *")
    m = most_recent(s, at(2024, 1, 1, 0, 10), at(2024, 1, 1, 0, 59))
    assert m.most_recent is None and m.count == 0


def test_most_recent_one_due() -> None:
    s = parse("0 * * * *")
    m = most_recent(s, at(2024, 1, 1, 0, 10), at(2024, 1, 1, 1, 0, 5))
    assert m.most_recent == at(2024, 1, 1, 1, 0) and m.count == 1


def test_most_recent_of_many_missed_is_the_latest() -> None:
    s = parse("*/5 * * * *")
    m = most_recent(s, at(2024, 1, 1, 0, 0), at(2024, 1, 1, 1, 2))
    assert m.most_recent == at(2024, 1, 1, 1, 0) and m.count == 12


def test_most_recent_counts_past_one_hundred() -> None:
    s = parse("* * * * *")
    m = most_recent(s, at(2024, 1, 1), at(2024, 1, 1) + timedelta(hours=3))
    assert m.most_recent == at(2024, 1, 1, 3, 0) and m.count == 180


def test_most_recent_irregular_schedule() -> None:
    s = parse("30 6-16/4 * * 1-5")  # 6:30, 10:30, 14:30 on weekdays
    m = most_recent(s, at(2024, 1, 5, 7, 0), at(2024, 1, 8, 11, 0))  # Fri 7:00 → Mon 11:00
    assert m.most_recent == at(2024, 1, 8, 10, 30)


def test_job_name_and_scheduled_timestamp() -> None:
    t = at(2024, 1, 1, 0, 5)
    assert job_name("hello", t) == f"hello-{int(t.timestamp()) // 60}" == "hello-28401125"
    assert rfc3339_in(t, UTC) == "2024-01-01T00:05:00Z"
    assert rfc3339_in(t, zone("America/New_York")) == "2023-12-31T19:05:00-05:00"
    assert rfc3339_in(t, zone("Asia/Kolkata")) == "2024-01-01T05:35:00+05:30"
