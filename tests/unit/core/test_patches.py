"""PATCH bodies: dispatch by media type, RFC 7386 merge patch, RFC 6902 JSON patch, strategic merge.

Strategic cases use the bodies kubectl v1.32 really sends (see /work/shared/KUBECTL.md and the
traces) plus one case per merge key and per directive, with exact expected objects.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from core.errors import BadRequest, Invalid, RequestEntityTooLarge, UnsupportedMediaType
from core.patches import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    apply_patch,
    merge_patch,
    supported_patch_types,
)

Obj = dict[str, Any]


def smp(original: Obj, patch: Obj | str, kind: str = "Pod") -> Obj:
    return apply_patch(STRATEGIC_MERGE_PATCH, original, json.dumps(patch) if isinstance(patch, dict) else patch,
                       kind=kind)


def smp_error(original: Obj, patch: Obj, kind: str = "Pod") -> BadRequest:
    with pytest.raises(BadRequest) as info:
        smp(original, patch, kind)
    return info.value


def directive_keys(value: Any) -> list[str]:
    """Every `$`-directive key anywhere in a JSON value."""
    if isinstance(value, dict):
        own = [k for k in value if k.startswith("$")]
        return own + [d for v in value.values() for d in directive_keys(v)]
    if isinstance(value, list):
        return [d for v in value for d in directive_keys(v)]
    return []


def names(items: list[Obj], key: str = "name") -> list[Any]:
    return [i[key] for i in items]


def pod(**spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": spec}


# --- dispatch and decoding ---


def test_supported_patch_types_follow_kubernetes_order() -> None:
    assert supported_patch_types() == [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH]
    assert supported_patch_types(strategic=False) == [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "", "application/yaml"])
def test_unknown_media_type_is_415_listing_accepted_types(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        apply_patch(content_type, {}, "{}", kind="Pod")
    assert info.value.code == 415
    assert info.value.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json, application/apply-patch+yaml")


def test_strategic_merge_on_a_kind_without_schema_is_415_like_custom_resources() -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        apply_patch(STRATEGIC_MERGE_PATCH, {}, "{}", kind="Widget", strategic=False)
    assert info.value.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
    assert apply_patch(MERGE_PATCH, {"a": 1}, '{"b":2}', kind="Widget", strategic=False) == {"a": 1, "b": 2}


def test_server_side_apply_is_not_handled_here() -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        apply_patch(APPLY_PATCH, {}, "{}", kind="Pod")
    assert "server-side apply" in info.value.message


@pytest.mark.parametrize("content_type", [
    "application/merge-patch+json; charset=utf-8", "Application/Merge-Patch+JSON", " application/merge-patch+json ",
])
def test_media_type_parameters_and_case_are_ignored(content_type: str) -> None:
    assert apply_patch(content_type, {"a": 1}, '{"a":2}', kind="Pod") == {"a": 2}


@pytest.mark.parametrize("body", [b'{"spec":{"replicas":3}}', '{"spec":{"replicas":3}}', {"spec": {"replicas": 3}}])
@pytest.mark.parametrize("content_type", [MERGE_PATCH, STRATEGIC_MERGE_PATCH])
def test_patch_body_may_be_bytes_str_or_decoded(content_type: str, body: Any) -> None:
    original = {"spec": {"replicas": 1, "paused": False}}
    assert apply_patch(content_type, original, body, kind="Deployment") == {"spec": {"replicas": 3, "paused": False}}


@pytest.mark.parametrize(("body", "fragment"), [
    (b"", "the patch body is empty"),
    ("  \n", "the patch body is empty"),
    ("{not json", "the patch body is not valid JSON: "),
    ('{"a": NaN}', "NaN is not a JSON value"),
    (b"\xff\xfe", "the patch body is not valid UTF-8"),
])
@pytest.mark.parametrize("content_type", [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH])
def test_malformed_bodies_are_400(content_type: str, body: Any, fragment: str) -> None:
    with pytest.raises(BadRequest) as info:
        apply_patch(content_type, {}, body, kind="Pod")
    assert info.value.code == 400
    assert fragment in info.value.message


@pytest.mark.parametrize("body", ["[]", "null", "3", '"x"', "[{}]"])
@pytest.mark.parametrize("content_type", [MERGE_PATCH, STRATEGIC_MERGE_PATCH])
def test_merge_patches_must_be_json_objects(content_type: str, body: str) -> None:
    with pytest.raises(BadRequest) as info:
        apply_patch(content_type, {"a": 1}, body, kind="Pod")
    assert info.value.message == f"a {content_type} body must be a JSON object, got {body}"


@pytest.mark.parametrize(("content_type", "body"), [
    (MERGE_PATCH, {"metadata": {"labels": {"a": None, "b": "2"}}, "spec": {"x": [1]}}),
    (STRATEGIC_MERGE_PATCH, {"metadata": {"labels": {"a": None, "b": "2"}},
                             "spec": {"containers": [{"name": "c", "image": "i2"}]}}),
    (JSON_PATCH, [{"op": "remove", "path": "/metadata/labels/a"}, {"op": "add", "path": "/spec/x", "value": [1]}]),
])
def test_neither_original_nor_patch_is_mutated(content_type: str, body: Any) -> None:
    original = pod(containers=[{"name": "c", "image": "i1"}])
    original["metadata"]["labels"] = {"a": "1"}
    before, body_before = copy.deepcopy(original), copy.deepcopy(body)
    result = apply_patch(content_type, original, body, kind="Pod")
    assert original == before
    assert body == body_before
    assert result is not original
    result["metadata"]["name"] = "changed"
    assert original["metadata"]["name"] == "p"
    if isinstance(body, dict):  # values taken from the patch are copies too
        assert result["metadata"]["labels"] is not body["metadata"]["labels"]


# --- RFC 7386 JSON merge patch (Appendix A test vectors) ---

RFC7386 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "expected"), RFC7386)
def test_merge_patch_rfc7386_vectors(original: Any, patch: Any, expected: Any) -> None:
    assert merge_patch(original, patch) == expected


@pytest.mark.parametrize(("original", "patch", "expected"),
                         [v for v in RFC7386 if isinstance(v[0], dict) and isinstance(v[1], dict)])
def test_apply_patch_merge_rfc7386_vectors(original: Obj, patch: Obj, expected: Obj) -> None:
    assert apply_patch(MERGE_PATCH, original, json.dumps(patch), kind="ConfigMap") == expected


def test_merge_patch_replaces_lists_whole_even_for_containers() -> None:
    original = pod(containers=[{"name": "a", "image": "1"}, {"name": "b", "image": "1"}])
    result = apply_patch(MERGE_PATCH, original, {"spec": {"containers": [{"name": "a", "image": "2"}]}}, kind="Pod")
    assert result["spec"] == {"containers": [{"name": "a", "image": "2"}]}


@pytest.mark.parametrize(("patch", "labels"), [
    ({"metadata": {"labels": {"env": "prod"}}}, {"app": "nginx", "env": "prod"}),  # kubectl label env=prod
    ({"metadata": {"labels": {"app": "other"}}}, {"app": "other"}),  # --overwrite
    ({"metadata": {"labels": {"app": None}}}, {}),  # kubectl label app-
    ({"metadata": {"labels": {"nope": None}}}, {"app": "nginx"}),  # removing an absent label is a no-op
])
def test_kubectl_label_merge_patches(patch: Obj, labels: dict[str, str]) -> None:
    original = {"metadata": {"name": "nginx", "labels": {"app": "nginx"}}}
    assert apply_patch(MERGE_PATCH, original, json.dumps(patch), kind="Pod") == {
        "metadata": {"name": "nginx", "labels": labels}}


def test_kubectl_annotate_creates_the_annotations_map() -> None:
    result = apply_patch(MERGE_PATCH, {"metadata": {"name": "demo"}}, '{"metadata":{"annotations":{"note":"hi"}}}',
                         kind="Deployment")
    assert result == {"metadata": {"name": "demo", "annotations": {"note": "hi"}}}


# --- RFC 6902 JSON patch ---

DEPLOY = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "demo", "annotations": {"deployment.kubernetes.io/revision": "2", "x": "y"}},
    "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "demo"}},
                                         "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}},
}


def test_kubectl_rollout_undo_json_patch_replaces_template_and_annotations() -> None:
    template = {"metadata": {"creationTimestamp": None, "labels": {"app": "demo"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.26", "resources": {}}]}}
    body = json.dumps([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": {"deployment.kubernetes.io/revision": "3"}},
    ])
    result = apply_patch(JSON_PATCH, DEPLOY, body, kind="Deployment")
    assert result == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "demo", "annotations": {"deployment.kubernetes.io/revision": "3"}},
        "spec": {"replicas": 2, "template": template},
    }


@pytest.mark.parametrize(("ops", "expected_spec"), [
    ([{"op": "replace", "path": "/spec/replicas", "value": 3}], {"replicas": 3}),
    ([{"op": "test", "path": "/spec/replicas", "value": 2}, {"op": "replace", "path": "/spec/replicas", "value": 5}],
     {"replicas": 5}),
    ([{"op": "add", "path": "/spec/paused", "value": True}], {"replicas": 2, "paused": True}),
    ([{"op": "remove", "path": "/spec/replicas"}], {}),
    ([{"op": "move", "from": "/spec/replicas", "path": "/spec/r"}], {"r": 2}),
    ([{"op": "copy", "from": "/spec/replicas", "path": "/spec/r"}], {"replicas": 2, "r": 2}),
    ([], {"replicas": 2}),
])
def test_json_patch_operations(ops: list[Obj], expected_spec: Obj) -> None:
    result = apply_patch(JSON_PATCH, {"spec": {"replicas": 2}}, json.dumps(ops), kind="Deployment")
    assert result == {"spec": expected_spec}


def test_json_patch_pointer_escapes_slashes_in_annotation_keys() -> None:
    ops = [{"op": "add", "path": "/metadata/annotations/kubectl.kubernetes.io~1restartedAt", "value": "now"}]
    result = apply_patch(JSON_PATCH, DEPLOY, ops, kind="Deployment")
    assert result["metadata"]["annotations"] == {
        "deployment.kubernetes.io/revision": "2", "x": "y", "kubectl.kubernetes.io/restartedAt": "now"}


def test_json_patch_appends_to_a_list_with_dash() -> None:
    ops = [{"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "side", "image": "b"}}]
    result = apply_patch(JSON_PATCH, DEPLOY, ops, kind="Deployment")
    assert names(result["spec"]["template"]["spec"]["containers"]) == ["app", "side"]


@pytest.mark.parametrize(("ops", "detail"), [
    ([{"op": "test", "path": "/spec/replicas", "value": 3}], "is not equal to tested value 3"),
    ([{"op": "remove", "path": "/spec/missing"}], "can't remove a non-existent object 'missing'"),
    ([{"op": "replace", "path": "/spec/missing", "value": 1}], "can't replace a non-existent object 'missing'"),
    ([{"op": "add", "path": "/nope/deeper", "value": 1}], "member 'nope' not found"),
    ([{"op": "bogus", "path": "/spec"}], "Unknown operation 'bogus'"),
    ([{"path": "/spec"}], "Operation does not contain 'op' member"),
    ([{"op": "add", "path": "/spec/x"}], "does not contain a 'value' member"),
    ([{"op": "add", "path": "spec", "value": 1}], "Location must start with /"),
    ([{"op": "replace", "path": "", "value": [1]}], "the patched document must be a JSON object"),
])
def test_json_patch_that_cannot_apply_is_422_like_kubernetes(ops: list[Obj], detail: str) -> None:
    with pytest.raises(Invalid) as info:
        apply_patch(JSON_PATCH, {"spec": {"replicas": 2}}, json.dumps(ops), kind="Deployment")
    assert info.value.code == 422
    assert info.value.message.startswith("the server rejected our request due to an error in our request: ")
    assert detail in info.value.message


@pytest.mark.parametrize("body", ['{"op":"replace","path":"/spec/replicas","value":3}', '["a"]', "[[]]", "null"])
def test_json_patch_that_is_not_a_list_of_operations_is_400(body: str) -> None:
    with pytest.raises(BadRequest) as info:
        apply_patch(JSON_PATCH, {"spec": {}}, body, kind="Deployment")
    assert info.value.message.startswith("a JSON patch must be a JSON array of operation objects")


def test_json_patch_with_too_many_operations_is_413() -> None:
    ops = [{"op": "test", "path": "/a", "value": 1}] * 10001
    with pytest.raises(RequestEntityTooLarge) as info:
        apply_patch(JSON_PATCH, {"a": 1}, ops, kind="ConfigMap")
    assert info.value.code == 413
    assert info.value.message == "The allowed maximum operations in a JSON patch is 10000, got 10001"
    assert apply_patch(JSON_PATCH, {"a": 1}, ops[:10000], kind="ConfigMap") == {"a": 1}


# --- strategic merge: the exact kubectl bodies ---

KUBECTL_APPLY_POD_BODY = (
    '{"metadata":{"labels":{"tier":null}},"spec":{"$setElementOrder/containers":[{"name":"main"},{"name":"side"}],'
    '"containers":[{"$setElementOrder/env":[{"name":"A"}],"env":[{"$patch":"delete","name":"B"}],'
    '"image":"busybox:1.37","name":"main"}]}}'
)


def test_kubectl_apply_pod_body_merges_containers_deletes_env_and_label() -> None:
    live = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "applied", "namespace": "default", "uid": "u1", "labels": {"app": "applied", "tier": "x"}},
        "spec": {
            "containers": [
                {"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                 "imagePullPolicy": "IfNotPresent"},
                {"name": "side", "image": "busybox:1.36"},
            ],
            "restartPolicy": "Always",
        },
        "status": {"phase": "Running"},
    }
    result = smp(live, KUBECTL_APPLY_POD_BODY)
    assert result == {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "applied", "namespace": "default", "uid": "u1", "labels": {"app": "applied"}},
        "spec": {
            "containers": [
                {"name": "main", "image": "busybox:1.37", "command": ["sleep", "3600"],
                 "env": [{"name": "A", "value": "1"}], "imagePullPolicy": "IfNotPresent"},
                {"name": "side", "image": "busybox:1.36"},
            ],
            "restartPolicy": "Always",
        },
        "status": {"phase": "Running"},
    }
    assert directive_keys(result) == []


def test_kubectl_apply_deployment_three_way_patch() -> None:
    """kubectl apply: last-applied vs the new manifest gives the patch kubectl sends; the live
    object keeps what others set (server defaults, a label added by `kubectl label`, status)."""
    last_applied: Obj = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"annotations": {}, "labels": {"app": "demo", "tier": "web"}, "name": "demo", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "demo"}}, "template": {
            "metadata": {"labels": {"app": "demo"}},
            "spec": {"containers": [
                {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "image": "nginx:1.25",
                 "name": "app", "ports": [{"containerPort": 80}]},
                {"image": "busybox:1.36", "name": "sidecar"},
            ]}}},
    }
    manifest = copy.deepcopy(last_applied)
    del manifest["metadata"]["labels"]["tier"]
    app = manifest["spec"]["template"]["spec"]["containers"][0]
    app["env"] = [{"name": "A", "value": "2"}]
    app["image"] = "nginx:1.26"
    new_last_applied = json.dumps(manifest, separators=(",", ":"), sort_keys=True) + "\n"
    # what kubectl's CreateThreeWayMergePatch(last_applied, manifest, live) produces
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": new_last_applied},
                     "labels": {"tier": None}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
            "containers": [{"$setElementOrder/env": [{"name": "A"}],
                            "env": [{"name": "A", "value": "2"}, {"$patch": "delete", "name": "B"}],
                            "image": "nginx:1.26", "name": "app"}],
        }}},
    }
    live: Obj = copy.deepcopy(last_applied)
    live["metadata"].update({
        "uid": "cc4c", "resourceVersion": "1051", "generation": 1,
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "old", "deployment.kubernetes.io/revision": "1"},
        "labels": {"app": "demo", "tier": "web", "team": "blue"},
    })
    live["spec"]["template"]["spec"]["containers"][0].update({"imagePullPolicy": "IfNotPresent", "resources": {}})
    live["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    live["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    live["status"] = {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]}

    result = smp(live, patch, kind="Deployment")

    assert result == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": new_last_applied,
                            "deployment.kubernetes.io/revision": "1"},
            "labels": {"app": "demo", "team": "blue"},
            "name": "demo", "namespace": "default", "uid": "cc4c", "resourceVersion": "1051", "generation": 1,
        },
        "spec": {
            "replicas": 2, "selector": {"matchLabels": {"app": "demo"}},
            "template": {"metadata": {"labels": {"app": "demo"}}, "spec": {
                "containers": [
                    {"env": [{"name": "A", "value": "2"}], "image": "nginx:1.26", "name": "app",
                     "ports": [{"containerPort": 80}], "imagePullPolicy": "IfNotPresent", "resources": {}},
                    {"image": "busybox:1.36", "name": "sidecar"},
                ],
                "restartPolicy": "Always",
            }},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        },
        "status": {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]},
    }
    assert directive_keys(result) == []


def test_kubectl_edit_body_replaces_atomic_container_statuses() -> None:
    live = pod(containers=[{"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}])
    live["metadata"]["labels"] = {"run": "nginx"}
    live["status"] = {"phase": "Running", "containerStatuses": [
        {"name": "nginx", "image": "nginx:1.27", "ready": True, "restartCount": 2, "lastState": {"terminated": {}}}]}
    body = ('{"metadata":{"labels":{"edited":"yes"}},"spec":{"$setElementOrder/containers":[{"name":"nginx"}],'
            '"containers":[{"image":"nginx:1.28","name":"nginx"}]},"status":{"containerStatuses":[{"image":"nginx:1.28",'
            '"name":"nginx","ready":true,"restartCount":0}]}}')
    result = smp(live, body)
    assert result["metadata"]["labels"] == {"run": "nginx", "edited": "yes"}
    assert result["spec"]["containers"] == [{"name": "nginx", "image": "nginx:1.28", "ports": [{"containerPort": 80}]}]
    assert result["status"] == {"phase": "Running", "containerStatuses": [
        {"image": "nginx:1.28", "name": "nginx", "ready": True, "restartCount": 0}]}


def test_kubectl_rollout_restart_adds_the_template_annotation() -> None:
    body = '{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-22T03:11:13Z"}}}}}'
    result = smp(DEPLOY, body, kind="Deployment")
    assert result["spec"]["template"] == {
        "metadata": {"labels": {"app": "demo"},
                     "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-22T03:11:13Z"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]},
    }


def test_python_client_replicas_patch_on_deployment_and_scale() -> None:
    assert smp({"spec": {"replicas": 1}}, '{"spec": {"replicas": 2}}', kind="Deployment") == {"spec": {"replicas": 2}}
    assert smp({"spec": {"replicas": 1}, "status": {"replicas": 1, "selector": "app=demo"}},
               '{"spec": {"replicas": 3}}', kind="Scale") == {
        "spec": {"replicas": 3}, "status": {"replicas": 1, "selector": "app=demo"}}


# --- strategic merge: maps and nulls ---


def test_maps_merge_recursively_and_null_deletes() -> None:
    original = {"metadata": {"name": "cm", "labels": {"a": "1", "b": "2"}}, "data": {"k1": "v1", "k2": "v2"}}
    patch = {"metadata": {"labels": {"a": None, "c": "3"}}, "data": {"k2": None, "k3": "v3"}}
    assert smp(original, patch, kind="ConfigMap") == {
        "metadata": {"name": "cm", "labels": {"b": "2", "c": "3"}}, "data": {"k1": "v1", "k3": "v3"}}


def test_null_for_an_absent_key_is_dropped_not_stored() -> None:
    assert smp({"data": {}}, {"data": {"gone": None}, "binaryData": None}, kind="ConfigMap") == {"data": {}}


def test_null_removes_a_whole_list_or_map() -> None:
    original = pod(containers=[{"name": "c"}], nodeSelector={"disk": "ssd"})
    assert smp(original, {"spec": {"nodeSelector": None, "containers": None}})["spec"] == {}


def test_new_values_are_cleaned_of_nulls_and_directives() -> None:
    original = pod(containers=[{"name": "c", "image": "i"}])
    patch = {"spec": {
        "securityContext": {"$patch": "replace", "runAsUser": 1, "runAsGroup": None},
        "affinity": {"nodeAffinity": {"x": None, "y": {"z": None}}},
        "containers": [{"name": "new", "image": "j", "resources": None,
                        "$setElementOrder/env": [{"name": "X"}, {"name": "Y"}],
                        "env": [{"name": "X", "value": "1", "valueFrom": None}, {"name": "Y", "value": "2"},
                                {"name": "Z", "$patch": "delete"}]}],
    }}
    result = smp(original, patch)
    assert result["spec"] == {
        "containers": [{"name": "new", "image": "j",
                        "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
                       {"name": "c", "image": "i"}],
        "securityContext": {"runAsUser": 1},
        "affinity": {"nodeAffinity": {"y": {}}},
    }


def test_value_of_another_json_type_replaces_the_original() -> None:
    original = {"data": {"a": {"nested": 1}, "b": "scalar", "c": [1, 2]}}
    patch = {"data": {"a": "now-a-string", "b": {"now": "a map", "drop": None}, "c": {"x": 1}}}
    assert smp(original, patch, kind="ConfigMap") == {
        "data": {"a": "now-a-string", "b": {"now": "a map"}, "c": {"x": 1}}}


# --- strategic merge: lists merged by key ---


def test_containers_merge_by_name_and_keep_their_place() -> None:
    original = pod(containers=[{"name": "a", "image": "a:1", "args": ["x"]}, {"name": "b", "image": "b:1"}])
    result = smp(original, {"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]}})
    assert result["spec"]["containers"] == [
        {"name": "a", "image": "a:1", "args": ["x"]},
        {"name": "b", "image": "b:2"},
        {"name": "c", "image": "c:1"},
    ]


def test_new_items_without_an_anchor_go_before_server_only_items_like_apimachinery() -> None:
    """apimachinery's mergeSortedSlice puts a server-only item first only when it preceded, on
    the server, the patch item it is compared with; a brand-new item has no place on the server."""
    original = pod(containers=[{"name": "a"}, {"name": "b"}])
    assert names(smp(original, {"spec": {"containers": [{"name": "new"}]}})["spec"]["containers"]) == ["new", "a", "b"]
    assert names(smp(original, {"spec": {"containers": [{"name": "a", "tty": True}, {"name": "new"}]}})["spec"][
        "containers"]) == ["a", "new", "b"]
    # kubectl apply always sends $setElementOrder, which puts the new item where the manifest has it
    patch = {"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "new"}],
                      "containers": [{"name": "new"}]}}
    assert names(smp(original, patch)["spec"]["containers"]) == ["a", "b", "new"]


def test_patch_items_take_the_patch_order_among_themselves() -> None:
    original = pod(containers=[{"name": "a"}, {"name": "b"}, {"name": "c"}])
    patch = {"spec": {"containers": [{"name": "c", "tty": True}, {"name": "a", "tty": True}]}}
    # c before a, as the patch says; b preceded c on the server, so it stays in front of it
    assert names(smp(original, patch)["spec"]["containers"]) == ["b", "c", "a"]


def test_empty_merging_list_in_the_patch_changes_nothing() -> None:
    original = pod(containers=[{"name": "a"}])
    assert smp(original, {"spec": {"containers": []}})["spec"]["containers"] == [{"name": "a"}]


POD_SPEC_CASES = [
    # field, merge key, original list, patch list, expected list
    ("initContainers", "name",
     [{"name": "init", "image": "a"}, {"name": "init2", "image": "a"}], [{"name": "init2", "image": "b"}],
     [{"name": "init", "image": "a"}, {"name": "init2", "image": "b"}]),
    ("ephemeralContainers", "name",
     [{"name": "debug", "image": "a"}], [{"name": "debug", "tty": True}],
     [{"name": "debug", "image": "a", "tty": True}]),
    ("volumes", "name",
     [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}],
     [{"name": "cfg", "configMap": {"defaultMode": 420}}],
     [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c", "defaultMode": 420}}]),
    ("imagePullSecrets", "name",
     [{"name": "reg1"}], [{"name": "reg2"}], [{"name": "reg2"}, {"name": "reg1"}]),
    ("hostAliases", "ip",
     [{"ip": "10.0.0.1", "hostnames": ["a"]}, {"ip": "10.0.0.2", "hostnames": ["b"]}],
     [{"ip": "10.0.0.1", "hostnames": ["a", "aa"]}],
     [{"ip": "10.0.0.1", "hostnames": ["a", "aa"]}, {"ip": "10.0.0.2", "hostnames": ["b"]}]),
    ("topologySpreadConstraints", "topologyKey",
     [{"topologyKey": "zone", "maxSkew": 1}, {"topologyKey": "host", "maxSkew": 1}],
     [{"topologyKey": "host", "maxSkew": 2}],
     [{"topologyKey": "zone", "maxSkew": 1}, {"topologyKey": "host", "maxSkew": 2}]),
    ("schedulingGates", "name", [{"name": "g1"}], [{"name": "g2"}], [{"name": "g2"}, {"name": "g1"}]),
]


@pytest.mark.parametrize(("field", "key", "original", "patch", "expected"), POD_SPEC_CASES,
                         ids=[c[0] for c in POD_SPEC_CASES])
def test_pod_spec_lists_merge_by_their_key(field: str, key: str, original: list[Obj], patch: list[Obj],
                                           expected: list[Obj]) -> None:
    assert smp(pod(**{field: original}), {"spec": {field: patch}})["spec"][field] == expected


CONTAINER_CASES = [
    ("env", [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
     [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
     [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]),
    ("env", [{"name": "A", "value": "1"}],
     [{"name": "A", "value": None, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
     [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]),
    ("volumeMounts", [{"name": "data", "mountPath": "/data"}, {"name": "cfg", "mountPath": "/etc/cfg"}],
     [{"mountPath": "/data", "readOnly": True}, {"name": "logs", "mountPath": "/logs"}],
     [{"name": "data", "mountPath": "/data", "readOnly": True}, {"name": "logs", "mountPath": "/logs"},
      {"name": "cfg", "mountPath": "/etc/cfg"}]),
    ("volumeDevices", [{"name": "blk", "devicePath": "/dev/xvda"}], [{"name": "blk2", "devicePath": "/dev/xvda"}],
     [{"name": "blk2", "devicePath": "/dev/xvda"}]),
    ("ports", [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 9090}],
     [{"containerPort": 80, "name": "http"}, {"containerPort": 443}],
     [{"containerPort": 80, "protocol": "TCP", "name": "http"}, {"containerPort": 443}, {"containerPort": 9090}]),
    ("ports", [{"containerPort": 80}], [{"containerPort": 80.0, "name": "http"}],  # JSON numbers: 80 == 80.0
     [{"containerPort": 80, "name": "http"}]),
]


@pytest.mark.parametrize(("field", "original", "patch", "expected"), CONTAINER_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CONTAINER_CASES)])
def test_container_lists_merge_by_their_key(field: str, original: list[Obj], patch: list[Obj],
                                            expected: list[Obj]) -> None:
    result = smp(pod(containers=[{"name": "c", field: original}]), {"spec": {"containers": [{"name": "c", field: patch}]}})
    assert result["spec"]["containers"] == [{"name": "c", field: expected}]


@pytest.mark.parametrize("field", ["command", "args", "envFrom"])
def test_atomic_container_lists_are_replaced(field: str) -> None:
    original = pod(containers=[{"name": "c", field: ["a", "b"] if field != "envFrom" else [{"configMapRef": {"name": "x"}}]}])
    new = ["z"] if field != "envFrom" else [{"secretRef": {"name": "y"}}]
    result = smp(original, {"spec": {"containers": [{"name": "c", field: new}]}})
    assert result["spec"]["containers"] == [{"name": "c", field: new}]


def test_pod_tolerations_are_atomic_and_replaced_whole() -> None:
    original = pod(tolerations=[{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}])
    result = smp(original, {"spec": {"tolerations": [{"key": "c", "operator": "Exists", "effect": None}]}})
    assert result["spec"]["tolerations"] == [{"key": "c", "operator": "Exists"}]


@pytest.mark.parametrize("kind", ["Pod", "Node", "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job",
                                  "ReplicationController", "Namespace", "PersistentVolumeClaim", "Service",
                                  "HorizontalPodAutoscaler"])
def test_status_conditions_merge_by_type(kind: str) -> None:
    original = {"kind": kind, "status": {"conditions": [
        {"type": "Ready", "status": "False", "reason": "Starting"},
        {"type": "Scheduled", "status": "True"},
    ]}}
    patch = {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": None},
                                       {"type": "Progressing", "status": "True"}]}}
    assert smp(original, patch, kind=kind)["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "Progressing", "status": "True"},
        {"type": "Scheduled", "status": "True"},
    ]


def test_pod_status_ips_merge_by_ip_but_container_statuses_are_replaced() -> None:
    original = {"status": {"podIPs": [{"ip": "10.0.0.1"}], "containerStatuses": [{"name": "a"}, {"name": "b"}]}}
    patch = {"status": {"podIPs": [{"ip": "fd00::1"}], "containerStatuses": [{"name": "b", "ready": True}]}}
    assert smp(original, patch)["status"] == {
        "podIPs": [{"ip": "fd00::1"}, {"ip": "10.0.0.1"}], "containerStatuses": [{"name": "b", "ready": True}]}


def test_owner_references_merge_by_uid() -> None:
    original = {"metadata": {"ownerReferences": [
        {"uid": "u1", "kind": "ReplicaSet", "name": "rs1", "controller": True},
        {"uid": "u2", "kind": "ReplicaSet", "name": "rs2"}]}}
    patch = {"metadata": {"ownerReferences": [{"uid": "u1", "controller": False}, {"uid": "u3", "name": "rs3"},
                                              {"uid": "u2", "$patch": "delete"}]}}
    assert smp(original, patch)["metadata"]["ownerReferences"] == [
        {"uid": "u1", "kind": "ReplicaSet", "name": "rs1", "controller": False},
        {"uid": "u3", "name": "rs3"},
    ]


def test_finalizers_merge_as_a_set_with_new_items_first() -> None:
    original = {"metadata": {"finalizers": ["a", "b"]}}
    # apimachinery's order: patch items in patch order, server-only items after those they followed
    assert smp(original, {"metadata": {"finalizers": ["c", "a", "c"]}})["metadata"]["finalizers"] == ["c", "a", "b"]
    assert smp(original, {"metadata": {"finalizers": ["b"]}})["metadata"]["finalizers"] == ["a", "b"]


def test_delete_from_primitive_list_removes_finalizers() -> None:
    original = {"metadata": {"finalizers": ["a", "b", "c", "b"]}}
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zz"]}}
    assert smp(original, patch) == {"metadata": {"finalizers": ["a", "c"]}}
    assert smp({"metadata": {}}, patch) == {"metadata": {}}  # nothing to delete from


def test_delete_from_primitive_list_and_additions_in_one_patch() -> None:
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["d"]}}
    assert smp({"metadata": {"finalizers": ["a", "b"]}}, patch)["metadata"]["finalizers"] == ["d", "b"]


def test_service_ports_merge_by_port() -> None:
    original = {"spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}],
                         "selector": {"app": "demo"}}}
    patch = {"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 8443, "name": "alt"}],
                      "selector": {"tier": "web"}}}
    assert smp(original, patch, kind="Service")["spec"] == {
        "ports": [{"port": 80, "targetPort": 9090, "protocol": "TCP"}, {"port": 8443, "name": "alt"},
                  {"port": 443, "protocol": "TCP"}],
        "selector": {"app": "demo", "tier": "web"},
    }


def test_node_taints_are_atomic_like_kubernetes_so_kubectl_taint_can_remove_one() -> None:
    original = {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoSchedule"}]}}
    # `kubectl taint node n a-` sends the remaining list
    assert smp(original, {"spec": {"taints": [{"key": "b", "effect": "NoSchedule"}]}}, kind="Node")["spec"] == {
        "taints": [{"key": "b", "effect": "NoSchedule"}]}
    assert smp(original, {"spec": {"taints": []}}, kind="Node")["spec"] == {"taints": []}


def test_node_addresses_merge_by_type_and_pod_cidrs_as_a_set() -> None:
    original = {"spec": {"podCIDRs": ["10.0.0.0/24"]},
                "status": {"addresses": [{"type": "InternalIP", "address": "1.1.1.1"}, {"type": "Hostname", "address": "n"}]}}
    patch = {"spec": {"podCIDRs": ["fd00::/64"]}, "status": {"addresses": [{"type": "InternalIP", "address": "2.2.2.2"}]}}
    assert smp(original, patch, kind="Node") == {
        "spec": {"podCIDRs": ["fd00::/64", "10.0.0.0/24"]},
        "status": {"addresses": [{"type": "InternalIP", "address": "2.2.2.2"}, {"type": "Hostname", "address": "n"}]}}


def test_service_account_secrets_merge_by_name() -> None:
    result = smp({"secrets": [{"name": "t1"}]}, {"secrets": [{"name": "t2"}]}, kind="ServiceAccount")
    assert result == {"secrets": [{"name": "t2"}, {"name": "t1"}]}


def test_lists_not_in_the_table_are_replaced_whole() -> None:
    original = {"spec": {"volumeClaimTemplates": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}],
                         "template": {"spec": {"readinessGates": [{"conditionType": "x"}]}}}}
    patch = {"spec": {"volumeClaimTemplates": [{"metadata": {"name": "c"}}],
                      "template": {"spec": {"readinessGates": [{"conditionType": "y"}]}}}}
    assert smp(original, patch, kind="StatefulSet") == patch


def test_unknown_kinds_merge_maps_replace_lists_and_still_know_metadata() -> None:
    original = {"metadata": {"finalizers": ["a"], "ownerReferences": [{"uid": "1", "name": "x"}]},
                "spec": {"items": [{"name": "a", "v": 1}], "m": {"a": 1}}}
    patch = {"metadata": {"finalizers": ["b"], "ownerReferences": [{"uid": "1", "name": "y"}]},
             "spec": {"items": [{"name": "a", "w": 2}], "m": {"b": 2}}}
    assert smp(original, patch, kind="Widget") == {
        "metadata": {"finalizers": ["b", "a"], "ownerReferences": [{"uid": "1", "name": "y"}]},
        "spec": {"items": [{"name": "a", "w": 2}], "m": {"a": 1, "b": 2}}}


# --- strategic merge: the pod template is found by type under every workload ---

TEMPLATE_PATHS = {
    "Pod": ["spec"],
    "PodTemplate": ["template", "spec"],
    "Deployment": ["spec", "template", "spec"],
    "ReplicaSet": ["spec", "template", "spec"],
    "DaemonSet": ["spec", "template", "spec"],
    "StatefulSet": ["spec", "template", "spec"],
    "Job": ["spec", "template", "spec"],
    "ReplicationController": ["spec", "template", "spec"],
    "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}


def nest(path: list[str], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


def dig(obj: Any, path: list[str]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


@pytest.mark.parametrize("kind", list(TEMPLATE_PATHS))
def test_pod_spec_merge_keys_apply_wherever_a_pod_template_lives(kind: str) -> None:
    path = TEMPLATE_PATHS[kind]
    original = nest(path, {
        "containers": [
            {"name": "app", "image": "app:1", "args": ["--a"], "env": [{"name": "A", "value": "1"}],
             "volumeMounts": [{"name": "data", "mountPath": "/data"}], "ports": [{"containerPort": 80}]},
            {"name": "side", "image": "side:1"},
        ],
        "initContainers": [{"name": "init", "image": "init:1"}],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "tolerations": [{"key": "a"}],
    })
    patch = nest(path, {
        "containers": [{"name": "app", "image": "app:2", "args": ["--b"], "env": [{"name": "B", "value": "2"}],
                        "volumeMounts": [{"mountPath": "/data", "readOnly": True}],
                        "ports": [{"containerPort": 80, "name": "http"}]}],
        "initContainers": [{"name": "init2", "image": "init:2"}],
        "volumes": [{"name": "cache", "emptyDir": {}}],
        "tolerations": [{"key": "b"}],
    })
    assert dig(smp(original, patch, kind=kind), path) == {
        "containers": [
            {"name": "app", "image": "app:2", "args": ["--b"],
             "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
             "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True}],
             "ports": [{"containerPort": 80, "name": "http"}]},
            {"name": "side", "image": "side:1"},
        ],
        "initContainers": [{"name": "init2", "image": "init:2"}, {"name": "init", "image": "init:1"}],
        "volumes": [{"name": "cache", "emptyDir": {}}, {"name": "data", "emptyDir": {}}],
        "tolerations": [{"key": "b"}],
    }


@pytest.mark.parametrize("kind", [k for k in TEMPLATE_PATHS if k != "Pod"])
def test_template_metadata_is_object_meta(kind: str) -> None:
    meta_path = TEMPLATE_PATHS[kind][:-1] + ["metadata"]
    original = nest(meta_path, {"labels": {"app": "x", "old": "1"}, "finalizers": ["f1"]})
    patch = nest(meta_path, {"labels": {"old": None}, "finalizers": ["f2"]})
    assert dig(smp(original, patch, kind=kind), meta_path) == {"labels": {"app": "x"}, "finalizers": ["f2", "f1"]}


def test_a_pod_spec_outside_a_template_path_is_not_special() -> None:
    original = {"spec": {"containers": [{"name": "a", "image": "1"}]}}
    patch = {"spec": {"containers": [{"name": "b", "image": "2"}]}}
    assert smp(original, patch, kind="ConfigMap") == patch
    assert smp(original, patch, kind="PodSpec") == patch  # building blocks are not kinds


# --- strategic merge: $patch ---


def test_patch_replace_on_a_map_replaces_it() -> None:
    original = pod(nodeSelector={"disk": "ssd", "zone": "a"}, containers=[])
    result = smp(original, {"spec": {"nodeSelector": {"$patch": "replace", "gpu": "yes"}}})
    assert result["spec"]["nodeSelector"] == {"gpu": "yes"}


def test_patch_delete_on_a_map_empties_it() -> None:
    original = pod(securityContext={"runAsUser": 1}, containers=[])
    assert smp(original, {"spec": {"securityContext": {"$patch": "delete", "runAsUser": 5}}})["spec"] == {
        "securityContext": {}, "containers": []}


def test_patch_replace_at_the_root_replaces_the_object() -> None:
    assert smp({"a": 1, "b": {"c": 2}}, {"$patch": "replace", "b": {"d": 3}}, kind="ConfigMap") == {"b": {"d": 3}}


def test_patch_merge_is_accepted_as_the_explicit_default() -> None:
    original = pod(nodeSelector={"disk": "ssd"}, containers=[{"name": "a", "image": "1", "tty": True}])
    patch = {"spec": {"nodeSelector": {"$patch": "merge", "zone": "a"},
                      "containers": [{"$patch": "merge", "name": "a", "image": "2"}]}}
    assert smp(original, patch)["spec"] == {
        "nodeSelector": {"disk": "ssd", "zone": "a"}, "containers": [{"name": "a", "image": "2", "tty": True}]}


def test_patch_delete_list_element_removes_it_by_key() -> None:
    original = pod(containers=[{"name": "a"}, {"name": "b"}, {"name": "c"}])
    patch = {"spec": {"containers": [{"name": "b", "$patch": "delete"}, {"name": "zz", "$patch": "delete"}]}}
    assert smp(original, patch)["spec"]["containers"] == [{"name": "a"}, {"name": "c"}]


def test_patch_replace_list_element_makes_the_patch_list_the_whole_list() -> None:
    original = pod(containers=[{"name": "a", "image": "1"}, {"name": "b", "image": "1"}])
    patch = {"spec": {"containers": [{"name": "c", "image": "2", "tty": None}, {"$patch": "replace"}]}}
    assert smp(original, patch)["spec"]["containers"] == [{"name": "c", "image": "2"}]
    assert smp(original, {"spec": {"containers": [{"$patch": "replace"}]}})["spec"]["containers"] == []


@pytest.mark.parametrize(("patch", "fragment"), [
    ({"spec": {"nodeSelector": {"$patch": "bogus"}}}, "at spec.nodeSelector: unknown patch type: 'bogus'"),
    ({"spec": {"containers": [{"name": "a", "$patch": "bogus"}]}}, "at spec.containers: unknown patch type: 'bogus'"),
    ({"spec": {"containers": [{"$patch": "delete"}]}}, "does not contain declared merge key: name"),
    ({"spec": {"containers": [{"image": "x"}]}}, "at spec.containers: element {'image': 'x'} does not contain "
                                                "declared merge key: name"),
    ({"spec": {"containers": ["a"]}}, "list element types are not identical"),
    ({"metadata": {"finalizers": [["a"]]}}, "lists of lists cannot be merged"),
    ({"metadata": {"finalizers": [{"a": 1}]}}, "at metadata.finalizers: list element types are not identical"),
])
def test_malformed_strategic_patches_are_400(patch: Obj, fragment: str) -> None:
    original = pod(containers=[{"name": "a"}], nodeSelector={"a": "b"})
    original["metadata"]["finalizers"] = ["f"]
    error = smp_error(original, patch)
    assert error.code == 400
    assert error.message.startswith("invalid strategic merge patch")
    assert fragment in error.message


# --- strategic merge: $retainKeys ---


def test_retain_keys_clears_fields_not_listed_when_a_volume_changes_source() -> None:
    original = pod(volumes=[{"name": "v", "emptyDir": {"medium": "Memory"}}, {"name": "w", "emptyDir": {}}])
    patch = {"spec": {"volumes": [{"name": "v", "hostPath": {"path": "/d"}, "$retainKeys": ["hostPath", "name"]}]}}
    assert smp(original, patch)["spec"]["volumes"] == [{"name": "v", "hostPath": {"path": "/d"}}, {"name": "w", "emptyDir": {}}]


def test_retain_keys_on_deployment_strategy() -> None:
    original = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}}
    assert smp(original, patch, kind="Deployment") == {"spec": {"strategy": {"type": "Recreate"}}}


@pytest.mark.parametrize(("retain", "fragment"), [
    ("type", "$retainKeys must be a list of field names"),
    (["other"], "field 'type' is set by the patch but missing from $retainKeys ['other']"),
])
def test_bad_retain_keys_are_400(retain: Any, fragment: str) -> None:
    error = smp_error({"spec": {"strategy": {}}}, {"spec": {"strategy": {"$retainKeys": retain, "type": "Recreate"}}},
                      kind="Deployment")
    assert "at spec.strategy" in error.message and fragment in error.message


# --- strategic merge: $setElementOrder ---


def test_set_element_order_alone_reorders_the_list() -> None:
    original = pod(containers=[{"name": "b", "image": "1"}, {"name": "a", "image": "1"}])
    patch = {"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}]}}
    assert names(smp(original, patch)["spec"]["containers"]) == ["a", "b"]


def test_set_element_order_interleaves_server_only_items_where_they_were() -> None:
    original = pod(containers=[{"name": n} for n in "CBDAE"])
    patch = {"spec": {"$setElementOrder/containers": [{"name": "A"}, {"name": "B"}],
                      "containers": [{"name": "A", "x": 1}, {"name": "B", "x": 1}]}}
    result = smp(original, patch)["spec"]["containers"]
    assert result == [{"name": "C"}, {"name": "D"}, {"name": "A", "x": 1}, {"name": "B", "x": 1}, {"name": "E"}]


def test_set_element_order_with_deletion_and_addition_as_kubectl_sends_for_env() -> None:
    live = [{"name": "ENV2", "value": "bar"}, {"name": "ENV5", "value": "server-added-2"},
            {"name": "ENV1", "value": "foo"}, {"name": "ENV3", "value": "baz"}, {"name": "ENV4", "value": "server-added-1"}]
    patch = {"spec": {"containers": [{"name": "c",
                                      "$setElementOrder/env": [{"name": "ENV1"}, {"name": "ENV2"}, {"name": "ENV6"}],
                                      "env": [{"name": "ENV3", "$patch": "delete"}, {"name": "ENV6", "value": "new"}]}]}}
    result = smp(pod(containers=[{"name": "c", "env": live}]), patch)["spec"]["containers"][0]["env"]
    assert result == [{"name": "ENV5", "value": "server-added-2"}, {"name": "ENV1", "value": "foo"},
                      {"name": "ENV2", "value": "bar"}, {"name": "ENV6", "value": "new"},
                      {"name": "ENV4", "value": "server-added-1"}]


def test_set_element_order_for_primitives_with_deletion() -> None:
    patch = {"metadata": {"$setElementOrder/finalizers": ["a", "b", "f"],
                          "$deleteFromPrimitiveList/finalizers": ["c"], "finalizers": ["f"]}}
    assert smp({"metadata": {"finalizers": list("beacd")}}, patch) == {"metadata": {"finalizers": list("eabfd")}}


def test_set_element_order_creates_a_missing_list_in_order() -> None:
    patch = {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                      "containers": [{"name": "b", "image": "1"}, {"name": "a", "image": "2", "tty": None}]}}
    assert smp(pod(), patch)["spec"] == {"containers": [{"name": "b", "image": "1"}, {"name": "a", "image": "2"}]}


def test_set_element_order_ignores_names_missing_from_the_list() -> None:
    original = pod(containers=[{"name": "a"}, {"name": "b"}])
    patch = {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}]}}
    assert names(smp(original, patch)["spec"]["containers"]) == ["b", "a"]


def test_set_element_order_on_an_atomic_list_is_ignored() -> None:
    original = pod(containers=[{"name": "a", "args": ["1", "2"]}])
    patch = {"spec": {"containers": [{"name": "a", "$setElementOrder/args": ["2", "1"], "args": ["3"]}]}}
    assert smp(original, patch)["spec"]["containers"] == [{"name": "a", "args": ["3"]}]


def test_set_element_order_with_null_list_deletes_it() -> None:
    original = pod(containers=[{"name": "a"}])
    patch = {"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": None}}
    assert smp(original, patch)["spec"] == {}


@pytest.mark.parametrize(("patch", "fragment"), [
    ({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
               "containers": [{"name": "b", "image": "1"}, {"name": "a", "image": "1"}]}},
     "at spec.containers: the order in the patch list"),
    ({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "c", "image": "1"}]}},
     "doesn't match the $setElementOrder/ list"),
    ({"spec": {"$setElementOrder/containers": [{"image": "a"}]}}, "does not contain declared merge key: name"),
    ({"spec": {"$setElementOrder/containers": {"name": "a"}}}, "'$setElementOrder/containers' must name a field"),
    ({"spec": {"$setElementOrder/": []}}, "'$setElementOrder/' must name a field"),
    ({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}, "must name a field and hold a list"),
    ({"metadata": {"$deleteFromPrimitiveList/finalizers": [{"a": 1}]}}, "only deletes primitive values"),
])
def test_malformed_ordering_and_deletion_directives_are_400(patch: Obj, fragment: str) -> None:
    original = pod(containers=[{"name": "a"}, {"name": "b"}])
    original["metadata"]["finalizers"] = ["a"]
    assert fragment in smp_error(original, patch).message


# --- strategic merge: no directive survives ---

DIRECTIVE_PATCHES: list[Obj] = [
    json.loads(KUBECTL_APPLY_POD_BODY),
    {"spec": {"$setElementOrder/containers": [{"name": "n"}], "containers": [
        {"name": "n", "$setElementOrder/env": [{"name": "E"}], "env": [{"name": "E", "$patch": "merge"}],
         "$retainKeys": ["name", "env", "image"], "image": "i"}]}},
    {"spec": {"volumes": [{"$patch": "replace"}, {"name": "x", "emptyDir": {"$patch": "replace"}}]}},
    {"spec": {"nodeSelector": {"$patch": "delete"}, "containers": [{"name": "main", "$patch": "delete"}]}},
    {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"], "$setElementOrder/finalizers": ["y"],
                  "finalizers": ["y"]}},
    {"spec": {"affinity": {"$patch": "replace", "a": {"$retainKeys": ["b"], "b": 1}}}},
]


@pytest.mark.parametrize("patch", DIRECTIVE_PATCHES)
def test_no_directive_keys_remain_in_results(patch: Obj) -> None:
    original = pod(containers=[{"name": "main", "env": [{"name": "A"}, {"name": "B"}]}, {"name": "side"}],
                   nodeSelector={"a": "b"}, volumes=[{"name": "v"}])
    original["metadata"]["finalizers"] = ["x", "z"]
    assert directive_keys(smp(original, patch)) == []
    assert directive_keys(smp(pod(), patch)) == []


# --- strategic merge: edge cases of keys and types ---


def test_strategic_merge_called_directly_requires_an_object() -> None:
    from core.patches import strategic_merge

    with pytest.raises(BadRequest) as info:
        strategic_merge({}, [], kind="Pod")  # type: ignore[arg-type]
    assert info.value.message == "a strategic merge patch must be a JSON object, got array"


def test_merge_keys_compare_as_json_so_true_is_not_one() -> None:
    original = pod(containers=[{"name": "c", "ports": [{"containerPort": 1}]}])
    patch = {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": True}]}]}}
    assert smp(original, patch)["spec"]["containers"][0]["ports"] == [{"containerPort": True}, {"containerPort": 1}]


def test_server_items_without_the_merge_key_never_match() -> None:
    original = pod(containers=[{"image": "orphan"}])
    assert smp(original, {"spec": {"containers": [{"name": "a"}]}})["spec"]["containers"] == [
        {"name": "a"}, {"image": "orphan"}]


@pytest.mark.parametrize(("bad", "kinds"), [([{"name": "a"}, True], "['boolean', 'object']"),
                                            ([{"name": "a"}, None], "['null', 'object']")])
def test_mixed_element_types_name_the_json_types(bad: list[Any], kinds: str) -> None:
    error = smp_error(pod(containers=[{"name": "a"}]), {"spec": {"containers": bad}})
    assert error.message == f"invalid strategic merge patch at spec.containers: list element types are not identical: {kinds}"


def test_a_set_list_holding_objects_cannot_be_merged() -> None:
    error = smp_error({"metadata": {"finalizers": [{"a": 1}]}}, {"metadata": {"finalizers": [{"b": 2}]}})
    assert error.message == ("invalid strategic merge patch at metadata.finalizers: "
                             "cannot merge a list of objects without a merge key")


def test_set_element_order_for_a_list_absent_everywhere_creates_nothing() -> None:
    assert smp(pod(), {"spec": {"$setElementOrder/containers": [{"name": "a"}]}})["spec"] == {}


def test_set_element_order_of_scalars_for_a_keyed_list_is_400() -> None:
    error = smp_error(pod(containers=[{"name": "a"}]), {"spec": {"$setElementOrder/containers": ["a"]}})
    assert "element 'a' does not contain declared merge key: name" in error.message
