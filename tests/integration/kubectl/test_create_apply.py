"""kubectl create -f and apply -f: the shipped examples, and a changed manifest applied over an old one."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.kubectl.cluster import EXAMPLES, Cluster
from tests.integration.kubectl.helpers import assert_subset, examples, ref

pytestmark = pytest.mark.integration

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _resource(manifest: dict[str, Any]) -> str:
    group = manifest["apiVersion"].split("/")[0] if "/" in manifest["apiVersion"] else ""
    return manifest["kind"].lower() + (f".{group}" if group else "")


def _check_stored(cluster: Cluster, ns: str, manifest: dict[str, Any]) -> dict[str, Any]:
    got: dict[str, Any] = cluster.get_json("-n", ns, _resource(manifest), manifest["metadata"]["name"])
    assert got["kind"] == manifest["kind"] and got["apiVersion"] == manifest["apiVersion"]
    md = got["metadata"]
    assert md["namespace"] == ns and md["uid"] and int(md["resourceVersion"]) > 0 and md["creationTimestamp"]
    assert_subset({k: v for k, v in manifest.items() if k != "metadata"}, {k: v for k, v in got.items()
                                                                          if k != "metadata"})
    assert_subset(manifest["metadata"].get("labels", {}), md.get("labels", {}))
    return got


def test_create_the_examples(cluster: Cluster, ns: str) -> None:
    shipped = examples()
    assert {m["kind"] for _, m in shipped} >= {"Deployment", "Pod", "ReplicaSet", "Service"}
    r = cluster.ok("create", "-n", ns, "-f", str(EXAMPLES))
    for _, manifest in shipped:
        assert f"{ref(manifest)} created" in r.out.splitlines(), r.out
        got = _check_stored(cluster, ns, manifest)
        assert LAST_APPLIED not in (got["metadata"].get("annotations") or {})  # create does not record it
        if manifest["kind"] == "Service":  # the server allocates the cluster IP and defaults the protocol
            spec = got["spec"]
            assert spec["clusterIP"].startswith("10.") and spec["clusterIPs"] == [spec["clusterIP"]]
            assert all(p["protocol"] == "TCP" for p in spec["ports"])
        if manifest["kind"] in ("Deployment", "ReplicaSet"):
            assert got["metadata"]["generation"] == 1


def test_apply_the_examples_then_again_unchanged(cluster: Cluster, ns: str) -> None:
    shipped = examples()
    first = cluster.ok("apply", "-n", ns, "-f", str(EXAMPLES))
    versions = {}
    for _, manifest in shipped:
        assert f"{ref(manifest)} created" in first.out.splitlines(), first.out
        got = _check_stored(cluster, ns, manifest)
        last = json.loads(got["metadata"]["annotations"][LAST_APPLIED])
        assert_subset({k: v for k, v in manifest.items() if k != "metadata"}, last)
        assert last["metadata"]["name"] == manifest["metadata"]["name"]
        versions[ref(manifest)] = got
    second = cluster.ok("apply", "-n", ns, "-f", str(EXAMPLES))
    for _, manifest in shipped:
        # kubectl itself sends a patch for a Deployment that names only `strategy.type`: the live
        # object has the defaulted `rollingUpdate`, so its three-way diff adds `$retainKeys`
        # (real clusters print "configured" too). The server must find that patch changes nothing.
        said = "configured" if manifest["kind"] == "Deployment" else "unchanged"
        assert f"{ref(manifest)} {said}" in second.out.splitlines(), second.out
        got = cluster.get_json("-n", ns, _resource(manifest), manifest["metadata"]["name"])
        first = versions[ref(manifest)]
        if manifest["kind"] == "Pod":  # the scheduler and the kubelet write it; the apply must not have
            assert {k: v for k, v in got.items() if k != "status"} | {"metadata": None} == \
                {k: v for k, v in first.items() if k != "status"} | {"metadata": None}
            assert got["metadata"]["annotations"] == first["metadata"]["annotations"]
            assert got["metadata"]["labels"] == first["metadata"]["labels"]
        elif manifest["kind"] in ("Deployment", "ReplicaSet"):  # their controllers write status meanwhile
            assert got["metadata"]["generation"] == first["metadata"]["generation"] == 1  # the spec is untouched
            assert {k: v for k, v in got.items() if k not in ("status", "metadata")} == \
                {k: v for k, v in first.items() if k not in ("status", "metadata")}
        else:
            assert got["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]  # nothing written


def _web(version: int) -> dict[str, Any]:
    """Two versions of one Deployment: v2 drops the `tier` label and env B, and bumps an image."""
    labels = {"app": "web", "tier": "frontend"} if version == 1 else {"app": "web"}
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}] if version == 1 else [{"name": "A", "value": "1"}]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": labels},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [
                                      {"name": "main", "image": "busybox:1.36" if version == 1 else "busybox:1.37",
                                       "command": ["sleep", "3600"], "env": env},
                                      {"name": "side", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}}}


def test_apply_a_changed_manifest_merges(cluster: Cluster, ns: str, tmp_path: Path) -> None:
    v1, v2 = tmp_path / "web-v1.yaml", tmp_path / "web-v2.yaml"
    v1.write_text(yaml.safe_dump(_web(1)))
    v2.write_text(yaml.safe_dump(_web(2)))
    assert "deployment.apps/web created" in cluster.ok("apply", "-n", ns, "-f", str(v1)).out
    before = cluster.get_json("-n", ns, "deployment", "web")
    assert before["metadata"]["labels"] == {"app": "web", "tier": "frontend"}
    # A change made outside the manifest: apply must keep it (containers are merged by name).
    cluster.ok("patch", "-n", ns, "deployment", "web", "-p",
               json.dumps({"spec": {"template": {"spec": {"containers": [
                   {"name": "side", "env": [{"name": "EXTRA", "value": "kept"}]}]}}}}))
    r = cluster.ok("apply", "-n", ns, "-f", str(v2))
    assert "deployment.apps/web configured" in r.out
    after = cluster.get_json("-n", ns, "deployment", "web")
    assert after["metadata"]["labels"] == {"app": "web"}  # the removed label is gone
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 2
    containers = after["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["main", "side"]
    main, side = containers
    assert main["image"] == "busybox:1.37" and main["command"] == ["sleep", "3600"]
    assert main["env"] == [{"name": "A", "value": "1"}]  # env B, removed from the manifest, is gone
    assert side["image"] == "nginx:1.25" and side["ports"][0]["containerPort"] == 80
    assert side["env"] == [{"name": "EXTRA", "value": "kept"}]
    last = json.loads(after["metadata"]["annotations"][LAST_APPLIED])
    assert last["metadata"]["labels"] == {"app": "web"}
    assert last["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]

    # v3: a new container first, `main` without env, `side` dropped from the manifest
    v3 = _web(2)
    spec = v3["spec"]["template"]["spec"]
    del spec["containers"][0]["env"]
    spec["containers"] = [{"name": "third", "image": "redis:7"}, spec["containers"][0]]
    (tmp_path / "web-v3.yaml").write_text(yaml.safe_dump(v3))
    cluster.ok("apply", "-n", ns, "-f", str(tmp_path / "web-v3.yaml"))
    containers = cluster.get_json("-n", ns, "deployment", "web")["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("third", "redis:7"), ("main", "busybox:1.37")]
    assert "env" not in containers[1]


def test_apply_creates_and_updates_from_stdin(cluster: Cluster, ns: str) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "1", "b": "2"}}
    assert "configmap/settings created" in cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(cm)).out
    cm["data"] = {"a": "10", "c": "3"}
    assert "configmap/settings configured" in cluster.ok("apply", "-n", ns, "-f", "-", stdin=json.dumps(cm)).out
    assert cluster.get_json("-n", ns, "configmap", "settings")["data"] == {"a": "10", "c": "3"}


def test_imperative_create_run_expose(cluster: Cluster) -> None:
    """`kubectl create <kind>` sends protobuf bodies; `run` and `expose` send JSON."""
    ns = f"gen-{uuid.uuid4().hex[:8]}"
    assert cluster.ok("create", "namespace", ns).out.strip() == f"namespace/{ns} created"
    assert cluster.get_json("namespace", ns)["status"]["phase"] == "Active"
    cluster.ok("create", "-n", ns, "configmap", "cfg", "--from-literal=a=1", "--from-literal=b=2")
    assert cluster.get_json("-n", ns, "configmap", "cfg")["data"] == {"a": "1", "b": "2"}
    cluster.ok("create", "-n", ns, "secret", "generic", "sec", "--from-literal=password=s3cret")
    secret = cluster.get_json("-n", ns, "secret", "sec")
    assert secret["type"] == "Opaque" and base64.b64decode(secret["data"]["password"]) == b"s3cret"
    r = cluster.ok("create", "-n", ns, "deployment", "dep", "--image=nginx:1.27", "--replicas=2", "--port=80")
    assert r.out.strip() == "deployment.apps/dep created"
    dep = cluster.get_json("-n", ns, "deployment", "dep")
    assert dep["spec"]["replicas"] == 2 and dep["spec"]["selector"] == {"matchLabels": {"app": "dep"}}
    containers = dep["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"], c["ports"][0]["containerPort"]) for c in containers] == [
        ("nginx", "nginx:1.27", 80)]
    cluster.ok("create", "-n", ns, "job", "once", "--image=busybox:1.37", "--", "echo", "hi")
    job = cluster.get_json("-n", ns, "job", "once")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    cluster.ok("create", "-n", ns, "service", "nodeport", "np", "--tcp=80:8080")
    np = cluster.get_json("-n", ns, "service", "np")["spec"]
    assert np["type"] == "NodePort" and 30000 <= np["ports"][0]["nodePort"] <= 32767
    assert np["ports"][0]["targetPort"] == 8080

    assert cluster.ok("run", "-n", ns, "runner", "--image=nginx:1.27", "--labels=app=runner", "--port=80").out.strip() \
        == "pod/runner created"
    assert cluster.ok("expose", "-n", ns, "pod", "runner", "--port=8080", "--target-port=80",
                      "--name=runner-svc").out.strip() == "service/runner-svc exposed"
    svc = cluster.get_json("-n", ns, "service", "runner-svc")["spec"]
    assert svc["selector"] == {"app": "runner"} and svc["clusterIP"].startswith("10.")
    assert svc["ports"] == [{"port": 8080, "protocol": "TCP", "targetPort": 80}]
    cluster.ok("expose", "-n", ns, "deployment", "dep", "--port=81")
    assert cluster.get_json("-n", ns, "service", "dep")["spec"]["selector"] == {"app": "dep"}
    r = cluster.fails("create", "-n", ns, "configmap", "cfg", "--from-literal=a=2")
    assert r.err.strip() == 'error: failed to create configmap: configmaps "cfg" already exists'
