"""The scheduling queue on a fake clock: order, backoff, unschedulable pods and their retries."""

from __future__ import annotations

import pytest

from components.scheduler.queue import QueuedPod, SchedulingQueue, Where
from tests.unit.scheduler.helpers import pod


def names(q: SchedulingQueue, now: float) -> list[str]:
    out = []
    while (qp := q.pop(now)) is not None:
        out.append(qp.info.name)
    return out


def test_higher_priority_first_then_first_come_first_served() -> None:
    q = SchedulingQueue()
    q.add(pod("low-1", priority=0), 0.0)
    q.add(pod("high", priority=1000), 0.1)
    q.add(pod("low-2", priority=0), 0.2)
    q.add(pod("mid", priority=10), 0.3)
    assert names(q, 1.0) == ["high", "mid", "low-1", "low-2"]
    assert len(q) == 0


def test_pop_counts_attempts_and_takes_the_pod_out() -> None:
    q = SchedulingQueue()
    q.add(pod("a"), 0.0)
    qp = q.pop(0.0)
    assert qp is not None and qp.attempts == 1 and qp.where is None
    assert ("default", "a") not in q and q.pop(0.0) is None


@pytest.mark.parametrize("attempts,seconds", [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)])
def test_backoff_doubles_from_one_second_up_to_ten(attempts: int, seconds: float) -> None:
    assert SchedulingQueue().backoff_duration(attempts) == seconds


def test_a_failed_binding_waits_out_its_backoff() -> None:
    q = SchedulingQueue()
    q.add(pod("a"), 0.0)
    qp = q.pop(0.0)
    assert qp is not None
    q.backoff(qp, 5.0)
    assert q.counts() == {"active": 0, "backoff": 1, "unschedulable": 0}
    assert q.next_wakeup() == 6.0
    assert q.pop(5.9) is None
    again = q.pop(6.0)
    assert again is qp and again.attempts == 2
    q.backoff(again, 10.0)
    assert q.pop(11.9) is None and q.pop(12.0) is qp


def test_an_unschedulable_pod_waits_for_a_change() -> None:
    q = SchedulingQueue()
    q.add(pod("a"), 0.0)
    qp = q.pop(0.0)
    assert qp is not None
    q.unschedulable(qp, 0.0)
    assert q.counts() == {"active": 0, "backoff": 0, "unschedulable": 1}
    assert q.pop(29.0) is None  # backoff over, but nothing changed and no flush yet
    assert q.move_all(29.0) == 1
    assert q.pop(29.0) is qp


def test_a_change_soon_after_the_failure_goes_through_backoff() -> None:
    q = SchedulingQueue()
    q.add(pod("a"), 0.0)
    qp = q.pop(0.0)
    assert qp is not None
    q.unschedulable(qp, 10.0)
    q.move_all(10.2)  # still within the 1 s backoff of the first attempt
    assert q.get(qp.key).where is Where.BACKOFF  # type: ignore[union-attr]
    assert q.pop(10.9) is None
    assert q.pop(11.0) is qp


def test_unschedulable_pods_are_flushed_after_thirty_seconds() -> None:
    q = SchedulingQueue()
    for n in ("a", "b"):
        q.add(pod(n), 0.0)
    qa, qb = q.pop(0.0), q.pop(0.0)
    assert qa is not None and qb is not None
    q.unschedulable(qa, 1.0)
    q.unschedulable(qb, 20.0)
    assert q.next_wakeup() == 31.0
    assert q.flush(30.9) == 0
    assert q.flush(31.0) == 1
    assert q.pop(31.0) is qa and q.pop(31.0) is None
    assert q.next_wakeup() == 50.0
    assert q.flush(50.0) == 1 and q.pop(50.0) is qb


def test_updates_only_move_an_unschedulable_pod_when_they_matter() -> None:
    q = SchedulingQueue()
    q.add(pod("a"), 0.0)
    qp = q.pop(0.0)
    assert qp is not None
    q.unschedulable(qp, 0.0)
    q.update(pod("a", cpu="1"), 5.0, relevant=False)  # our own condition write, say
    assert q.get(qp.key).where is Where.UNSCHEDULABLE  # type: ignore[union-attr]
    assert q.get(qp.key).info.requests.cpu == 1000  # type: ignore[union-attr]  # newest version kept
    q.update(pod("a", tolerations=[{"operator": "Exists"}]), 5.0, relevant=True)
    got = q.pop(5.0)
    assert got is qp and got.info.tolerations[0].operator == "Exists"


def test_add_of_a_waiting_pod_is_an_update() -> None:
    q = SchedulingQueue()
    q.add(pod("a"), 0.0)
    q.add(pod("a", cpu="2"), 1.0)
    assert len(q) == 1
    got = q.pop(1.0)
    assert got is not None and got.info.requests.cpu == 2000 and q.pop(1.0) is None


def test_a_priority_change_reorders_an_active_pod() -> None:
    q = SchedulingQueue()
    q.add(pod("a"), 0.0)
    q.add(pod("b"), 0.0)
    q.update(pod("b", priority=5), 1.0, relevant=True)
    assert names(q, 1.0) == ["b", "a"]


def test_delete_from_anywhere() -> None:
    q = SchedulingQueue()
    for n in ("active", "backoff", "unschedulable"):
        q.add(pod(n), 0.0)
    a, b, u = q.pop(0.0), q.pop(0.0), q.pop(0.0)
    assert a is not None and b is not None and u is not None
    q.add(a.info, 0.0)
    q.backoff(b, 0.0)
    q.unschedulable(u, 0.0)
    assert q.counts() == {"active": 1, "backoff": 1, "unschedulable": 1}
    for key in (a.key, b.key, u.key):
        assert q.delete(key) is not None
    assert q.delete(a.key) is None
    assert len(q) == 0 and q.pop(100.0) is None and q.next_wakeup() is None


def test_a_newer_version_queued_meanwhile_wins_over_the_handed_back_one() -> None:
    q = SchedulingQueue()
    q.add(pod("a"), 0.0)
    old = q.pop(0.0)
    assert old is not None
    q.add(pod("a", cpu="3"), 0.5)
    q.unschedulable(old, 1.0)
    got = q.pop(1.0)
    assert got is not None and got is not old and got.info.requests.cpu == 3000 and got.attempts == 2


def test_next_wakeup_skips_pods_that_left_backoff() -> None:
    q = SchedulingQueue()
    q.add(pod("a"), 0.0)
    q.add(pod("b"), 0.0)
    qa, qb = q.pop(0.0), q.pop(0.0)
    assert qa is not None and qb is not None
    q.backoff(qa, 0.0)
    q.backoff(qb, 0.5)
    q.delete(qa.key)
    assert q.next_wakeup() == 1.5


def test_queued_pod_key() -> None:
    assert QueuedPod(pod("x", ns="ns")).key == ("ns", "x")
