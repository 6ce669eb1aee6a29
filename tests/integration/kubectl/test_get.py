"""kubectl get in its output forms, with selectors, across namespaces, in chunks, and as a watch."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from typing import Any

import pytest
import yaml

from tests.integration.kubectl.cluster import Cluster, unique
from tests.integration.kubectl.helpers import configmaps, deployment, pod, table

pytestmark = pytest.mark.integration

FIVE = {"c1": {"grp": "odd", "num": "1"}, "c2": {"grp": "even", "num": "2"}, "c3": {"grp": "odd", "num": "3"},
        "c4": {"grp": "even", "num": "4"}, "c5": {"grp": "odd", "num": "5"}}


def _five(cluster: Cluster, ns: str) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=configmaps(FIVE))


def test_get_plain_and_name(cluster: Cluster, ns: str) -> None:
    _five(cluster, ns)
    header, rows = table(cluster.ok("get", "-n", ns, "configmaps").out)
    assert header == ["NAME", "DATA", "AGE"]
    assert [r[0] for r in rows] == sorted(FIVE)
    assert all(r[1] == "1" for r in rows)  # one data key each
    names = cluster.ok("get", "-n", ns, "cm", "-o", "name").out.split()
    assert names == [f"configmap/{n}" for n in sorted(FIVE)]
    one = cluster.ok("get", "-n", ns, "cm", "c3", "-o", "name").out.split()
    assert one == ["configmap/c3"]
    r = cluster.ok("get", "-n", ns, "cm", "c2", "--show-labels")
    header, rows = table(r.out)
    assert header[-1] == "LABELS" and set(rows[0][-1].split(",")) == {"grp=even", "num=2"}


def test_get_wide(cluster: Cluster, ns: str) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(deployment("wide", replicas=2, image="nginx:1.27")))
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(pod("lonely", image="busybox:1.37")))
    header, rows = table(cluster.ok("get", "-n", ns, "deployments").out)
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[0][:2] == ["wide", "0/2"]
    header, rows = table(cluster.ok("get", "-n", ns, "deployments", "-o", "wide").out)
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert rows[0][0] == "wide" and rows[0][-3:] == ["web", "nginx:1.27", "app=wide"]
    header, rows = table(cluster.ok("get", "-n", ns, "pods", "-o", "wide").out)
    assert header[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] and "IP" in header and "NODE" in header
    assert rows[0][:3] == ["lonely", "0/1", "Pending"]


def test_get_yaml_and_json(cluster: Cluster, ns: str) -> None:
    _five(cluster, ns)
    as_yaml = yaml.safe_load(cluster.ok("get", "-n", ns, "cm", "-o", "yaml").out)
    as_json = cluster.get_json("-n", ns, "cm")
    for listed in (as_yaml, as_json):
        assert listed["kind"] == "List"
        assert [i["metadata"]["name"] for i in listed["items"]] == sorted(FIVE)
        for item in listed["items"]:
            assert item["kind"] == "ConfigMap" and item["apiVersion"] == "v1"
            assert item["metadata"]["labels"] == FIVE[item["metadata"]["name"]]
            assert item["data"] == {"k": item["metadata"]["name"]}
    single = yaml.safe_load(cluster.ok("get", "-n", ns, "cm", "c1", "-o", "yaml").out)
    assert single["kind"] == "ConfigMap" and single["metadata"]["namespace"] == ns
    assert single == cluster.get_json("-n", ns, "cm", "c1")
    jp = cluster.ok("get", "-n", ns, "cm", "c4", "-o", "jsonpath={.metadata.labels.grp}").out
    assert jp == "even"


def test_get_with_label_and_field_selectors(cluster: Cluster, ns: str) -> None:
    _five(cluster, ns)

    def names(*selector: str) -> list[str]:
        return [n.split("/")[1] for n in cluster.ok("get", "-n", ns, "cm", *selector, "-o", "name").out.split()]

    assert names("-l", "grp=odd") == ["c1", "c3", "c5"]
    assert names("-l", "grp!=odd") == ["c2", "c4"]
    assert names("-l", "grp in (even),num notin (2)") == ["c4"]
    assert names("-l", "num") == sorted(FIVE) and names("-l", "!num") == []
    assert names("--field-selector", "metadata.name=c3") == ["c3"]
    assert names("--field-selector", "metadata.name!=c3", "-l", "grp=odd") == ["c1", "c5"]
    r = cluster.kubectl("get", "-n", ns, "cm", "-l", "grp=nobody")
    assert r.rc == 0 and r.out == "" and f"No resources found in {ns} namespace." in r.err


def test_get_all_namespaces(cluster: Cluster) -> None:
    mark = unique("mark")
    spaces = [cluster.namespace(), cluster.namespace()]
    for i, ns in enumerate(spaces):
        cluster.ok("apply", "-n", ns, "-f", "-", stdin=configmaps({f"x{i}": {"mark": mark}}))
    header, rows = table(cluster.ok("get", "configmaps", "-A", "-l", f"mark={mark}").out)
    assert header == ["NAMESPACE", "NAME", "DATA", "AGE"]
    assert sorted((r[0], r[1]) for r in rows) == sorted((ns, f"x{i}") for i, ns in enumerate(spaces))
    listed = cluster.get_json("configmaps", "--all-namespaces", "-l", f"mark={mark}")
    assert sorted(i["metadata"]["namespace"] for i in listed["items"]) == sorted(spaces)
    header, rows = table(cluster.ok("get", "namespaces").out)
    assert header == ["NAME", "STATUS", "AGE"]
    assert {"default", "kube-system", *spaces} <= {r[0] for r in rows}
    assert all(r[1] == "Active" for r in rows if r[0] in spaces)


def test_get_in_chunks(cluster: Cluster, ns: str) -> None:
    _five(cluster, ns)
    r = cluster.ok("get", "-n", ns, "configmaps", "--chunk-size=2", "-v=6")
    header, rows = table(r.out)
    assert header == ["NAME", "DATA", "AGE"] and [row[0] for row in rows] == sorted(FIVE)
    requests = [ln for ln in r.err.splitlines() if re.search(rf"GET \S+/namespaces/{ns}/configmaps\?", ln)]
    assert len(requests) == 3, r.err  # 2 + 2 + 1, following metadata.continue
    assert all("limit=2" in ln for ln in requests)
    assert "continue=" not in requests[0] and all("continue=" in ln for ln in requests[1:])
    listed = cluster.get_json("-n", ns, "configmaps", "--chunk-size=2")
    assert [i["metadata"]["name"] for i in listed["items"]] == sorted(FIVE)


class _Stream:
    """Reads a running `kubectl get -w -o json` and splits its output into JSON documents."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.docs: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        decoder, buf = json.JSONDecoder(), ""
        for line in self.proc.stdout:
            buf += line
            while True:
                stripped = buf.lstrip()
                if not stripped:
                    buf = ""
                    break
                try:
                    doc, end = decoder.raw_decode(stripped)
                except json.JSONDecodeError:
                    buf = stripped
                    break
                buf = stripped[end:]
                with self.cond:
                    self.docs.append(doc)
                    self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.docs):
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.thread.is_alive()):
                    raise AssertionError(f"the watch never showed what was expected; it saw {self.docs}")
                self.cond.wait(min(left, 0.5))
            return list(self.docs)


