"""The Python `kubernetes` client against a cluster started with `jetkube up`: create, list,
patch, delete and watch a ConfigMap (CoreV1Api) and a Deployment (AppsV1Api)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

pytestmark = pytest.mark.integration


def _cm(name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data)


def _deployment(name: str, replicas: int = 1, image: str = "nginx:1.25") -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(
                    name="web", image=image, ports=[client.V1ContainerPort(container_port=80)])]))))


def _status(e: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(e.body)
    assert body["kind"] == "Status" and body["code"] == e.status
    return body


def test_configmap_create_list_patch_delete(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, _cm("alpha", {"a": "1"}, {"team": "x"}))
    assert created.metadata.name == "alpha" and created.metadata.namespace == ns
    assert created.metadata.uid and int(created.metadata.resource_version) > 0
    core.create_namespaced_config_map(ns, _cm("beta", {"b": "2"}, {"team": "y"}))

    listed = core.list_namespaced_config_map(ns)
    assert [i.metadata.name for i in listed.items] == ["alpha", "beta"]
    assert int(listed.metadata.resource_version) >= int(created.metadata.resource_version)
    assert [i.metadata.name for i in core.list_namespaced_config_map(ns, label_selector="team=y").items] == ["beta"]
    assert [i.metadata.name for i in core.list_namespaced_config_map(
        ns, field_selector="metadata.name=alpha").items] == ["alpha"]
    everywhere = core.list_config_map_for_all_namespaces(label_selector="team=x")
    assert (ns, "alpha") in [(i.metadata.namespace, i.metadata.name) for i in everywhere.items]

    patched = core.patch_namespaced_config_map("alpha", ns, {"data": {"c": "3"},
                                                             "metadata": {"labels": {"team": None}}})
    assert patched.data == {"a": "1", "c": "3"} and not patched.metadata.labels
    assert int(patched.metadata.resource_version) > int(created.metadata.resource_version)
    assert core.read_namespaced_config_map("alpha", ns).data == {"a": "1", "c": "3"}

    # replace with the resourceVersion it was created with: stale
    stale = core.read_namespaced_config_map("alpha", ns)
    stale.metadata.resource_version = created.metadata.resource_version
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("alpha", ns, stale)
    assert e.value.status == 409 and _status(e.value)["reason"] == "Conflict"

    deleted = core.delete_namespaced_config_map("alpha", ns)
    status = deleted if isinstance(deleted, dict) else deleted.to_dict()
    assert status["kind"] == "Status" and status["status"] == "Success"
    assert status["details"]["name"] == "alpha" and status["details"]["kind"] == "configmaps"
    assert status["details"]["uid"] == created.metadata.uid
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("alpha", ns)
    assert e.value.status == 404 and _status(e.value)["message"] == 'configmaps "alpha" not found'
    assert [i.metadata.name for i in core.list_namespaced_config_map(ns).items] == ["beta"]


def test_deployment_create_list_patch_delete(apps: client.AppsV1Api, ns: str) -> None:
    created = apps.create_namespaced_deployment(ns, _deployment("web", replicas=1))
    assert created.metadata.generation == 1 and created.spec.replicas == 1
    assert created.spec.strategy.type == "RollingUpdate"  # defaulted by the server
    assert created.spec.template.spec.containers[0].image_pull_policy == "IfNotPresent"
    apps.create_namespaced_deployment(ns, _deployment("api", replicas=2))

    listed = apps.list_namespaced_deployment(ns)
    assert sorted(d.metadata.name for d in listed.items) == ["api", "web"]
    assert [d.metadata.name for d in apps.list_namespaced_deployment(ns, label_selector="app=web").items] == ["web"]

    # a strategic merge patch (the client's default for a dict): containers merge by name
    patched = apps.patch_namespaced_deployment("web", ns, {"spec": {"replicas": 3, "template": {"spec": {
        "containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    assert patched.spec.replicas == 3 and patched.metadata.generation == 2
    containers = patched.spec.template.spec.containers
    assert [(c.name, c.image) for c in containers] == [("web", "nginx:1.27")]
    assert containers[0].ports[0].container_port == 80  # kept from before: merged, not replaced
    # a JSON patch (the client sends a list as application/json-patch+json)
    patched = apps.patch_namespaced_deployment("web", ns, [{"op": "add", "path": "/metadata/labels/tier",
                                                             "value": "front"}])
    assert patched.metadata.labels == {"app": "web", "tier": "front"}

    scale = apps.read_namespaced_deployment_scale("web", ns)
    assert scale.spec.replicas == 3 and scale.status.selector == "app=web"
    scaled = apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 5}})
    assert scaled.spec.replicas == 5
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 5

    deleted = apps.delete_namespaced_deployment("web", ns)
    status = deleted if isinstance(deleted, dict) else deleted.to_dict()
    assert status["status"] == "Success" and status["details"]["name"] == "web"
    assert status["details"]["group"] == "apps" and status["details"]["kind"] == "deployments"
    with pytest.raises(ApiException) as e:
        apps.read_namespaced_deployment("web", ns)
    assert e.value.status == 404
    assert [d.metadata.name for d in apps.list_namespaced_deployment(ns).items] == ["api"]


def test_errors_are_api_exceptions(core: client.CoreV1Api, apps: client.AppsV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, _cm("dup", {}))
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(ns, _cm("dup", {}))
    body = _status(e.value)
    assert e.value.status == 409 and body["reason"] == "AlreadyExists"
    assert body["message"] == 'configmaps "dup" already exists'
    bad = _deployment("mismatch")
    bad.spec.selector = client.V1LabelSelector(match_labels={"app": "other"})
    with pytest.raises(ApiException) as e:
        apps.create_namespaced_deployment(ns, bad)
    body = _status(e.value)
    assert e.value.status == 422 and body["reason"] == "Invalid"
    assert {"field": "spec.template.metadata.labels", "reason": "FieldValueInvalid",
            "message": 'Invalid value: map[string]string{"app":"mismatch"}: `selector` does not match template '
                       '`labels`'} in body["details"]["causes"]
    with pytest.raises(ApiException) as e:
        core.delete_namespaced_config_map("nosuch", ns)
    assert e.value.status == 404 and _status(e.value)["reason"] == "NotFound"


def test_watch_configmaps_live(core: client.CoreV1Api, ns: str) -> None:
    """A watch without a resourceVersion first replays what exists (ADDED), then follows changes."""
    core.create_namespaced_config_map(ns, _cm("existing", {"x": "1"}))
    w = watch.Watch()
    seen: list[tuple[str, str, dict[str, str] | None]] = []
    started, done = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def follow() -> None:
        try:
            for ev in w.stream(core.list_namespaced_config_map, ns, timeout_seconds=60, _request_timeout=90):
                obj = ev["object"]
                seen.append((ev["type"], obj.metadata.name, obj.data))
                if obj.metadata.name == "existing":
                    started.set()
                if ev["type"] == "DELETED" and obj.metadata.name == "live":
                    w.stop()
        except BaseException as e:  # surfaced in the test thread
            failure.append(e)
        finally:
            started.set()
            done.set()

    t = threading.Thread(target=follow, daemon=True)
    t.start()
    assert started.wait(30) and not failure, failure
    core.create_namespaced_config_map(ns, _cm("live", {"v": "1"}))
    core.patch_namespaced_config_map("live", ns, {"data": {"v": "2"}})
    core.delete_namespaced_config_map("live", ns)
    assert done.wait(60), f"the watch never saw the deletion; it saw {seen}"
    t.join(10)
    assert not failure, failure
    assert seen[0] == ("ADDED", "existing", {"x": "1"})
    assert [s for s in seen if s[1] == "live"] == [("ADDED", "live", {"v": "1"}), ("MODIFIED", "live", {"v": "2"}),
                                                   ("DELETED", "live", {"v": "2"})]


def test_watch_deployments_from_a_resource_version(apps: client.AppsV1Api, ns: str) -> None:
    """A watch from a list's resourceVersion delivers exactly what changed after it, in order."""
    apps.create_namespaced_deployment(ns, _deployment("before"))
    rv = apps.list_namespaced_deployment(ns).metadata.resource_version
    created = apps.create_namespaced_deployment(ns, _deployment("after", replicas=1))
    modified = apps.patch_namespaced_deployment("after", ns, {"spec": {"replicas": 4}})
    apps.delete_namespaced_deployment("after", ns)

    w = watch.Watch()
    events = []
    for ev in w.stream(apps.list_namespaced_deployment, ns, resource_version=rv, timeout_seconds=30,
                       _request_timeout=60):
        obj = ev["object"]
        events.append((ev["type"], obj.metadata.name, obj.spec.replicas, obj.metadata.resource_version))
        if ev["type"] == "DELETED":
            w.stop()
    # the Deployment controller writes status in between (for "before" too): the writes of the
    # test itself are there, in order, each with the revision the API answered
    assert all(isinstance(e[3], str) and int(e[3]) > int(rv) for e in events)
    assert [int(e[3]) for e in events] == sorted(int(e[3]) for e in events)
    assert {e[0] for e in events if e[1] == "before"} <= {"MODIFIED"}
    after = [e for e in events if e[1] == "after"]
    assert after[0] == ("ADDED", "after", 1, created.metadata.resource_version)
    assert ("MODIFIED", "after", 4, modified.metadata.resource_version) in after
    assert after[-1][:3] == ("DELETED", "after", 4) and int(after[-1][3]) > int(modified.metadata.resource_version)
    assert [e[2] for e in after] == sorted(e[2] for e in after)  # 1 until the patch, 4 after it


