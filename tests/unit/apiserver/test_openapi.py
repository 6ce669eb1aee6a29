"""OpenAPI v3: the index kubectl reads, and documents that make it use server-side field validation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from components.apiserver.openapi import (
    document_hash, openapi_document, openapi_group_version, openapi_index, schema_name,
)
from core.kinds import KINDS, REGISTRY, Kind, Registry

GVK = "x-kubernetes-group-version-kind"


def patch_operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        if "patch" in item:
            yield path, item["patch"]


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def kubectl_supports_field_validation(doc: dict[str, Any], kind: Kind) -> bool:
    """kubectl's queryParamVerifierV3.hasGVKExtensionV3: the first patch op with the GVK decides."""
    want = {"group": kind.group, "version": kind.version, "kind": kind.kind}
    for _, op in patch_operations(doc):
        ext = op.get(GVK) or {}
        if {k: ext.get(k) for k in want} == want:
            return any(p["name"] == "fieldValidation" for p in op.get("parameters", []))
    raise AssertionError(f"no patch operation for {want}")


def kubectl_apply_uses_openapi_v3_patch(doc: dict[str, Any], kind: Kind) -> bool:
    """kubectl apply's gvkSupportsPatchOpenAPIV3: true would make it build SMPs from our thin schemas."""
    want = {"group": kind.group, "version": kind.version, "kind": kind.kind}
    for _, op in patch_operations(doc):
        if op.get(GVK) == want:
            content = (op.get("requestBody") or {}).get("content") or {}
            return "application/strategic-merge-patch+json" in content
    return False


def test_index_lists_every_group_version_with_hashed_urls() -> None:
    index = openapi_index(REGISTRY)
    paths = index["paths"]
    expected = {"api", "apis", "api/v1", "apis/apps", "apis/apps/v1", "apis/batch/v1", "apis/coordination.k8s.io/v1",
                "apis/discovery.k8s.io/v1", "apis/networking.k8s.io/v1", "apis/autoscaling/v2"}
    assert expected <= set(paths)
    for path, entry in paths.items():
        url = entry["serverRelativeURL"]
        assert url.startswith(f"/openapi/v3/{path}?hash=")
        doc = openapi_document(REGISTRY, path)
        assert doc is not None
        assert url.endswith(document_hash(doc))
        assert len(url.rpartition("=")[2]) == 128


def test_hashes_are_stable_and_content_addressed() -> None:
    assert openapi_index(REGISTRY) == openapi_index(Registry(KINDS))
    fewer = Registry(tuple(k for k in KINDS if k.resource != "pods"))
    assert openapi_index(fewer)["paths"]["api/v1"] != openapi_index(REGISTRY)["paths"]["api/v1"]
    assert openapi_index(fewer)["paths"]["apis/apps/v1"] == openapi_index(REGISTRY)["paths"]["apis/apps/v1"]


@pytest.mark.parametrize("kind", REGISTRY.kinds, ids=lambda k: f"{k.api_version}/{k.resource}")
def test_every_kind_gets_server_side_field_validation(kind: Kind) -> None:
    doc = openapi_group_version(REGISTRY, kind.group, kind.version)
    assert doc is not None
    assert kubectl_supports_field_validation(doc, kind)
    assert not kubectl_apply_uses_openapi_v3_patch(doc, kind)


def test_core_document_shape() -> None:
    doc = openapi_group_version(REGISTRY, "", "v1")
    assert doc is not None and doc["openapi"] == "3.0.0" and doc["info"]["title"] == "Kubernetes"
    item = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]
    assert set(item) >= {"get", "put", "patch", "delete", "parameters"}
    patch = item["patch"]
    assert patch[GVK] == {"group": "", "kind": "Pod", "version": "v1"}
    assert patch["operationId"] == "patchCoreV1NamespacedPod"
    field_validation = next(p for p in patch["parameters"] if p["name"] == "fieldValidation")
    assert field_validation["in"] == "query"
    assert "/api/v1/nodes/{name}" in doc["paths"]
    assert "/api/v1/namespaces/{namespace}/pods/{name}/status" in doc["paths"]
    pod_schema = doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"]
    assert pod_schema[GVK] == [{"group": "", "kind": "Pod", "version": "v1"}]


def test_apps_document_has_deployments_and_scale() -> None:
    doc = openapi_group_version(REGISTRY, "apps", "v1")
    assert doc is not None
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch[GVK] == {"group": "apps", "kind": "Deployment", "version": "v1"}
    scale = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert scale[GVK] == {"group": "autoscaling", "kind": "Scale", "version": "v1"}
    assert "io.k8s.api.autoscaling.v1.Scale" in doc["components"]["schemas"]
    assert openapi_group_version(REGISTRY, "apps", "v2") is None


@pytest.mark.parametrize("path", sorted(openapi_index(REGISTRY)["paths"]))
def test_every_reference_resolves(path: str) -> None:
    doc = openapi_document(REGISTRY, path)
    assert doc is not None
    schemas = doc["components"]["schemas"]
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/")
        assert ref.rpartition("/")[2] in schemas, ref
    operation_ids = [op["operationId"] for item in doc["paths"].values() for key, op in item.items()
                     if key != "parameters"]
    assert len(operation_ids) == len(set(operation_ids))


def test_discovery_documents_and_unknown_paths() -> None:
    group_doc = openapi_document(REGISTRY, "apis/apps")
    assert group_doc is not None and "/apis/apps/" in group_doc["paths"]
    assert openapi_document(REGISTRY, "/apis/apps/v1/") == openapi_group_version(REGISTRY, "apps", "v1")
    assert openapi_document(REGISTRY, "apis/nope/v1") is None


def test_callers_get_copies() -> None:
    doc = openapi_group_version(REGISTRY, "", "v1")
    assert doc is not None
    doc["paths"].clear()
    assert openapi_group_version(REGISTRY, "", "v1")["paths"]  # type: ignore[index]


def test_schema_names_follow_kubernetes() -> None:
    assert schema_name("", "v1", "Pod") == "io.k8s.api.core.v1.Pod"
    assert schema_name("networking.k8s.io", "v1", "Ingress") == "io.k8s.api.networking.v1.Ingress"
    assert schema_name("autoscaling", "v2", "HorizontalPodAutoscaler") == \
        "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler"
