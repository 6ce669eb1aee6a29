"""`jetkube down` then `jetkube up` on the same home: the log is the state.

Every object comes back with the resourceVersion it had, and a watch from a revision R taken before
the restart resumes and delivers exactly the changes made after R (made before `down`), then live
ones. Each test starts and stops its own cluster (it restarts it), in a temp home.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kubectl.cluster import EXAMPLES, Cluster, start_cluster

pytestmark = pytest.mark.integration

CMS = "/api/v1/namespaces/{ns}/configmaps"
DEPLOYS = "/apis/apps/v1/namespaces/{ns}/deployments"
MERGE = "application/merge-patch+json"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = start_cluster(tmp_path / "home")
    try:
        yield c
    finally:
        c.down()
        assert not c.killed, f"jetkube down left processes running: {c.killed}"


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def _ok(cluster: Cluster, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
        expect: tuple[int, ...] = (200, 201)) -> Any:
    code, got = cluster.http(method, path, body, content_type=content_type)
    assert code in expect, (method, path, code, got)
    return got


def _until_running(cluster: Cluster, ns: str, name: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while cluster.get_json("-n", ns, "pod", name).get("status", {}).get("phase") != "Running":
        assert time.monotonic() < deadline, f"pod {name} did not reach Running"
        time.sleep(0.5)


def _settled(cluster: Cluster, ns: str, timeout: float = 120) -> None:
    """Until the controllers are done: the Deployment rolled out and the ReplicaSet's pods all ready."""
    cluster.ok("rollout", "status", "-n", ns, "deployment/myapp-deployment", f"--timeout={timeout:.0f}s")
    deadline = time.monotonic() + timeout
    while True:
        sets = cluster.get_json("-n", ns, "replicasets")["items"]
        if all((r.get("status") or {}).get("readyReplicas", 0) == r["spec"]["replicas"]
               and (r.get("status") or {}).get("observedGeneration") == r["metadata"]["generation"] for r in sets):
            return
        assert time.monotonic() < deadline, f"replica sets did not settle: {[r.get('status') for r in sets]}"
        time.sleep(0.5)


def _but_status(obj: dict[str, Any]) -> dict[str, Any]:
    md = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": md}


def _everything(cluster: Cluster, ns: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of the test's namespace (and the namespace itself), by (resource, name)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in ("configmaps", "deployments.apps", "replicasets.apps", "pods", "services", "leases"):
        for item in cluster.get_json("-n", ns, resource)["items"]:
            out[(resource, item["metadata"]["name"])] = item
    out[("namespaces", ns)] = cluster.get_json("namespace", ns)
    return out


class _Watch:
    """A raw HTTP watch (`GET …?watch=true&resourceVersion=R`) read line by line on a thread."""

    def __init__(self, port: int, path: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.connect()
        self.sock = self.conn.sock
        self.conn.request("GET", path)
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.read()
        self.events: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        self.ended = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for line in self.resp:
                if line.strip():
                    with self.cond:
                        self.events.append(json.loads(line))
                        self.cond.notify_all()
        except (OSError, ValueError, http.client.HTTPException):
            pass
        finally:
            with self.cond:
                self.ended = True
                self.cond.notify_all()

    def until(self, predicate: Any, timeout: float = 30) -> list[dict[str, Any]]:
        with self.cond:
            ok = self.cond.wait_for(lambda: predicate(self.events) or self.ended, timeout)
            assert ok and predicate(self.events), f"the watch ended or stalled; it delivered {self.events}"
            return list(self.events)

    def close(self) -> None:
        try:  # wake the reader blocked on the socket, then let go of everything
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(10)
        self.conn.close()


def _summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["type"], e["object"]["metadata"]["name"], e["object"]["metadata"]["resourceVersion"]) for e in events]


