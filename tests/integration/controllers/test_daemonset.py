"""The DaemonSet controller against a real nats-server and API server, with the real scheduler and a
simulated kubelet running three nodes (sim-0, sim-1, sim-2) so that daemon pods get bound and turn
Ready.

Each test makes its own DaemonSet in `default`; everything is polled with a deadline (`eventually`),
nothing asserts how long it took.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from bus.apiclient import ApiClient
from core.workload import controller_ref, is_deleting, is_ready
from tests.integration.conftest import Plane, eventually
from tests.integration.controllers.conftest import controllers, get_or_none, pods_of, sim_cluster

pytestmark = pytest.mark.integration

NS = "default"
DS = "daemonsets.apps"
REVISIONS = "controllerrevisions.apps"
NODES = ("sim-0", "sim-1", "sim-2")


def daemonset(name: str, *, node_selector: dict[str, str] | None = None, env: str = "1",
              max_unavailable: int | str = 1) -> dict[str, Any]:
    spec: dict[str, Any] = {"terminationGracePeriodSeconds": 0,
                            "containers": [{"name": "c", "image": "busybox", "env": [{"name": "V", "value": env}]}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


async def live_pods(api: ApiClient, ds: dict[str, Any]) -> list[dict[str, Any]]:
    """The DaemonSet's pods that are not being deleted."""
    uid = ds["metadata"]["uid"]
    return [p for p in await pods_of(api, NS, f"app={ds['metadata']['name']}")
            if (controller_ref(p) or {}).get("uid") == uid and not is_deleting(p)]


async def settled(api: ApiClient, name: str, nodes: set[str]) -> dict[str, dict[str, Any]] | None:
    """Exactly one Ready, up-to-date pod on each of `nodes` and none elsewhere, and a status that says
    so (what `kubectl rollout status` waits for); returns node → pod."""
    ds = await api.get(DS, NS, name)
    pods = await live_pods(api, ds)
    by_node: dict[str, dict[str, Any]] = {}
    for p in pods:
        n = p["spec"].get("nodeName")
        if not n or n in by_node or not is_ready(p):
            return None
        by_node[n] = p
    if set(by_node) != nodes:
        return None
    st = ds.get("status") or {}
    want = len(nodes)
    if (st.get("desiredNumberScheduled"), st.get("currentNumberScheduled"), st.get("numberReady"),
            st.get("updatedNumberScheduled"), st.get("numberAvailable")) != (want, want, want, want, want):
        return None
    if st.get("observedGeneration") != ds["metadata"].get("generation"):
        return None
    return by_node


class Sampler:
    """Samples, until stopped, how many nodes lack a Ready daemon pod that is not being deleted.
    Stopped by a flag, not by cancelling: on Python 3.11 a cancellation that races a finishing
    `wait_for` inside the client can be lost, and the loop would run on for ever."""

    def __init__(self, api: ApiClient, ds: dict[str, Any]) -> None:
        self.api, self.ds = api, ds
        self.worst = 0
        self.samples = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            pods = await live_pods(self.api, self.ds)
            ready_nodes = {p["spec"].get("nodeName") for p in pods if is_ready(p)}
            self.worst = max(self.worst, len(set(NODES) - ready_nodes))
            self.samples += 1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.02)

    async def __aenter__(self) -> Sampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await asyncio.wait_for(self._task, 15)


async def test_one_ready_pod_on_every_node(plane: Plane, tmp_path: Path) -> None:
    api = plane.api
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "daemonset"):
        ds = await api.create(DS, NS, daemonset("agent"))
        by_node = await eventually(lambda: settled(api, "agent", set(NODES)), what="a ready pod on each node")
        ds = await api.get(DS, NS, "agent")
        assert ds["status"]["numberMisscheduled"] == 0 and ds["status"]["numberUnavailable"] == 0
        revs = (await api.list(REVISIONS, NS, label_selector="app=agent"))["items"]
        assert len(revs) == 1 and revs[0]["revision"] == 1
        h = revs[0]["metadata"]["labels"]["controller-revision-hash"]
        assert revs[0]["metadata"]["name"] == f"agent-{h}"
        for n, p in by_node.items():
            assert p["metadata"]["name"].startswith("agent-")
            assert p["metadata"]["labels"] == {"app": "agent", "controller-revision-hash": h,
                                               "pod-template-generation": "1"}
            assert controller_ref(p) == {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                         "uid": ds["metadata"]["uid"], "controller": True,
                                         "blockOwnerDeletion": True}
            terms = p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            assert terms == {"nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": [n]}]}]}
            assert {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"} in \
                p["spec"]["tolerations"]

        async def created_events() -> Any:
            evs = [e for e in (await api.list("events", NS))["items"]
                   if e.get("reason") == "SuccessfulCreate" and e["involvedObject"].get("name") == "agent"]
            return evs if len(evs) == 3 else None
        evs = await eventually(created_events, what="three SuccessfulCreate events")
        assert {e["message"] for e in evs} == {f"Created pod: {p['metadata']['name']}" for p in by_node.values()}
        assert evs[0]["source"]["component"] == "daemonset-controller"


async def test_node_selector_follows_node_labels(plane: Plane, tmp_path: Path) -> None:
    api = plane.api
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "daemonset"):
        await api.patch("nodes", "", "sim-1", {"metadata": {"labels": {"role": "edge"}}})
        await api.create(DS, NS, daemonset("edge", node_selector={"role": "edge"}))
        await eventually(lambda: settled(api, "edge", {"sim-1"}), what="a pod on the labelled node only")

        await api.patch("nodes", "", "sim-2", {"metadata": {"labels": {"role": "edge"}}})
        await eventually(lambda: settled(api, "edge", {"sim-1", "sim-2"}), what="a pod on the newly labelled node")

        await api.patch("nodes", "", "sim-1", {"metadata": {"labels": {"role": None}}})
        await eventually(lambda: settled(api, "edge", {"sim-2"}), what="the pod gone from the unlabelled node")
        ds = await api.get(DS, NS, "edge")
        assert ds["status"]["numberMisscheduled"] == 0


