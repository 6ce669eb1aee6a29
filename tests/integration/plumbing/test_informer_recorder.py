"""Informer, ApiClient and EventRecorder against a real API server and nats-server."""

from __future__ import annotations

import asyncio

import pytest

from bus.informer import Informer
from bus.log import Op
from bus.recorder import EventRecorder
from core.keys import KeyFilter
from core.kinds import Stream
from tests.integration.conftest import Plane

pytestmark = pytest.mark.integration


def _pod(name: str, node: str = "") -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


async def test_informer_lists_then_follows_with_keep(plane: Plane) -> None:
    await plane.api.create("pods", "default", _pod("before", "n1"))
    await plane.api.create("pods", "default", _pod("other", "n2"))
    seen: list[tuple[Op, str]] = []
    inf = Informer(plane.bus.logs[Stream.OBJECTS], KeyFilter("", "pods"),
                   keep=lambda p: p["spec"].get("nodeName") == "n1")
    inf.add_handler(lambda op, old, new: seen.append((op, (new or old)["metadata"]["name"])))
    await inf.start()
    try:
        assert [n for _, n in seen] == ["before"]
        created = await plane.api.create("pods", "default", _pod("late"))
        await plane.api.bind("default", "late", "n1")
        await plane.api.delete("pods", "default", "other", grace_period_seconds=0)
        await plane.api.delete("pods", "default", "before", grace_period_seconds=0)
        for _ in range(100):
            if (Op.DELETED, "before") in seen:
                break
            await asyncio.sleep(0.05)
        assert seen == [(Op.ADDED, "before"), (Op.ADDED, "late"), (Op.DELETED, "before")]
        assert inf.get("default", "late")["spec"]["nodeName"] == "n1"
        assert int(inf.get("default", "late")["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    finally:
        await inf.stop()


async def test_recorder_creates_and_folds_repeats(plane: Plane) -> None:
    pod = await plane.api.create("pods", "default", _pod("p"))
    rec = EventRecorder(plane.api, "tester", "host-a")
    await rec.start()
    rec.record(pod, "Warning", "BackOff", "Back-off restarting failed container")
    rec.record(pod, "Warning", "BackOff", "Back-off restarting failed container")
    rec.record(pod, "Normal", "Scheduled", "ok")
    await rec.stop()
    events = (await plane.api.list("events", "default"))["items"]
    by_reason = {e["reason"]: e for e in events}
    assert set(by_reason) == {"BackOff", "Scheduled"}
    assert by_reason["BackOff"]["count"] == 2
    assert by_reason["BackOff"]["involvedObject"]["uid"] == pod["metadata"]["uid"]
    assert by_reason["Scheduled"]["source"] == {"component": "tester", "host": "host-a"}