def test_restart_keeps_objects_and_resumes_watches(cluster: Cluster) -> None:
    ns = cluster.namespace("restart")
    cluster.ok("apply", "-n", ns, "-f", str(EXAMPLES))
    for name in ("keep", "change", "drop"):
        _ok(cluster, "POST", CMS.format(ns=ns), _cm(name, v="1"))
    held = _cm("held", v="1")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    _ok(cluster, "POST", CMS.format(ns=ns), held)
    _ok(cluster, "DELETE", CMS.format(ns=ns) + "/held")  # marked, held by its finalizer
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "leader"},
             "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}
    _ok(cluster, "POST", f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", lease)

    # R: the revision of a list; then changes after R, before `down`
    r_cms = int(_ok(cluster, "GET", CMS.format(ns=ns))["metadata"]["resourceVersion"])
    r_deploys = int(_ok(cluster, "GET", DEPLOYS.format(ns=ns))["metadata"]["resourceVersion"])
    changed = _ok(cluster, "PATCH", CMS.format(ns=ns) + "/change", {"data": {"v": "2"}}, content_type=MERGE)
    added = _ok(cluster, "POST", CMS.format(ns=ns), _cm("added", v="1"))
    _ok(cluster, "DELETE", CMS.format(ns=ns) + "/drop")
    scaled = _ok(cluster, "PATCH", DEPLOYS.format(ns=ns) + "/myapp-deployment/scale", {"spec": {"replicas": 5}},
                 content_type=MERGE)
    assert scaled["spec"]["replicas"] == 5
    _until_running(cluster, ns, "nginx-pod")
    _settled(cluster, ns)
    before = _everything(cluster, ns)
    assert ("configmaps", "drop") not in before and ("configmaps", "added") in before
    assert before[("configmaps", "held")]["metadata"]["deletionTimestamp"]
    top = max(int(o["metadata"]["resourceVersion"]) for o in before.values())
    first_pids = dict(cluster.state()["processes"])

    done = cluster.down()
    assert done.returncode == 0 and "jetkube stopped" in done.stdout, done
    assert not cluster.killed, f"jetkube down left processes running: {cluster.killed}"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", cluster.api_port), timeout=2).close()

    cluster.up(ports=False)  # the same home: ports, store and kubeconfig as it kept them
    again = cluster.state()["processes"]
    assert again["apiserver"]["pid"] != first_pids["apiserver"] and again["nats"]["pid"] != first_pids["nats"]

    after = _everything(cluster, ns)
    assert after.keys() == before.keys()  # the controllers made no pod twice and lost none
    for key, obj in before.items():
        if key[0] == "pods":  # `down` took its container; the kubelet starts it again and reports it
            assert (after[key]["metadata"]["uid"], after[key]["spec"]) == (obj["metadata"]["uid"], obj["spec"]), key
            continue
        if key[0] in ("deployments.apps", "replicasets.apps"):
            # their controllers may report the pods' restart in status; the rest is the very same
            assert _but_status(after[key]) == _but_status(obj), key
            continue
        assert after[key]["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"], key
        assert after[key] == obj, key  # the very same object: uid, timestamps, spec, status
    _until_running(cluster, ns, "nginx-pod")
    listed = _ok(cluster, "GET", CMS.format(ns=ns))
    assert int(listed["metadata"]["resourceVersion"]) >= top

    # Watches from R, opened after the restart, deliver exactly what changed after R ...
    cms_watch = _Watch(cluster.api_port, f"{CMS.format(ns=ns)}?watch=true&resourceVersion={r_cms}")
    deploys_watch = _Watch(cluster.api_port, f"{DEPLOYS.format(ns=ns)}?watch=true&resourceVersion={r_deploys}")
    try:
        # ... then live changes: a sentinel marks where the replay must have ended.
        sentinel = _ok(cluster, "POST", CMS.format(ns=ns), _cm("sentinel"))
        rescaled = _ok(cluster, "PATCH", DEPLOYS.format(ns=ns) + "/myapp-deployment", {"spec": {"replicas": 2}},
                       content_type=MERGE)
        assert int(sentinel["metadata"]["resourceVersion"]) > top
        events = cms_watch.until(lambda evs: any(e["object"]["metadata"].get("name") == "sentinel" for e in evs))
        deploy_events = deploys_watch.until(lambda evs: any(
            e["object"]["metadata"]["resourceVersion"] == rescaled["metadata"]["resourceVersion"] for e in evs))
    finally:
        cms_watch.close()
        deploys_watch.close()

    summary = _summary(events)
    assert [s[:2] for s in summary] == [("MODIFIED", "change"), ("ADDED", "added"), ("DELETED", "drop"),
                                        ("ADDED", "sentinel")], summary
    assert summary[0][2] == changed["metadata"]["resourceVersion"]
    assert summary[1][2] == added["metadata"]["resourceVersion"]
    assert int(summary[1][2]) < int(summary[2][2]) < int(summary[3][2])
    assert summary[3][2] == sentinel["metadata"]["resourceVersion"]
    assert events[0]["object"]["data"] == {"v": "2"} and events[0]["object"]["kind"] == "ConfigMap"
    assert all(int(s[2]) > r_cms for s in summary)

    # the Deployment's own changes after R, in order (its controller's status writes in between)
    specs = [e for e in deploy_events if e["object"]["metadata"]["resourceVersion"] in
             (scaled["metadata"]["resourceVersion"], rescaled["metadata"]["resourceVersion"])]
    assert _summary(specs) == [("MODIFIED", "myapp-deployment", scaled["metadata"]["resourceVersion"]),
                               ("MODIFIED", "myapp-deployment", rescaled["metadata"]["resourceVersion"])]
    assert [e["object"]["spec"]["replicas"] for e in specs] == [5, 2]
    assert all(e["type"] == "MODIFIED" and int(e["object"]["metadata"]["resourceVersion"]) > r_deploys
               for e in deploy_events)


def test_writes_after_restart_continue_the_log(cluster: Cluster) -> None:
    ns = cluster.namespace("restart")
    created = _ok(cluster, "POST", CMS.format(ns=ns), _cm("one", v="1"))
    _ok(cluster, "DELETE", CMS.format(ns=ns) + "/one")
    kept = _ok(cluster, "POST", CMS.format(ns=ns), _cm("two", v="1"))
    assert cluster.down().returncode == 0
    cluster.up(ports=False)
    # kubectl keeps working with the kubeconfig `up` wrote the first time
    assert cluster.ok("get", "-n", ns, "configmaps", "-o", "name").out.split() == ["configmap/two"]
    # a name deleted before the restart can be created again (its tombstone is the expected revision)
    again = _ok(cluster, "POST", CMS.format(ns=ns), _cm("one", v="2"))
    assert again["metadata"]["uid"] != created["metadata"]["uid"]
    assert int(again["metadata"]["resourceVersion"]) > int(kept["metadata"]["resourceVersion"])
    # a stale update is still a conflict, a fresh one goes through
    stale = dict(kept, data={"v": "stale"})
    _ok(cluster, "PATCH", CMS.format(ns=ns) + "/two", {"data": {"v": "2"}}, content_type=MERGE)
    code, status = cluster.http("PUT", CMS.format(ns=ns) + "/two", stale)
    assert code == 409 and status["reason"] == "Conflict"
    # a create of an existing object is still AlreadyExists
    code, status = cluster.http("POST", CMS.format(ns=ns), _cm("two"))
    assert code == 409 and status["reason"] == "AlreadyExists"
    # the initial namespaces are there once each
    names = [n["metadata"]["name"] for n in _ok(cluster, "GET", "/api/v1/namespaces")["items"]]
    for initial in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert names.count(initial) == 1
