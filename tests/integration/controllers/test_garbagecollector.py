"""The garbage collector against a real nats-server and API server.

Owners and dependents are made directly through the API (ConfigMaps owning ConfigMaps, a
ReplicaSet owning pods that are never scheduled, so no kubelet is needed); only the collector
runs. A dependent that must stay visible while the collector works carries a finalizer of the
test's own (`example.com/hold`), which the test removes when it has seen what it wanted.
Everything is polled with a deadline.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bus.apiclient import ApiClient
from core.workload import owner_reference
from tests.integration.conftest import Plane, eventually
from tests.integration.controllers.conftest import controllers, get_or_none

pytestmark = pytest.mark.integration

NS = "default"
HOLD = "example.com/hold"


def ref(owner: dict[str, Any], *, block: bool = True, controller: bool = True) -> dict[str, Any]:
    return owner_reference(owner, owner["apiVersion"], owner["kind"], controller=controller, block=block)


async def configmap(api: ApiClient, name: str, *owners: dict[str, Any], finalizers: tuple[str, ...] = ()) -> Any:
    md: dict[str, Any] = {"name": name}
    if owners:
        md["ownerReferences"] = list(owners)
    if finalizers:
        md["finalizers"] = list(finalizers)
    return await api.create("configmaps", NS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md,
                                              "data": {"k": "v"}})


def template(labels: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}}


async def replicaset(api: ApiClient, name: str, *owners: dict[str, Any]) -> Any:
    labels = {"app": name}
    md: dict[str, Any] = {"name": name, "labels": labels}
    if owners:
        md["ownerReferences"] = list(owners)
    return await api.create("replicasets.apps", NS, {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": md,
        "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": template(labels)}})


async def pod(api: ApiClient, name: str, owner: dict[str, Any], *, finalizers: tuple[str, ...] = ()) -> Any:
    md: dict[str, Any] = {"name": name, "labels": dict(owner["spec"]["selector"]["matchLabels"]),
                          "ownerReferences": [ref(owner)]}
    if finalizers:
        md["finalizers"] = list(finalizers)
    return await api.create("pods", NS, {"apiVersion": "v1", "kind": "Pod", "metadata": md,
                                        "spec": template({})["spec"]})


async def release(api: ApiClient, resource: str, name: str) -> None:
    """Take the test's hold finalizer off."""
    obj = await api.get(resource, NS, name)
    rest = [f for f in obj["metadata"].get("finalizers") or [] if f != HOLD]
    await api.patch(resource, NS, name, {"metadata": {"finalizers": rest or None}})


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def gone(api: ApiClient, resource: str, *names: str) -> bool:
    for n in names:
        if await get_or_none(api, resource, NS, n) is not None:
            return False
    return True


async def test_background_deletes_dependents(plane: Plane) -> None:
    api = plane.api
    async with controllers(plane, "garbagecollector"):
        owner = await configmap(api, uniq("owner"))
        deps = [await configmap(api, uniq("dep"), ref(owner)) for _ in range(2)]
        names = [d["metadata"]["name"] for d in deps]
        await api.delete("configmaps", NS, owner["metadata"]["name"])  # kubectl's default: Background
        await eventually(lambda: gone(api, "configmaps", *names), what="dependents collected")


async def test_orphan_keeps_dependents_without_the_reference(plane: Plane) -> None:
    api = plane.api
    async with controllers(plane, "garbagecollector"):
        owner = await configmap(api, uniq("owner"))
        other = await configmap(api, uniq("other"))
        deps = [await configmap(api, uniq("dep"), ref(owner)),
                await configmap(api, uniq("dep"), ref(owner), ref(other, controller=False))]
        oname = owner["metadata"]["name"]
        await api.delete("configmaps", NS, oname, propagation="Orphan")
        await eventually(lambda: gone(api, "configmaps", oname), what="owner removed once orphaning is done")
        first = await api.get("configmaps", NS, deps[0]["metadata"]["name"])
        second = await api.get("configmaps", NS, deps[1]["metadata"]["name"])
        assert not first["metadata"].get("ownerReferences")
        assert [r["uid"] for r in second["metadata"]["ownerReferences"]] == [other["metadata"]["uid"]]


async def test_foreground_keeps_owner_until_dependents_are_gone(plane: Plane) -> None:
    api = plane.api
    async with controllers(plane, "garbagecollector"):
        rs = await replicaset(api, uniq("rs"))
        held = await pod(api, uniq("held"), rs, finalizers=(HOLD,))
        free = await pod(api, uniq("free"), rs)
        rs_name, held_name = rs["metadata"]["name"], held["metadata"]["name"]
        await api.delete("replicasets.apps", NS, rs_name, propagation="Foreground")
        await eventually(lambda: gone(api, "pods", free["metadata"]["name"]), what="the free pod deleted")

        async def held_deleting() -> bool:
            p = await get_or_none(api, "pods", NS, held_name)
            return bool(p and p["metadata"].get("deletionTimestamp"))
        await eventually(held_deleting, what="the held pod marked for deletion")
        owner = await api.get("replicasets.apps", NS, rs_name)
        assert owner["metadata"].get("deletionTimestamp")
        assert "foregroundDeletion" in owner["metadata"]["finalizers"]
        await release(api, "pods", held_name)
        await eventually(lambda: gone(api, "pods", held_name), what="the held pod gone")
        await eventually(lambda: gone(api, "replicasets.apps", rs_name), what="the owner removed")


