"""The namespace controller (with the garbage collector) against a real nats-server and API server.

A namespace holding ConfigMaps, Secrets, a Service, an Event and pods (one owned by a ReplicaSet,
one held by a finalizer of the test's own) is deleted: it turns Terminating, refuses new
content, reports what remains in its conditions while the held pod stays, and once the test
lets the pod go it is emptied and removed. Polled with deadlines; nothing measures time.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from bus.apiclient import ApiClient, ApiReplyError
from tests.integration.conftest import Plane, eventually
from tests.integration.controllers.conftest import controllers, get_or_none, sim_cluster

pytestmark = pytest.mark.integration

HOLD = "example.com/hold"
POD_SPEC = {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}


async def make_namespace(api: ApiClient) -> str:
    name = f"ns-{uuid.uuid4().hex[:6]}"
    await api.create("namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


async def fill(api: ApiClient, ns: str) -> None:
    for i in range(2):
        await api.create("configmaps", ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm{i}"},
                                            "data": {"k": "v"}})
    await api.create("secrets", ns, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                                     "stringData": {"k": "v"}})
    await api.create("services", ns, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
                                      "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    labels = {"app": "web"}
    rs = await api.create("replicasets.apps", ns, {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web", "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": POD_SPEC}}})
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": rs["metadata"]["uid"],
           "controller": True, "blockOwnerDeletion": True}
    await api.create("pods", ns, {"apiVersion": "v1", "kind": "Pod",
                                  "metadata": {"name": "web-1", "labels": labels, "ownerReferences": [ref]},
                                  "spec": POD_SPEC})
    await api.create("pods", ns, {"apiVersion": "v1", "kind": "Pod",
                                  "metadata": {"name": "held", "finalizers": [HOLD]}, "spec": POD_SPEC})
    await api.create("events", ns, {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "ev1"},
                                    "involvedObject": {"kind": "Pod", "namespace": ns, "name": "held"},
                                    "reason": "Test", "message": "an event", "type": "Normal"})


def conditions(ns: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (ns.get("status") or {}).get("conditions") or []}


async def count(api: ApiClient, resource: str, ns: str) -> int:
    return len((await api.list(resource, ns))["items"])


async def test_namespace_is_emptied_and_removed(plane: Plane) -> None:
    api = plane.api
    async with controllers(plane, "garbagecollector", "namespace"):
        ns = await make_namespace(api)
        await fill(api, ns)
        await api.delete("namespaces", "", ns)
        terminating = await api.get("namespaces", "", ns)
        assert terminating["status"]["phase"] == "Terminating"

        with pytest.raises(ApiReplyError) as refused:
            await api.create("configmaps", ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}})
        assert refused.value.code == 403

        async def waiting_on_the_held_pod() -> Any:
            cur = await get_or_none(api, "namespaces", "", ns)
            conds = conditions(cur or {})
            remaining = conds.get("NamespaceContentRemaining")
            return remaining if remaining and remaining["status"] == "True" else None
        remaining = await eventually(waiting_on_the_held_pod, what="NamespaceContentRemaining True")
        assert remaining["reason"] == "SomeResourcesRemain"
        assert remaining["message"] == "Some resources are remaining: pods. has 1 resource instances"
        conds = conditions(await api.get("namespaces", "", ns))
        assert conds["NamespaceFinalizersRemaining"]["status"] == "True"
        assert conds["NamespaceFinalizersRemaining"]["message"] == \
            f"Some content in the namespace has finalizers remaining: {HOLD} in 1 resource instances"
        for t in ("NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
                  "NamespaceDeletionContentFailure"):
            assert conds[t]["status"] == "False", conds[t]
        assert await count(api, "configmaps", ns) == 0
        assert await count(api, "secrets", ns) == 0
        assert await count(api, "services", ns) == 0
        assert await count(api, "replicasets.apps", ns) == 0
        assert (await api.get("namespaces", "", ns))["spec"]["finalizers"] == ["kubernetes"]

        held = await api.get("pods", ns, "held")
        assert held["metadata"].get("deletionTimestamp")
        await api.patch("pods", ns, "held", {"metadata": {"finalizers": None}})

        async def removed() -> bool:
            return await get_or_none(api, "namespaces", "", ns) is None
        await eventually(removed, what="the namespace removed")
        assert await count(api, "events", ns) == 0
        assert await count(api, "pods", ns) == 0


async def test_empty_namespace_goes_at_once(plane: Plane) -> None:
    api = plane.api
    async with controllers(plane, "namespace"):
        ns = await make_namespace(api)
        await api.delete("namespaces", "", ns)

        async def removed() -> bool:
            return await get_or_none(api, "namespaces", "", ns) is None
        await eventually(removed, what="the namespace removed")


async def test_live_namespace_is_left_alone(plane: Plane) -> None:
    api = plane.api
    async with controllers(plane, "namespace"):
        ns = await make_namespace(api)
        await api.create("configmaps", ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}})
        other = await make_namespace(api)
        await api.delete("namespaces", "", other)
        await eventually(lambda: _gone(api, other), what="the other namespace removed")
        assert await count(api, "configmaps", ns) == 1
        assert "deletionTimestamp" not in (await api.get("namespaces", "", ns))["metadata"]


async def _gone(api: ApiClient, ns: str) -> bool:
    return await get_or_none(api, "namespaces", "", ns) is None


async def test_running_pods_terminate_gracefully(plane: Plane, tmp_path: Path) -> None:
    """Pods a kubelet runs get their grace period: the kubelet stops them, then they go."""
    api = plane.api
    async with sim_cluster(plane, tmp_path, nodes=1), controllers(plane, "garbagecollector", "namespace"):
        ns = await make_namespace(api)
        for i in range(2):
            await api.create("pods", ns, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"run{i}"},
                                          "spec": POD_SPEC})

        async def running() -> bool:
            pods = (await api.list("pods", ns))["items"]
            return len(pods) == 2 and all((p.get("status") or {}).get("phase") == "Running" for p in pods)
        await eventually(running, what="pods running")
        await api.delete("namespaces", "", ns)

        async def graceful() -> bool:
            pods = (await api.list("pods", ns))["items"]
            return not pods or all(p["metadata"].get("deletionGracePeriodSeconds") == 30 for p in pods)
        await eventually(graceful, what="pods deleted with their grace period")
        await eventually(lambda: _gone(api, ns), what="the namespace removed")
