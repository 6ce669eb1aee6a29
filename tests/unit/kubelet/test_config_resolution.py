"""Environment, command lines, volumes and mounts, as Kubernetes builds them."""

from __future__ import annotations

import base64

import pytest

from components.kubelet.envvars import (ConfigError, PodFacts, Sources, command_line, expand, references,
                                        resolve_env)
from components.kubelet.volumes import (MountError, MountSpec, VolumePlan, container_mounts, mount_plan,
                                        plan_volume, volume_dir)
from components.kubelet.volumes import references as volume_references
from tests.unit.kubelet.helpers import container, pod


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


CM = {"data": {"color": "blue", "size": "L", "bad=key": "x"}}
SECRET = {"data": {"password": b64("s3cret")}}
SOURCES = Sources(configmaps={"cfg": CM, "gone": None}, secrets={"sec": SECRET})
FACTS = PodFacts(pod_ip="10.0.0.5", host_ip="10.0.0.1", allocatable={"cpu": "4", "memory": "8Gi"})


@pytest.mark.parametrize("text,expected", [
    ("$(A)", "a"), ("x$(A)y", "xay"), ("$(A)$(B)", "ab"), ("$(MISSING)", "$(MISSING)"), ("$$(A)", "$(A)"),
    ("$$", "$"), ("$", "$"), ("$(A", "$(A"), ("$X", "$X"), ("a$", "a$"), ("$()", "$()"), ("$$$(A)", "$a"),
    ("no refs", "no refs"), ("$(A)$", "a$"),
])
def test_expand(text: str, expected: str) -> None:
    assert expand(text, {"A": "a", "B": "b"}) == expected


def test_command_line_keeps_image_defaults_when_unset() -> None:
    assert command_line({"name": "c"}, {}) == (None, None)
    assert command_line({"command": ["echo", "$(X)"], "args": ["$(Y)", "$$(X)"]}, {"X": "1", "Y": "2"}) == (
        ("echo", "1"), ("2", "$(X)"))


def test_resolve_env_order_sources_and_expansion() -> None:
    c = container("c", envFrom=[{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}, {"secretRef": {"name": "sec"}}],
                  env=[{"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
                       {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
                       {"name": "GREETING", "value": "hi $(COLOR) $(CFG_size) $(LATER)"},
                       {"name": "LATER", "value": "later"},
                       {"name": "CFG_size", "value": "XL"},
                       {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k",
                                                                         "optional": True}}},
                       {"name": "OPTKEY", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "nope",
                                                                         "optional": True}}}])
    env = resolve_env(c, pod(c), SOURCES, FACTS)
    assert env == [("CFG_color", "blue"), ("CFG_size", "XL"), ("password", "s3cret"), ("COLOR", "blue"),
                   ("PASS", "s3cret"), ("GREETING", "hi blue L $(LATER)"), ("LATER", "later")]


def test_field_and_resource_refs() -> None:
    c = container("c", resources={"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}},
                  env=[{"name": f, "valueFrom": {"fieldRef": {"fieldPath": p}}} for f, p in [
                      ("NAME", "metadata.name"), ("NS", "metadata.namespace"), ("UID", "metadata.uid"),
                      ("IP", "status.podIP"), ("NODE", "spec.nodeName"), ("HOST", "status.hostIP"),
                      ("SA", "spec.serviceAccountName"), ("APP", "metadata.labels['app']")]] + [
                      {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                                         "divisor": "1Mi"}}},
                      {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                      {"name": "REQ", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu",
                                                                         "divisor": "1m"}}}])
    p = pod(c, serviceAccountName="robot")
    p["metadata"]["labels"] = {"app": "web"}
    env = dict(resolve_env(c, p, Sources(), FACTS))
    assert env == {"NAME": "p", "NS": "ns", "UID": p["metadata"]["uid"], "IP": "10.0.0.5", "NODE": "n1",
                   "HOST": "10.0.0.1", "SA": "robot", "APP": "web", "MEM": "64", "CPU": "4", "REQ": "250"}