async def test_foreground_cascade_two_levels(plane: Plane) -> None:
    api = plane.api
    async with controllers(plane, "garbagecollector"):
        labels = {"app": uniq("web")}
        deploy = await api.create("deployments.apps", NS, {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": uniq("deploy")},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": template(labels)}})
        rs = await replicaset(api, uniq("rs"), ref(deploy))
        held = await pod(api, uniq("held"), rs, finalizers=(HOLD,))
        free = await pod(api, uniq("free"), rs)
        d_name, rs_name, held_name = deploy["metadata"]["name"], rs["metadata"]["name"], held["metadata"]["name"]
        await api.delete("deployments.apps", NS, d_name, propagation="Foreground")

        async def rs_waiting() -> bool:
            r = await get_or_none(api, "replicasets.apps", NS, rs_name)
            return bool(r and "foregroundDeletion" in (r["metadata"].get("finalizers") or []))
        await eventually(rs_waiting, what="the ReplicaSet deleted in the foreground")
        await eventually(lambda: gone(api, "pods", free["metadata"]["name"]), what="the free pod deleted")
        assert (await api.get("deployments.apps", NS, d_name))["metadata"].get("deletionTimestamp")
        await release(api, "pods", held_name)
        await eventually(lambda: gone(api, "pods", held_name), what="the held pod gone")
        await eventually(lambda: gone(api, "replicasets.apps", rs_name), what="the ReplicaSet removed")
        await eventually(lambda: gone(api, "deployments.apps", d_name), what="the Deployment removed")


async def test_dangling_reference_removed_when_another_owner_remains(plane: Plane) -> None:
    api = plane.api
    async with controllers(plane, "garbagecollector"):
        a = await configmap(api, uniq("a"))
        b = await configmap(api, uniq("b"))
        dep = await configmap(api, uniq("dep"), ref(a), ref(b, controller=False))
        await api.delete("configmaps", NS, a["metadata"]["name"])

        async def only_b() -> bool:
            d = await get_or_none(api, "configmaps", NS, dep["metadata"]["name"])
            assert d is not None, "the dependent must stay: it still has an owner"
            return [r["uid"] for r in d["metadata"].get("ownerReferences") or []] == [b["metadata"]["uid"]]
        await eventually(only_b, what="the dangling reference removed")


async def test_owner_that_never_existed(plane: Plane) -> None:
    api = plane.api
    async with controllers(plane, "garbagecollector"):
        ghost = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": uniq("ghost"), "uid": str(uuid.uuid4())}}
        dep = await configmap(api, uniq("dep"), ref(ghost))
        await eventually(lambda: gone(api, "configmaps", dep["metadata"]["name"]), what="the dependent collected")


async def test_dependent_made_before_the_collector_starts(plane: Plane) -> None:
    """At start the collector sees every object once: what was orphaned while it was down goes."""
    api = plane.api
    owner = await configmap(api, uniq("owner"))
    dep = await configmap(api, uniq("dep"), ref(owner))
    keep = await configmap(api, uniq("keep"), ref(await configmap(api, uniq("alive"))))
    await api.delete("configmaps", NS, owner["metadata"]["name"])
    async with controllers(plane, "garbagecollector"):
        await eventually(lambda: gone(api, "configmaps", dep["metadata"]["name"]), what="the dependent collected")
        assert await get_or_none(api, "configmaps", NS, keep["metadata"]["name"]) is not None


async def test_foreground_owner_unblocked_by_a_dependent_with_another_owner(plane: Plane) -> None:
    api = plane.api
    async with controllers(plane, "garbagecollector"):
        owner = await configmap(api, uniq("owner"))
        other = await configmap(api, uniq("other"))
        shared = await configmap(api, uniq("shared"), ref(owner), ref(other, controller=False))
        only = await configmap(api, uniq("only"), ref(owner))
        oname = owner["metadata"]["name"]
        await api.delete("configmaps", NS, oname, propagation="Foreground")
        await eventually(lambda: gone(api, "configmaps", only["metadata"]["name"], oname), what="owner removed")
        # unblocked (blockOwnerDeletion false) so the owner could go, then the dangling reference dropped
        async def dangling_dropped() -> bool:
            cur = await api.get("configmaps", NS, shared["metadata"]["name"])
            return [r["uid"] for r in cur["metadata"]["ownerReferences"]] == [other["metadata"]["uid"]]
        await eventually(dangling_dropped, what="the reference to the removed owner dropped")
