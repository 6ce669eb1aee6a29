"""The replay sandbox's pure parts: the virtual-time loop, reading decisions out of log entries,
the merge patch between two versions, and the recorded pace of the nodes."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from bus.log import Entry, Meta, Op
from core.keys import ObjectKey
from core.patches.merge import merge_diff, merge_patch
from replay.decisions import Decision, Decisions, compare, decide, extract, is_input
from replay.simnodes import Pace
from replay.vloop import Deadlock, run

POD = ObjectKey("", "pods", "default", "web-abc12")
RS = ObjectKey("apps", "replicasets", "default", "web-7d9f")


# -- the virtual-time loop ------------------------------------------------------------------
def test_virtual_time_jumps_to_each_timer_in_order() -> None:
    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        seen: list[tuple[str, float]] = []

        async def sleeper(name: str, seconds: float) -> None:
            await asyncio.sleep(seconds)
            seen.append((name, loop.time()))
        await asyncio.gather(sleeper("day", 86400.0), sleeper("minute", 60.0), sleeper("ms", 0.001))
        try:
            await asyncio.wait_for(asyncio.Event().wait(), 300)
        except asyncio.TimeoutError:
            seen.append(("timeout", loop.time()))
        return seen

    wall = time.monotonic()
    assert run(main(), start=1.7e9) == [("ms", 0.001), ("minute", 60.0), ("day", 86400.0), ("timeout", 86700.0)]
    assert time.monotonic() - wall < 5  # a day of waiting costs nothing (generous: a sanity bound, not a benchmark)


def test_the_virtual_wall_clock_starts_at_the_given_epoch() -> None:
    async def main() -> float:
        await asyncio.sleep(10)
        loop = asyncio.get_running_loop()
        return loop.epoch()  # type: ignore[attr-defined,no-any-return]

    assert run(main(), start=1_000_000.0) == 1_000_010.0


def test_waiting_on_what_nothing_will_set_is_a_deadlock_not_a_hang() -> None:
    async def main() -> None:
        await asyncio.Event().wait()

    with pytest.raises(Deadlock):
        run(main(), start=0.0)


# -- decisions --------------------------------------------------------------------------------
def entry(rev: int, key: ObjectKey, op: Op, body: dict, actor: str) -> Entry:
    return Entry(rev, key, op, orjson.dumps(body), float(rev), Meta(actor=actor))


def pod(node: str = "", *, deleting: bool = False, unschedulable: bool = False) -> dict:
    md = {"name": "web-abc12", "namespace": "default", "generateName": "web-"}
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    status = {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]} \
        if unschedulable else {}
    return {"metadata": md, "spec": {"nodeName": node} if node else {}, "status": status}


def test_who_wrote_an_entry_makes_it_an_input_or_a_decision() -> None:
    assert is_input(entry(1, POD, Op.ADDED, pod(), "kubernetes-admin"))
    assert is_input(entry(1, ObjectKey("", "nodes", "", "n1"), Op.MODIFIED, {}, "system:node:n1"))
    assert not is_input(entry(1, POD, Op.MODIFIED, pod(), "system:node:n1"))  # the simulated nodes' part
    assert not is_input(entry(1, POD, Op.MODIFIED, pod(), "system:kubelet-sim"))
    assert not is_input(entry(1, POD, Op.MODIFIED, pod(), "system:kube-scheduler"))
    assert not is_input(entry(1, POD, Op.ADDED, pod(), "system:controller:replicaset"))


def test_decisions_are_named_by_what_they_did_with_generated_names_folded() -> None:
    rs = "system:controller:replicaset"
    assert decide(entry(1, POD, Op.ADDED, pod(), rs), None, pod()) == [
        Decision("controller:replicaset", "create", "Pod default/web-*")]
    assert decide(entry(2, POD, Op.MODIFIED, pod("n1"), "system:kube-scheduler"), pod(), pod("n1")) == [
        Decision("scheduler", "bind", "Pod default/web-*", "n1")]
    assert decide(entry(3, POD, Op.MODIFIED, pod("n1", deleting=True), rs), pod("n1"), pod("n1", deleting=True)) == [
        Decision("controller:replicaset", "delete", "Pod default/web-*")]
    # the removal that ends a graceful deletion decides nothing new
    assert decide(entry(4, POD, Op.DELETED, pod("n1", deleting=True), rs), pod("n1", deleting=True),
                  pod("n1", deleting=True)) == []
    old = {"metadata": {"name": "web-7d9f"}, "spec": {"replicas": 2, "template": {"a": 1}}, "status": {"x": 1}}
    new = {"metadata": {"name": "web-7d9f"}, "spec": {"replicas": 3, "template": {"a": 1}}, "status": {"x": 2}}
    assert decide(entry(5, RS, Op.MODIFIED, new, "system:controller:deployment"), old, new) == [
        Decision("controller:deployment", "set", "ReplicaSet default/web-7d9f", "spec.replicas=3")]
    assert decide(entry(6, RS, Op.MODIFIED, {**new, "status": {"x": 3}}, "system:controller:replicaset"), new,
                  {**new, "status": {"x": 3}}) == []  # a status write reports, it does not decide
    assert decide(entry(7, POD, Op.MODIFIED, pod(unschedulable=True), "system:kube-scheduler"), pod(),
                  pod(unschedulable=True)) == [Decision("scheduler", "unschedulable", "Pod default/web-*",
                                                        "Unschedulable")]
    assert decide(entry(8, POD, Op.ADDED, pod(), "someone"), None, pod()) == []


def test_decisions_are_counted_and_compared_on_both_sides() -> None:
    before = {POD: entry(1, POD, Op.ADDED, pod(), "system:controller:replicaset")}
    recorded = extract([entry(2, POD, Op.MODIFIED, pod("n1"), "system:kube-scheduler")], before)
    replayed = extract([entry(9, POD, Op.MODIFIED, pod("n2"), "system:kube-scheduler")], before)
    diffs = compare(recorded, replayed)
    assert [(d.decision.detail, d.recorded, d.replayed, d.recorded_first, d.replayed_first) for d in diffs] == [
        ("n1", 1, 0, (2, 2.0), None), ("n2", 0, 1, None, (9, 9.0))]
    assert compare(recorded, recorded) == [] and Decisions().total == 0


# -- the merge patch between versions --------------------------------------------------------------
@pytest.mark.parametrize("old,new", [
    ({"a": 1, "b": {"c": 2, "d": 3}}, {"a": 1, "b": {"c": 4}}),
    ({"spec": {"replicas": 2}}, {"spec": {"replicas": 2, "paused": True}, "x": [1, 2]}),
    ({"l": [1, 2, 3]}, {"l": [3]}),
    ({}, {"a": {"b": {"c": 1}}}),
])
def test_merge_diff_takes_old_to_new(old: dict, new: dict) -> None:
    assert merge_patch(old, merge_diff(old, new)) == new
    assert merge_diff(new, new) == {}


# -- the nodes' recorded pace ---------------------------------------------------------------------
def test_pace_gives_each_pod_of_a_series_the_delay_its_recorded_twin_took() -> None:
    def at(rev: int, t: float, name: str, op: Op, body: dict) -> Entry:
        key = ObjectKey("", "pods", "default", name)
        return Entry(rev, key, op, orjson.dumps(body), t, Meta(actor="x"))

    def p(name: str, node: str = "", phase: str = "", deleting: bool = False) -> dict:
        md = {"name": name, "namespace": "default", "generateName": "web-"}
        if deleting:
            md["deletionTimestamp"] = "x"
        return {"metadata": md, "spec": {"nodeName": node} if node else {}, "status": {"phase": phase} if phase else {}}

    log = [at(1, 10.0, "web-a", Op.ADDED, p("web-a")), at(2, 10.5, "web-b", Op.ADDED, p("web-b")),
           at(3, 11.0, "web-a", Op.MODIFIED, p("web-a", "n1")), at(4, 11.0, "web-b", Op.MODIFIED, p("web-b", "n1")),
           at(5, 11.2, "web-a", Op.MODIFIED, p("web-a", "n1", "Running")),
           at(6, 11.6, "web-b", Op.MODIFIED, p("web-b", "n1", "Running")),
           at(7, 20.0, "web-a", Op.MODIFIED, p("web-a", "n1", "Running", deleting=True)),
           at(8, 20.3, "web-a", Op.DELETED, p("web-a", "n1", "Running", deleting=True))]
    pace = Pace.recorded(log)
    series = ("default", "web-")
    assert pace.delay((series, 0), False) == pytest.approx(0.2)
    assert pace.delay((series, 1), False) == pytest.approx(0.6)
    assert pace.delay((series, 5), False) == pytest.approx(0.4)  # no twin: the median
    assert pace.delay((series, 0), True) == pytest.approx(0.3)
    assert pace.delay(None, True) == pytest.approx(0.3)