@pytest.mark.parametrize("env,message", [
    ([{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "k"}}}], 'configmap "x" not found'),
    ([{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}],
     "couldn't find key k in ConfigMap ns/cfg"),
    ([{"name": "A", "valueFrom": {"secretKeyRef": {"name": "x", "key": "k"}}}], 'secret "x" not found'),
    ([{"name": "A", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "k"}}}],
     "couldn't find key k in Secret ns/sec"),
])
def test_missing_sources_are_config_errors(env: list[dict], message: str) -> None:
    c = container("c", env=env)
    with pytest.raises(ConfigError, match=message):
        resolve_env(c, pod(c), SOURCES, FACTS)


def test_env_from_missing_and_optional() -> None:
    c = container("c", envFrom=[{"configMapRef": {"name": "gone"}}])
    with pytest.raises(ConfigError, match='configmap "gone" not found'):
        resolve_env(c, pod(c), SOURCES, FACTS)
    c = container("c", envFrom=[{"secretRef": {"name": "nosec", "optional": True}}])
    assert resolve_env(c, pod(c), SOURCES, FACTS) == []


def test_references() -> None:
    c = container("c", env=[{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "a", "key": "k"}}},
                            {"name": "B", "valueFrom": {"secretKeyRef": {"name": "b", "key": "k"}}}],
                  envFrom=[{"configMapRef": {"name": "c"}}, {"secretRef": {"name": "d"}}])
    assert references(c) == ({"a", "c"}, {"b", "d"})
    p = pod(volumes=[{"name": "v1", "configMap": {"name": "m"}}, {"name": "v2", "secret": {"secretName": "s"}},
                     {"name": "v3", "projected": {"sources": [{"configMap": {"name": "pm"}},
                                                              {"secret": {"name": "ps"}}]}}])
    assert volume_references(p) == ({"m", "pm"}, {"s", "ps"})


# -- volumes -------------------------------------------------------------------------------------
def _files(plan: VolumePlan) -> dict[str, tuple[bytes, int]]:
    return {f.path: (f.data, f.mode) for f in plan.files}


def test_configmap_volume_all_keys_and_items() -> None:
    p = pod()
    full = plan_volume({"name": "v", "configMap": {"name": "cfg"}}, p, SOURCES, FACTS)
    assert full.read_only and _files(full) == {"bad=key": (b"x", 0o644), "color": (b"blue", 0o644),
                                               "size": (b"L", 0o644)}
    items = plan_volume({"name": "v", "configMap": {"name": "cfg", "defaultMode": 0o600, "items": [
        {"key": "color", "path": "dir/colour"}, {"key": "size", "path": "s", "mode": 0o400}]}}, p, SOURCES, FACTS)
    assert _files(items) == {"dir/colour": (b"blue", 0o600), "s": (b"L", 0o400)}


def test_config_volume_errors() -> None:
    p = pod()
    with pytest.raises(MountError, match='configmap "gone" not found'):
        plan_volume({"name": "v", "configMap": {"name": "gone"}}, p, SOURCES, FACTS)
    assert plan_volume({"name": "v", "configMap": {"name": "gone", "optional": True}}, p, SOURCES, FACTS).files == ()
    with pytest.raises(MountError, match="non-existent config key: nope"):
        plan_volume({"name": "v", "configMap": {"name": "cfg", "items": [{"key": "nope", "path": "x"}]}},
                    p, SOURCES, FACTS)
    with pytest.raises(MountError, match='secret "x" not found'):
        plan_volume({"name": "v", "secret": {"secretName": "x"}}, p, SOURCES, FACTS)
    with pytest.raises(MountError, match="not supported"):
        plan_volume({"name": "v", "nfs": {"server": "s", "path": "/"}}, p, SOURCES, FACTS)
    with pytest.raises(MountError, match="invalid path"):
        plan_volume({"name": "v", "configMap": {"name": "cfg", "items": [{"key": "color", "path": "../x"}]}},
                    p, SOURCES, FACTS)


