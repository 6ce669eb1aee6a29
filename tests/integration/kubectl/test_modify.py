"""kubectl label, annotate, edit, scale, patch, delete (by name, by label, held by a finalizer), describe."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.kubectl.cluster import Cluster
from tests.integration.kubectl.helpers import configmaps, deployment, pod

pytestmark = pytest.mark.integration


def _rv(cluster: Cluster, ns: str, *what: str) -> int:
    return int(cluster.get_json("-n", ns, *what)["metadata"]["resourceVersion"])


def test_label(cluster: Cluster, ns: str) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(pod("labelled", labels={"app": "web"})))
    assert "pod/labelled labeled" in cluster.ok("label", "-n", ns, "pod", "labelled", "env=prod").out
    assert cluster.get_json("-n", ns, "pod", "labelled")["metadata"]["labels"] == {"app": "web", "env": "prod"}
    refused = cluster.fails("label", "-n", ns, "pod", "labelled", "env=dev")
    assert "'env' already has a value (prod), and --overwrite is false" in refused.err
    cluster.ok("label", "-n", ns, "pod", "labelled", "env=dev", "--overwrite")
    assert cluster.get_json("-n", ns, "pod", "labelled")["metadata"]["labels"]["env"] == "dev"
    assert "pod/labelled unlabeled" in cluster.ok("label", "-n", ns, "pod", "labelled", "env-").out
    assert cluster.get_json("-n", ns, "pod", "labelled")["metadata"]["labels"] == {"app": "web"}
    before = _rv(cluster, ns, "pod", "labelled")
    same = cluster.ok("label", "-n", ns, "pod", "labelled", "app=web", "--overwrite")
    assert "pod/labelled not labeled" in same.out  # kubectl's patch changed nothing
    assert _rv(cluster, ns, "pod", "labelled") == before


def test_annotate(cluster: Cluster, ns: str) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(deployment("noted")))
    assert "deployment.apps/noted annotated" in cluster.ok("annotate", "-n", ns, "deployment", "noted",
                                                            "note=hello world").out
    got = cluster.get_json("-n", ns, "deployment", "noted")
    assert got["metadata"]["annotations"]["note"] == "hello world"
    assert got["metadata"]["generation"] == 1  # metadata only: the spec's generation stays
    cluster.ok("annotate", "-n", ns, "deployment", "noted", "note-")
    assert "note" not in (cluster.get_json("-n", ns, "deployment", "noted")["metadata"].get("annotations") or {})


def _editor(tmp_path: Path, sed: str) -> str:
    script = tmp_path / "editor.sh"
    script.write_text(f"#!/bin/sh\nexec sed -i '{sed}' \"$1\"\n")
    script.chmod(0o755)
    return str(script)


def test_edit(cluster: Cluster, ns: str, tmp_path: Path) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=configmaps({"tunable": {}}, data={"level": "low"}))
    r = cluster.ok("edit", "-n", ns, "configmap", "tunable",
                   env={"EDITOR": _editor(tmp_path, "s/level: low/level: high/")})
    assert "configmap/tunable edited" in r.out
    assert cluster.get_json("-n", ns, "configmap", "tunable")["data"] == {"level": "high"}

    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(deployment("editable", replicas=2, image="nginx:1.25")))
    before = cluster.get_json("-n", ns, "deployment", "editable")
    r = cluster.ok("edit", "-n", ns, "deployment", "editable",
                   env={"EDITOR": _editor(tmp_path, "s/image: nginx:1.25/image: nginx:1.27/")})
    assert "deployment.apps/editable edited" in r.out
    after = cluster.get_json("-n", ns, "deployment", "editable")
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert after["metadata"]["uid"] == before["metadata"]["uid"]

    unchanged = cluster.ok("edit", "-n", ns, "configmap", "tunable", env={"EDITOR": _editor(tmp_path, "s/^$//")})
    assert "Edit cancelled, no changes made." in unchanged.out + unchanged.err


def test_scale(cluster: Cluster, ns: str) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(deployment("scalable", replicas=2)))
    before = cluster.get_json("-n", ns, "deployment", "scalable")
    assert "deployment.apps/scalable scaled" in cluster.ok("scale", "-n", ns, "deployment", "scalable",
                                                            "--replicas=5").out
    after = cluster.get_json("-n", ns, "deployment", "scalable")
    assert after["spec"]["replicas"] == 5
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    # --current-replicas: kubectl GETs the Scale and PUTs it back with its resourceVersion
    refused = cluster.fails("scale", "-n", ns, "deployment", "scalable", "--current-replicas=3", "--replicas=1")
    assert "Expected replicas to be 3, was 5" in refused.err
    cluster.ok("scale", "-n", ns, "deployment", "scalable", "--current-replicas=5", "--replicas=1")
    assert cluster.get_json("-n", ns, "deployment", "scalable")["spec"]["replicas"] == 1
    scale = cluster.ok("get", "--raw", f"/apis/apps/v1/namespaces/{ns}/deployments/scalable/scale").json()
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1 and scale["status"]["selector"] == "app=scalable"
    # scale by label across kinds that have the subresource
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(deployment("second", replicas=1)))
    r = cluster.ok("scale", "-n", ns, "deployments", "scalable", "second", "--replicas=3")
    assert r.out.count("scaled") == 2
    assert [cluster.get_json("-n", ns, "deployment", n)["spec"]["replicas"] for n in ("scalable", "second")] == [3, 3]


def test_patch_kinds(cluster: Cluster, ns: str) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(deployment("patched", replicas=1)))
    cluster.ok("patch", "-n", ns, "deployment", "patched", "--type=merge", "-p", '{"spec":{"replicas":2}}')
    cluster.ok("patch", "-n", ns, "deployment", "patched", "--type=json",
               "-p", '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.27"}]')
    cluster.ok("patch", "-n", ns, "deployment", "patched", "-p",  # strategic: a second container by name
               '{"spec":{"template":{"spec":{"containers":[{"name":"log","image":"busybox:1.37"}]}}}}')
    got = cluster.get_json("-n", ns, "deployment", "patched")
    assert got["spec"]["replicas"] == 2
    # Kubernetes puts patch items not in the live list first (no $setElementOrder to say otherwise)
    assert [(c["name"], c["image"]) for c in got["spec"]["template"]["spec"]["containers"]] == [
        ("log", "busybox:1.37"), ("web", "nginx:1.27")]
    r = cluster.ok("patch", "-n", ns, "deployment", "patched", "--type=merge", "-p", '{"spec":{"replicas":2}}')
    assert "deployment.apps/patched patched (no change)" in r.out
    assert _rv(cluster, ns, "deployment", "patched") == int(got["metadata"]["resourceVersion"])


def test_delete_by_name_and_by_label(cluster: Cluster, ns: str) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=configmaps(
        {"keep": {"tier": "db"}, "drop1": {"tier": "web"}, "drop2": {"tier": "web"}, "single": {}}))
    r = cluster.ok("delete", "-n", ns, "configmap", "single")
    assert r.out.strip() == 'configmap "single" deleted'
    gone = cluster.fails("get", "-n", ns, "configmap", "single")
    assert 'configmaps "single" not found' in gone.err
    r = cluster.ok("delete", "-n", ns, "configmaps", "-l", "tier=web")
    assert sorted(r.out.strip().splitlines()) == ['configmap "drop1" deleted', 'configmap "drop2" deleted']
    assert cluster.ok("get", "-n", ns, "configmaps", "-o", "name").out.split() == ["configmap/keep"]
    r = cluster.kubectl("delete", "-n", ns, "configmaps", "-l", "tier=web")
    assert r.rc == 0 and r.out.strip() == "No resources found"


HELD = {"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]}, "data": {"k": "v"}}


def test_delete_held_by_a_finalizer(cluster: Cluster, ns: str) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(HELD))
    r = cluster.ok("delete", "-n", ns, "configmap", "held", "--wait=false")
    assert r.out.strip() == 'configmap "held" deleted'
    held = cluster.get_json("-n", ns, "configmap", "held")
    assert held["metadata"]["deletionTimestamp"] and held["metadata"]["finalizers"] == ["example.com/hold"]
    assert held["data"] == {"k": "v"}
    # Deleting again changes nothing (it is already being deleted).
    cluster.ok("delete", "-n", ns, "configmap", "held", "--wait=false")
    assert cluster.get_json("-n", ns, "configmap", "held")["metadata"]["resourceVersion"] == \
        held["metadata"]["resourceVersion"]
    r = cluster.ok("patch", "-n", ns, "configmap", "held", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    assert "configmap/held patched" in r.out
    assert 'configmaps "held" not found' in cluster.fails("get", "-n", ns, "configmap", "held").err


def test_delete_waits_for_the_finalizer(cluster: Cluster, ns: str) -> None:
    """Plain `kubectl delete` waits (watching) until the object is really gone."""
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(HELD))
    proc = subprocess.Popen(cluster.kubectl_argv("delete", "-n", ns, "configmap", "held", request_timeout="60s"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            env=cluster.env())
    try:
        deadline = time.monotonic() + 30
        while not cluster.get_json("-n", ns, "configmap", "held")["metadata"].get("deletionTimestamp"):
            assert time.monotonic() < deadline, "kubectl delete never marked the object"
            time.sleep(0.1)
        assert proc.poll() is None, "kubectl delete returned while the finalizer still holds the object"
        cluster.ok("patch", "-n", ns, "configmap", "held", "--type=json",
                   "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert 'configmap "held" deleted' in out
    assert 'configmaps "held" not found' in cluster.fails("get", "-n", ns, "configmap", "held").err


def _event(name: str, kind: str, api_version: str, obj: str, ns: str, uid: str, reason: str,
           message: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
            "involvedObject": {"kind": kind, "apiVersion": api_version, "name": obj, "namespace": ns, "uid": uid},
            "reason": reason, "message": message, "type": "Normal", "count": 1,
            "source": {"component": "test"}, "firstTimestamp": "2026-01-01T00:00:00Z",
            "lastTimestamp": "2026-01-01T00:00:00Z"}


def test_describe_pod_and_deployment(cluster: Cluster, ns: str) -> None:
    p = pod("described", image="nginx:1.27", labels={"app": "described", "tier": "web"})
    p["spec"]["containers"][0]["ports"] = [{"containerPort": 80}]
    p["spec"]["containers"][0]["env"] = [{"name": "MODE", "value": "fast"}]
    p["spec"]["schedulerName"] = "nobody"  # left unscheduled, so the only Events are the test's own
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(p))
    out = cluster.ok("describe", "-n", ns, "pod", "described").out
    fields = {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip() for ln in out.splitlines() if ":" in ln}
    assert fields["Name"] == "described" and fields["Namespace"] == ns
    assert fields["Status"] == "Pending" and fields["Image"] == "nginx:1.27"
    assert fields["Port"] == "80/TCP" and fields["MODE"] == "fast"
    assert fields["QoS Class"] == "BestEffort"
    assert "app=described" in out and "tier=web" in out
    assert fields["Events"] == "<none>"
    # describe lists the events about the object (selected by involvedObject name, namespace, uid)
    uid = cluster.get_json("-n", ns, "pod", "described")["metadata"]["uid"]
    cluster.ok("create", "-n", ns, "-f", "-", stdin=json.dumps(_event("described.1", "Pod", "v1", "described", ns, uid,
                                                                      "Scheduled", "assigned to node-1")))
    cluster.ok("create", "-n", ns, "-f", "-", stdin=json.dumps(_event("other.1", "Pod", "v1", "other", ns, "x",
                                                                      "Scheduled", "not about it")))
    out = cluster.ok("describe", "-n", ns, "pod", "described").out
    events = out[out.index("Events:"):].splitlines()
    assert events[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert events[3].split()[:2] == ["Normal", "Scheduled"] and events[3].endswith("assigned to node-1")
    assert "not about it" not in out

    cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(deployment("shown", replicas=3, image="nginx:1.26")))
    out = cluster.ok("describe", "-n", ns, "deployment", "shown").out
    fields = {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip() for ln in out.splitlines() if ":" in ln}
    assert fields["Name"] == "shown" and fields["Namespace"] == ns
    assert fields["Selector"] == "app=shown"
    assert fields["Replicas"].startswith("3 desired")
    assert fields["StrategyType"] == "RollingUpdate"
    assert fields["RollingUpdateStrategy"] == "25% max unavailable, 25% max surge"
    assert fields["Image"] == "nginx:1.26"
    # the Deployment controller's own Event, found by describe (involvedObject name, namespace, uid)
    deadline = time.monotonic() + 60
    while "ScalingReplicaSet" not in out:
        assert time.monotonic() < deadline, out
        time.sleep(0.3)
        out = cluster.ok("describe", "-n", ns, "deployment", "shown").out
    events = out[out.index("Events:"):].splitlines()
    assert events[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    row = next(line for line in events if "ScalingReplicaSet" in line)
    assert "deployment-controller" in row and re.search(r"Scaled up replica set shown-\w+ from 0 to 3$", row), row
    # describe by label: every match, one after another
    both = cluster.ok("describe", "-n", ns, "pods", "-l", "app=described").out
    assert both.count("Name:         described") == 1
