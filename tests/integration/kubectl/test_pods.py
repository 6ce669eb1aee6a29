"""Pods run for real: the real kubectl against `jetkube up` (scheduler, one docker kubelet).

Each test works in a namespace of its own. Waiting is by polling with a deadline; nothing asserts
how long anything took.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import docker
import pytest

from tests.integration.kubectl.cluster import KUBECTL, SEED, Cluster

pytestmark = pytest.mark.integration


def until(what: str, fn: Callable[[], Any], timeout: float = 90, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def pod(cluster: Cluster, ns: str, name: str) -> dict[str, Any]:
    r = cluster.kubectl("get", "pod", name, "-n", ns, "-o", "json")
    return json.loads(r.out) if r.rc == 0 else {}


def phase(cluster: Cluster, ns: str, name: str) -> str:
    return str(pod(cluster, ns, name).get("status", {}).get("phase", ""))


def running(cluster: Cluster, ns: str, name: str, timeout: float = 90) -> dict[str, Any]:
    until(f"pod {name} Running", lambda: phase(cluster, ns, name) == "Running", timeout)
    cluster.ok("wait", "-n", ns, "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    return pod(cluster, ns, name)


def waiting_reason(p: dict[str, Any], container: int = 0) -> str:
    statuses = p.get("status", {}).get("containerStatuses") or []
    if len(statuses) <= container:
        return ""
    return str((statuses[container].get("state") or {}).get("waiting", {}).get("reason", ""))


def events(cluster: Cluster, ns: str, name: str) -> list[dict[str, Any]]:
    items = cluster.get_json("events", "-n", ns, "--field-selector", f"involvedObject.name={name}")["items"]
    return list(items)


def apply(cluster: Cluster, ns: str, manifest: dict[str, Any]) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(manifest))


def busybox_pod(name: str, command: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": name, "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                     "command": ["sh", "-c", command]}], **spec}}


def test_seed_pod_runs_with_ip_and_node(cluster: Cluster, ns: str) -> None:
    cluster.ok("create", "-n", ns, "-f", str(SEED / "pod-definition.yml"))
    p = running(cluster, ns, "nginx-pod")
    st = p["status"]
    assert st["podIP"] and st["hostIP"] and p["spec"]["nodeName"]
    assert st["containerStatuses"][0]["ready"] is True
    assert st["containerStatuses"][0]["containerID"].startswith("docker://")
    wide = cluster.ok("get", "pods", "-n", ns, "-o", "wide").out
    assert st["podIP"] in wide and p["spec"]["nodeName"] in wide
    assert "Running" in wide
    described = cluster.ok("describe", "pod", "nginx-pod", "-n", ns).out
    for text in ("Conditions:", "PodScheduled", "Ready", "Scheduled", "Started", "Successfully assigned"):
        assert text in described, described


def test_run_nginx_exec_and_delete_waits_for_the_container(cluster: Cluster, ns: str,
                                                          docker_client: docker.DockerClient) -> None:
    cluster.ok("run", "web", "--image=nginx", "-n", ns)
    p = running(cluster, ns, "web")
    r = cluster.ok("exec", "web", "-n", ns, "--", "nginx", "-v")
    assert "nginx version: nginx/1.22" in r.out + r.err
    uid = p["metadata"]["uid"]
    assert docker_client.containers.list(filters={"label": f"io.jetkube.pod.uid={uid}"})
    cluster.ok("delete", "pod", "web", "-n", ns, "--timeout=60s")
    left = docker_client.containers.list(all=True, filters={"label": f"io.jetkube.pod.uid={uid}"})
    assert left == [], [c.name for c in left]
    assert cluster.kubectl("get", "pod", "web", "-n", ns).rc == 1


def test_logs_follow_and_exec_with_stdin(cluster: Cluster, ns: str) -> None:
    apply(cluster, ns, busybox_pod("talker", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done"))
    running(cluster, ns, "talker")
    until("a few log lines", lambda: "line 3" in cluster.kubectl("logs", "talker", "-n", ns).out, 30)
    assert cluster.ok("logs", "talker", "-n", ns, "--tail=1").out.count("\n") == 1
    stamped = cluster.ok("logs", "talker", "-n", ns, "--tail=2", "--timestamps").out.splitlines()
    assert all(line[:4].isdigit() and "T" in line.split(" ")[0] for line in stamped), stamped
    follow = subprocess.Popen([KUBECTL, "logs", "-f", "talker", "-n", ns], stdout=subprocess.PIPE, text=True,
                              env=cluster.env())
    try:
        assert follow.stdout is not None
        seen = [follow.stdout.readline() for _ in range(8)]
        numbers = [int(s.split()[1]) for s in seen]
        assert numbers == sorted(numbers) and len(set(numbers)) == 8
    finally:
        follow.kill()
        follow.wait()
    r = cluster.ok("exec", "-i", "talker", "-n", ns, "--", "cat", stdin="hello over stdin\n")
    assert r.out == "hello over stdin\n"
    r = cluster.kubectl("exec", "talker", "-n", ns, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (r.rc, r.out, r.err.splitlines()[0]) == (3, "out\n", "err"), str(r)


def test_two_containers_talk_over_localhost(cluster: Cluster, ns: str) -> None:
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "duo"}, "spec": {"containers": [
        {"name": "server", "image": "busybox", "imagePullPolicy": "IfNotPresent",
         "command": ["sh", "-c", "mkdir -p /www && echo hello-from-server > /www/index.html && httpd -f -p 8080 -h /www"]},
        {"name": "client", "image": "busybox", "imagePullPolicy": "IfNotPresent",
         "command": ["sh", "-c", "while true; do wget -qO- http://localhost:8080/ || true; sleep 0.5; done"]}]}}
    apply(cluster, ns, manifest)
    running(cluster, ns, "duo")
    until("the client to reach the server", lambda: "hello-from-server" in cluster.kubectl(
        "logs", "duo", "-c", "client", "-n", ns).out, 30)
    r = cluster.ok("logs", "duo", "-n", ns)  # kubectl picks the first container itself and says so
    assert 'Defaulted container "server"' in r.err, str(r)
    code, status = cluster.http("GET", f"/api/v1/namespaces/{ns}/pods/duo/log")  # the API's own answer: 400
    assert code == 400 and "a container name must be specified for pod duo" in status["message"], status


def test_too_much_cpu_stays_pending_with_a_reason(cluster: Cluster, ns: str) -> None:
    manifest = busybox_pod("greedy", "sleep 3600")
    manifest["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "5000"}}
    apply(cluster, ns, manifest)
    ev = until("FailedScheduling", lambda: [e for e in events(cluster, ns, "greedy")
                                           if e["reason"] == "FailedScheduling"], 30)
    assert ev[0]["type"] == "Warning" and "Insufficient cpu" in ev[0]["message"], ev[0]
    assert ev[0]["message"].startswith("0/")
    p = pod(cluster, ns, "greedy")
    assert p["status"]["phase"] == "Pending" and not p["spec"].get("nodeName")
    cond = {c["type"]: c for c in p["status"]["conditions"]}["PodScheduled"]
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    assert "Insufficient cpu" in cluster.ok("describe", "pod", "greedy", "-n", ns).out


def test_crash_loop_backs_off_with_growing_restarts(cluster: Cluster, ns: str) -> None:
    apply(cluster, ns, busybox_pod("crash", "echo dying; exit 1"))
    first = until("CrashLoopBackOff", lambda: (lambda p: p if waiting_reason(p) == "CrashLoopBackOff" else None)(
        pod(cluster, ns, "crash")), 60)
    n = first["status"]["containerStatuses"][0]["restartCount"]
    assert n >= 1
    last = first["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (1, "Error")
    until("restartCount to grow", lambda: pod(cluster, ns, "crash")["status"]["containerStatuses"][0][
        "restartCount"] > n, 60)
    assert "dying" in cluster.ok("logs", "crash", "-n", ns, "--previous").out
    assert any(e["reason"] == "BackOff" for e in events(cluster, ns, "crash"))


def test_bad_pods_get_kubernetes_reasons_and_others_are_untouched(cluster: Cluster, ns: str) -> None:
    apply(cluster, ns, busybox_pod("steady", "sleep 3600"))
    steady = running(cluster, ns, "steady")
    missing = busybox_pod("noimage", "true")
    missing["spec"]["containers"][0].update(image="nosuchimage:1.0")
    apply(cluster, ns, missing)
    nocmd = busybox_pod("nocmd", "")
    nocmd["spec"]["containers"][0].update(command=["/no/such/binary"])
    apply(cluster, ns, nocmd)
    nocm = busybox_pod("nocm", "sleep 3600", volumes=[{"name": "cfg", "configMap": {"name": "absent"}}])
    nocm["spec"]["containers"][0]["volumeMounts"] = [{"name": "cfg", "mountPath": "/cfg"}]
    apply(cluster, ns, nocm)

    p = until("ErrImagePull", lambda: (lambda p: p if waiting_reason(p) in ("ErrImagePull", "ImagePullBackOff")
                                       else None)(pod(cluster, ns, "noimage")), 60)
    assert "nosuchimage" in p["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    assert "no registry is reachable" in p["status"]["containerStatuses"][0]["state"]["waiting"]["message"]

    def run_error() -> Any:
        p = pod(cluster, ns, "nocmd")
        st = (p.get("status", {}).get("containerStatuses") or [{}])[0]
        reasons = {(st.get("state") or {}).get("waiting", {}).get("reason"),
                   (st.get("state") or {}).get("terminated", {}).get("reason"),
                   (st.get("lastState") or {}).get("terminated", {}).get("reason")}
        return st if reasons & {"RunContainerError", "StartError", "CrashLoopBackOff"} else None
    st = until("RunContainerError", run_error, 60)
    assert "no/such/binary" in json.dumps(st)

    until("FailedMount", lambda: [e for e in events(cluster, ns, "nocm") if e["reason"] == "FailedMount"], 60)
    p = pod(cluster, ns, "nocm")
    assert p["status"]["phase"] == "Pending"
    assert any('configmap "absent" not found' in e["message"] for e in events(cluster, ns, "nocm"))

    after = pod(cluster, ns, "steady")
    assert after["status"]["phase"] == "Running"
    assert after["status"]["containerStatuses"][0]["containerID"] == steady["status"]["containerStatuses"][0][
        "containerID"]
    assert after["status"]["containerStatuses"][0]["restartCount"] == 0


def test_kubelet_killed_with_sigkill_adopts_its_containers(cluster: Cluster, ns: str) -> None:
    apply(cluster, ns, busybox_pod("survivor", "sleep 3600"))
    before = running(cluster, ns, "survivor")["status"]["containerStatuses"][0]
    kubelets = {n: p for n, p in cluster.state()["processes"].items() if n.startswith("kubelet")}
    assert kubelets
    name, proc = sorted(kubelets.items())[0]
    os.kill(int(proc["pid"]), signal.SIGKILL)
    # the supervisor starts it again; the new one must adopt, not restart
    until("the kubelet to be restarted", lambda: int(cluster.state()["processes"].get(name, {"pid": proc["pid"]})[
        "pid"]) != int(proc["pid"]), 60)
    cluster._remember_pids()
    apply(cluster, ns, busybox_pod("after", "sleep 3600"))
    running(cluster, ns, "after")  # status resumes: a new pod is started and reported
    now = pod(cluster, ns, "survivor")["status"]["containerStatuses"][0]
    assert (now["containerID"], now["restartCount"], now["state"]["running"]["startedAt"]) == (
        before["containerID"], before["restartCount"], before["state"]["running"]["startedAt"])
