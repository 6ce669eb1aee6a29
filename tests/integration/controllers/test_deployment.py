"""The Deployment controller with the ReplicaSet controller, against a real nats-server and API
server, with the real scheduler and simulated nodes so that pods turn Running and Ready.

Invariants of a rollout (ready pods never below replicas − maxUnavailable; Recreate never has old
and new pods at once) are checked on every change of the pods as the log delivers them, through
an informer of our own; everything else is polled with a deadline, nothing asserts how long it
took.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bus.apiclient import ApiClient
from bus.informer import Informer
from bus.log import Op
from core.keys import KeyFilter
from core.kinds import Stream
from core.workload import controller_ref, is_deleting, is_ready
from ops import kubeconfig
from tests.integration.conftest import Plane, eventually
from tests.integration.controllers.conftest import controllers, sim_cluster

pytestmark = pytest.mark.integration

NS = "default"
DEPLOY = "deployments.apps"
RS = "replicasets.apps"
REVISION = "deployment.kubernetes.io/revision"
Obj = dict[str, Any]


def deployment(name: str, replicas: int, *, image: str = "busybox:1", strategy: Obj | None = None,
               **spec: Any) -> Obj:
    labels = {"app": name}
    body: Obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
                 "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                          "template": {"metadata": {"labels": labels},
                                       "spec": {"terminationGracePeriodSeconds": 0,
                                                "containers": [{"name": "c", "image": image}]}},
                          **spec}}
    if strategy is not None:
        body["spec"]["strategy"] = strategy
    return body


def rolling(surge: int | str, unavailable: int | str) -> Obj:
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}


def cond(obj: Obj, type_: str) -> Obj | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return dict(c)
    return None


async def replica_sets(api: ApiClient, d: Obj) -> list[Obj]:
    uid = d["metadata"]["uid"]
    items = (await api.list(RS, NS))["items"]
    return sorted((rs for rs in items if (controller_ref(rs) or {}).get("uid") == uid),
                  key=lambda rs: int(rs["metadata"]["annotations"].get(REVISION, "0")))


async def rolled_out(api: ApiClient, name: str) -> Obj | None:
    """The Deployment once `kubectl rollout status` would say "successfully rolled out"."""
    d = await api.get(DEPLOY, NS, name)
    st = d.get("status") or {}
    n = d["spec"]["replicas"]
    if st.get("observedGeneration", 0) < d["metadata"]["generation"]:
        return None
    if (st.get("updatedReplicas", 0), st.get("replicas", 0), st.get("availableReplicas", 0)) != (n, n, n):
        return None
    c = cond(d, "Progressing")
    if c is None or c.get("reason") != "NewReplicaSetAvailable":
        return None
    return d


async def set_image(api: ApiClient, name: str, image: str) -> None:
    await api.patch(DEPLOY, NS, name, {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}})


@contextlib.asynccontextmanager
async def watch_pods(plane: Plane, app: str, check: Callable[[list[Obj]], None]) -> AsyncIterator[Informer]:
    """Call `check(pods of app)` after every change to them the log delivers."""
    inf = Informer(plane.bus.logs[Stream.OBJECTS], KeyFilter("", "pods", NS), name=f"watch-{app}")

    def handler(op: Op, old: Obj | None, new: Obj | None) -> None:
        obj = new or old or {}
        if (obj.get("metadata") or {}).get("labels", {}).get("app") != app:
            return
        check([p for p in inf.items() if (p.get("metadata") or {}).get("labels", {}).get("app") == app])

    inf.add_handler(handler)
    await inf.start()
    try:
        yield inf
    finally:
        await inf.stop()


# -- tests -------------------------------------------------------------------------------------
async def test_deployment_becomes_available(plane: Plane, tmp_path: Path) -> None:
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "replicaset", "deployment"):
        body = deployment("web", 3)
        body["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first"}
        await plane.api.create(DEPLOY, NS, body)
        d = await eventually(lambda: rolled_out(plane.api, "web"), what="rolled out")
        st = d["status"]
        assert (st["replicas"], st["updatedReplicas"], st["readyReplicas"], st["availableReplicas"]) == (3, 3, 3, 3)
        assert "unavailableReplicas" not in st
        avail = cond(d, "Available")
        assert avail is not None and (avail["status"], avail["reason"], avail["message"]) == (
            "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        prog = cond(d, "Progressing")
        assert prog is not None and prog["status"] == "True" and prog["lastUpdateTime"] and prog["lastTransitionTime"]
        assert d["metadata"]["annotations"][REVISION] == "1"
        [rs] = await replica_sets(plane.api, d)
        h = rs["metadata"]["labels"]["pod-template-hash"]
        assert rs["metadata"]["name"] == f"web-{h}"
        assert prog["message"] == f'ReplicaSet "web-{h}" has successfully progressed.'
        assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": h}
        assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
        ann = rs["metadata"]["annotations"]
        assert (ann[REVISION], ann["deployment.kubernetes.io/desired-replicas"],
                ann["deployment.kubernetes.io/max-replicas"], ann["kubernetes.io/change-cause"]) == ("1", "3", "4", "first")
        assert controller_ref(rs) == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                      "uid": d["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}

        async def scaled_event() -> Any:
            evs = (await plane.api.list("events", NS))["items"]
            return [e for e in evs if e.get("reason") == "ScalingReplicaSet"
                    and (e.get("involvedObject") or {}).get("kind") == "Deployment"]
        [ev] = await eventually(scaled_event, what="ScalingReplicaSet event")
        assert ev["message"] == f"Scaled up replica set web-{h} from 0 to 3"
        assert (ev.get("source") or {}).get("component") == "deployment-controller"


async def test_rolling_update_keeps_ready_pods(plane: Plane, tmp_path: Path) -> None:
    lowest: list[int] = []

    def check(pods: list[Obj]) -> None:
        lowest.append(sum(1 for p in pods if is_ready(p) and not is_deleting(p)))

    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "replicaset", "deployment"):
        await plane.api.create(DEPLOY, NS, deployment("web", 3, strategy=rolling(1, 0)))
        await eventually(lambda: rolled_out(plane.api, "web"), what="first rollout")
        async with watch_pods(plane, "web", check):
            lowest.clear()
            await set_image(plane.api, "web", "busybox:2")

            async def done() -> Obj | None:
                d = await rolled_out(plane.api, "web")
                return d if d is not None and d["metadata"]["annotations"].get(REVISION) == "2" else None
            d = await eventually(done, what="second rollout")
            await asyncio.sleep(0.3)  # the last pod changes reach the watcher
        assert lowest and min(lowest) >= 3, f"ready pods dropped to {min(lowest)}"
        old, new = await replica_sets(plane.api, d)
        assert old["spec"]["replicas"] == 0 and old["metadata"]["annotations"][REVISION] == "1"
        assert new["spec"]["replicas"] == 3 and new["metadata"]["annotations"][REVISION] == "2"
        assert new["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:2"


async def test_revision_history_limit_deletes_older_replica_sets(plane: Plane, tmp_path: Path) -> None:
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "replicaset", "deployment"):
        await plane.api.create(DEPLOY, NS, deployment("web", 2, revisionHistoryLimit=1))
        for i, image in enumerate(("busybox:2", "busybox:3"), start=2):
            await eventually(lambda: rolled_out(plane.api, "web"), what="rollout")
            await set_image(plane.api, "web", image)

            async def at(rev: str) -> Obj | None:
                d = await rolled_out(plane.api, "web")
                return d if d is not None and d["metadata"]["annotations"].get(REVISION) == rev else None
            await eventually(lambda: at(str(i)), what=f"revision {i}")
        d = await plane.api.get(DEPLOY, NS, "web")

        async def two_left() -> list[Obj] | None:
            rss = await replica_sets(plane.api, d)
            return rss if len(rss) == 2 else None
        old, new = await eventually(two_left, what="only one old replica set kept")
        assert [old["metadata"]["annotations"][REVISION], new["metadata"]["annotations"][REVISION]] == ["2", "3"]


async def test_recreate_never_runs_old_and_new_pods_together(plane: Plane, tmp_path: Path) -> None:
    mixed: list[set[str]] = []

    def check(pods: list[Obj]) -> None:
        hashes = {p["metadata"]["labels"].get("pod-template-hash", "") for p in pods}
        if len(hashes) > 1:
            mixed.append(hashes)

    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "replicaset", "deployment"):
        await plane.api.create(DEPLOY, NS, deployment("web", 3, strategy={"type": "Recreate"}))
        await eventually(lambda: rolled_out(plane.api, "web"), what="first rollout")
        async with watch_pods(plane, "web", check):
            await set_image(plane.api, "web", "busybox:2")

            async def done() -> Obj | None:
                d = await rolled_out(plane.api, "web")
                return d if d is not None and d["metadata"]["annotations"].get(REVISION) == "2" else None
            d = await eventually(done, what="recreated")
            await asyncio.sleep(0.3)
        assert not mixed, f"old and new pods together: {mixed[:3]}"
        old, new = await replica_sets(plane.api, d)
        assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (0, 3)


UNSCHEDULABLE = {"nodeSelector": {"jetkube.test/nowhere": "true"}}


async def make_stuck(api: ApiClient, name: str) -> None:
    """A new template whose pods stay Pending: no node has the label it selects."""
    await api.patch(DEPLOY, NS, name, {"spec": {"template": {"spec": UNSCHEDULABLE}}})


async def sizes(api: ApiClient, d: Obj) -> list[int]:
    return [rs["spec"]["replicas"] for rs in await replica_sets(api, d)]


async def test_scaling_mid_rollout_is_proportional(plane: Plane, tmp_path: Path) -> None:
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "replicaset", "deployment"):
        await plane.api.create(DEPLOY, NS, deployment("web", 4, strategy=rolling(1, 1)))
        d = await eventually(lambda: rolled_out(plane.api, "web"), what="first rollout")
        await make_stuck(plane.api, "web")
        # old 4 → 3 (one may be unavailable), new 0 → 2 (one surge): then stuck on Pending pods
        await eventually(lambda: _equals(sizes(plane.api, d), [3, 2]), what="stuck at 3 + 2")
        await asyncio.sleep(0.5)
        assert await sizes(plane.api, d) == [3, 2]
        await plane.api.patch(DEPLOY, NS, "web", {"spec": {"replicas": 8, "strategy": rolling(2, 2)}})
        # 10 allowed (8 + surge 2), 5 held: +3 to the old RS, +2 to the new one
        await eventually(lambda: _equals(sizes(plane.api, d), [6, 4]), what="proportional 6 + 4")
        rss = await replica_sets(plane.api, d)
        assert all(rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "8" for rs in rss)
        assert all(rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "10" for rs in rss)

        async def old_ready() -> Any:
            d2 = await plane.api.get(DEPLOY, NS, "web")
            return d2 if d2["status"].get("availableReplicas") == 6 else None
        d2 = await eventually(old_ready, what="6 available")
        assert d2["status"]["replicas"] == 10 and d2["status"]["updatedReplicas"] == 4


async def _equals(got: Any, want: Any) -> bool:
    return bool(await got == want)


async def test_pause_stops_progress_and_resume_continues(plane: Plane, tmp_path: Path) -> None:
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "replicaset", "deployment"):
        await plane.api.create(DEPLOY, NS, deployment("web", 2))
        d = await eventually(lambda: rolled_out(plane.api, "web"), what="first rollout")
        await plane.api.patch(DEPLOY, NS, "web", {"spec": {"paused": True}})

        async def paused() -> Obj | None:
            got = await plane.api.get(DEPLOY, NS, "web")
            c = cond(got, "Progressing")
            return got if c is not None and (c["status"], c["reason"], c["message"]) == (
                "Unknown", "DeploymentPaused", "Deployment is paused") else None
        await eventually(paused, what="paused condition")
        await set_image(plane.api, "web", "busybox:2")
        await plane.api.patch(DEPLOY, NS, "web", {"spec": {"replicas": 3}})
        # scaling still applies; no new replica set
        await eventually(lambda: _equals(sizes(plane.api, d), [3]), what="scaled while paused")
        await asyncio.sleep(0.5)
        assert len(await replica_sets(plane.api, d)) == 1
        got = await plane.api.get(DEPLOY, NS, "web")
        assert got["status"]["observedGeneration"] == got["metadata"]["generation"]
        await plane.api.patch(DEPLOY, NS, "web", {"spec": {"paused": False}})

        async def done() -> Obj | None:
            got = await rolled_out(plane.api, "web")
            return got if got is not None and got["metadata"]["annotations"].get(REVISION) == "2" else None
        await eventually(done, what="rollout after resume")
        assert await sizes(plane.api, d) == [0, 3]


async def test_progress_deadline_exceeded_keeps_old_pods_serving(plane: Plane, tmp_path: Path) -> None:
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "replicaset", "deployment"):
        await plane.api.create(DEPLOY, NS, deployment("web", 3, progressDeadlineSeconds=2))
        d = await eventually(lambda: rolled_out(plane.api, "web"), what="first rollout")
        [first] = await replica_sets(plane.api, d)
        await make_stuck(plane.api, "web")

        async def timed_out() -> Obj | None:
            got = await plane.api.get(DEPLOY, NS, "web")
            c = cond(got, "Progressing")
            return got if c is not None and c["status"] == "False" else None
        got = await eventually(timed_out, timeout=30, what="ProgressDeadlineExceeded")
        c = cond(got, "Progressing")
        assert c is not None
        old, new = await replica_sets(plane.api, d)
        assert old["metadata"]["uid"] == first["metadata"]["uid"]
        assert (c["reason"], c["message"]) == (
            "ProgressDeadlineExceeded", f'ReplicaSet "{new["metadata"]["name"]}" has timed out progressing.')
        # 25%/25% of 3: surge 1, unavailable 0 — the old pods all keep running
        assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (3, 1)
        assert got["status"]["availableReplicas"] == 3
        avail = cond(got, "Available")
        assert avail is not None and avail["status"] == "True"


async def test_rollback_brings_an_old_replica_set_back_with_a_new_revision(plane: Plane, tmp_path: Path) -> None:
    """What `kubectl rollout undo` does client-side: the old ReplicaSet's template (without its
    pod-template-hash) becomes the Deployment's again."""
    async with sim_cluster(plane, tmp_path, nodes=3), controllers(plane, "replicaset", "deployment"):
        await plane.api.create(DEPLOY, NS, deployment("web", 2))
        d = await eventually(lambda: rolled_out(plane.api, "web"), what="first rollout")
        await set_image(plane.api, "web", "busybox:2")

        async def at(rev: str) -> Obj | None:
            got = await rolled_out(plane.api, "web")
            return got if got is not None and got["metadata"]["annotations"].get(REVISION) == rev else None
        await eventually(lambda: at("2"), what="revision 2")
        first, _ = await replica_sets(plane.api, d)
        template = first["spec"]["template"]
        template["metadata"]["labels"].pop("pod-template-hash")
        await plane.api.patch(DEPLOY, NS, "web", [{"op": "replace", "path": "/spec/template", "value": template}],
                              content_type="application/json-patch+json")
        await eventually(lambda: at("3"), what="revision 3")
        rss = await replica_sets(plane.api, d)
        assert len(rss) == 2
        second, back = rss
        assert back["metadata"]["uid"] == first["metadata"]["uid"]
        assert back["metadata"]["annotations"][REVISION] == "3"
        assert back["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
        assert (second["spec"]["replicas"], back["spec"]["replicas"]) == (0, 2)


async def kubectl(plane: Plane, tmp: Path, *args: str, timeout: float = 60) -> tuple[int, str, str]:
    """The real kubectl against this API server, as a child process (the server runs in this loop)."""
    path = kubeconfig.write(tmp / "kubeconfig", plane.apiserver.url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env.update(KUBECONFIG=str(path), KUBECACHEDIR=str(tmp / "kubectl-cache"))
    proc = await asyncio.create_subprocess_exec("kubectl", "--request-timeout=30s", "-n", NS, *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_kubectl_rollout_commands(plane: Plane, tmp_path: Path) -> None:
    """kubectl 1.32's rollout status / history / restart / pause / resume / undo, all client-side
    over the fields this controller writes."""
    root, kdir = tmp_path / "nodes", tmp_path / "kubectl"
    root.mkdir()
    kdir.mkdir()
    async with sim_cluster(plane, root, nodes=3), controllers(plane, "replicaset", "deployment"):
        body = deployment("web", 2)
        body["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first"}
        await plane.api.create(DEPLOY, NS, body)
        rc, out, err = await kubectl(plane, kdir, "rollout", "status", "deployment/web", "--timeout=60s")
        assert rc == 0 and 'deployment "web" successfully rolled out' in out, (out, err)
        rc, out, err = await kubectl(plane, kdir, "rollout", "restart", "deployment/web")
        assert rc == 0 and "restarted" in out, err
        rc, out, err = await kubectl(plane, kdir, "rollout", "status", "deployment/web", "--timeout=60s")
        assert rc == 0 and "successfully rolled out" in out, (out, err)
        rc, out, err = await kubectl(plane, kdir, "rollout", "history", "deployment/web")
        assert rc == 0, err
        lines = [ln.split() for ln in out.splitlines() if ln[:1].isdigit()]
        assert [ln[0] for ln in lines] == ["1", "2"] and lines[0][1:] == ["first"], out
        rc, out, err = await kubectl(plane, kdir, "rollout", "pause", "deployment/web")
        assert rc == 0 and "paused" in out, err
        rc, out, err = await kubectl(plane, kdir, "rollout", "resume", "deployment/web")
        assert rc == 0 and "resumed" in out, err
        rc, out, err = await kubectl(plane, kdir, "rollout", "undo", "deployment/web", "--to-revision=1")
        assert rc == 0 and "rolled back" in out, (out, err)
        rc, out, err = await kubectl(plane, kdir, "rollout", "status", "deployment/web", "--timeout=60s")
        assert rc == 0 and "successfully rolled out" in out, (out, err)
        rc, out, err = await kubectl(plane, kdir, "rollout", "history", "deployment/web")
        assert rc == 0 and [ln.split()[0] for ln in out.splitlines() if ln[:1].isdigit()] == ["2", "3"], out
        d = await plane.api.get(DEPLOY, NS, "web")
        assert d["metadata"]["annotations"][REVISION] == "3"
        assert "kubectl.kubernetes.io/restartedAt" not in (d["spec"]["template"]["metadata"].get("annotations") or {})
