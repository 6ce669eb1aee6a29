"""The node lifecycle controller against a real nats-server and API server.

A node with a Lease and Ready=True, two pods bound to it; the controller runs in-process with a
2 s grace period. Nobody renews the Lease, so the node goes Ready=Unknown and is tainted
unreachable, its pods are marked not ready, the pod tolerating 2 s is evicted (graceful delete,
then forced since the node's kubelet cannot finish it) while the one with the default 300 s stays;
a renewed Lease and Ready=True remove the taints. Everything is polled with a deadline; nothing
asserts how long it took.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import pytest

from bus.apiclient import ApiClient
from components.controllers.manager import ControllerManager, ManagerConfig
from tests.integration.conftest import Plane, eventually
from tests.integration.controllers.conftest import get_or_none

pytestmark = pytest.mark.integration

UNREACHABLE = "node.kubernetes.io/unreachable"
LEASES = "leases.coordination.k8s.io"


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def post_ready(api: ApiClient, name: str, status: str = "True") -> None:
    """What a kubelet posts: the four conditions with a fresh heartbeat."""
    stamp = now()
    conds = [{"type": t, "status": "False", "reason": r, "message": r, "lastHeartbeatTime": stamp,
              "lastTransitionTime": stamp}
             for t, r in (("MemoryPressure", "KubeletHasSufficientMemory"), ("DiskPressure", "KubeletHasNoDiskPressure"),
                          ("PIDPressure", "KubeletHasSufficientPID"))]
    conds.append({"type": "Ready", "status": status, "reason": "KubeletReady", "message": "kubelet is posting ready status",
                  "lastHeartbeatTime": stamp, "lastTransitionTime": stamp})
    await api.patch("nodes", "", name, {"status": {"conditions": conds}}, subresource="status")


async def renew(api: ApiClient, name: str) -> None:
    await api.patch(LEASES, "kube-node-lease", name, {"spec": {"renewTime": micro_now()}})


async def make_pod(api: ApiClient, name: str, node: str, tolerations: list[dict[str, Any]] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"nodeName": node, "terminationGracePeriodSeconds": 1,
                            "containers": [{"name": "c", "image": "busybox"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    await api.create("pods", "default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
    stamp = now()
    conds = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
             for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")]
    return await api.patch("pods", "default", name, {"status": {"phase": "Running", "conditions": conds}},
                           subresource="status")


def ready_of(obj: dict[str, Any], type_: str = "Ready") -> str | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return str(c.get("status"))
    return None


@pytest.fixture
async def node_with_lease(plane: Plane) -> AsyncIterator[str]:
    api = plane.api
    await api.create("nodes", "", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                                   "spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}})
    await post_ready(api, "n1")
    await api.create(LEASES, "kube-node-lease", {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "n1"},
        "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40, "renewTime": micro_now()}})
    yield "n1"


@pytest.fixture
async def manager(plane: Plane) -> AsyncIterator[ControllerManager]:
    m = ControllerManager(ManagerConfig(nats_url=plane.nats_url, prefix=plane.prefix, node_monitor_grace_period=2.0,
                                        node_monitor_period=0.5))
    await m.start()
    try:
        yield m
    finally:
        await m.stop()
    assert m.failed is not None and not m.failed.done()


async def test_unreachable_node_is_tainted_and_its_pods_evicted_then_recovers(
        plane: Plane, node_with_lease: str) -> None:
    api = plane.api
    short = await make_pod(api, "short", "n1", [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                                                 "tolerationSeconds": 2}])
    long = await make_pod(api, "long", "n1", None)
    # the API server's DefaultTolerationSeconds gave "long" 300 s; "short" keeps its own 2 s for unreachable
    assert {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300} in \
        long["spec"]["tolerations"]
    assert [t for t in short["spec"]["tolerations"] if t["key"] == UNREACHABLE] == [
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}]

    m = ControllerManager(ManagerConfig(nats_url=plane.nats_url, prefix=plane.prefix, node_monitor_grace_period=2.0,
                                        node_monitor_period=0.5))
    await m.start()
    try:
        async def unreachable() -> dict[str, Any] | None:
            node = await api.get("nodes", "", "n1")
            keys = {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}
            if ready_of(node) == "Unknown" and {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")} <= keys:
                return node
            return None

        node = await eventually(unreachable, what="node Ready=Unknown and tainted unreachable")
        assert {c["type"]: (c["status"], c["reason"]) for c in node["status"]["conditions"]} == {
            t: ("Unknown", "NodeStatusUnknown") for t in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")}
        assert node["status"]["conditions"][-1]["message"] == "Kubelet stopped posting node status."
        # the user's taint survived; the NoExecute taint carries its time
        assert node["spec"]["taints"][0] == {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
        assert [t.get("timeAdded") is not None for t in node["spec"]["taints"] if t["key"] == UNREACHABLE] == [
            False, True]

        async def long_not_ready() -> bool:
            pod = await api.get("pods", "default", "long")
            return ready_of(pod) == "False" and ready_of(pod, "ContainersReady") == "False"

        await eventually(long_not_ready, what="pod 'long' marked not ready")
        long_now = await api.get("pods", "default", "long")
        assert ready_of(long_now, "PodScheduled") == "True"  # the other conditions were kept

        async def short_gone() -> bool:
            return await get_or_none(api, "pods", "default", "short") is None

        await eventually(short_gone, what="pod 'short' evicted and then force-deleted")
        long_now = await api.get("pods", "default", "long")
        assert not long_now["metadata"].get("deletionTimestamp")

        async def events() -> dict[str, dict[str, Any]] | None:
            found = {(e["involvedObject"]["name"], e["reason"]): e
                     for e in (await api.list("events", "default"))["items"]}
            wanted = {("n1", "NodeNotReady"), ("short", "TaintManagerEviction"), ("long", "NodeNotReady")}
            return {f"{k[0]}/{k[1]}": found[k] for k in wanted} if wanted <= set(found) else None

        evs = await eventually(events, what="NodeNotReady and TaintManagerEviction events")
        assert evs["n1/NodeNotReady"]["message"] == "Node n1 status is now: NodeNotReady"
        assert evs["n1/NodeNotReady"]["type"] == "Normal"
        assert evs["n1/NodeNotReady"]["source"]["component"] == "node-controller"
        assert evs["short/TaintManagerEviction"]["message"] == "Marking for deletion Pod default/short"
        assert evs["long/NodeNotReady"]["type"] == "Warning"
        assert evs["long/NodeNotReady"]["message"] == "Node is not ready"

        # the kubelet comes back: lease renewed, Ready=True posted
        await renew(api, "n1")
        await post_ready(api, "n1")

        async def recovered() -> dict[str, Any] | None:
            node = await api.get("nodes", "", "n1")
            return node if node["spec"].get("taints") == [
                {"key": "dedicated", "value": "db", "effect": "NoSchedule"}] else None

        node = await eventually(recovered, what="unreachable taints removed")
        assert ready_of(node) == "True"
        assert await get_or_none(api, "pods", "default", "long") is not None
        assert m.failed is not None and not m.failed.done()
    finally:
        await m.stop()


async def test_renewed_lease_keeps_the_node_ready(plane: Plane, node_with_lease: str,
                                                  manager: ControllerManager) -> None:
    """Renewals well inside the grace period: after several grace periods the node is untouched."""
    api = plane.api
    await make_pod(api, "p", "n1", None)
    for _ in range(20):  # 20 × 0.3 s: three grace periods
        await renew(api, "n1")
        await asyncio.sleep(0.3)
    node = await api.get("nodes", "", "n1")
    assert ready_of(node) == "True"
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
    assert ready_of(await api.get("pods", "default", "p")) == "True"


async def test_kubelet_reporting_not_ready_taints_not_ready(plane: Plane, node_with_lease: str,
                                                            manager: ControllerManager) -> None:
    api = plane.api

    async def kubelet_alive() -> None:
        while True:
            await renew(api, "n1")
            await asyncio.sleep(0.3)

    renewer = asyncio.create_task(kubelet_alive())
    try:
        await post_ready(api, "n1", "False")
        await _check_not_ready_taints(api)
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer


async def _check_not_ready_taints(api: ApiClient) -> None:

    async def tainted() -> dict[str, Any] | None:
        node = await api.get("nodes", "", "n1")
        keys = [(t["key"], t["effect"]) for t in node["spec"].get("taints") or []]
        return node if ("node.kubernetes.io/not-ready", "NoExecute") in keys else None

    node = await eventually(tainted, what="not-ready taints")
    assert [(t["key"], t["effect"]) for t in node["spec"]["taints"]] == [
        ("dedicated", "NoSchedule"), ("node.kubernetes.io/not-ready", "NoSchedule"),
        ("node.kubernetes.io/not-ready", "NoExecute")]
    assert ready_of(node) == "False"  # the kubelet's word stands while it keeps posting


async def test_the_process_runs_from_its_command_line_and_drains_on_sigterm(plane: Plane,
                                                                           node_with_lease: str) -> None:
    """`python -m components.controllers` as the supervisor starts it (plus a short grace period)."""
    import signal
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "components.controllers", "--nats", plane.nats_url, "--prefix", plane.prefix,
        "--node-monitor-grace-period", "1s", "--node-monitor-period", "500ms",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        async def unknown() -> bool:
            return ready_of(await plane.api.get("nodes", "", "n1")) == "Unknown"

        await eventually(unknown, what="the node marked Unknown by the controller process")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()[-2000:]
