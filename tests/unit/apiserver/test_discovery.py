"""Discovery: /version, aggregated and legacy documents, checked against the registry and each other."""

from __future__ import annotations

from typing import Any

import pytest

from components.apiserver.discovery import (
    aggregated_content_type, aggregated_core, aggregated_groups, aggregated_version, api_group, api_group_list,
    api_resource_list, api_versions, metrics_group, version_info, wants_aggregated,
)
from core.kinds import REGISTRY, VERBS, Kind, Registry

KUBECTL_DISCOVERY_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)


def all_aggregated(extra: bool = False) -> dict[tuple[str, str], dict[str, Any]]:
    """(groupVersion, resource) → aggregated resource entry, over /api and /apis."""
    groups = aggregated_groups(REGISTRY, extra_groups=[metrics_group()] if extra else [])
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for doc in (aggregated_core(REGISTRY), groups):
        for item in doc["items"]:
            for version in item["versions"]:
                gv = f"{item['metadata']['name']}/{version['version']}".lstrip("/")
                for res in version["resources"]:
                    out[(gv, res["resource"])] = res
    return out


def as_kubectl_resources(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """client-go's convertAPIResource/convertAPISubresource: aggregated entry → APIResource list."""
    main = {"name": entry["resource"], "namespaced": entry["scope"] == "Namespaced", "kind": entry["responseKind"]["kind"],
            "verbs": entry["verbs"], "shortNames": entry.get("shortNames", []), "categories": entry.get("categories", [])}
    subs = [{"name": f"{entry['resource']}/{s['subresource']}", "kind": s["responseKind"]["kind"],
             "group": s["responseKind"]["group"], "version": s["responseKind"]["version"], "verbs": s["verbs"]}
            for s in entry.get("subresources", [])]
    return [main, *subs]


def sub(entry: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in entry["subresources"] if s["subresource"] == name)


# --- /version and negotiation --------------------------------------------------------------------

def test_version_info() -> None:
    v = version_info()
    assert (v["major"], v["minor"], v["gitVersion"]) == ("1", "32", "v1.32.4-jetkube")
    assert set(v) == {"major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion",
                      "compiler", "platform"}
    assert v["gitTreeState"] == "clean" and v["compiler"] == "gc" and v["platform"] == "linux/amd64"
    assert len(v["gitCommit"]) == 40
    assert version_info(git_commit="abc")["gitCommit"] == "abc"


def test_aggregated_negotiation() -> None:
    assert wants_aggregated(KUBECTL_DISCOVERY_ACCEPT)
    assert aggregated_content_type(KUBECTL_DISCOVERY_ACCEPT) == \
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    beta = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
    assert aggregated_version(beta) == "v2beta1"
    assert aggregated_content_type(beta).endswith("v=v2beta1;as=APIGroupDiscoveryList")
    protobuf_first = "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList," \
                     + KUBECTL_DISCOVERY_ACCEPT
    assert aggregated_version(protobuf_first) == "v2"


@pytest.mark.parametrize("accept", ["", "application/json, */*", "*/*", "application/json",
                                    "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList"])
def test_legacy_clients_get_legacy_discovery(accept: str) -> None:
    assert not wants_aggregated(accept)
    assert aggregated_version(accept) is None


# --- aggregated discovery ------------------------------------------------------------------------

def test_aggregated_core_shape() -> None:
    doc = aggregated_core(REGISTRY)
    assert doc["kind"] == "APIGroupDiscoveryList" and doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    assert doc["metadata"] == {}
    [item] = doc["items"]
    assert item["metadata"] == {"name": ""}
    [v1] = item["versions"]
    assert v1["version"] == "v1" and v1["freshness"] == "Current"
    names = [r["resource"] for r in v1["resources"]]
    assert names == sorted(names)
    assert set(names) == {k.resource for k in REGISTRY.in_group_version("", "v1")}
    assert aggregated_core(REGISTRY, version="v2beta1")["apiVersion"] == "apidiscovery.k8s.io/v2beta1"


def test_aggregated_pods_entry() -> None:
    pods = all_aggregated()[("v1", "pods")]
    assert pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert pods["scope"] == "Namespaced" and pods["singularResource"] == "pod"
    assert pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    assert pods["verbs"] == list(VERBS)
    assert [s["subresource"] for s in pods["subresources"]] == [
        "attach", "binding", "eviction", "exec", "log", "portforward", "status"]
    assert sub(pods, "log") == {"subresource": "log", "responseKind": {"group": "", "version": "v1", "kind": "Pod"},
                                "verbs": ["get"]}
    assert sub(pods, "exec")["responseKind"]["kind"] == "PodExecOptions" and sub(pods, "exec")["verbs"] == ["create", "get"]
    assert sub(pods, "attach")["responseKind"]["kind"] == "PodAttachOptions"
    assert sub(pods, "portforward")["responseKind"]["kind"] == "PodPortForwardOptions"
    assert sub(pods, "binding") == {"subresource": "binding",
                                    "responseKind": {"group": "", "version": "v1", "kind": "Binding"}, "verbs": ["create"]}
    assert sub(pods, "eviction")["responseKind"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    assert sub(pods, "status")["verbs"] == ["get", "patch", "update"]


def test_aggregated_deployment_scale_is_autoscaling_v1_scale() -> None:
    deployments = all_aggregated()[("apps/v1", "deployments")]
    assert deployments["responseKind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert deployments["shortNames"] == ["deploy"]
    assert sub(deployments, "scale") == {"subresource": "scale",
                                         "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                                         "verbs": ["get", "patch", "update"]}


def test_every_registry_kind_is_discoverable_once_with_its_facts() -> None:
    found = all_aggregated()
    assert len(found) == len(REGISTRY.kinds)
    for k in REGISTRY.kinds:
        entry = found[(k.api_version, k.resource)]
        assert entry["scope"] == ("Namespaced" if k.namespaced else "Cluster"), k.resource
        assert entry.get("shortNames", []) == list(k.short_names), k.resource
        assert entry.get("categories", []) == list(k.categories), k.resource
        assert entry["singularResource"] == k.singular_name
        assert entry["responseKind"]["kind"] == k.kind
        assert sorted(s["subresource"] for s in entry.get("subresources", [])) == sorted(k.subresources)


def test_namespaces_have_no_deletecollection() -> None:
    assert "deletecollection" not in all_aggregated()[("v1", "namespaces")]["verbs"]
    assert sub(all_aggregated()[("v1", "namespaces")], "finalize")["verbs"] == ["update"]


def test_aggregated_groups_and_metrics() -> None:
    doc = aggregated_groups(REGISTRY)
    names = [item["metadata"]["name"] for item in doc["items"]]
    assert names == [g for g in REGISTRY.groups() if g]
    assert "metrics.k8s.io" not in names
    with_metrics = aggregated_groups(REGISTRY, extra_groups=[metrics_group().aggregated])
    metrics = with_metrics["items"][-1]
    assert metrics["metadata"]["name"] == "metrics.k8s.io"
    [v] = metrics["versions"]
    assert v["version"] == "v1beta1" and v["freshness"] == "Current"
    by_name = {r["resource"]: r for r in v["resources"]}
    assert by_name["pods"]["responseKind"] == {"group": "metrics.k8s.io", "version": "v1beta1", "kind": "PodMetrics"}
    assert by_name["pods"]["scope"] == "Namespaced" and by_name["pods"]["verbs"] == ["get", "list"]
    assert by_name["nodes"]["responseKind"]["kind"] == "NodeMetrics" and by_name["nodes"]["scope"] == "Cluster"
    # An ExtraGroup may be passed directly too.
    assert aggregated_groups(REGISTRY, extra_groups=[metrics_group()]) == with_metrics


def test_core_extra_resources_are_merged_sorted() -> None:
    extra = {"resource": "bindings", "responseKind": {"group": "", "version": "v1", "kind": "Binding"},
             "scope": "Namespaced", "singularResource": "binding", "verbs": ["create"]}
    resources = aggregated_core(REGISTRY, extra=[extra])["items"][0]["versions"][0]["resources"]
    assert resources[0]["resource"] == "bindings"
    assert len(resources) == len(REGISTRY.in_group_version("", "v1")) + 1


def test_multiple_versions_prefer_the_first() -> None:
    registry = Registry((Kind("example.com", "v2", "widgets", "Widget", True),
                         Kind("example.com", "v1", "widgets", "Widget", True)))
    [item] = aggregated_groups(registry)["items"]
    assert [v["version"] for v in item["versions"]] == ["v2", "v1"]
    group = api_group(registry, "example.com")
    assert group is not None and group["preferredVersion"] == {"groupVersion": "example.com/v2", "version": "v2"}


# --- legacy discovery ----------------------------------------------------------------------------

def test_api_versions() -> None:
    doc = api_versions(server_address="10.0.0.1:6443")
    assert doc == {"kind": "APIVersions", "versions": ["v1"],
                   "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}]}


def test_api_group_list_and_group() -> None:
    doc = api_group_list(REGISTRY)
    assert doc["kind"] == "APIGroupList" and doc["apiVersion"] == "v1"
    apps = next(g for g in doc["groups"] if g["name"] == "apps")
    assert apps == {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                    "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}
    assert "" not in [g["name"] for g in doc["groups"]]
    assert api_group(REGISTRY, "apps") == {"kind": "APIGroup", "apiVersion": "v1", **apps}
    assert api_group(REGISTRY, "nope.example.com") is None
    assert api_group(REGISTRY, "") is None
    metrics = metrics_group()
    listed = api_group_list(REGISTRY, extra=[metrics])["groups"][-1]
    assert listed["name"] == "metrics.k8s.io" and listed["preferredVersion"]["version"] == "v1beta1"
    assert api_group(REGISTRY, "metrics.k8s.io", extra=[metrics])["kind"] == "APIGroup"  # type: ignore[index]


def test_core_resource_list() -> None:
    doc = api_resource_list(REGISTRY, "", "v1")
    assert doc is not None and doc["kind"] == "APIResourceList" and doc["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in doc["resources"]}
    assert by_name["pods"] == {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
                               "verbs": list(VERBS), "shortNames": ["po"], "categories": ["all"]}
    assert by_name["pods/log"] == {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
                                   "verbs": ["get"]}
    assert by_name["pods/exec"]["kind"] == "PodExecOptions" and by_name["pods/exec"]["verbs"] == ["create", "get"]
    assert by_name["pods/binding"]["kind"] == "Binding" and "group" not in by_name["pods/binding"]
    assert (by_name["pods/eviction"]["group"], by_name["pods/eviction"]["version"]) == ("policy", "v1")
    assert by_name["nodes"]["namespaced"] is False
    assert by_name["replicationcontrollers/scale"]["group"] == "autoscaling"
    assert all("storageVersionHash" not in r for r in doc["resources"])


def test_apps_resource_list_has_scale() -> None:
    doc = api_resource_list(REGISTRY, "apps", "v1")
    assert doc is not None and doc["groupVersion"] == "apps/v1"
    scale = next(r for r in doc["resources"] if r["name"] == "deployments/scale")
    assert scale == {"name": "deployments/scale", "singularName": "", "namespaced": True, "group": "autoscaling",
                     "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}
    assert api_resource_list(REGISTRY, "apps", "v2") is None
    assert api_resource_list(REGISTRY, "metrics.k8s.io", "v1beta1") is None


def test_metrics_legacy_resource_list() -> None:
    doc = api_resource_list(REGISTRY, "metrics.k8s.io", "v1beta1", extra=[metrics_group()])
    assert doc == {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "metrics.k8s.io/v1beta1",
                   "resources": [
                       {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
                       {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
                   ]}


def test_legacy_and_aggregated_agree() -> None:
    """kubectl must see the same resources whichever discovery form it used."""
    aggregated = all_aggregated(extra=True)
    converted: dict[tuple[str, str], dict[str, Any]] = {}
    for (gv, _), entry in aggregated.items():
        for r in as_kubectl_resources(entry):
            converted[(gv, r["name"])] = r
    legacy: dict[tuple[str, str], dict[str, Any]] = {}
    gvs = ["v1"] + [v["groupVersion"] for g in api_group_list(REGISTRY, extra=[metrics_group()])["groups"]
                    for v in g["versions"]]
    for gv in gvs:
        group, _, version = gv.rpartition("/")
        doc = api_resource_list(REGISTRY, group, version, extra=[metrics_group()])
        assert doc is not None, gv
        for r in doc["resources"]:
            legacy[(gv, r["name"])] = r
    assert set(converted) == set(legacy)
    for key, r in legacy.items():
        assert converted[key]["kind"] == r["kind"], key
        assert converted[key]["verbs"] == r["verbs"], key
        if "/" in r["name"]:
            parent_group = key[0].rpartition("/")[0]
            assert converted[key]["group"] == r.get("group", parent_group), key
        else:
            assert converted[key]["namespaced"] == r["namespaced"], key
            assert converted[key]["shortNames"] == r.get("shortNames", []), key
