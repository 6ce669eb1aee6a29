"""Controllers for real: the real kubectl against `jetkube up` (controller manager, scheduler, a docker kubelet).

The corrected seed Deployment rolls out, rolls to a new image without dropping below
replicas − maxUnavailable ready pods (counted from a watch of its pods), shows its history, undoes,
restarts and scales; a ReplicaSet replaces a deleted pod; deletion cascades (background, orphan,
foreground); Jobs complete and fail; a deleted namespace takes everything with it; bad specs are
refused with the field named; a missing image stalls a rollout at its progress deadline while the
old pods keep serving. Each test has a namespace of its own; waiting is polling with a deadline.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.integration.kubectl.cluster import EXAMPLES, Cluster
from tests.integration.kubectl.test_pods import until

pytestmark = pytest.mark.integration

DEPLOY = "myapp-deployment"
SELECTOR = "app=nginx-container"


def seed_deployment(**spec: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load((EXAMPLES / "deployment.yaml").read_text())
    manifest["spec"].update(spec)
    return manifest


def apply(cluster: Cluster, ns: str, manifest: dict[str, Any]) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(manifest))


def pods(cluster: Cluster, ns: str, selector: str = SELECTOR) -> list[dict[str, Any]]:
    return list(cluster.get_json("pods", "-n", ns, "-l", selector)["items"])


def ready(p: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (p.get("status") or {}).get("conditions") or [])


def serving(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ready pods that are not being deleted: the ones a Service would send traffic to."""
    return [p for p in items if ready(p) and not p["metadata"].get("deletionTimestamp")]


def images(items: list[dict[str, Any]]) -> set[str]:
    return {c["image"] for p in items for c in p["spec"]["containers"]}


class PodWatch:
    """A watch on the namespace's pods (the API server's watch, as kubectl uses it) keeping the
    fewest serving pods seen since `arm()`, and the order pods appeared and went."""

    def __init__(self, cluster: Cluster, ns: str, selector: str = SELECTOR) -> None:
        self.port = cluster.api_port
        self.path = f"/api/v1/namespaces/{ns}/pods?watch=true&labelSelector={selector}"
        self.pods: dict[str, dict[str, Any]] = {}
        self.added: list[str] = []  # names in the order they appeared
        self.deleted: list[str] = []  # names in the order they went
        self.minimum: int | None = None
        self.events = 0
        self.error: BaseException | None = None
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PodWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        sock = self._sock
        if sock is not None:
            try:  # wakes the reader blocked in recv; closing from this thread could block instead
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=10)

    def arm(self) -> None:
        self.minimum = len(serving(list(self.pods.values())))

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=900)
        try:
            conn.request("GET", self.path)
            resp = conn.getresponse()
            self._sock = conn.sock
            for line in resp:
                self._apply(json.loads(line))
        except (OSError, ValueError, http.client.HTTPException) as e:
            self.error = e
        finally:
            conn.close()

    def _apply(self, ev: dict[str, Any]) -> None:
        obj = ev["object"]
        name = obj["metadata"]["name"]
        if ev["type"] == "DELETED":
            self.pods.pop(name, None)
            self.deleted.append(name)
        else:
            if ev["type"] == "ADDED":
                self.added.append(name)
            self.pods[name] = obj
        self.events += 1
        if self.minimum is not None:
            self.minimum = min(self.minimum, len(serving(list(self.pods.values()))))


@pytest.fixture
def deployed(cluster: Cluster, ns: str) -> Iterator[str]:
    """The corrected seed Deployment, rolled out: 3 Running pods."""
    apply(cluster, ns, seed_deployment())
    cluster.ok("rollout", "status", "-n", ns, f"deployment/{DEPLOY}", "--timeout=180s")
    yield ns


