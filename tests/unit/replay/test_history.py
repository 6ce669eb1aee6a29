"""replay.history and replay.when over the in-memory log: versions with their changes, the
timeline's window, filters and causes, kubectl-style names, and reading "when"."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from bus.log import Meta, Op
from bus.memory import MemoryLog
from core.keys import KeyFilter, ObjectKey
from core.objdiff import Change, ChangeKind
from replay.history import (BadName, Cause, annotate, key_filter, object_text, resolve_kind, resolve_object,
                            summary, timeline, versions)
from replay.when import parse_when


class Clock:
    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


DEPLOY = ObjectKey("apps", "deployments", "default", "web")
RS = ObjectKey("apps", "replicasets", "default", "web-7d9f")
CM = ObjectKey("", "configmaps", "other", "settings")


def body(replicas: int, image: str = "nginx:1.25") -> bytes:
    return orjson.dumps({"kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
                         "spec": {"replicas": replicas,
                                  "template": {"spec": {"containers": [{"name": "web", "image": image}]}}}})


async def write(log: MemoryLog, key: ObjectKey, op: Op, data: bytes, *, actor: str = "alice",
                cause: str = "") -> int:
    latest = await log.latest(key)
    expected = latest.revision if latest else 0
    e = await log.append(key, op, data, expected=expected, meta=Meta(actor=actor, request_id="r", causation=cause))
    return e.revision


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def story(clock: Clock) -> MemoryLog:
    """1 deploy ADDED (alice) · 2 rs ADDED (deployment-controller ← 1) · 3 deploy scaled (bob) ·
    4 cm ADDED (alice) · 5 rs scaled (deployment-controller ← 3) · 6 deploy image (bob) ·
    7 deploy DELETED (alice) · 8 rs MODIFIED with a causation that is not a number."""
    log = MemoryLog(clock=clock)
    steps = [
        (DEPLOY, Op.ADDED, body(3), "alice", ""),
        (RS, Op.ADDED, b'{"spec":{"replicas":3}}', "system:deployment-controller", "1"),
        (DEPLOY, Op.MODIFIED, body(5), "bob", ""),
        (CM, Op.ADDED, b'{"data":{"a":"1"}}', "alice", ""),
        (RS, Op.MODIFIED, b'{"spec":{"replicas":5}}', "system:deployment-controller", "3"),
        (DEPLOY, Op.MODIFIED, body(5, "nginx:1.27"), "bob", ""),
        (DEPLOY, Op.DELETED, body(5, "nginx:1.27"), "alice", ""),
        (RS, Op.MODIFIED, b'{"spec":{"replicas":0}}', "system:gc", "req-abc"),
    ]
    for key, op, data, actor, cause in steps:
        await write(log, key, op, data, actor=actor, cause=cause)
        clock.t += 10
    return log


# -- versions ------------------------------------------------------------------------------------

async def test_versions_are_every_entry_of_one_object_in_order(story: MemoryLog) -> None:
    entries = await versions(story, DEPLOY)
    assert [(e.revision, e.op) for e in entries] == [(1, Op.ADDED), (3, Op.MODIFIED), (6, Op.MODIFIED),
                                                     (7, Op.DELETED)]
    assert await versions(story, ObjectKey("apps", "deployments", "default", "nope")) == []


async def test_annotate_says_created_changed_and_deleted_with_the_diffs(story: MemoryLog) -> None:
    rows = annotate(await versions(story, DEPLOY))
    assert [v.what for v in rows] == ["created", "changed", "changed", "deleted"]
    assert rows[0].changes == [] and rows[3].changes == []
    assert rows[1].changes == [Change("spec.replicas", ChangeKind.CHANGED, 3, 5)]
    assert rows[2].changes == [Change("spec.template.spec.containers[0].image", ChangeKind.CHANGED,
                                      "nginx:1.25", "nginx:1.27")]
    assert rows[0].body["spec"]["replicas"] == 3


async def test_a_first_retained_modification_after_compaction_is_not_called_created(story: MemoryLog) -> None:
    await story.compact(keep=2)
    rows = annotate(await versions(story, DEPLOY))
    assert [(v.entry.revision, v.what) for v in rows] == [(6, "earliest retained"), (7, "deleted")]


async def test_annotate_passes_skip_to_the_diff_and_survives_a_body_that_is_not_json(clock: Clock) -> None:
    log = MemoryLog(clock=clock)
    await write(log, CM, Op.ADDED, b'{"metadata":{"managedFields":[1]},"data":{"a":"1"}}')
    await write(log, CM, Op.MODIFIED, b'{"metadata":{"managedFields":[2]},"data":{"a":"2"}}')
    await write(log, CM, Op.MODIFIED, b"not json")
    rows = annotate(await versions(log, CM), skip={"metadata.managedFields"})
    assert rows[1].changes == [Change("data.a", ChangeKind.CHANGED, "1", "2")]
    assert rows[2].body == "not json" and rows[2].changes[0].path == ""


def test_summary_names_what_a_new_object_is() -> None:
    deploy = orjson.loads(body(3))
    assert summary(deploy) == ["labels: app=web", "replicas: 3", "images: web=nginx:1.25"]
    pod = {"metadata": {"ownerReferences": [{"kind": "ReplicaSet", "name": "web-7d9f"}]},
           "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]}}
    assert summary(pod) == ["owner: ReplicaSet/web-7d9f", "images: c=busybox", "node: n1"]
    assert summary({"data": {"b": "", "a": ""}}) == ["data: a, b"]
    assert summary("text") == [] and summary({}) == [] and summary({"spec": None}) == []


# -- timeline ------------------------------------------------------------------------------------

async def test_the_whole_timeline_with_causes_resolved(story: MemoryLog) -> None:
    happened = await timeline(story)
    assert [h.entry.revision for h in happened] == list(range(1, 9))
    causes = {h.entry.revision: h.cause for h in happened}
    assert causes[1] is None
    assert causes[2] is not None and causes[2].describe() == "← 1 ADDED deployments/default/web"
    assert causes[5] is not None and causes[5].describe() == "← 3 MODIFIED deployments/default/web"
    assert causes[8] == Cause("req-abc", None, None) and causes[8].describe() == "← req-abc"


async def test_a_cause_that_retention_removed_is_said_to_be_gone(story: MemoryLog) -> None:
    await story.compact(keep=1)  # revision 1 (the deployment's ADDED) and 3 are gone
    happened = await timeline(story)
    rs = [h for h in happened if h.entry.key == RS]
    assert [h.entry.revision for h in rs] == [8]
    await write(story, RS, Op.MODIFIED, b"{}", cause="3")
    await write(story, RS, Op.MODIFIED, b"{}", cause="0")
    await write(story, RS, Op.MODIFIED, b"{}", cause="999")
    last = (await timeline(story, since=9))
    assert [h.cause.describe() for h in last if h.cause] == ["← 3 (not in the log)", "← 0",
                                                             "← 999 (not in the log)"]
    assert last[0].cause is not None and last[0].cause.as_json() == {"text": "3", "revision": 3, "found": False}


async def test_a_revision_window_includes_both_ends(story: MemoryLog) -> None:
    assert [h.entry.revision for h in await timeline(story, since=3, until=5)] == [3, 4, 5]
    assert [h.entry.revision for h in await timeline(story, since=7)] == [7, 8]
    assert [h.entry.revision for h in await timeline(story, until=2)] == [1, 2]
    assert await timeline(story, since=20) == []
    assert [h.entry.revision for h in await timeline(story, until=100)] == list(range(1, 9))


async def test_a_time_window_is_turned_into_revisions(story: MemoryLog) -> None:
    # entries were stamped 1000, 1010, ... 1070
    assert [h.entry.revision for h in await timeline(story, since=1015.0, until=1045.0)] == [3, 4, 5]
    assert [h.entry.revision for h in await timeline(story, since=1020.0)] == [4, 5, 6, 7, 8]
    assert [h.entry.revision for h in await timeline(story, until=999.0)] == []


async def test_filters_by_key_and_actor_substring(story: MemoryLog) -> None:
    rs_only = await timeline(story, flt=key_filter(resolve_kind("rs"), None))
    assert [h.entry.revision for h in rs_only] == [2, 5, 8]
    other = await timeline(story, flt=key_filter(None, "other"))
    assert [h.entry.key for h in other] == [CM]
    bob = await timeline(story, actor="BOB")
    assert [h.entry.revision for h in bob] == [3, 6]
    controllers = await timeline(story, actor="controller", since=3)
    assert [h.entry.revision for h in controllers] == [5]


async def test_limit_keeps_the_newest_in_order(story: MemoryLog) -> None:
    assert [h.entry.revision for h in await timeline(story, limit=3)] == [6, 7, 8]
    assert [h.entry.revision for h in await timeline(story, limit=3, actor="alice")] == [1, 4, 7]


async def test_causes_can_come_from_another_log(story: MemoryLog, clock: Clock) -> None:
    leases = MemoryLog("leases", clock=clock)
    await write(leases, ObjectKey("coordination.k8s.io", "leases", "kube-node-lease", "n1"), Op.ADDED, b"{}",
                cause="4")
    [h] = await timeline(leases, causes=story)
    assert h.cause is not None and h.cause.describe() == "← 4 ADDED configmaps/other/settings"


# -- names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["deployment/web", "deploy/web", "deployments/web", "Deployment/web",
                                  "deployments.apps/web", "deployment.apps/web", "deployments.v1.apps/web",
                                  "DEPLOY/web"])
def test_every_kubectl_spelling_of_a_deployment(text: str) -> None:
    assert resolve_object(text) == DEPLOY


def test_core_kinds_namespaces_and_cluster_scope() -> None:
    assert resolve_object("pod/x") == ObjectKey("", "pods", "default", "x")
    assert resolve_object("po/x", "kube-system") == ObjectKey("", "pods", "kube-system", "x")
    assert resolve_object("cm/x", "other") == ObjectKey("", "configmaps", "other", "x")
    assert resolve_object("nodes/n1") == ObjectKey("", "nodes", "", "n1")
    assert resolve_object("no/n1", "ignored") == ObjectKey("", "nodes", "", "n1")
    assert resolve_object("pods.v1/x") == ObjectKey("", "pods", "default", "x")
    assert resolve_object("pods.core/x") == ObjectKey("", "pods", "default", "x")
    assert resolve_object("deploy", name="web") == DEPLOY
    assert resolve_object("endpoints/svc") == ObjectKey("", "endpoints", "default", "svc")
    assert resolve_object("hpa/h") == ObjectKey("autoscaling", "horizontalpodautoscalers", "default", "h")


@pytest.mark.parametrize("text,message", [
    ("gizmo/x", "unknown kind 'gizmo'"),
    ("deployments.batch/x", "unknown kind 'deployments.batch'"),
    ("deploy", "is not KIND/NAME"),
    ("deploy/", "is not KIND/NAME"),
    ("deploy/a/b", "is not KIND/NAME"),
])
def test_bad_names_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(BadName, match=message):
        resolve_object(text)


def test_both_slash_and_a_name_is_an_error() -> None:
    with pytest.raises(BadName, match="not both"):
        resolve_object("deploy/web", name="web")


def test_key_filters_and_object_text() -> None:
    assert key_filter(None, None) == KeyFilter()
    assert key_filter(resolve_kind("cm"), "x") == KeyFilter("", "configmaps", "x")
    assert key_filter(resolve_kind("nodes"), "x") == KeyFilter("", "nodes", None)  # no namespace to filter
    assert object_text(RS) == "replicasets/default/web-7d9f"
    assert object_text(ObjectKey("", "nodes", "", "n1")) == "nodes/n1"


# -- when ----------------------------------------------------------------------------------------

NOW = datetime(2025, 5, 1, 12, 0, 0).timestamp()  # local time


def test_a_number_is_a_revision() -> None:
    assert parse_when("1234", NOW) == 1234 and isinstance(parse_when("1234", NOW), int)
    assert parse_when(" 0 ", NOW) == 0


@pytest.mark.parametrize("text,ago", [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400),
                                      ("1h30m", 5400), ("500ms", 0.5), ("1.5h", 5400), ("10M", 600)])
def test_a_duration_means_that_long_ago(text: str, ago: float) -> None:
    got = parse_when(text, NOW)
    assert isinstance(got, float) and got == pytest.approx(NOW - ago)


def test_clock_times_are_today_in_local_time() -> None:
    assert parse_when("10:03", NOW) == datetime(2025, 5, 1, 10, 3).timestamp()
    assert parse_when("10:03:30", NOW) == datetime(2025, 5, 1, 10, 3, 30).timestamp()
    assert parse_when("9:05:01.25", NOW) == datetime(2025, 5, 1, 9, 5, 1, 250000).timestamp()
    assert parse_when("now", NOW) == NOW


def test_rfc3339_times() -> None:
    utc = datetime(2025, 5, 1, 10, 3, tzinfo=timezone.utc).timestamp()
    assert parse_when("2025-05-01T10:03:00Z", NOW) == utc
    assert parse_when("2025-05-01t10:03:00z", NOW) == utc
    assert parse_when("2025-05-01T12:03:00+02:00", NOW) == utc
    assert parse_when("2025-05-01T10:03:00.5Z", NOW) == utc + 0.5
    assert parse_when("2025-05-01 10:03", NOW) == datetime(2025, 5, 1, 10, 3).timestamp()  # local
    tz = timezone(timedelta(hours=-7))
    assert parse_when("2025-05-01T03:03:00-07:00", NOW) == datetime(2025, 5, 1, 3, 3, tzinfo=tz).timestamp()


@pytest.mark.parametrize("text", ["", "yesterday", "10x", "25:00", "10:61", "-5", "12:00:99", "m10"])
def test_unreadable_times_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_when(text, NOW)
