"""What kubectl prints when the server refuses: NotFound, AlreadyExists, Conflict, Invalid — and the
seed manifests' mistakes, one caught by the server (422) and one by kubectl itself (bad YAML)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.integration.kubectl.cluster import EXAMPLES, SEED, Cluster
from tests.integration.kubectl.helpers import configmaps, deployment, examples, ref

pytestmark = pytest.mark.integration


def test_not_found(cluster: Cluster, ns: str) -> None:
    r = cluster.fails("get", "-n", ns, "configmap", "nosuch")
    assert r.err.strip() == 'Error from server (NotFound): configmaps "nosuch" not found'
    r = cluster.fails("get", "-n", ns, "deployment", "nosuch")
    assert r.err.strip() == 'Error from server (NotFound): deployments.apps "nosuch" not found'
    r = cluster.fails("delete", "-n", ns, "pod", "nosuch")
    assert r.err.strip() == 'Error from server (NotFound): pods "nosuch" not found'
    r = cluster.fails("get", "-n", "no-such-namespace", "configmap", "x")  # kubectl then asks for the namespace
    assert r.err.strip() == 'Error from server (NotFound): namespaces "no-such-namespace" not found'
    r = cluster.fails("apply", "-n", "no-such-namespace", "-f", "-", stdin=configmaps({"x": {}}))
    assert 'namespaces "no-such-namespace" not found' in r.err
    r = cluster.fails("get", "widgets")
    assert 'the server doesn\'t have a resource type "widgets"' in r.err


def test_already_exists(cluster: Cluster, ns: str) -> None:
    cluster.ok("create", "-n", ns, "-f", str(EXAMPLES))
    r = cluster.fails("create", "-n", ns, "-f", str(EXAMPLES))
    for path, manifest in examples():
        resource, name = ref(manifest).split("/")
        resource = resource.split(".")[0] + "s" + ("." + resource.split(".", 1)[1] if "." in resource else "")
        assert (f'Error from server (AlreadyExists): error when creating "{path}": {resource} "{name}" already exists'
                in r.err.splitlines()), r.err
    assert "created" not in r.out


def test_conflict_on_a_stale_replace(cluster: Cluster, ns: str, tmp_path: Path) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin=configmaps({"contested": {}}, data={"v": "1"}))
    stale = tmp_path / "stale.yaml"
    stale.write_text(cluster.ok("get", "-n", ns, "configmap", "contested", "-o", "yaml").out)
    cluster.ok("label", "-n", ns, "configmap", "contested", "moved=on")  # someone else writes first
    edited = stale.read_text().replace('v: "1"', 'v: "2"')
    assert edited != stale.read_text()
    stale.write_text(edited)
    r = cluster.fails("replace", "-f", str(stale))
    assert r.err.strip() == (
        f'Error from server (Conflict): error when replacing "{stale}": Operation cannot be fulfilled on configmaps '
        '"contested": the object has been modified; please apply your changes to the latest version and try again')
    got = cluster.get_json("-n", ns, "configmap", "contested")
    assert got["data"] == {"v": "1"} and got["metadata"]["labels"] == {"moved": "on"}
    # replace of a fresh copy goes through
    fresh = tmp_path / "fresh.yaml"
    current = cluster.ok("get", "-n", ns, "configmap", "contested", "-o", "yaml").out
    fresh.write_text(current.replace('v: "1"', 'v: "3"'))
    assert "configmap/contested replaced" in cluster.ok("replace", "-f", str(fresh)).out
    assert cluster.get_json("-n", ns, "configmap", "contested")["data"] == {"v": "3"}


def test_invalid_name(cluster: Cluster, ns: str) -> None:
    r = cluster.fails("create", "-n", ns, "-f", "-", stdin=configmaps({"Bad_Name": {}}))
    assert r.err.strip() == (
        'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 '
        "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    bad = deployment("Web_1")
    r = cluster.fails("apply", "-n", ns, "-f", "-", stdin=json.dumps(bad))
    assert r.err.startswith('The Deployment "Web_1" is invalid: metadata.name: Invalid value: "Web_1": '), r.err
    assert cluster.ok("get", "-n", ns, "configmaps,deployments", "-o", "name").out == ""


def test_invalid_seed_replicaset(cluster: Cluster, ns: str) -> None:
    r = cluster.fails("create", "-n", ns, "-f", str(SEED / "rs-definition.yml"))
    assert r.err.strip() == (
        'The ReplicaSet "myapp-rs" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"nginx-container"}: `selector` does not match template `labels`')
    r = cluster.fails("apply", "-n", ns, "-f", str(SEED / "rs-definition.yml"))
    assert "`selector` does not match template `labels`" in r.err
    assert 'replicasets.apps "myapp-rs" not found' in cluster.fails("get", "-n", ns, "rs", "myapp-rs").err


def test_seed_deployment_is_refused_by_kubectl_itself(cluster: Cluster, ns: str) -> None:
    path = SEED / "deployment-definition.yml"
    r = cluster.fails("create", "-n", ns, "-f", str(path), "-v=6")
    assert f"error: error parsing {path}: error converting YAML to JSON: yaml: line" in r.err
    assert "did not find expected key" in r.err
    sent = re.findall(r"\b(POST|PUT|PATCH|DELETE) http", r.err)
    assert sent == [], f"kubectl sent {sent} for a manifest it cannot parse"
    assert cluster.ok("get", "-n", ns, "deployments", "-o", "name").out == ""


def test_seed_pod_is_created(cluster: Cluster, ns: str) -> None:
    r = cluster.ok("create", "-n", ns, "-f", str(SEED / "pod-definition.yml"))
    assert r.out.strip() == "pod/nginx-pod created"
    got = cluster.get_json("-n", ns, "pod", "nginx-pod")
    assert got["spec"]["containers"][0]["image"] == "nginx" and got["metadata"]["labels"] == {"app": "nginx"}
    assert got["status"]["phase"] == "Pending"  # nothing schedules or runs it yet


def test_strict_field_validation(cluster: Cluster, ns: str) -> None:
    bad = deployment("typo")
    bad["spec"]["template"]["spec"]["containers"][0]["imagee"] = "nginx"
    r = cluster.fails("create", "-n", ns, "-f", "-", stdin=json.dumps(bad))
    assert 'unknown field "spec.template.spec.containers[0].imagee"' in r.err
    r = cluster.ok("create", "-n", ns, "-f", "-", "--validate=false", stdin=json.dumps(bad))
    assert "deployment.apps/typo created" in r.out
