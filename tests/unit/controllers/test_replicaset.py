"""The ReplicaSet controller in unit tests: core/replicas.py's exact decisions for one set (what to
create or delete, in which batches, which pods go first, the status it should have), then the
shell (components/controllers/replicaset.py) on an in-memory log with a fake API and a fake clock:
handlers, expectations, slow start stopping at a refusal, adoption and release. (The real API
server path is in tests/integration/controllers/test_replicaset.py.)"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from bus.apiclient import ApiReplyError
from bus.log import Op
from bus.memory import MemoryLog
from bus.recorder import EventRecorder
from components.clock import FakeClock
from components.controllers.base import ControllerContext, Requeue
from components.controllers.informers import SharedInformers
from components.controllers.replicaset import RC, RS, ReplicaSetController
from core import replicas
from core.keys import ObjectKey
from core.kinds import Stream
from core.meta import rfc3339
from core.replicas import Counts, Failure, Plan
from core.workload import controller_ref
from tests.unit.controllers.logapi import LogApi, key_of

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def ts(seconds_ago: float) -> str:
    return rfc3339(NOW - timedelta(seconds=seconds_ago))


def pod(name: str, *, node: str = "n1", phase: str = "Running", ready_ago: float | None = 600.0,
        created_ago: float = 3600.0, restarts: int = 0, cost: str | None = None,
        labels: dict[str, str] | None = None, deleting: bool = False) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                          "creationTimestamp": ts(created_ago), "labels": labels if labels is not None else {"app": "a"}}
    if cost is not None:
        md["annotations"] = {replicas.DELETION_COST: cost}
    if deleting:
        md["deletionTimestamp"] = ts(0)
    conds = []
    if ready_ago is not None:
        conds.append({"type": "Ready", "status": "True", "lastTransitionTime": ts(ready_ago)})
    else:
        conds.append({"type": "Ready", "status": "False", "lastTransitionTime": ts(created_ago)})
    return {"metadata": md, "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "conditions": conds,
                       "containerStatuses": [{"name": "c", "restartCount": restarts}]}}


def owner(*, replicas_: int | None = 3, generation: int = 2, min_ready: int = 0, status: dict[str, Any] | None = None,
          template_labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "a"}},
                            "template": {"metadata": {"labels": template_labels if template_labels is not None
                                                      else {"app": "a", "tier": "web"}}}}
    if replicas_ is not None:
        spec["replicas"] = replicas_
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {"metadata": {"name": "rs", "namespace": "default", "uid": "rs-uid", "generation": generation},
            "spec": spec, "status": status or {}}


def names(pods: list[dict[str, Any]]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


# -- plan -------------------------------------------------------------------------------------
def test_desired_replicas_defaults_to_one() -> None:
    assert replicas.desired_replicas(owner(replicas_=None)) == 1
    assert replicas.desired_replicas(owner(replicas_=0)) == 0
    assert replicas.desired_replicas(owner(replicas_=7)) == 7


@pytest.mark.parametrize("desired,have,expected", [
    (3, 0, Plan(create=3)),
    (3, 3, Plan()),
    (3, 5, Plan(delete=2)),
    (0, 2, Plan(delete=2)),
    (1000, 0, Plan(create=500)),  # burstReplicas
    (0, 1000, Plan(delete=500)),
    (1000, 700, Plan(create=300)),
])
def test_plan(desired: int, have: int, expected: Plan) -> None:
    assert replicas.plan(desired, have) == expected


def test_plan_with_a_smaller_burst() -> None:
    assert replicas.plan(10, 0, burst=4) == Plan(create=4)
    assert replicas.plan(0, 10, burst=4) == Plan(delete=4)


@pytest.mark.parametrize("count,batches", [
    (0, []),
    (1, [1]),
    (2, [1, 1]),
    (3, [1, 2]),
    (7, [1, 2, 4]),
    (10, [1, 2, 4, 3]),
    (500, [1, 2, 4, 8, 16, 32, 64, 128, 245]),
])
def test_slow_start_batches(count: int, batches: list[int]) -> None:
    assert replicas.slow_start(count) == batches
    assert sum(batches) == count


# -- which pods to delete -------------------------------------------------------------------
def test_nothing_or_everything_to_delete() -> None:
    pods = [pod("a"), pod("b")]
    assert replicas.pods_to_delete(pods, pods, 0, now=NOW) == []
    assert names(replicas.pods_to_delete(pods, pods, 2, now=NOW)) == ["a", "b"]
    assert names(replicas.pods_to_delete(pods, pods, 5, now=NOW)) == ["a", "b"]


def test_unscheduled_before_scheduled() -> None:
    pods = [pod("bound"), pod("unbound", node="", phase="Pending", ready_ago=None)]
    assert names(replicas.pods_to_delete(pods, pods, 1, now=NOW)) == ["unbound"]


def test_pending_before_unknown_before_running() -> None:
    pods = [pod("running", ready_ago=None), pod("unknown", phase="Unknown", ready_ago=None),
            pod("pending", phase="Pending", ready_ago=None)]
    assert names(replicas.pods_to_delete(pods, pods, 2, now=NOW)) == ["pending", "unknown"]


def test_not_ready_before_ready() -> None:
    pods = [pod("ready"), pod("unready", ready_ago=None)]
    assert names(replicas.pods_to_delete(pods, pods, 1, now=NOW)) == ["unready"]


def test_lower_deletion_cost_first_and_bad_costs_count_as_zero() -> None:
    pods = [pod("expensive", cost="100"), pod("cheap", cost="-5"), pod("plain"), pod("garbage", cost="x")]
    ordered = replicas.pods_to_delete(pods, pods, 3, now=NOW)
    assert names(ordered)[0] == "cheap"
    assert "expensive" not in names(ordered)
    assert replicas.deletion_cost(pod("big", cost=str(2 ** 31))) == 0


def test_cost_outranks_readiness_time_but_not_readiness() -> None:
    pods = [pod("unready-costly", ready_ago=None, cost="100"), pod("ready-cheap", cost="0")]
    assert names(replicas.pods_to_delete(pods, pods, 1, now=NOW)) == ["unready-costly"]


def test_doubled_up_before_alone_on_its_node() -> None:
    # n1 holds two pods of this owner's family (one of a sibling set), n2 only one
    alone, crowded = pod("alone", node="n2"), pod("crowded", node="n1")
    sibling = pod("sibling", node="n1")
    pods = [alone, crowded]
    assert names(replicas.pods_to_delete(pods, pods + [sibling], 1, now=NOW)) == ["crowded"]
    # an inactive sibling does not count
    done = pod("done", node="n1", phase="Succeeded")
    young_alone = pod("alone", node="n2", ready_ago=10, created_ago=20)
    assert names(replicas.pods_to_delete([young_alone, crowded], [young_alone, crowded, done], 1, now=NOW)) == ["alone"]


def test_ready_for_less_time_first_on_a_log_scale() -> None:
    # 10 s vs 1000 s ready: different log2 buckets, the newer goes first
    pods = [pod("old", ready_ago=1000), pod("new", ready_ago=10)]
    assert names(replicas.pods_to_delete(pods, pods, 1, now=NOW)) == ["new"]
    # 1000 s vs 1001 s: same bucket; as in Kubernetes the uid decides there and then, before
    # restarts are looked at
    pods = [pod("a", ready_ago=1000), pod("b", ready_ago=1001, restarts=3)]
    assert names(replicas.pods_to_delete(pods, pods, 1, now=NOW)) == ["a"]
    # equal ready times: restarts decide
    pods = [pod("a", ready_ago=1000), pod("b", ready_ago=1000, restarts=3)]
    assert names(replicas.pods_to_delete(pods, pods, 1, now=NOW)) == ["b"]


def test_same_bucket_and_same_restarts_falls_to_uid() -> None:
    pods = [pod("z", ready_ago=1000, created_ago=5000), pod("y", ready_ago=1001, created_ago=5001)]
    # same log2 bucket for ready time: the uid decides ("uid-y" < "uid-z")
    assert names(replicas.pods_to_delete(pods, pods, 1, now=NOW)) == ["y"]


def test_without_now_the_later_time_goes_first() -> None:
    pods = [pod("a", ready_ago=1000), pod("b", ready_ago=1001)]
    assert names(replicas.pods_to_delete(pods, pods, 1, now=None)) == ["a"]


def test_more_restarts_first_then_younger_first() -> None:
    pods = [pod("calm", restarts=0), pod("crashy", restarts=5)]
    assert names(replicas.pods_to_delete(pods, pods, 1, now=NOW)) == ["crashy"]
    pods = [pod("old", ready_ago=None, created_ago=100_000), pod("young", ready_ago=None, created_ago=10)]
    assert names(replicas.pods_to_delete(pods, pods, 1, now=NOW)) == ["young"]


def test_max_restarts_counts_init_containers() -> None:
    a = pod("a")
    a["status"]["initContainerStatuses"] = [{"name": "init", "restartCount": 9}]
    b = pod("b", restarts=4)
    assert names(replicas.pods_to_delete([b, a], [a, b], 1, now=NOW)) == ["a"]


# -- counts and status ----------------------------------------------------------------------
def test_counts() -> None:
    pods = [pod("a", labels={"app": "a", "tier": "web"}), pod("b", labels={"app": "a"}), pod("c", ready_ago=None)]
    c = replicas.count(owner(), pods, NOW)
    assert (c.replicas, c.fully_labeled, c.ready, c.available, c.next_available) == (3, 1, 2, 2, None)


def test_min_ready_seconds_counts_availability_and_says_when_next() -> None:
    pods = [pod("long", ready_ago=100), pod("soon", ready_ago=25), pod("just", ready_ago=1), pod("no", ready_ago=None)]
    c = replicas.count(owner(min_ready=30), pods, NOW)
    assert (c.ready, c.available) == (3, 1)
    assert c.next_available == pytest.approx(5.0)


def test_a_ready_time_in_the_future_waits_at_most_min_ready_seconds() -> None:
    c = replicas.count(owner(min_ready=30), [pod("skewed", ready_ago=-100)], NOW)
    assert c.next_available == 30.0


def test_status_counts_and_observed_generation() -> None:
    st = replicas.status_for(owner(generation=4), Counts(replicas=3, fully_labeled=3, ready=2, available=1), None, NOW)
    assert st == {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 2, "availableReplicas": 1,
                  "observedGeneration": 4}


def test_zero_counters_are_left_out_and_unknown_fields_kept() -> None:
    old = {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "fullyLabeledReplicas": 2,
           "observedGeneration": 1, "somethingElse": "x"}
    st = replicas.status_for(owner(generation=2, status=old), Counts(), None, NOW)
    assert st == {"replicas": 0, "observedGeneration": 2, "somethingElse": "x"}


def test_failure_sets_the_condition_once_and_recovery_removes_it() -> None:
    failure = replicas.failure_for(3, 1, 'pods "rs-x" is forbidden: exceeded quota')
    assert failure == Failure("FailedCreate", 'pods "rs-x" is forbidden: exceeded quota')
    assert replicas.failure_for(1, 3, "boom").reason == "FailedDelete"
    st = replicas.status_for(owner(), Counts(replicas=1), failure, NOW)
    assert st["conditions"] == [{"type": "ReplicaFailure", "status": "True", "lastTransitionTime": rfc3339(NOW),
                                 "reason": "FailedCreate", "message": 'pods "rs-x" is forbidden: exceeded quota'}]
    # still failing later: the condition (and its transition time) stays as it was
    later = replicas.status_for(owner(status=st), Counts(replicas=1), Failure("FailedCreate", "other"),
                                NOW + timedelta(minutes=5))
    assert later["conditions"] == st["conditions"]
    # recovered: removed, and the key disappears with the last condition
    ok = replicas.status_for(owner(status=st), Counts(replicas=3), None, NOW)
    assert "conditions" not in ok


def test_other_conditions_are_kept() -> None:
    other = {"type": "Custom", "status": "True"}
    st = replicas.status_for(owner(status={"replicas": 0, "conditions": [other]}), Counts(), None, NOW)
    assert st["conditions"] == [other]


def test_status_changed() -> None:
    o = owner(generation=2, status={"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 3,
                                    "availableReplicas": 3, "observedGeneration": 2})
    same = replicas.status_for(o, Counts(replicas=3, fully_labeled=3, ready=3, available=3), None, NOW)
    assert not replicas.status_changed(o, same)
    newer = replicas.status_for({**o, "metadata": {**o["metadata"], "generation": 3}},
                                Counts(replicas=3, fully_labeled=3, ready=3, available=3), None, NOW)
    assert replicas.status_changed(o, newer)


# -- the shell on an in-memory log ----------------------------------------------------------
# The controller's reads come from informers over a MemoryLog; its writes go through a fake API
# that appends to that log, so its pods come back to it as they would from the bus.
RS_KEY = ObjectKey("apps", "replicasets", "default", "web")


class FakeApi(LogApi):
    """Enough of the API server for this controller; `refuse_creates_after` makes later creates fail
    with 403 (a quota)."""

    def __init__(self, log: MemoryLog) -> None:
        super().__init__(log)
        self.refuse_creates_after: int | None = None
        self.created = 0
        self._names = itertools.count()

    async def get(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        return await self._current(key_of(resource, namespace, name))

    async def create(self, resource: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("create", resource, namespace))
        if self.refuse_creates_after is not None and self.created >= self.refuse_creates_after:
            raise ApiReplyError(403, {"reason": "Forbidden", "message": "exceeded quota: pods"})
        self.created += 1
        obj = copy.deepcopy(body)
        md = obj["metadata"]
        n = next(self._names)
        md.update(name=md.pop("generateName", "") + f"p{n:03d}", namespace=namespace, uid=f"pod-uid-{n}",
                  creationTimestamp="2024-01-01T00:00:00Z")
        return await self._write(key_of(resource, namespace, md["name"]), obj, 0, Op.ADDED)

    async def update(self, resource: str, namespace: str, name: str, body: dict[str, Any], *,
                     subresource: str = "") -> dict[str, Any]:
        self.calls.append(("update", resource, name, subresource))
        key = key_of(resource, namespace, name)
        old = await self._current(key)
        if body["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise ApiReplyError(409, {"reason": "Conflict"})
        return await self._write(key, {**old, "status": body["status"]}, int(old["metadata"]["resourceVersion"]))

    async def patch(self, resource: str, namespace: str, name: str, patch: dict[str, Any], *,
                    subresource: str = "") -> dict[str, Any]:
        self.calls.append(("patch", resource, name, patch))
        key = key_of(resource, namespace, name)
        old = await self._current(key)
        want = patch["metadata"].get("resourceVersion")
        if want and want != old["metadata"]["resourceVersion"]:
            raise ApiReplyError(409, {"reason": "Conflict"})
        md = dict(old["metadata"])
        if patch["metadata"]["ownerReferences"] is None:
            md.pop("ownerReferences", None)
        else:
            md["ownerReferences"] = patch["metadata"]["ownerReferences"]
        return await self._write(key, {**old, "metadata": md}, int(old["metadata"]["resourceVersion"]))

    async def delete(self, resource: str, namespace: str, name: str, *, grace_period_seconds: int | None = None,
                     uid: str | None = None, propagation: str | None = None) -> dict[str, Any]:
        self.calls.append(("delete", resource, name))
        key = key_of(resource, namespace, name)
        old = await self._current(key)
        return await self._write(key, old, int(old["metadata"]["resourceVersion"]), Op.DELETED)


class Harness:
    def __init__(self, kind: Any = RS) -> None:
        self.objects = MemoryLog("objects")
        self.clock = FakeClock(wall=NOW)
        self.api = FakeApi(self.objects)
        self.informers = SharedInformers({Stream.OBJECTS: self.objects})
        self.recorded: list[tuple[str, str, str]] = []
        harness = self

        class Recorder(EventRecorder):
            def record(self, obj: dict[str, Any], type_: str, reason: str, message: str, field_path: str = "") -> None:
                harness.recorded.append((type_, reason, message))

        ctx = ControllerContext(informers=self.informers, clock=self.clock,
                                api=lambda name: self.api,  # type: ignore[arg-type,return-value]
                                recorder=lambda c: Recorder(self.api, c),  # type: ignore[arg-type]
                                spawn=lambda coro, name: asyncio.create_task(coro, name=name))
        self.controller = ReplicaSetController(ctx, kind, workers=1)

    async def put(self, key: ObjectKey, obj: dict[str, Any]) -> dict[str, Any]:
        latest = await self.objects.latest(key)
        op = Op.ADDED if latest is None or latest.op is Op.DELETED else Op.MODIFIED
        entry = await self.objects.append(key, op, orjson.dumps(obj), expected=latest.revision if latest else 0)
        await self.caught_up()
        return {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(entry.revision)}}

    async def caught_up(self) -> None:
        """Every informer has applied the last entry of its resource."""
        for inf in self.informers.informers:
            last = max((rev for key, rev in self.objects._last.items() if inf.filter.matches(key)), default=0)
            await inf.wait_for(last, timeout=2)

    def rs(self, name: str = "web") -> dict[str, Any]:
        obj = self.controller.sets.get("default", name)
        assert obj is not None
        return obj

    def pod(self, name: str) -> dict[str, Any]:
        obj = self.controller.pods.get("default", name)
        assert obj is not None
        return obj

    def pods(self) -> list[dict[str, Any]]:
        return sorted(self.controller.pods.items(), key=lambda p: p["metadata"]["name"])

    async def drain(self) -> list[str]:
        """The keys queued now (taken off the queue)."""
        out = []
        q = self.controller.queue
        while len(q):
            k = await q.get()
            q.done(k)
            out.append(k)
        return out


def rs_body(replicas_: int = 3, *, generation: int = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web", "namespace": "default", "uid": "rs-uid", "generation": generation},
            "spec": {"replicas": replicas_, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "x"}]}}}}


def plain_pod(name: str, labels: dict[str, str], ref: dict[str, Any] | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": labels,
                          "creationTimestamp": "2024-01-01T00:00:00Z"}
    if ref is not None:
        md["ownerReferences"] = [ref]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": {"containers": [{"name": "c", "image": "x"}]}}


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness()
    await harness.informers.start()
    try:
        yield harness
    finally:
        await harness.controller.stop()
        await harness.informers.stop()


async def test_creates_the_missing_pods_with_a_controller_reference(h: Harness) -> None:
    await h.put(RS_KEY, rs_body(3))
    assert await h.drain() == ["default/web"]
    await h.controller.sync("default/web")
    await h.caught_up()
    pods = h.pods()
    assert [p["metadata"]["name"] for p in pods] == ["web-p000", "web-p001", "web-p002"]
    for p in pods:
        assert p["metadata"]["labels"] == {"app": "web"}
        assert p["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                                     "uid": "rs-uid", "controller": True,
                                                     "blockOwnerDeletion": True}]
    assert h.recorded == [("Normal", "SuccessfulCreate", f"Created pod: web-p00{i}") for i in range(3)]
    # each ADDED pod was an observed creation and enqueued its owner
    assert h.controller.expectations.satisfied("default/web")
    assert await h.drain() == ["default/web"]
    # status of what was there when the sync began (nothing), then the next sync counts three
    assert h.rs()["status"] == {"replicas": 0, "observedGeneration": 1}
    await h.controller.sync("default/web")
    assert h.rs()["status"] == {"replicas": 3, "fullyLabeledReplicas": 3,
                                                                 "observedGeneration": 1}
    calls = len(h.api.calls)
    await h.controller.sync("default/web")  # nothing changed: nothing written
    assert len(h.api.calls) == calls


async def test_unmet_expectations_only_update_status(h: Harness) -> None:
    await h.put(RS_KEY, rs_body(3))
    h.controller.expectations.expect("default/web", creations=2)
    await h.controller.sync("default/web")
    assert [c[0] for c in h.api.calls] == ["update"]
    assert h.pods() == []
    h.clock.advance(301)  # expectations expire: a lost event must not wedge the set
    await h.controller.sync("default/web")
    await h.caught_up()
    assert len(h.pods()) == 3


async def test_refused_creates_stop_the_slow_start_and_set_replica_failure(h: Harness) -> None:
    await h.put(RS_KEY, rs_body(10))
    h.api.refuse_creates_after = 5  # batches 1, 2, 4: the third batch has 2 refusals, 3 never tried
    with pytest.raises(Requeue):
        await h.controller.sync("default/web")
    await h.caught_up()
    assert [c[0] for c in h.api.calls].count("create") == 7
    assert len(h.pods()) == 5
    assert h.recorded.count(("Warning", "FailedCreate", "Error creating: exceeded quota: pods")) == 2
    assert h.controller.expectations.satisfied("default/web")  # 5 seen, 5 given up on
    cond = h.rs()["status"]["conditions"]
    assert cond == [{"type": "ReplicaFailure", "status": "True", "lastTransitionTime": rfc3339(NOW),
                     "reason": "FailedCreate", "message": "exceeded quota: pods"}]
    h.api.refuse_creates_after = None
    await h.controller.sync("default/web")
    await h.caught_up()
    assert len(h.pods()) == 10
    assert "conditions" not in h.rs()["status"]


async def test_scale_down_deletes_the_least_useful_and_expects_the_deletions(h: Harness) -> None:
    await h.put(RS_KEY, rs_body(3))
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-uid", "controller": True}
    for name in ("a", "b", "c"):
        p = plain_pod(name, {"app": "web"}, ref)
        p["spec"]["nodeName"] = "n1"
        p["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
                                                           "lastTransitionTime": "2023-12-31T00:00:00Z"}]}
        if name == "b":
            p["spec"].pop("nodeName")
            p["status"] = {"phase": "Pending"}
        await h.put(ObjectKey("", "pods", "default", name), p)
    await h.put(RS_KEY, rs_body(2, generation=2))
    await h.controller.sync("default/web")
    assert ("delete", "pods", "b") in h.api.calls and [c[0] for c in h.api.calls].count("delete") == 1
    assert h.recorded == [("Normal", "SuccessfulDelete", "Deleted pod: b")]
    await h.caught_up()
    assert h.controller.expectations.satisfied("default/web")


async def test_orphans_are_adopted_and_strays_released(h: Harness) -> None:
    await h.put(RS_KEY, rs_body(2))
    await h.drain()
    other = {"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "job-uid", "controller": True}
    await h.put(ObjectKey("", "pods", "default", "orphan"), plain_pod("orphan", {"app": "web"}))
    await h.put(ObjectKey("", "pods", "default", "jobs"), plain_pod("jobs", {"app": "web"}, other))
    await h.put(ObjectKey("", "pods", "default", "unrelated"), plain_pod("unrelated", {"app": "db"}))
    assert await h.drain() == ["default/web"]  # only the matching orphan asked for the set
    await h.controller.sync("default/web")
    await h.caught_up()
    by_name = {p["metadata"]["name"]: p for p in h.pods()}
    assert (controller_ref(by_name["orphan"]) or {}).get("uid") == "rs-uid"
    assert (controller_ref(by_name["jobs"]) or {}).get("uid") == "job-uid"
    assert controller_ref(by_name["unrelated"]) is None
    assert len(by_name) == 4  # one pod made: the adopted orphan counts
    # relabelled: released, and the set makes another
    await h.drain()
    orphan = by_name["orphan"]
    relabelled = {**orphan, "metadata": {**orphan["metadata"], "labels": {"app": "gone"}}}
    relabelled["metadata"].pop("resourceVersion")
    await h.put(ObjectKey("", "pods", "default", "orphan"), relabelled)
    assert await h.drain() == ["default/web"]
    await h.controller.sync("default/web")
    await h.caught_up()
    assert controller_ref(h.pod("orphan")) is None
    await h.controller.sync("default/web")
    await h.caught_up()
    owned = [p for p in h.pods() if (controller_ref(p) or {}).get("uid") == "rs-uid"]
    assert len(owned) == 2


async def test_a_set_being_deleted_neither_creates_nor_adopts(h: Harness) -> None:
    body = rs_body(2)
    body["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    body["metadata"]["finalizers"] = ["foregroundDeletion"]
    await h.put(ObjectKey("", "pods", "default", "orphan"), plain_pod("orphan", {"app": "web"}))
    await h.put(RS_KEY, body)
    await h.controller.sync("default/web")
    assert [c[0] for c in h.api.calls] == ["update"]  # the status only


async def test_a_pod_enqueues_only_its_own_kind_of_controller() -> None:
    h = Harness(RC)
    await h.informers.start()
    try:
        rc = {"apiVersion": "v1", "kind": "ReplicationController",
              "metadata": {"name": "web", "namespace": "default", "uid": "rc-uid", "generation": 1},
              "spec": {"replicas": 1, "selector": {"app": "web"},
                       "template": {"metadata": {"labels": {"app": "web"}}, "spec": {}}}}
        await h.put(ObjectKey("", "replicationcontrollers", "default", "web"), rc)
        assert await h.drain() == ["default/web"]
        rs_ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rc-uid", "controller": True}
        await h.put(ObjectKey("", "pods", "default", "p"), plain_pod("p", {"app": "web"}, rs_ref))
        assert await h.drain() == []  # a ReplicaSet's pod, even with that uid, is not the RC's business
        await h.api.delete("pods", "default", "p")
        await h.caught_up()
        assert await h.drain() == []
        await h.controller.sync("default/web")
        await h.caught_up()
        made = [p for p in h.pods() if p["metadata"]["name"].startswith("web-")]
        assert len(made) == 1 and (controller_ref(made[0]) or {}).get("kind") == "ReplicationController"
    finally:
        await h.controller.stop()
        await h.informers.stop()


async def test_min_ready_seconds_requeues_when_a_pod_becomes_available(h: Harness) -> None:
    body = rs_body(1)
    body["spec"]["minReadySeconds"] = 30
    await h.put(RS_KEY, body)
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-uid", "controller": True}
    p = plain_pod("a", {"app": "web"}, ref)
    p["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
                                                       "lastTransitionTime": rfc3339(NOW - timedelta(seconds=10))}]}
    await h.put(ObjectKey("", "pods", "default", "a"), p)
    await h.drain()
    await h.controller.sync("default/web")
    st = h.rs()["status"]
    assert (st.get("readyReplicas"), st.get("availableReplicas")) == (1, None)
    assert list(h.controller.queue.waiting.values()) == [pytest.approx(h.clock.monotonic() + 20, abs=0.01)]
    h.clock.advance(20.01)
    assert await h.drain() == ["default/web"]
    await h.controller.sync("default/web")
    assert h.rs()["status"]["availableReplicas"] == 1
