"""The sharding hook: a controller manager acts only on the keys its `owns` gives it.

Two managers split the ReplicaSets of a namespace by a hash of "namespace/name". With only the
first running, only its half get pods; the second, started later, makes the pods of the other
half, and neither touches what the other owns. No pods need to run, so no kubelet or scheduler:
the pods only have to exist.
"""

from __future__ import annotations

import zlib
from typing import Any

import pytest

from core.workload import controller_ref
from tests.integration.conftest import Plane, eventually
from tests.integration.controllers.conftest import controllers, pods_of

pytestmark = pytest.mark.integration

NS = "default"


def shard(key: str) -> int:
    return zlib.crc32(key.encode()) % 2


def replicaset(name: str) -> dict[str, Any]:
    labels = {"set": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}


async def test_two_managers_split_the_keys(plane: Plane) -> None:
    api = plane.api
    names = [f"rs{i}" for i in range(8)]
    halves = {s: [n for n in names if shard(f"{NS}/{n}") == s] for s in (0, 1)}
    assert halves[0] and halves[1]
    for n in names:
        await api.create("replicasets.apps", NS, replicaset(n))

    async def counts() -> dict[str, int]:
        out = {}
        for n in names:
            out[n] = sum(1 for p in await pods_of(api, NS, f"set={n}") if (controller_ref(p) or {}).get("name") == n)
        return out

    async with controllers(plane, "replicaset", owns=lambda key: shard(key) == 0):
        await eventually(lambda: _has(counts, halves[0], 2), what="the first half's pods")
        got = await counts()
        assert all(got[n] == 0 for n in halves[1]), got  # not its keys: untouched
        async with controllers(plane, "replicaset", owns=lambda key: shard(key) == 1):
            await eventually(lambda: _has(counts, names, 2), what="every set's pods")
        assert await counts() == {n: 2 for n in names}  # nobody made a pod twice


async def _has(counts: Any, names: list[str], n: int) -> bool:
    got = await counts()
    return all(got[name] == n for name in names)