def test_secret_downward_and_projected_volumes() -> None:
    p = pod()
    sec = plan_volume({"name": "v", "secret": {"secretName": "sec", "defaultMode": 0o400}}, p, SOURCES, FACTS)
    assert _files(sec) == {"password": (b"s3cret", 0o400)}
    down = plan_volume({"name": "v", "downwardAPI": {"items": [
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}}, p, SOURCES, FACTS)
    assert _files(down) == {"name": (b"p", 0o644)}
    proj = plan_volume({"name": "v", "projected": {"sources": [
        {"configMap": {"name": "cfg", "items": [{"key": "color", "path": "c"}]}},
        {"secret": {"name": "sec"}}, {"serviceAccountToken": {"path": "token"}}]}}, p, SOURCES, FACTS)
    assert _files(proj) == {"c": (b"blue", 0o644), "password": (b"s3cret", 0o644)}


def test_container_mounts() -> None:
    plans = {"data": VolumePlan("data", "emptyDir"), "cfg": VolumePlan("cfg", "configMap"),
             "host": VolumePlan("host", "hostPath", host_path="/srv/x")}
    c = container("c", volumeMounts=[{"name": "data", "mountPath": "/d"},
                                     {"name": "data", "mountPath": "/sub", "subPath": "a/b"},
                                     {"name": "cfg", "mountPath": "/etc/c"},
                                     {"name": "host", "mountPath": "/h", "readOnly": True},
                                     {"name": "data", "mountPath": "/e", "subPathExpr": "$(POD)"}])
    out = container_mounts(c, plans, "/root/pods/u", {"POD": "p1"})
    base = "/root/pods/u/volumes/kubernetes.io~empty-dir/data"
    assert out == [MountSpec(base, "/d", False), MountSpec(f"{base}/a/b", "/sub", False, make_dir=True),
                   MountSpec("/root/pods/u/volumes/kubernetes.io~configmap/cfg", "/etc/c", True),
                   MountSpec("/srv/x", "/h", True), MountSpec(f"{base}/p1", "/e", False, make_dir=True)]
    with pytest.raises(MountError, match='cannot find volume "nope"'):
        container_mounts(container("c", volumeMounts=[{"name": "nope", "mountPath": "/x"}]), plans, "/r", {})
    with pytest.raises(MountError, match="invalid subPath"):
        container_mounts(container("c", volumeMounts=[{"name": "data", "mountPath": "/x", "subPath": "../up"}]),
                         plans, "/r", {})
    assert volume_dir("/r", plans["host"]) == "/srv/x"


def test_claim_volume_is_a_node_local_directory_outside_the_pod() -> None:
    p = pod()  # namespace "ns"
    vol = {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}}
    plan = plan_volume(vol, p, SOURCES, FACTS)
    assert plan == VolumePlan("www", "persistentVolumeClaim", claim_dir="ns/www-web-0")
    assert plan == mount_plan(vol, p) and not plan.read_only and plan.files == ()
    # <root>/pvc/<namespace>/<claim>: not under the pod's directory, so it outlives the pod
    assert volume_dir("/root/pods/u1", plan) == "/root/pvc/ns/www-web-0"
    assert volume_dir("/root/pods/u2/", plan) == "/root/pvc/ns/www-web-0"
    c = container("c", volumeMounts=[{"name": "www", "mountPath": "/usr/share/nginx/html"},
                                     {"name": "www", "mountPath": "/logs", "subPath": "logs"}])
    assert container_mounts(c, {"www": plan}, "/root/pods/u1", {}) == [
        MountSpec("/root/pvc/ns/www-web-0", "/usr/share/nginx/html", False),
        MountSpec("/root/pvc/ns/www-web-0/logs", "/logs", False, make_dir=True)]
    ro = mount_plan({"name": "www", "persistentVolumeClaim": {"claimName": "c", "readOnly": True}}, p)
    assert ro.read_only
    assert container_mounts(container("c", volumeMounts=[{"name": "www", "mountPath": "/d"}]), {"www": ro},
                            "/root/pods/u1", {}) == [MountSpec("/root/pvc/ns/c", "/d", True)]
    for bad in ("", "../x", "a/b", ".."):
        with pytest.raises(MountError, match="invalid persistentVolumeClaim claimName"):
            plan_volume({"name": "v", "persistentVolumeClaim": {"claimName": bad}}, p, SOURCES, FACTS)
    with pytest.raises(MountError, match="without a claim name"):
        volume_dir("/root/pods/u1", VolumePlan("www", "persistentVolumeClaim"))