def _events(docs: list[dict[str, Any]], name: str) -> list[tuple[str, str]]:
    return [(d["type"], d["object"]["metadata"].get("resourceVersion", "")) for d in docs
            if d.get("object", {}).get("metadata", {}).get("name") == name]


def test_get_watch_sees_added_modified_deleted(cluster: Cluster, ns: str) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=configmaps({"before": {"when": "before"}}))
    proc = subprocess.Popen(cluster.kubectl_argv("get", "configmaps", "-n", ns, "-w", "--output-watch-events",
                                                 "-o", "json", request_timeout="120s"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            env=cluster.env())
    try:
        stream = _Stream(proc)
        # The list comes first (as ADDED); the watch then resumes from the list's revision, so
        # nothing done from here on can be missed.
        stream.wait_for(lambda docs: _events(docs, "before"))
        created = cluster.ok("apply", "-n", ns, "-f", "-", stdin=configmaps({"w": {"v": "1"}}))
        assert "configmap/w created" in created.out
        cluster.ok("label", "-n", ns, "configmap", "w", "v=2", "--overwrite")
        modified_rv = cluster.get_json("-n", ns, "configmap", "w")["metadata"]["resourceVersion"]
        cluster.ok("delete", "-n", ns, "configmap", "w")
        docs = stream.wait_for(lambda docs: any(t == "DELETED" for t, _ in _events(docs, "w")))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    seen = _events(docs, "w")
    assert [t for t, _ in seen] == ["ADDED", "MODIFIED", "DELETED"], docs
    assert seen[1][1] == modified_rv
    assert int(seen[0][1]) < int(seen[1][1]) < int(seen[2][1])
    assert _events(docs, "before") == [("ADDED", _events(docs, "before")[0][1])]  # listed once, never changed
    modified = next(d for d in docs if d["type"] == "MODIFIED")["object"]
    assert modified["kind"] == "ConfigMap" and modified["metadata"]["labels"] == {"v": "2"}


def test_get_watch_table_output(cluster: Cluster, ns: str) -> None:
    """Plain `get -w` (Table events): one line per event, in kubectl's columns."""
    proc = subprocess.Popen(cluster.kubectl_argv("get", "pods", "-n", ns, "-w", "-v=6", request_timeout="120s"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            env=cluster.env())
    lines: list[str] = []
    watching, got = threading.Event(), threading.Event()

    def read_out() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if len([ln for ln in lines if ln.startswith("watched ")]) >= 2:
                got.set()

    def read_err() -> None:  # -v=6 logs each request once its response headers arrive
        assert proc.stderr is not None
        for line in proc.stderr:
            if "watch=true" in line and " 200 OK" in line:
                watching.set()

    for target in (read_out, read_err):
        threading.Thread(target=target, daemon=True).start()
    try:
        assert watching.wait(30), "kubectl get -w never started its watch"
        cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(pod("watched")))
        cluster.ok("label", "-n", ns, "pod", "watched", "seen=yes")
        assert got.wait(30), f"kubectl get -w printed {lines}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    rows = [ln.split() for ln in lines if ln.strip()]
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [r[:3] for r in rows[1:3]] == [["watched", "0/1", "Pending"], ["watched", "0/1", "Pending"]]
