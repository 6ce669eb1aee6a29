"""kubectl version and api-resources against a cluster started with `jetkube up`."""

from __future__ import annotations

import pytest

from tests.integration.kubectl.cluster import Cluster
from tests.integration.kubectl.helpers import table

pytestmark = pytest.mark.integration


def test_version_reports_a_1_32_server(cluster: Cluster) -> None:
    v = cluster.ok("version", "-o", "json").json()
    server = v["serverVersion"]
    assert (server["major"], server["minor"]) == ("1", "32")
    assert server["gitVersion"].startswith("v1.32.")
    for key in ("gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler", "platform"):
        assert server[key], key
    plain = cluster.ok("version")
    assert f"Server Version: {server['gitVersion']}" in plain.out


def test_api_resources_lists_the_served_kinds(cluster: Cluster) -> None:
    r = cluster.ok("api-resources")
    header, rows = table(r.out)
    assert header == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    by_name: dict[str, list[str]] = {}
    for row in rows:
        by_name[row[0]] = row
    # name, api version, namespaced, kind (short names vary in count, so read from both ends)
    for name, api_version, namespaced, kind in [
        ("pods", "v1", "true", "Pod"), ("namespaces", "v1", "false", "Namespace"),
        ("configmaps", "v1", "true", "ConfigMap"), ("services", "v1", "true", "Service"),
        ("deployments", "apps/v1", "true", "Deployment"), ("replicasets", "apps/v1", "true", "ReplicaSet"),
        ("jobs", "batch/v1", "true", "Job"), ("leases", "coordination.k8s.io/v1", "true", "Lease"),
    ]:
        assert name in by_name, f"{name} missing from api-resources:\n{r.out}"
        row = by_name[name]
        assert row[-3:] == [api_version, namespaced, kind], row
    assert "deploy" in by_name["deployments"] and "po" in by_name["pods"]  # short names

    names = cluster.ok("api-resources", "--api-group=apps", "-o", "name").out.split()
    assert "deployments.apps" in names and "replicasets.apps" in names
    assert all(n.endswith(".apps") for n in names), names
    cluster_scoped = cluster.ok("api-resources", "--namespaced=false", "-o", "name").out.split()
    assert "namespaces" in cluster_scoped and "pods" not in cluster_scoped


def test_short_names_and_categories_resolve(cluster: Cluster, ns: str) -> None:
    cluster.ok("apply", "-n", ns, "-f", "-", stdin='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"sn"}}')
    assert cluster.ok("get", "-n", ns, "cm", "-o", "name").out.split() == ["configmap/sn"]
    r = cluster.ok("get", "-n", ns, "all")  # the `all` category; a ConfigMap is not in it
    assert "configmap" not in r.out