def test_seed_deployment_rolls_out_undoes_restarts_and_scales(cluster: Cluster, deployed: str) -> None:
    ns = deployed
    first = pods(cluster, ns)
    assert len(first) == 3 and all(p["status"]["phase"] == "Running" for p in first)
    d = cluster.get_json("deployment", DEPLOY, "-n", ns)
    assert d["status"]["availableReplicas"] == 3 and d["status"]["updatedReplicas"] == 3
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"

    # a new image, applied, under a watch: never fewer than replicas − maxUnavailable (25% of 3 → 0) serving
    with PodWatch(cluster, ns) as watch:
        until("the watch to see the 3 pods", lambda: len(serving(list(watch.pods.values()))) == 3, timeout=30)
        watch.arm()
        apply(cluster, ns, seed_deployment(template={**seed_deployment()["spec"]["template"], "spec": {
            "containers": [{"name": "nginx-container", "image": "nginx:1.22.1"}]}}))
        cluster.ok("rollout", "status", "-n", ns, f"deployment/{DEPLOY}", "--timeout=180s")
        until("the old pods to go", lambda: images(pods(cluster, ns)) == {"nginx:1.22.1"} and
              len(pods(cluster, ns)) == 3)
        assert watch.events > 6
        assert watch.minimum is not None and watch.minimum >= 3, f"only {watch.minimum} pods served mid-rollout"

    history = cluster.ok("rollout", "history", "-n", ns, f"deployment/{DEPLOY}").out
    rows = [line.split()[0] for line in history.splitlines()[2:] if line.strip()]
    assert rows == ["1", "2"], history
    rs = cluster.get_json("rs", "-n", ns, "-l", SELECTOR)["items"]
    assert sorted(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for r in rs) == ["1", "2"]
    assert all(r["metadata"]["ownerReferences"][0]["name"] == DEPLOY for r in rs)

    # undo: the first template comes back (as revision 3)
    cluster.ok("rollout", "undo", "-n", ns, f"deployment/{DEPLOY}")
    cluster.ok("rollout", "status", "-n", ns, f"deployment/{DEPLOY}", "--timeout=180s")
    until("the first image back", lambda: images(pods(cluster, ns)) == {"nginx"} and len(pods(cluster, ns)) == 3)
    d = cluster.get_json("deployment", DEPLOY, "-n", ns)
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"

    # restart: every pod replaced
    before = {p["metadata"]["name"] for p in pods(cluster, ns)}
    cluster.ok("rollout", "restart", "-n", ns, f"deployment/{DEPLOY}")
    cluster.ok("rollout", "status", "-n", ns, f"deployment/{DEPLOY}", "--timeout=180s")
    until("all pods replaced", lambda: (names := {p["metadata"]["name"] for p in pods(cluster, ns)})
          and not names & before and len(names) == 3)

    cluster.ok("scale", "-n", ns, f"deployment/{DEPLOY}", "--replicas=5")
    until("5 serving pods", lambda: len(serving(pods(cluster, ns))) == 5)
    cluster.ok("rollout", "status", "-n", ns, f"deployment/{DEPLOY}", "--timeout=120s")
    cluster.ok("scale", "-n", ns, f"deployment/{DEPLOY}", "--replicas=1")
    until("1 pod left", lambda: len(pods(cluster, ns)) == 1)
    d = cluster.get_json("deployment", DEPLOY, "-n", ns)
    assert d["status"]["replicas"] == 1 and d["status"]["availableReplicas"] == 1


def test_a_deleted_pod_of_a_replicaset_is_replaced(cluster: Cluster, ns: str) -> None:
    cluster.ok("create", "-n", ns, "-f", str(EXAMPLES / "replicaset.yaml"))
    rs = yaml.safe_load((EXAMPLES / "replicaset.yaml").read_text())
    want = rs["spec"]["replicas"]
    sel = ",".join(f"{k}={v}" for k, v in rs["spec"]["selector"]["matchLabels"].items())
    until(f"{want} serving pods", lambda: len(serving(pods(cluster, ns, sel))) == want)
    victim = pods(cluster, ns, sel)[0]["metadata"]["name"]
    cluster.ok("delete", "pod", "-n", ns, victim)
    until("a replacement", lambda: len(serving(items := pods(cluster, ns, sel))) == want
          and victim not in {p["metadata"]["name"] for p in items})
    events = cluster.get_json("events", "-n", ns, "--field-selector", f"involvedObject.name={rs['metadata']['name']}")
    assert sum(1 for e in events["items"] if e["reason"] == "SuccessfulCreate") >= want + 1


def _owned_by(obj: dict[str, Any]) -> list[str]:
    return [r["name"] for r in obj["metadata"].get("ownerReferences") or []]


def test_delete_cascades_background_orphan_and_foreground(cluster: Cluster, deployed: str) -> None:
    ns = deployed
    # orphan: the ReplicaSet and its pods stay, no longer owned
    cluster.ok("delete", "-n", ns, f"deployment/{DEPLOY}", "--cascade=orphan")
    rs = until("the orphaned replica set", lambda: [r for r in cluster.get_json("rs", "-n", ns)["items"]
                                                     if not _owned_by(r)])
    assert len(rs) == 1 and len(pods(cluster, ns)) == 3
    assert cluster.kubectl("get", "-n", ns, f"deployment/{DEPLOY}").rc == 1
    # the Deployment comes back and adopts that ReplicaSet (same template, same hash)
    apply(cluster, ns, seed_deployment())
    until("the replica set adopted", lambda: [r for r in cluster.get_json("rs", "-n", ns)["items"]
                                               if _owned_by(r) == [DEPLOY]])
    cluster.ok("rollout", "status", "-n", ns, f"deployment/{DEPLOY}", "--timeout=120s")
    assert len(cluster.get_json("rs", "-n", ns)["items"]) == 1

    # foreground: kubectl waits; the Deployment goes last, after its ReplicaSet and pods
    seen_owner_without_dependents = []
    stop = threading.Event()

    def observe() -> None:
        while not stop.is_set():
            code, d = cluster.http("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/{DEPLOY}")
            _, rsl = cluster.http("GET", f"/apis/apps/v1/namespaces/{ns}/replicasets")
            if code == 200 and d["metadata"].get("deletionTimestamp") and not rsl["items"]:
                seen_owner_without_dependents.append(True)
            if code == 404:
                # the owner is gone: nothing of it may be left
                _, rsl = cluster.http("GET", f"/apis/apps/v1/namespaces/{ns}/replicasets")
                assert not rsl["items"], "the owner went before its ReplicaSet"
                return
            time.sleep(0.05)

    t = threading.Thread(target=observe)
    t.start()
    try:
        cluster.ok("delete", "-n", ns, f"deployment/{DEPLOY}", "--cascade=foreground", "--timeout=120s")
    finally:
        t.join(timeout=30)
        stop.set()
    assert cluster.get_json("rs", "-n", ns)["items"] == []
    until("the pods gone", lambda: not pods(cluster, ns))

    # background (kubectl's default): the Deployment goes at once, the rest follows
    apply(cluster, ns, seed_deployment())
    until("a replica set", lambda: cluster.get_json("rs", "-n", ns)["items"])
    cluster.ok("delete", "-n", ns, f"deployment/{DEPLOY}")
    until("replica sets and pods gone", lambda: not cluster.get_json("rs", "-n", ns)["items"] and not pods(cluster, ns))