async def test_taints_decide_where_daemons_run(plane: Plane, tmp_path: Path) -> None:
    """Kubernetes' rule: an untolerated NoExecute taint removes the daemon pod; an untolerated
    NoSchedule taint keeps new ones off but lets the running one stay (counted misscheduled)."""
    api = plane.api
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "daemonset"):
        await api.create(DS, NS, daemonset("tainted"))
        before = await eventually(lambda: settled(api, "tainted", set(NODES)), what="a pod on each node")

        await api.patch("nodes", "", "sim-0",
                        {"spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]}})
        await eventually(lambda: settled(api, "tainted", {"sim-1", "sim-2"}), what="the pod gone from sim-0")
        gone = await get_or_none(api, "pods", NS, before["sim-0"]["metadata"]["name"])
        assert gone is None or is_deleting(gone)

        await api.patch("nodes", "", "sim-1",
                        {"spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}})

        async def misscheduled() -> Any:
            ds = await api.get(DS, NS, "tainted")
            st = ds.get("status") or {}
            return st if (st.get("desiredNumberScheduled"), st.get("numberMisscheduled")) == (1, 1) else None
        await eventually(misscheduled, what="sim-1's pod counted misscheduled")
        ds = await api.get(DS, NS, "tainted")
        pods = await live_pods(api, ds)
        assert sorted(p["spec"]["nodeName"] for p in pods) == ["sim-1", "sim-2"]
        assert before["sim-1"]["metadata"]["uid"] in {p["metadata"]["uid"] for p in pods}

        # a tolerated taint: the daemon comes back to sim-0
        await api.patch("nodes", "", "sim-0", {"spec": {"taints": None}})
        await eventually(lambda: ready_on(api, "tainted", {"sim-0", "sim-1", "sim-2"}),
                         what="a pod on sim-0 again")


async def ready_on(api: ApiClient, name: str, nodes: set[str]) -> bool:
    ds = await api.get(DS, NS, name)
    pods = await live_pods(api, ds)
    return {p["spec"].get("nodeName") for p in pods if is_ready(p)} == nodes and len(pods) == len(nodes)


async def test_template_change_rolls_one_node_at_a_time(plane: Plane, tmp_path: Path) -> None:
    api = plane.api
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "daemonset"):
        ds = await api.create(DS, NS, daemonset("roll"))
        first = await eventually(lambda: settled(api, "roll", set(NODES)), what="first rollout")
        old_hash = next(iter(first.values()))["metadata"]["labels"]["controller-revision-hash"]

        async with Sampler(api, ds) as sampler:
            await api.patch(DS, NS, "roll", {"spec": {"template": {"spec": {"containers": [
                {"name": "c", "image": "busybox", "env": [{"name": "V", "value": "2"}]}]}}}})

            async def rolled() -> Any:
                by_node = await settled(api, "roll", set(NODES))
                if by_node and all(p["metadata"]["labels"]["controller-revision-hash"] != old_hash
                                   for p in by_node.values()):
                    return by_node
                return None
            second = await eventually(rolled, timeout=60, what="every pod replaced")
        assert sampler.samples >= 3
        assert sampler.worst <= 1, f"{sampler.worst} nodes were without a ready daemon pod at once"
        assert all(p["metadata"]["labels"]["pod-template-generation"] == "2" for p in second.values())
        assert all(p["spec"]["containers"][0]["env"] == [{"name": "V", "value": "2"}] for p in second.values())
        revs = sorted((await api.list(REVISIONS, NS, label_selector="app=roll"))["items"], key=lambda r: r["revision"])
        assert [r["revision"] for r in revs] == [1, 2]
        assert revs[0]["metadata"]["labels"]["controller-revision-hash"] == old_hash
        assert all(controller_ref(r)["uid"] == ds["metadata"]["uid"] for r in revs)  # type: ignore[index]

        async def deleted_events() -> Any:
            evs = [e for e in (await api.list("events", NS))["items"]
                   if e.get("reason") == "SuccessfulDelete" and e["involvedObject"].get("name") == "roll"]
            return evs if len(evs) >= 3 else None
        evs = await eventually(deleted_events, what="SuccessfulDelete events")
        assert {e["message"] for e in evs} >= {f"Deleted pod: {p['metadata']['name']}" for p in first.values()}


async def test_a_deleted_daemon_pod_is_recreated(plane: Plane, tmp_path: Path) -> None:
    api = plane.api
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "daemonset"):
        await api.create(DS, NS, daemonset("heal"))
        before = await eventually(lambda: settled(api, "heal", set(NODES)), what="a pod on each node")
        victim = before["sim-2"]
        await api.delete("pods", NS, victim["metadata"]["name"], grace_period_seconds=0)

        async def replaced() -> Any:
            by_node = await settled(api, "heal", set(NODES))
            if by_node and by_node["sim-2"]["metadata"]["uid"] != victim["metadata"]["uid"]:
                return by_node
            return None
        after = await eventually(replaced, what="a new pod on sim-2")
        for n in ("sim-0", "sim-1"):
            assert after[n]["metadata"]["uid"] == before[n]["metadata"]["uid"]


async def test_a_failed_daemon_pod_is_replaced(plane: Plane, tmp_path: Path) -> None:
    api = plane.api
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "daemonset"):
        await api.create(DS, NS, daemonset("crash"))
        before = await eventually(lambda: settled(api, "crash", set(NODES)), what="a pod on each node")
        victim = before["sim-1"]
        await api.patch("pods", NS, victim["metadata"]["name"], {"status": {"phase": "Failed"}}, subresource="status")

        async def replaced() -> Any:
            by_node = await settled(api, "crash", set(NODES))
            if by_node and by_node["sim-1"]["metadata"]["uid"] != victim["metadata"]["uid"]:
                return by_node
            return None
        await eventually(replaced, what="a new pod on sim-1")

        async def warned() -> Any:
            return [e for e in (await api.list("events", NS))["items"]
                    if e.get("reason") == "FailedDaemonPod" and e["involvedObject"].get("name") == "crash"] or None
        evs = await eventually(warned, what="a FailedDaemonPod event")
        assert evs[0]["type"] == "Warning"
        assert evs[0]["message"] == (f"Found failed daemon pod {NS}/{victim['metadata']['name']} on node sim-1, "
                                     "will try to kill it")


async def test_on_delete_replaces_only_pods_the_user_deletes(plane: Plane, tmp_path: Path) -> None:
    api = plane.api
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "daemonset"):
        body = daemonset("manual")
        body["spec"]["updateStrategy"] = {"type": "OnDelete"}
        await api.create(DS, NS, body)
        before = await eventually(lambda: settled(api, "manual", set(NODES)), what="a pod on each node")
        await api.patch(DS, NS, "manual", {"spec": {"template": {"metadata": {"annotations": {"v": "2"}}}}})

        async def observed() -> Any:
            ds = await api.get(DS, NS, "manual")
            st = ds.get("status") or {}
            return st if st.get("observedGeneration") == 2 and st.get("updatedNumberScheduled") == 0 else None
        await eventually(observed, what="the new generation observed, nothing updated")
        await api.delete("pods", NS, before["sim-0"]["metadata"]["name"], grace_period_seconds=0)

        async def one_updated() -> Any:
            ds = await api.get(DS, NS, "manual")
            pods = await live_pods(api, ds)
            fresh = [p for p in pods if (p["metadata"].get("annotations") or {}).get("v") == "2"]
            ready = len(pods) == 3 and all(is_ready(p) for p in pods)
            return fresh if ready and (ds.get("status") or {}).get("updatedNumberScheduled") == 1 else None
        fresh = await eventually(one_updated, what="only the deleted pod replaced, from the new template")
        assert [p["spec"]["nodeName"] for p in fresh] == ["sim-0"]
        ds = await api.get(DS, NS, "manual")
        kept = {p["metadata"]["uid"] for p in await live_pods(api, ds)}
        assert {before["sim-1"]["metadata"]["uid"], before["sim-2"]["metadata"]["uid"]} <= kept


async def test_max_surge_starts_the_new_pod_before_stopping_the_old(plane: Plane, tmp_path: Path) -> None:
    api = plane.api
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "daemonset"):
        body = daemonset("surge")
        body["spec"]["updateStrategy"] = {"type": "RollingUpdate",
                                          "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
        ds = await api.create(DS, NS, body)
        await eventually(lambda: settled(api, "surge", set(NODES)), what="a pod on each node")
        async with Sampler(api, ds) as sampler:
            await api.patch(DS, NS, "surge", {"spec": {"template": {"metadata": {"annotations": {"v": "2"}}}}})

            async def rolled() -> Any:
                by_node = await settled(api, "surge", set(NODES))
                if by_node and all((p["metadata"].get("annotations") or {}).get("v") == "2"
                                   for p in by_node.values()):
                    return by_node
                return None
            await eventually(rolled, timeout=60, what="every pod replaced")
        assert sampler.samples >= 3
        assert sampler.worst == 0, "with maxUnavailable 0 every node keeps a ready daemon pod"
