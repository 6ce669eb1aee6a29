"""The restore drill, end to end: `jetkube` and the real kubectl on a docker node.

The seed Deployment and Service plus 200 ConfigMaps; a backup taken while a writer keeps creating
ConfigMaps; `jetkube down --keep-containers`; the NATS store wiped; `jetkube up --restore FILE`.
Then every object acknowledged at or before the backup's revision is back with identical content,
the nginx containers were adopted, not restarted (same container IDs, restartCount 0) and still
answer HTTP, a pod created after the backup has lost its container, a watch from the restored
revision sees the next change and a watch from before the restore answers 410.
"""

from __future__ import annotations

import http.client
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from replay import archive
from tests.integration.kubectl.cluster import EXAMPLES, Cluster, running_cluster
from tests.integration.kubectl.test_workloads import pods, ready, until

pytestmark = pytest.mark.integration

VOLATILE = ("resourceVersion",)


def content(obj: dict[str, Any]) -> dict[str, Any]:
    """An object without what a restore is meant to change (its resourceVersion)."""
    out = json.loads(json.dumps(obj))
    for k in VOLATILE:
        out["metadata"].pop(k, None)
    return out


def nginx_answers(ip: str) -> bool:
    try:
        conn = http.client.HTTPConnection(ip, 80, timeout=3)
        conn.request("GET", "/")
        resp = conn.getresponse()
        body = resp.read()
        return resp.status == 200 and b"nginx" in body.lower()
    except OSError:
        return False


def containers_of(cluster: Cluster) -> dict[str, str]:
    """Running containers of this cluster: id → pod uid label."""
    import docker
    client = docker.from_env()
    prefix = json.loads((cluster.home / "cluster.json").read_text())["prefix"]
    return {c.id: c.labels.get("io.jetkube.pod.uid", "") for c in
            client.containers.list(filters={"label": f"io.jetkube.prefix={prefix}"})}


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("jetkube-drill")) as c:
        yield c