def job(name: str, script: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {**spec, "template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "busybox", "command": ["sh", "-c", script]}]}}}}


def test_jobs_complete_and_fail(cluster: Cluster, ns: str) -> None:
    apply(cluster, ns, job("ok", "sleep 1", completions=3, parallelism=2))
    apply(cluster, ns, job("bad", "exit 1", backoffLimit=1))
    cluster.ok("wait", "-n", ns, "--for=condition=complete", "job/ok", "--timeout=180s")
    cluster.ok("wait", "-n", ns, "--for=condition=failed", "job/bad", "--timeout=180s")
    ok = cluster.get_json("job", "ok", "-n", ns)
    assert ok["status"]["succeeded"] == 3 and ok["status"].get("failed", 0) == 0
    assert len(pods(cluster, ns, "job-name=ok")) == 3
    bad = cluster.get_json("job", "bad", "-n", ns)
    assert bad["status"]["failed"] == 2
    reasons = {c["type"]: c["reason"] for c in bad["status"]["conditions"]}
    assert reasons["Failed"] == "BackoffLimitExceeded"
    table = cluster.ok("get", "jobs", "-n", ns).out
    assert "3/3" in table


def test_deleting_a_namespace_removes_everything_in_it(cluster: Cluster) -> None:
    ns = cluster.namespace("gone")
    apply(cluster, ns, seed_deployment())
    cluster.ok("create", "configmap", "cfg", "-n", ns, "--from-literal=a=b")
    cluster.ok("create", "-n", ns, "-f", str(EXAMPLES / "service.yaml"))
    until("pods", lambda: len(pods(cluster, ns)) == 3)
    cluster.ok("delete", "namespace", ns, "--timeout=180s")
    assert cluster.kubectl("get", "namespace", ns).rc == 1
    for kind in ("pods", "deployments", "replicasets", "configmaps", "services"):
        assert cluster.get_json(kind, "-n", ns)["items"] == [], kind


@pytest.mark.parametrize(("change", "field", "text"), [
    ({"replicas": -1}, "spec.replicas", "must be greater than or equal to 0"),
    ({"strategy": {"type": "Sideways"}}, "spec.strategy.type", 'Unsupported value: "Sideways"'),
    ({"selector": {"matchLabels": {"app": "other"}}}, "spec.template.metadata.labels",
     "`selector` does not match template `labels`"),
])
def test_bad_deployments_are_refused_with_the_field_named(cluster: Cluster, ns: str, change: dict[str, Any],
                                                          field: str, text: str) -> None:
    r = cluster.fails("apply", "-n", ns, "-f", "-", stdin=json.dumps(seed_deployment(**change)))
    assert "is invalid" in r.err and field in r.err and text in r.err, r.err
    assert cluster.kubectl("get", "-n", ns, f"deployment/{DEPLOY}").rc == 1


def test_a_missing_image_stalls_the_rollout_and_the_old_pods_keep_serving(cluster: Cluster, ns: str) -> None:
    apply(cluster, ns, seed_deployment(progressDeadlineSeconds=8))
    cluster.ok("rollout", "status", "-n", ns, f"deployment/{DEPLOY}", "--timeout=180s")
    old = {p["metadata"]["name"] for p in pods(cluster, ns)}
    cluster.ok("set", "image", "-n", ns, f"deployment/{DEPLOY}", "nginx-container=nginx:0.0-missing")
    r = cluster.kubectl("rollout", "status", "-n", ns, f"deployment/{DEPLOY}", "--timeout=120s")
    assert r.rc == 1 and "exceeded its progress deadline" in r.err, str(r)
    d = cluster.get_json("deployment", DEPLOY, "-n", ns)
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert progressing["status"] == "False" and progressing["reason"] == "ProgressDeadlineExceeded"
    still = {p["metadata"]["name"] for p in serving(pods(cluster, ns))}
    assert len(still & old) >= 3 - 0, "the old pods stopped serving"
    stuck = [p for p in pods(cluster, ns) if p["metadata"]["name"] not in old]
    assert stuck and all(not ready(p) for p in stuck)
