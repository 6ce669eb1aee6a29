"""Strict field checking: Go decode errors and unknown fields against the generated catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.fields import (
    base64_error_offset, decode_error_message, decode_errors, decode_errors_for, strict_error_message,
    unknown_field_warnings, unknown_fields,
)
from core.kinds import KINDS

from .helpers import kind, pod

RICH_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "rich", "namespace": "default", "labels": {"app": "rich"},
        "annotations": {"example.com/note": "x"}, "finalizers": ["example.com/keep"],
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-1",
                             "controller": True, "blockOwnerDeletion": True}],
        "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1",
                           "time": "2024-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:metadata": {"f:labels": {}}}}],
        "creationTimestamp": "2024-01-01T00:00:00Z", "resourceVersion": "7", "uid": "abc", "generation": 1,
    },
    "spec": {
        "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000, "runAsNonRoot": True,
                            "supplementalGroups": [4000], "fsGroupChangePolicy": "OnRootMismatch",
                            "seccompProfile": {"type": "RuntimeDefault"},
                            "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}],
                            "seLinuxOptions": {"level": "s0:c123,c456"}},
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}],
                     "matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n9"]}]}]},
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "preference": {"matchExpressions": [
                        {"key": "disk", "operator": "Exists"}]}}]},
            "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname",
                 "namespaces": ["default"], "namespaceSelector": {}, "matchLabelKeys": ["pod-template-hash"]}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchExpressions": [
                    {"key": "app", "operator": "In", "values": ["rich"]}]}, "topologyKey": "zone"}}]},
        },
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                       "whenUnsatisfiable": "DoNotSchedule", "minDomains": 2,
                                       "labelSelector": {"matchLabels": {"app": "rich"}},
                                       "nodeAffinityPolicy": "Honor", "nodeTaintsPolicy": "Ignore",
                                       "matchLabelKeys": ["pod-template-hash"]}],
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
                        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 60}],
        "nodeSelector": {"disktype": "ssd"},
        "dnsPolicy": "None",
        "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["svc.cluster.local"],
                      "options": [{"name": "ndots", "value": "2"}]},
        "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["foo.local"]}],
        "imagePullSecrets": [{"name": "regcred"}],
        "readinessGates": [{"conditionType": "example.com/ready"}],
        "schedulingGates": [{"name": "example.com/gate"}],
        "priorityClassName": "high", "runtimeClassName": "runc", "serviceAccountName": "builder",
        "automountServiceAccountToken": False, "shareProcessNamespace": True, "hostname": "rich",
        "subdomain": "svc", "setHostnameAsFQDN": False, "activeDeadlineSeconds": 600, "os": {"name": "linux"},
        "overhead": {"cpu": "10m"}, "hostUsers": True, "resources": {"limits": {"cpu": 2}},
        "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"],
                            "restartPolicy": "Always", "startupProbe": {"exec": {"command": ["true"]}}}],
        "containers": [{
            "name": "app", "image": "registry.example.com:5000/team/app:1.2@sha256:" + "a" * 64,
            "command": ["/app"], "args": ["--port=8080"], "workingDir": "/srv", "stdin": False, "tty": False,
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP", "hostIP": "0.0.0.0"}],
            "env": [
                {"name": "PLAIN", "value": "1"},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
                {"name": "CM", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k", "optional": True}}},
                {"name": "SEC", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}}],
            "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "sec"}}],
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi", "ephemeral-storage": "1Gi"},
                          "requests": {"cpu": 0.25, "memory": 64000000}},
            "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}],
            "volumeMounts": [{"name": "data", "mountPath": "/data", "subPath": "x", "readOnly": True,
                              "mountPropagation": "None"}, {"name": "cfg", "mountPath": "/etc/cfg"}],
            "volumeDevices": [{"name": "block", "devicePath": "/dev/xvda"}],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP",
                                          "httpHeaders": [{"name": "X", "value": "y"}]},
                              "initialDelaySeconds": 3, "periodSeconds": 5, "timeoutSeconds": 1,
                              "successThreshold": 1, "failureThreshold": 3, "terminationGracePeriodSeconds": 10},
            "readinessProbe": {"tcpSocket": {"port": 8080}},
            "startupProbe": {"grpc": {"port": 9090, "service": "health"}},
            "lifecycle": {"postStart": {"exec": {"command": ["echo"]}}, "preStop": {"sleep": {"seconds": 5}}},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "FallbackToLogsOnError",
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                "privileged": False, "runAsUser": 1001, "procMount": "Default",
                                "appArmorProfile": {"type": "RuntimeDefault"}},
        }],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "data", "readOnly": False}},
            {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "a.conf", "mode": 0o644}],
                                          "defaultMode": 0o644, "optional": True}},
            {"name": "sec", "secret": {"secretName": "sec", "defaultMode": 0o400}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
            {"name": "nfs", "nfs": {"server": "nfs.example.com", "path": "/exports", "readOnly": True}},
            {"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                                                       {"path": "cpu", "resourceFieldRef": {"containerName": "app",
                                                                                            "resource": "limits.cpu"}}]}},
            {"name": "proj", "projected": {"sources": [
                {"serviceAccountToken": {"audience": "api", "expirationSeconds": 3600, "path": "token"}},
                {"configMap": {"name": "cfg"}}, {"secret": {"name": "sec"}},
                {"downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
                {"clusterTrustBundle": {"signerName": "example.com/signer", "path": "ca.pem"}}]}},
            {"name": "eph", "ephemeral": {"volumeClaimTemplate": {"metadata": {"labels": {"a": "b"}}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                "storageClassName": "fast"}}}},
            {"name": "csi", "csi": {"driver": "csi.example.com", "volumeAttributes": {"k": "v"}}},
            {"name": "img", "image": {"reference": "busybox:1", "pullPolicy": "IfNotPresent"}},
            {"name": "block", "persistentVolumeClaim": {"claimName": "block"}},
        ],
    },
    "status": {
        "phase": "Running", "qosClass": "Burstable", "podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}],
        "hostIP": "192.168.1.2", "hostIPs": [{"ip": "192.168.1.2"}], "startTime": "2024-01-01T00:00:01Z",
        "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None,
                        "lastTransitionTime": "2024-01-01T00:00:05Z"}],
        "containerStatuses": [{"name": "app", "ready": True, "restartCount": 0, "image": "app:1.2",
                               "imageID": "docker://sha256:abc", "containerID": "docker://123", "started": True,
                               "state": {"running": {"startedAt": "2024-01-01T00:00:02Z"}},
                               "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                                            "finishedAt": "2024-01-01T00:00:01Z"}},
                               "resources": {"limits": {"cpu": "500m"}}}],
    },
}


# ---- unknown fields ----------------------------------------------------------------------------


def test_rich_valid_pod_has_no_unknown_fields_and_no_decode_errors() -> None:
    assert unknown_fields(kind("Pod"), RICH_POD) == []
    assert decode_errors(kind("Pod"), RICH_POD) == []


def test_unknown_fields_are_dotted_paths_with_indices_in_document_order() -> None:
    obj = pod(foo=1)
    obj["spec"]["containers"][0]["imagee"] = "x"
    obj["spec"]["containers"].append({"name": "b", "image": "b", "ports": [{"containerPort": 1, "hostPorts": 2}]})
    obj["metadata"]["labelz"] = {}
    obj["bogus"] = True
    assert unknown_fields(kind("Pod"), obj) == [
        "metadata.labelz", "spec.containers[0].imagee", "spec.containers[1].ports[0].hostPorts", "spec.foo", "bogus",
    ]


def test_field_names_are_case_sensitive() -> None:
    obj = pod()
    obj["spec"]["Containers"] = []
    assert unknown_fields(kind("Pod"), obj) == ["spec.Containers"]


def test_map_valued_fields_are_free_form() -> None:
    obj = pod(nodeSelector={"any/key.example.com": "v", "x": "y"})
    obj["metadata"]["labels"] = {"whatever.io/anything": "ok"}
    obj["metadata"]["annotations"] = {"a": "b"}
    obj["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": 1, "cpu": "1"}}
    assert unknown_fields(kind("Pod"), obj) == []
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"anything.conf": "x"}}
    assert unknown_fields(kind("ConfigMap"), cm) == []


def test_free_form_raw_extension_and_fields_v1_are_not_walked() -> None:
    rev = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"}, "revision": 1,
           "data": {"spec": {"template": {"whatever": {"deep": True}}}}}
    assert unknown_fields(kind("ControllerRevision"), rev) == []


def test_status_fields_are_known() -> None:
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "status": {"replicas": 1, "readyReplicas": 1, "observedGeneration": 2, "conditions": [
               {"type": "Available", "status": "True", "lastUpdateTime": "2024-01-01T00:00:00Z",
                "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "MinimumReplicasAvailable"}]}}
    assert unknown_fields(kind("Deployment"), dep) == []
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
            "status": {"capacity": {"cpu": "4"}, "allocatable": {"cpu": "4"}, "nodeInfo": {"kubeletVersion": "v1"},
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}
    assert unknown_fields(kind("Node"), node) == []


def test_every_registered_kind_is_in_the_catalog() -> None:
    for k in KINDS:
        obj = {"apiVersion": k.api_version, "kind": k.kind, "metadata": {"name": "x"}, "nope": 1}
        assert unknown_fields(k, obj) == ["nope"], k.kind


def test_strict_and_warning_messages() -> None:
    paths = ["spec.foo", "spec.containers[0].imagee"]
    assert strict_error_message(paths) == (
        'strict decoding error: unknown field "spec.foo", unknown field "spec.containers[0].imagee"')
    assert unknown_field_warnings(paths) == ['unknown field "spec.foo"', 'unknown field "spec.containers[0].imagee"']


# ---- decode errors -------------------------------------------------------------------------------


def test_containers_as_a_string_gives_kubernetes_message() -> None:
    obj = pod()
    obj["spec"]["containers"] = "nginx"
    causes = decode_errors(kind("Pod"), obj)
    assert causes[0].field == "spec.containers"
    assert decode_error_message(kind("Pod"), causes) == (
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field '
        "PodSpec.spec.containers of type []v1.Container")


def test_replicas_as_a_string() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": "three"}}
    causes = decode_errors(kind("Deployment"), obj)
    assert decode_error_message(kind("Deployment"), causes) == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go '
        "struct field DeploymentSpec.spec.replicas of type int32")


@pytest.mark.parametrize(("container", "message"), [
    ({"name": "a", "image": 5},
     "json: cannot unmarshal number into Go struct field Container.spec.containers.image of type string"),
    ({"name": "a", "image": "x", "ports": [{"containerPort": 1.5}]},
     "json: cannot unmarshal number 1.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32"),
    ({"name": "a", "image": "x", "ports": [{"containerPort": 2**31}]},
     "json: cannot unmarshal number 2147483648 into Go struct field ContainerPort.spec.containers.ports.containerPort "
     "of type int32"),
    ({"name": "a", "image": "x", "ports": [{"containerPort": True}]},
     "json: cannot unmarshal bool into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32"),
    ({"name": "a", "image": "x", "stdin": "yes"},
     "json: cannot unmarshal string into Go struct field Container.spec.containers.stdin of type bool"),
    ({"name": "a", "image": "x", "env": {"A": "b"}},
     "json: cannot unmarshal object into Go struct field Container.spec.containers.env of type []v1.EnvVar"),
    ({"name": "a", "image": "x", "env": [{"name": "PORT", "value": 8080}]},
     "json: cannot unmarshal number into Go struct field EnvVar.spec.containers.env.value of type string"),
    ({"name": "a", "image": "x", "resources": {"limits": "1"}},
     "json: cannot unmarshal string into Go struct field ResourceRequirements.spec.containers.resources.limits "
     "of type v1.ResourceList"),
    ({"name": "a", "image": "x", "resources": {"limits": {"cpu": "lots"}}},
     "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    ({"name": "a", "image": "x", "resources": {"limits": {"memory": "1Mm"}}}, "unable to parse quantity's suffix"),
    ({"name": "a", "image": "x", "livenessProbe": {"httpGet": {"port": True}}},
     "json: cannot unmarshal bool into Go struct field HTTPGetAction.spec.containers.livenessProbe.httpGet.port "
     "of type int32"),
    ("nginx", "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type v1.Container"),
])
def test_container_type_errors(container: object, message: str) -> None:
    obj = pod()
    obj["spec"]["containers"] = [container]
    causes = decode_errors(kind("Pod"), obj)
    assert [c.message for c in causes] == [message]
    assert causes[0].reason == "FieldValueTypeInvalid"


def test_labels_values_must_be_strings() -> None:
    obj = pod()
    obj["metadata"]["labels"] = {"tier": 1}
    (cause,) = decode_errors(kind("Pod"), obj)
    assert cause.field == "metadata.labels[tier]"
    assert cause.message == "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"


def test_valid_quantities_int_or_strings_and_nulls_pass() -> None:
    obj = pod(terminationGracePeriodSeconds=None, nodeName=None)
    obj["spec"]["containers"][0].update({
        "resources": {"limits": {"cpu": 1, "memory": "1.5Gi"}, "requests": {"cpu": 0.5, "memory": "1e3"}},
        "readinessProbe": {"tcpSocket": {"port": "http"}}, "livenessProbe": {"httpGet": {"port": 80}},
    })
    assert decode_errors(kind("Pod"), obj) == []


def test_top_level_not_an_object() -> None:
    (cause,) = decode_errors(kind("Pod"), ["a"])
    assert cause.message == "json: cannot unmarshal array into Go value of type v1.Pod"


def test_timestamps_must_be_rfc3339_strings() -> None:
    obj = pod()
    obj["metadata"]["creationTimestamp"] = 5
    (cause,) = decode_errors(kind("Pod"), obj)
    assert cause.message == ("json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp "
                             "of type string")
    obj["metadata"]["creationTimestamp"] = "yesterday"
    (cause,) = decode_errors(kind("Pod"), obj)
    assert cause.message.startswith('parsing time "yesterday"')


def test_secret_data_must_be_base64() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "data": {"ok": "aGVsbG8=", "short": "aGVsbG8", "bad": "a!b=", "num": 5}}
    causes = decode_errors(kind("Secret"), secret)
    assert [(c.field, c.message) for c in causes] == [
        ("data[short]", "illegal base64 data at input byte 4"),
        ("data[bad]", "illegal base64 data at input byte 1"),
        ("data[num]", "json: cannot unmarshal number into Go struct field Secret.data of type []uint8"),
    ]
    assert decode_error_message(kind("Secret"), causes) == (
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 4')


@pytest.mark.parametrize(("text", "offset"), [
    ("", None), ("aGk=", None), ("aGVsbG8=", None), ("aGVs\nbG8=", None), ("aGVsbG8", 4), ("a", 0),
    ("aGk=x", 4), ("=", 0), ("aGk", 0), ("ab=c", 2),
])
def test_base64_offsets_follow_go(text: str, offset: int | None) -> None:
    assert base64_error_offset(text.encode()) == offset


def test_subresource_bodies_are_catalogued() -> None:
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "d"}, "spec": {"replicas": "2"}}
    (cause,) = decode_errors_for("autoscaling/v1", "Scale", scale)
    assert cause.message == "json: cannot unmarshal string into Go struct field ScaleSpec.spec.replicas of type int32"


def test_unknown_kind_has_nothing_to_say() -> None:
    assert decode_errors_for("example.com/v1", "Widget", {"spec": 1}) == []


def test_checked_in_catalog_matches_the_generator() -> None:
    kubernetes = pytest.importorskip("kubernetes")
    from ops.tools.gen_field_catalog import OUT, build

    checked_in = json.loads(Path(OUT).read_text())
    if checked_in["kubernetes_client"] != kubernetes.__version__:
        pytest.skip(f"catalog generated from client {checked_in['kubernetes_client']}, {kubernetes.__version__} installed")
    assert checked_in == build(), "regenerate: python -m ops.tools.gen_field_catalog"