def test_watch_with_a_label_selector(core: client.CoreV1Api, ns: str) -> None:
    """Leaving the selected set is a DELETED event for that watcher, entering it an ADDED one."""
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, _cm("mover", {}, {"sel": "no"}))
    core.patch_namespaced_config_map("mover", ns, {"metadata": {"labels": {"sel": "yes"}}})
    core.patch_namespaced_config_map("mover", ns, {"data": {"k": "v"}})
    core.patch_namespaced_config_map("mover", ns, {"metadata": {"labels": {"sel": "no"}}})
    w = watch.Watch()
    events = []
    for ev in w.stream(core.list_namespaced_config_map, ns, label_selector="sel=yes", resource_version=rv,
                       timeout_seconds=30, _request_timeout=60):
        events.append((ev["type"], ev["object"].metadata.labels))
        if ev["type"] == "DELETED":
            w.stop()
    assert events == [("ADDED", {"sel": "yes"}), ("MODIFIED", {"sel": "yes"}), ("DELETED", {"sel": "no"})]


def test_paginated_list_is_one_snapshot(core: client.CoreV1Api, ns: str) -> None:
    """Every page of a list shows the state at the first page's resourceVersion, whatever changes
    between pages (as Kubernetes serves `continue`); the next watch from it sees those changes."""
    for name in ("a1", "a2", "a3", "a4"):
        core.create_namespaced_config_map(ns, _cm(name, {"v": "1"}))
    first = core.list_namespaced_config_map(ns, limit=2)
    assert [i.metadata.name for i in first.items] == ["a1", "a2"]
    assert first.metadata._continue and first.metadata.remaining_item_count == 2
    rv = first.metadata.resource_version
    # between the pages: one added after the cut, one changed, one deleted
    core.create_namespaced_config_map(ns, _cm("a5", {"v": "1"}))
    core.patch_namespaced_config_map("a3", ns, {"data": {"v": "2"}})
    core.delete_namespaced_config_map("a4", ns)
    rest = core.list_namespaced_config_map(ns, limit=2, _continue=first.metadata._continue)
    assert rest.metadata.resource_version == rv
    assert [(i.metadata.name, i.data["v"]) for i in rest.items] == [("a3", "1"), ("a4", "1")]
    assert not rest.metadata._continue
    assert all(int(i.metadata.resource_version) <= int(rv) for i in first.items + rest.items)
    w = watch.Watch()
    seen = []
    for ev in w.stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=30,
                       _request_timeout=60):
        seen.append((ev["type"], ev["object"].metadata.name))
        if ev["type"] == "DELETED":
            w.stop()
    assert seen == [("ADDED", "a5"), ("MODIFIED", "a3"), ("DELETED", "a4")]
    now = core.list_namespaced_config_map(ns, limit=10)
    assert [i.metadata.name for i in now.items] == ["a1", "a2", "a3", "a5"]