@pytest.mark.timeout(600)
def test_restore_drill(drill: Cluster, tmp_path: Path) -> None:
    c = drill
    ns = "default"
    c.ok("apply", "-n", ns, "-f", str(EXAMPLES / "deployment.yaml"))
    c.ok("apply", "-n", ns, "-f", str(EXAMPLES / "service.yaml"))
    cms = "---\n".join(yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:03d}", "labels": {"set": "drill"}},
         "data": {"i": str(i), "text": "x" * (i % 50)}}) for i in range(200))
    c.ok("apply", "-n", ns, "-f", "-", stdin=cms)
    c.ok("rollout", "status", "-n", ns, "deployment/myapp-deployment", "--timeout=180s")
    running = until("3 ready nginx pods with IPs", lambda: len(
        p := [x for x in pods(c, ns) if ready(x) and x["status"].get("podIP")]) == 3 and p)
    for p in running:
        assert until(f"nginx answering on {p['status']['podIP']}", lambda: nginx_answers(p["status"]["podIP"]), 30)
    c.ok("run", "late", "-n", ns, "--image=busybox", "--restart=Never", "--", "sleep", "3600")  # before: kept

    # a writer that keeps creating ConfigMaps while the backup is taken
    acked: dict[str, int] = {}
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            code, got = c.http("POST", f"/api/v1/namespaces/{ns}/configmaps",
                               {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"live-{i}"},
                                "data": {"i": str(i)}})
            if code == 201:
                acked[got["metadata"]["name"]] = int(got["metadata"]["resourceVersion"])
            i += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    backup = tmp_path / "drill.jkb"
    try:
        time.sleep(0.5)
        done = c.jetkube("backup", "create", str(backup))
        assert done.returncode == 0, done.stderr
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(30)
    ar = archive.read(backup)
    rev = ar.revision
    assert any(r <= rev for r in acked.values()) and any(r > rev for r in acked.values()), (rev, acked)
    verify = c.jetkube("backup", "verify", str(backup))
    assert verify.returncode == 0 and "ok:" in verify.stdout, verify.stdout + verify.stderr

    # what must come back: everything acknowledged at or before the backup's revision
    everything = {}
    for kind in ("configmaps", "deployments", "replicasets", "services", "pods"):
        for item in c.get_json(kind, "-n", ns)["items"]:
            if int(item["metadata"]["resourceVersion"]) <= rev:
                everything[(kind, item["metadata"]["name"])] = content(item)
    assert sum(1 for k in everything if k[0] == "configmaps" and k[1].startswith("cm-")) == 200
    before_pods = {p["metadata"]["name"]: p for p in pods(c, ns)}
    c.ok("run", "after", "-n", ns, "--image=busybox", "--restart=Never", "--", "sleep", "3600")
    after_uid = until("the pod created after the backup runs", lambda: (p := c.get_json("pod", "after", "-n", ns))
                      and p["status"].get("phase") == "Running" and p["metadata"]["uid"])
    assert after_uid in containers_of(c).values()
    ids_before = {cs["containerID"] for p in before_pods.values() for cs in p["status"]["containerStatuses"]}

    # the disaster: the control plane goes, its store is wiped; the node's containers live on
    down = c.jetkube("down", "--keep-containers", timeout=60)
    assert down.returncode == 0, down.stderr
    assert after_uid in containers_of(c).values()
    shutil.rmtree(c.home / "nats")
    c.up("--restore", str(backup), ports=False)

    # every object acknowledged before the backup's revision, identical
    restored = {}
    for kind in ("configmaps", "deployments", "replicasets", "services"):
        for item in c.get_json(kind, "-n", ns)["items"]:
            restored[(kind, item["metadata"]["name"])] = item
            assert int(item["metadata"]["resourceVersion"]) > rev  # revisions moved up, never back
    for (kind, name), want in everything.items():
        if kind != "pods":  # pods: their status is the kubelet's to refresh; compared below
            assert content(restored[(kind, name)]) == want, (kind, name)
    assert {n for n, r in acked.items() if r <= rev} <= {n for k, n in restored if k == "configmaps"}
    # nginx adopted, not restarted, still serving
    def adopted() -> list[dict[str, Any]]:
        now = [p for p in pods(c, ns) if ready(p)]
        return now if len(now) == 3 else []
    now = until("the 3 nginx pods Ready again", adopted, 90)
    for p in now:
        old = before_pods[p["metadata"]["name"]]
        assert p["metadata"]["uid"] == old["metadata"]["uid"]
        assert {cs["containerID"] for cs in p["status"]["containerStatuses"]} <= ids_before
        assert all(cs["restartCount"] == 0 for cs in p["status"]["containerStatuses"])
        assert nginx_answers(p["status"]["podIP"])
    svc = c.get_json("service", "myapp-service", "-n", ns)
    assert svc["spec"]["clusterIP"] == everything[("services", "myapp-service")]["spec"]["clusterIP"]
    # the pod the restored state does not know: its container is removed
    until("the container of the pod created after the backup is gone",
          lambda: after_uid not in containers_of(c).values(), 60)
    assert c.kubectl("get", "pod", "after", "-n", ns).rc != 0
    assert c.get_json("pod", "late", "-n", ns)["status"]["phase"] == "Running"

    # watches: from the restored revision, the next change; from before the restore, 410
    code, listed = c.http("GET", f"/api/v1/namespaces/{ns}/configmaps")
    watch_rv = listed["metadata"]["resourceVersion"]
    assert code == 200 and int(watch_rv) > rev
    conn = http.client.HTTPConnection("127.0.0.1", c.api_port, timeout=30)
    conn.request("GET", f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={watch_rv}")
    resp = conn.getresponse()
    c.ok("create", "configmap", "after-restore", "-n", ns, "--from-literal=a=b")
    event = json.loads(resp.readline())
    assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "after-restore"
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", c.api_port, timeout=30)
    conn.request("GET", f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={rev}")
    event = json.loads(conn.getresponse().readline())
    conn.close()
    assert event["type"] == "ERROR" and event["object"]["code"] == 410, event
