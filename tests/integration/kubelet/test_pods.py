"""Pods on a docker kubelet: running, networking inside a pod, init containers, env and volumes,
restarts with CrashLoopBackOff, terminal phases, graceful deletion."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from core.errors import BadRequest, NotFound
from tests.integration.kubelet.conftest import Node, pod, sh, until

pytestmark = pytest.mark.integration


async def _pod(node: Node, name: str) -> dict[str, Any]:
    return await node.plane.api.get("pods", "default", name)


async def _phase(node: Node, name: str, phase: str) -> dict[str, Any] | None:
    p = await _pod(node, name)
    return p if p["status"].get("phase") == phase else None


def _cid(status: dict[str, Any]) -> str:
    return status["containerID"].removeprefix("docker://")


async def _events(node: Node, name: str) -> list[dict[str, Any]]:
    items = (await node.plane.api.list("events", "default"))["items"]
    return [e for e in items if e["involvedObject"]["name"] == name]


async def test_pod_runs_with_status_events_node_and_lease(node: Node) -> None:
    api = node.plane.api
    await api.create("pods", "default", pod("web", [sh("c", "sleep 3600")]))
    p = await until(lambda: _phase(node, "web", "Running"))
    st = p["status"]
    assert st["podIP"].startswith(node.cidr.split(".0.0/")[0]) and st["podIPs"] == [{"ip": st["podIP"]}]
    assert st["hostIP"] == node.kubelet.facts[node.name].ip and st["hostIPs"] == [{"ip": st["hostIP"]}]
    assert st["qosClass"] == "BestEffort" and st["startTime"]
    (cs,) = st["containerStatuses"]
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0 and "running" in cs["state"]
    assert cs["image"] == "busybox:latest" and cs["imageID"].startswith("sha256:")
    assert cs["containerID"].startswith("docker://")
    conds = {c["type"]: c["status"] for c in st["conditions"]}
    assert conds == {"PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
                     "ContainersReady": "True"}
    inspect = await asyncio.to_thread(node.docker.api.inspect_container, _cid(cs))
    labels = inspect["Config"]["Labels"]
    assert labels["io.jetkube.pod.uid"] == p["metadata"]["uid"] and labels["io.jetkube.container.name"] == "c"
    assert inspect["HostConfig"]["NetworkMode"].startswith("container:")

    # What logs/exec requests for this pod resolve to.
    target = await node.kubelet.resolve(node.name, "default", "web", "c", False)
    assert target.container_id == _cid(cs) and not target.sim and not target.tty
    with pytest.raises(BadRequest, match='previous terminated container "c" in pod "web" not found'):
        await node.kubelet.resolve(node.name, "default", "web", "c", True)
    with pytest.raises(BadRequest, match='container "nope" is not valid for pod "web"'):
        await node.kubelet.resolve(node.name, "default", "web", "nope", False)
    with pytest.raises(NotFound):
        await node.kubelet.resolve(node.name, "default", "elsewhere", "c", False)

    async def events() -> set[str] | None:
        reasons = {e["reason"] for e in await _events(node, "web")}
        return reasons if {"Pulled", "Created", "Started"} <= reasons else None
    await until(events)

    n = await api.get("nodes", "", node.name)
    labels = n["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == node.name and labels["kubernetes.io/os"] == "linux"
    assert labels["kubernetes.io/arch"] == labels["beta.kubernetes.io/arch"]
    assert n["spec"]["podCIDR"] == node.config().pod_cidr and n["spec"]["podCIDRs"] == [n["spec"]["podCIDR"]]
    ready = next(c for c in n["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
    info = n["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.32.0-jetkube" and info["containerRuntimeVersion"].startswith("docker://")
    assert n["status"]["capacity"]["pods"] == "110" and n["status"]["allocatable"] == n["status"]["capacity"]
    assert {a["type"] for a in n["status"]["addresses"]} == {"InternalIP", "Hostname"}
    lease = await api.get("leases.coordination.k8s.io", "kube-node-lease", node.name)
    assert lease["spec"]["holderIdentity"] == node.name and lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["spec"]["renewTime"].endswith("Z") and "." in lease["spec"]["renewTime"]


async def test_containers_of_a_pod_share_localhost(node: Node) -> None:
    server = sh("server", "mkdir -p /www && echo hello-from-pod > /www/index.html && httpd -f -p 8080 -h /www")
    client = sh("client", "for i in $(seq 100); do wget -qO- http://localhost:8080/ | grep -q hello-from-pod "
                          "&& exit 0; sleep 0.1; done; exit 1")
    await node.plane.api.create("pods", "default", pod("duo", [server, client], restartPolicy="Never"))

    async def client_done() -> dict[str, Any] | None:
        p = await _pod(node, "duo")
        by = {c["name"]: c for c in p["status"].get("containerStatuses") or []}
        return by if "terminated" in by.get("client", {}).get("state", {}) else None
    by = await until(client_done)
    assert by["client"]["state"]["terminated"]["exitCode"] == 0
    assert by["client"]["state"]["terminated"]["reason"] == "Completed"
    assert "running" in by["server"]["state"]


async def test_init_containers_run_in_order_before_the_app(node: Node) -> None:
    vol = [{"name": "work", "mountPath": "/work"}]
    body = pod("init", [sh("app", "cat /work/log; echo; sleep 3600", volumeMounts=vol)],
               initContainers=[sh("first", "echo -n 1 >> /work/log", volumeMounts=vol),
                               sh("second", "sleep 0.3; echo -n 2 >> /work/log", volumeMounts=vol)],
               volumes=[{"name": "work", "emptyDir": {}}])
    await node.plane.api.create("pods", "default", body)
    p = await until(lambda: _phase(node, "init", "Running"))
    inits = p["status"]["initContainerStatuses"]
    assert [c["name"] for c in inits] == ["first", "second"]
    assert all(c["state"]["terminated"]["reason"] == "Completed" and c["ready"] for c in inits)
    first, second = (c["state"]["terminated"] for c in inits)
    assert first["finishedAt"] <= second["startedAt"]
    app = p["status"]["containerStatuses"][0]

    async def logs() -> bytes | None:
        out = await asyncio.to_thread(node.docker.api.logs, _cid(app))
        return out if out else None
    assert (await until(logs)).strip() == b"12"


async def test_init_failure_with_never_fails_the_pod(node: Node) -> None:
    body = pod("badinit", [sh("app", "sleep 3600")], restartPolicy="Never", initContainers=[sh("boom", "exit 3")])
    await node.plane.api.create("pods", "default", body)
    p = await until(lambda: _phase(node, "badinit", "Failed"))
    assert p["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
    assert p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"


async def test_env_and_volumes_from_configmap_secret_and_fields(node: Node) -> None:
    api = node.plane.api
    await api.create("configmaps", "default", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                                               "data": {"color": "blue", "size": "L", "app.conf": "x=1\n"}})
    secret = base64.b64encode(b"s3cret").decode()
    await api.create("secrets", "default", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"},
                                            "data": {"password": secret}})
    env = [{"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
           {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
           {"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
           {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
           {"name": "GREETING", "value": "hi-$(ME)-$(NOPE)"},
           {"name": "MISSING", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": True}}}]
    script = ('echo "$COLOR|$PASS|$ME|$NS|$IP|$NODE|$GREETING|$CFG_size|${MISSING-unset}"; '
              "cat /etc/cfg/app.conf; cat /etc/items/renamed; echo; ls /etc/sec; cat /etc/sec/password; echo; "
              "touch /etc/cfg/x 2>/dev/null && echo writable || echo readonly; sleep 3600")
    c = sh("c", script, env=env, envFrom=[{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
           volumeMounts=[{"name": "cfg", "mountPath": "/etc/cfg"}, {"name": "items", "mountPath": "/etc/items"},
                         {"name": "sec", "mountPath": "/etc/sec"}])
    body = pod("envy", [c], volumes=[
        {"name": "cfg", "configMap": {"name": "cfg"}},
        {"name": "items", "configMap": {"name": "cfg", "items": [{"key": "color", "path": "renamed"}]}},
        {"name": "sec", "secret": {"secretName": "sec", "defaultMode": 0o400}}])
    await api.create("pods", "default", body)
    p = await until(lambda: _phase(node, "envy", "Running"))
    cid = _cid(p["status"]["containerStatuses"][0])

    async def logs() -> list[str] | None:
        out = (await asyncio.to_thread(node.docker.api.logs, cid)).decode()
        return out.splitlines() if "readonly" in out or "writable" in out else None
    lines = await until(logs)
    ip = p["status"]["podIP"]
    assert lines[0] == f"blue|s3cret|envy|default|{ip}|{node.name}|hi-envy-$(NOPE)|L|unset"
    assert lines[1:] == ["x=1", "blue", "password", "s3cret", "readonly"]


async def test_missing_configmap_for_env_then_created(node: Node) -> None:
    api = node.plane.api
    env = [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "late", "key": "a"}}}]
    await api.create("pods", "default", pod("cfgerr", [sh("c", "sleep 3600", env=env)]))

    async def waiting() -> dict[str, Any] | None:
        p = await _pod(node, "cfgerr")
        cs = (p["status"].get("containerStatuses") or [{}])[0]
        w = cs.get("state", {}).get("waiting", {})
        return w if w.get("reason") == "CreateContainerConfigError" else None
    w = await until(waiting)
    assert w["message"] == 'configmap "late" not found'
    assert (await _pod(node, "cfgerr"))["status"]["phase"] == "Pending"
    await api.create("configmaps", "default", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"},
                                               "data": {"a": "1"}})
    await until(lambda: _phase(node, "cfgerr", "Running"), timeout=20)


async def test_missing_configmap_volume_keeps_pod_creating(node: Node) -> None:
    api = node.plane.api
    body = pod("mnt", [sh("c", "sleep 3600", volumeMounts=[{"name": "v", "mountPath": "/v"}])],
               volumes=[{"name": "v", "configMap": {"name": "absent"}}])
    await api.create("pods", "default", body)

    async def failed_mount() -> list[dict[str, Any]]:
        return [e for e in await _events(node, "mnt") if e["reason"] == "FailedMount"]
    (ev,) = await until(failed_mount)
    assert ev["type"] == "Warning"
    assert ev["message"] == 'MountVolume.SetUp failed for volume "v" : configmap "absent" not found'
    p = await _pod(node, "mnt")
    assert p["status"]["phase"] == "Pending"
    assert p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"


async def test_crash_loop_backs_off_and_keeps_the_previous_container(node: Node) -> None:
    await node.plane.api.create("pods", "default", pod("crash", [sh("c", "echo boom; exit 1")]))
    seen: set[str] = set()

    async def looping() -> dict[str, Any] | None:
        p = await _pod(node, "crash")
        cs = (p["status"].get("containerStatuses") or [{}])[0]
        seen.update(cs.get("state", {}).get("waiting", {}).get("reason", "") for _ in [0])
        return cs if cs.get("restartCount", 0) >= 3 and "CrashLoopBackOff" in seen else None
    cs = await until(looping, timeout=40, every=0.05)
    assert cs["lastState"]["terminated"]["exitCode"] == 1 and cs["lastState"]["terminated"]["reason"] == "Error"
    p = await _pod(node, "crash")
    assert p["status"]["phase"] == "Running"
    kept = await asyncio.to_thread(node.docker.api.containers, all=True, filters={
        "label": [f"io.jetkube.pod.uid={p['metadata']['uid']}", "io.jetkube.container.name=c"]})
    assert 1 <= len(kept) <= 2  # the current attempt and the previous one; older ones removed
    backoffs = [e for e in await _events(node, "crash") if e["reason"] == "BackOff"]
    assert backoffs and backoffs[0]["type"] == "Warning"
    assert backoffs[0]["message"].startswith("Back-off restarting failed container c in pod crash_default(")


@pytest.mark.parametrize("code,phase", [(0, "Succeeded"), (1, "Failed")])
async def test_restart_never_reaches_a_terminal_phase(node: Node, code: int, phase: str) -> None:
    name = f"once-{code}"
    await node.plane.api.create("pods", "default", pod(name, [sh("c", f"exit {code}")], restartPolicy="Never"))
    p = await until(lambda: _phase(node, name, phase))
    term = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == code and term["reason"] == ("Completed" if code == 0 else "Error")
    assert p["status"]["podIP"]
    uid = p["metadata"]["uid"]

    async def sandbox_stopped() -> bool:
        running = await asyncio.to_thread(node.docker.api.containers, filters={
            "label": [f"io.jetkube.pod.uid={uid}", "io.jetkube.sandbox=true"]})
        return not running
    await until(sandbox_stopped)
    assert uid not in node.kubelet.agents[node.name].ipam.by_uid


async def test_graceful_deletion_removes_everything(node: Node) -> None:
    api = node.plane.api
    await api.create("pods", "default", pod("gone", [sh("c", "trap 'exit 0' TERM; sleep 3600 & wait")]))
    p = await until(lambda: _phase(node, "gone", "Running"))
    uid = p["metadata"]["uid"]
    deleting = await api.delete("pods", "default", "gone")
    assert deleting["metadata"]["deletionTimestamp"]

    async def gone() -> bool:
        items = (await api.list("pods", "default"))["items"]
        return all(i["metadata"]["name"] != "gone" for i in items)
    await until(gone)
    left = await asyncio.to_thread(node.docker.api.containers, all=True,
                                   filters={"label": f"io.jetkube.pod.uid={uid}"})
    assert left == []
    assert uid not in node.kubelet.agents[node.name].ipam.by_uid
    assert not (node.root / "pods" / uid).exists()
    killing = [e for e in await _events(node, "gone") if e["reason"] == "Killing"]
    assert killing and killing[0]["message"] == "Stopping container c"


async def test_force_deleted_pod_is_cleaned_up(node: Node) -> None:
    api = node.plane.api
    await api.create("pods", "default", pod("forced", [sh("c", "sleep 3600")]))
    p = await until(lambda: _phase(node, "forced", "Running"))
    uid = p["metadata"]["uid"]
    await api.delete("pods", "default", "forced", grace_period_seconds=0)

    async def cleaned() -> bool:
        return not await asyncio.to_thread(node.docker.api.containers, all=True,
                                           filters={"label": f"io.jetkube.pod.uid={uid}"})
    await until(cleaned)


async def test_host_network_pod_uses_the_node_address(node: Node) -> None:
    import socket
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web = sh("web", f"mkdir -p /www && echo on-host > /www/index.html && httpd -f -p {port} -h /www")
    await node.plane.api.create("pods", "default", pod("hostnet", [web], hostNetwork=True))
    p = await until(lambda: _phase(node, "hostnet", "Running"))
    assert p["status"]["podIP"] == p["status"]["hostIP"]

    def fetch() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
            return r.read().decode()

    async def served() -> str | None:
        try:
            return await asyncio.to_thread(fetch)
        except OSError:
            return None
    assert (await until(served)).strip() == "on-host"
