"""Golden bytes from the real kubectl (captured by capture.py) decode to the dicts its JSON would be.

The expected dicts are written by hand from what `kubectl create …` puts in the object; each is
also cross-checked against kubectl's own `--dry-run=client -o json` for the same command (with
Go's `"creationTimestamp": null` dropped, as the decoder drops a zero time).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from core.protobuf import PROTOBUF, decode, decode_with_unknown, is_protobuf

GOLDEN = Path(__file__).resolve().parent / "golden"


def _pb(name: str) -> bytes:
    return (GOLDEN / f"{name}.pb").read_bytes()


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def _meta(name: str, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = dict(labels)
    return meta


def _deployment(name: str, replicas: int, containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, app=name),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}},
            "strategy": {},
        },
        "status": {},
    }


def _service(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, app=name),
            "spec": {**spec, "selector": {"app": name}}, "status": {"loadBalancer": {}}}


DOCKER_CONFIG = ('{"auths":{"registry.local":{"username":"u","password":"p","email":"u@example.com",'
                 '"auth":"dTpw"}}}')

EXPECTED: dict[str, tuple[str, dict[str, Any]]] = {
    # kubectl create deployment web --image=nginx:1.25 --replicas=3 --port=80
    "deployment": ("POST /apis/apps/v1/namespaces/default/deployments", _deployment("web", 3, [
        {"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}], "resources": {}}])),
    # --replicas=0: a pointer set to zero stays
    "deployment_zero": ("POST /apis/apps/v1/namespaces/default/deployments", _deployment("idle", 0, [
        {"name": "nginx", "image": "nginx:1.25", "resources": {}}])),
    "deployment_multi": ("POST /apis/apps/v1/namespaces/default/deployments", _deployment("multi", 1, [
        {"name": "nginx", "image": "nginx:1.25", "resources": {}},
        {"name": "redis", "image": "redis:7", "resources": {}}])),
    "deployment_cmd": ("POST /apis/apps/v1/namespaces/default/deployments", _deployment("cmd", 1, [
        {"name": "busybox", "image": "busybox", "command": ["sleep", "3600"], "resources": {}}])),
    # kubectl create configmap c --from-literal=a=1 --from-literal=b=2
    "configmap": ("POST /api/v1/namespaces/default/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}),
    "configmap_binary": ("POST /api/v1/namespaces/default/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bin"}, "data": {"k": "v"},
        "binaryData": {"blob": _b64(bytes([0, 1, 2, 0xFE, 0xFF]) + b"binary\n")}}),
    # kubectl create secret generic s --from-literal=p=x
    "secret": ("POST /api/v1/namespaces/default/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"p": _b64("x")}}),
    "secret_tls": ("POST /api/v1/namespaces/default/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "typed"},
        "data": {"user": _b64("admin"), "pass": _b64("s3cr3t")}, "type": "example.com/custom"}),
    "secret_docker": ("POST /api/v1/namespaces/default/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "reg"},
        "data": {".dockerconfigjson": _b64(DOCKER_CONFIG)}, "type": "kubernetes.io/dockerconfigjson"}),
    # kubectl create namespace n1
    "namespace": ("POST /api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n1"}, "spec": {}, "status": {}}),
    # kubectl create service nodeport np --tcp=80:8080 --node-port=30080
    "service_nodeport": ("POST /api/v1/namespaces/default/services", _service("np", {
        "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 30080}],
        "type": "NodePort"})),
    "service_clusterip": ("POST /api/v1/namespaces/default/services", _service("cip", {
        "ports": [{"name": "5678-8080", "protocol": "TCP", "port": 5678, "targetPort": 8080},
                  {"name": "443", "protocol": "TCP", "port": 443, "targetPort": 443}],
        "type": "ClusterIP"})),
    "service_headless": ("POST /api/v1/namespaces/default/services", _service("hl", {
        "clusterIP": "None", "type": "ClusterIP"})),
    "service_externalname": ("POST /api/v1/namespaces/default/services", _service("ext", {
        "type": "ExternalName", "externalName": "example.com"})),
    # a named target port arrives as an int-or-string string
    "service_loadbalancer": ("POST /api/v1/namespaces/default/services", _service("lb", {
        "ports": [{"name": "80-http", "protocol": "TCP", "port": 80, "targetPort": "http"}],
        "type": "LoadBalancer"})),
    # kubectl create serviceaccount sa1
    "serviceaccount": ("POST /api/v1/namespaces/default/serviceaccounts", {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa1"}}),
    # kubectl create job j --image=busybox -- echo hi
    "job": ("POST /apis/batch/v1/namespaces/default/jobs", {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"template": {"metadata": {}, "spec": {
            "containers": [{"name": "j", "image": "busybox", "command": ["echo", "hi"], "resources": {}}],
            "restartPolicy": "Never"}}},
        "status": {}}),
    # kubectl create cronjob cj --image=busybox --schedule="*/5 * * * *" --restart=OnFailure -- date
    "cronjob": ("POST /apis/batch/v1/namespaces/default/cronjobs", {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
        "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"metadata": {"name": "cj"}, "spec": {"template": {
            "metadata": {}, "spec": {
                "containers": [{"name": "cj", "image": "busybox", "command": ["date"], "resources": {}}],
                "restartPolicy": "OnFailure"}}}}},
        "status": {}}),
    # kubectl create ingress ing --class=nginx --rule=foo.com/bar*=svc1:8080,tls=my-cert ...
    "ingress": ("POST /apis/networking.k8s.io/v1/namespaces/default/ingresses", {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "ing", "annotations": {"nginx.ingress.kubernetes.io/rewrite-target": "/"}},
        "spec": {
            "ingressClassName": "nginx",
            "defaultBackend": {"service": {"name": "defsvc", "port": {"number": 80}}},
            "tls": [{"hosts": ["foo.com"], "secretName": "my-cert"}],
            "rules": [
                {"host": "foo.com", "http": {"paths": [{"path": "/bar", "pathType": "Prefix", "backend": {
                    "service": {"name": "svc1", "port": {"number": 8080}}}}]}},
                {"host": "other.com", "http": {"paths": [{"path": "/", "pathType": "Exact", "backend": {
                    "service": {"name": "svc2", "port": {"name": "http"}}}}]}},
            ],
        },
        "status": {"loadBalancer": {}}}),
}


def test_every_capture_has_an_expectation() -> None:
    captured = {p.stem for p in GOLDEN.glob("*.pb")}
    assert captured == set(EXPECTED) | {"quota", "job_from_cronjob"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_body_decodes_to_the_json_kubectl_would_send(name: str) -> None:
    request, expected = EXPECTED[name]
    obj, unknown = decode_with_unknown(_pb(name))
    assert obj == expected
    assert unknown == []
    # The capture's own record of where kubectl sent it.
    sent = (GOLDEN / f"{name}.request").read_text().strip()
    assert sent.split("?")[0] == request
    assert "fieldValidation=Strict" in sent


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_body_matches_kubectl_dry_run_json(name: str) -> None:
    dry_run = json.loads((GOLDEN / f"{name}.dryrun.json").read_text())
    assert decode(_pb(name)) == _without_nulls(dry_run)


def test_golden_bodies_are_protobuf_envelopes() -> None:
    for path in GOLDEN.glob("*.pb"):
        assert path.read_bytes().startswith(b"k8s\x00"), path.name
    assert is_protobuf(PROTOBUF) and is_protobuf("application/vnd.kubernetes.protobuf; charset=binary")
    assert not is_protobuf("application/json") and not is_protobuf("")


def test_kind_outside_the_table_is_415_with_a_one_line_message() -> None:
    from core.errors import UnsupportedMediaType

    with pytest.raises(UnsupportedMediaType) as e:
        decode(_pb("quota"))  # kubectl create quota q --hard=pods=2: v1 ResourceQuota is not served
    assert e.value.code == 415
    assert e.value.message == ("protobuf bodies for v1 ResourceQuota are not supported; "
                               "send JSON or YAML (kubectl create -f / apply -f)")
    assert "\n" not in e.value.message


# ---------------------------------------------------------------- the whole pod template, Go-encoded

def _rich() -> dict[str, Any]:
    return decode(_pb("job_from_cronjob"))


def test_job_from_rich_cronjob_matches_kubectl_dry_run_json() -> None:
    """`kubectl create job --from=cronjob/rich` re-encodes a stored CronJob's full template (see
    golden/rich_cronjob.yaml): every PodSpec/Container/Volume field it sets, real Go bytes."""
    obj, unknown = decode_with_unknown(_pb("job_from_cronjob"))
    assert unknown == []
    dry_run = json.loads((GOLDEN / "job_from_cronjob.dryrun.json").read_text())
    # Both read the same stored CronJob, so even the owner reference's uid agrees.
    assert obj == _without_nulls(dry_run)


def test_rich_job_keeps_explicit_zeros_and_falses() -> None:
    obj = _rich()
    spec = obj["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["ttlSecondsAfterFinished"] == 0
    assert spec["suspend"] is False
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 0
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    main = pod["containers"][0]
    assert main["securityContext"]["runAsGroup"] == 0
    assert main["securityContext"]["privileged"] is False
    assert main["env"][1] == {"name": "EMPTY"}  # value "" is omitempty
    assert main["env"][4]["valueFrom"]["configMapKeyRef"] == {"name": "app-config", "key": "mode", "optional": False}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["conf"]["configMap"]["optional"] is False
    assert volumes["plain"] == {"name": "plain", "emptyDir": {}}


def test_rich_job_metadata_from_kubectl() -> None:
    meta = _rich()["metadata"]
    assert meta["name"] == "rich-run"
    assert meta["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual", "note": "from the template"}
    (owner,) = meta["ownerReferences"]
    assert {k: owner[k] for k in ("apiVersion", "kind", "name", "controller")} == {
        "apiVersion": "batch/v1", "kind": "CronJob", "name": "rich", "controller": True}
    assert isinstance(owner["uid"], str) and owner["uid"]


def test_rich_job_typed_values() -> None:
    pod = _rich()["spec"]["template"]["spec"]
    main, sidecar = pod["containers"]
    assert main["resources"] == {"limits": {"cpu": "500m", "memory": "128Mi"},
                                 "requests": {"cpu": "250m", "memory": "64Mi", "ephemeral-storage": "1Gi"}}
    assert main["livenessProbe"]["httpGet"]["port"] == "http"        # int-or-string, string
    assert main["readinessProbe"]["tcpSocket"]["port"] == 8080        # int-or-string, int
    assert main["startupProbe"]["exec"]["command"] == ["cat", "/work/ready"]
    assert main["startupProbe"]["terminationGracePeriodSeconds"] == 10
    assert main["lifecycle"]["preStop"]["httpGet"] == {"path": "/drain", "port": 8080, "scheme": "HTTP"}  # defaulted
    assert main["ports"][1] == {"name": "metrics", "hostPort": 19090, "containerPort": 9090, "protocol": "UDP",
                                "hostIP": "127.0.0.1"}
    assert main["env"][3]["valueFrom"]["resourceFieldRef"]["divisor"] == "1Mi"
    assert main["envFrom"] == [{"prefix": "CFG_", "configMapRef": {"name": "app-config"}},
                               {"secretRef": {"name": "app-secret", "optional": True}}]
    assert main["securityContext"]["capabilities"] == {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}
    assert sidecar["readinessProbe"]["grpc"]["port"] == 15020
    assert sidecar["lifecycle"]["preStop"]["sleep"] == {"seconds": 5}
    assert (sidecar["stdin"], sidecar["stdinOnce"], sidecar["tty"]) == (True, True, True)
    assert pod["initContainers"][0]["args"] == ["echo init > /work/ready"]
    assert pod["securityContext"]["supplementalGroups"] == [4000, 5000]
    assert pod["tolerations"][0]["tolerationSeconds"] == 30
    assert pod["topologySpreadConstraints"][0]["minDomains"] == 2
    assert pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"] == 50
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["scratch"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Mi"}
    assert volumes["host"]["hostPath"] == {"path": "/var/log", "type": "Directory"}
    assert volumes["conf"]["configMap"]["items"] == [{"key": "app.properties", "path": "app.properties", "mode": 0o400}]
    assert volumes["creds"]["secret"]["defaultMode"] == 256
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "data-pvc", "readOnly": True}
    assert volumes["bundle"]["projected"]["sources"][0] == {
        "serviceAccountToken": {"audience": "vault", "expirationSeconds": 3600, "path": "token"}}
    policy = _rich()["spec"]["podFailurePolicy"]["rules"]
    assert policy[0]["onExitCodes"] == {"containerName": "main", "operator": "In", "values": [42, 43]}
    assert policy[1]["onPodConditions"] == [{"type": "DisruptionTarget", "status": "True"}]
