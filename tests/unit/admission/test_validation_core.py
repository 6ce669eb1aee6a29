"""Validation of Services, cluster objects, config, storage and the smaller groups; one valid sample of
every registered kind passes the whole admission chain."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.defaults import apply_defaults
from core.fields import decode_errors, unknown_fields
from core.kinds import KINDS
from core.validation import validate, validate_status_update

from .helpers import SEED_DEPLOYMENT_FIXED, admit, fields, kind, load
from .test_fields import RICH_POD

META = {"name": "sample", "namespace": "default"}
TEMPLATE = {"metadata": {"labels": {"app": "sample"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}

SAMPLES: dict[str, dict[str, Any]] = {
    "Namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
    "Pod": RICH_POD,
    "Service": {"apiVersion": "v1", "kind": "Service", "metadata": META,
                "spec": {"type": "NodePort", "selector": {"app": "sample"},
                         "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080},
                                   {"name": "metrics", "port": 9090, "protocol": "TCP"}]}},
    "Endpoints": {"apiVersion": "v1", "kind": "Endpoints", "metadata": META,
                  "subsets": [{"addresses": [{"ip": "10.1.0.4", "nodeName": "node-1",
                                              "targetRef": {"kind": "Pod", "name": "p", "namespace": "default"}}],
                               "notReadyAddresses": [{"ip": "10.1.0.5"}], "ports": [{"port": 8080}]}]},
    "Node": {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "labels": {"kubernetes.io/os": "linux"}},
             "spec": {"podCIDR": "10.1.0.0/24", "podCIDRs": ["10.1.0.0/24"],
                      "taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
             "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                        "conditions": [{"type": "Ready", "status": "True",
                                        "lastHeartbeatTime": "2024-01-01T00:00:00Z"}]}},
    "ConfigMap": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": META,
                  "data": {"app.conf": "x=1", "KEY_NAME": "v"}, "binaryData": {"blob": "AAEC"}},
    "Secret": {"apiVersion": "v1", "kind": "Secret", "metadata": META, "type": "kubernetes.io/tls",
               "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}},
    "ServiceAccount": {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": META,
                       "imagePullSecrets": [{"name": "regcred"}], "automountServiceAccountToken": False},
    "Event": {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "sample.17a2b3c4d5e6f7a8", "namespace": "default"},
              "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default", "uid": "u"},
              "reason": "Scheduled", "message": "assigned", "type": "Normal", "count": 1,
              "source": {"component": "default-scheduler"}, "firstTimestamp": "2024-01-01T00:00:00Z",
              "lastTimestamp": "2024-01-01T00:00:00Z", "eventTime": "2024-01-01T00:00:00.000001Z",
              "reportingComponent": "default-scheduler", "reportingInstance": "s-1"},
    "ReplicationController": {"apiVersion": "v1", "kind": "ReplicationController", "metadata": META,
                              "spec": {"replicas": 2, "template": TEMPLATE}},
    "PersistentVolume": {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-1"},
                         "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                                  "hostPath": {"path": "/mnt/data"}, "storageClassName": "manual",
                                  "claimRef": {"namespace": "default", "name": "data"}}},
    "PersistentVolumeClaim": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": META,
                              "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                                       "resources": {"requests": {"storage": "1Gi"}}}},
    "Deployment": load(SEED_DEPLOYMENT_FIXED.replace("type: front-end\n", "app: nginx-container\n")),
    "ReplicaSet": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": META,
                   "spec": {"selector": {"matchLabels": {"app": "sample"}}, "template": TEMPLATE}},
    "DaemonSet": {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": META,
                  "spec": {"selector": {"matchLabels": {"app": "sample"}}, "template": TEMPLATE}},
    "StatefulSet": {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": META,
                    "spec": {"serviceName": "sample", "selector": {"matchLabels": {"app": "sample"}},
                             "template": TEMPLATE, "ordinals": {"start": 1}}},
    "ControllerRevision": {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": META,
                           "revision": 1, "data": {"spec": {"template": TEMPLATE}}},
    "Job": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {**META, "uid": "5f0c2b6e-uid"},
            "spec": {"ttlSecondsAfterFinished": 100, "template": {"spec": {
                "restartPolicy": "OnFailure", "containers": [{"name": "pi", "image": "perl:5.34"}]}}}},
    "CronJob": {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": META,
                "spec": {"schedule": "0 3 * * mon-fri", "timeZone": "Etc/UTC", "jobTemplate": {"spec": {
                    "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "c:1"}]}}}}}},
    "Lease": {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
              "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                       "renewTime": "2024-01-01T00:00:00.000000Z", "leaseTransitions": 0}},
    "EndpointSlice": {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {**META, "labels": {"kubernetes.io/service-name": "sample"}}, "addressType": "IPv4",
                      "endpoints": [{"addresses": ["10.1.0.4"], "conditions": {"ready": True, "serving": True},
                                     "nodeName": "node-1", "zone": "a"}],
                      "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]},
    "Ingress": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": META,
                "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["*.example.com"], "secretName": "tls"}],
                         "rules": [{"host": "www.example.com", "http": {"paths": [
                             {"path": "/", "pathType": "Prefix",
                              "backend": {"service": {"name": "sample", "port": {"number": 80}}}}]}}]}},
    "HorizontalPodAutoscaler": {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": META,
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "sample"},
                 "minReplicas": 2, "maxReplicas": 10,
                 "metrics": [{"type": "Resource", "resource": {"name": "memory",
                                                               "target": {"type": "AverageValue", "averageValue": "500Mi"}}}]}},
}


def test_samples_cover_every_registered_kind() -> None:
    assert set(SAMPLES) == {k.kind for k in KINDS}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_valid_sample_passes_the_whole_chain(name: str) -> None:
    obj = copy.deepcopy(SAMPLES[name])
    k = kind(name)
    assert decode_errors(k, obj) == []
    assert unknown_fields(k, obj) == []
    apply_defaults(k, obj)
    assert unknown_fields(k, obj) == [], "defaults must only add real fields"
    assert validate(k, obj) == []
    again = copy.deepcopy(obj)
    apply_defaults(k, again)
    assert again == obj
    assert validate(k, copy.deepcopy(obj), obj) == [], "an unchanged update is valid"


def sample(name: str, **changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(SAMPLES[name])
    for path, value in changes.items():
        target = obj
        *parents, leaf = path.split("__")
        for p in parents:
            target = target.setdefault(p, {})
        if value is None:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return obj


def pairs(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in admit(obj, old)]


# ---- names per kind -----------------------------------------------------------------------------


def test_service_names_are_dns1035_labels() -> None:
    assert pairs(sample("Service", metadata={"name": "1web", "namespace": "default"})) == [
        ("metadata.name", 'Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric '
                          "characters or '-', start with an alphabetic character, and end with an alphanumeric "
                          "character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
                          "'[a-z]([-a-z0-9]*[a-z0-9])?')")]


def test_namespace_names_are_dns1123_labels() -> None:
    assert fields(admit(sample("Namespace", metadata={"name": "team.a"}))) == ["metadata.name"]
    assert admit(sample("Namespace", metadata={"name": "1team"})) == []
    assert pairs(sample("Namespace", metadata={"name": "ns", "namespace": "default"})) == [
        ("metadata.namespace", "Forbidden: not allowed on this type")]


def test_dotted_names_allowed_for_subdomain_kinds() -> None:
    assert admit(sample("ConfigMap", metadata={"name": "app.config", "namespace": "default"})) == []


# ---- services ---------------------------------------------------------------------------------------


def test_service_ports() -> None:
    obj = sample("Service", spec__ports=[{"port": 0}, {"name": "Bad", "port": 80, "protocol": "ICMP",
                                                        "targetPort": 70000}])
    assert pairs(obj) == [
        ("spec.ports[0].name", "Required value"),
        ("spec.ports[0].port", "Invalid value: 0: must be between 1 and 65535, inclusive"),
        ("spec.ports[0].targetPort", "Invalid value: 0: must be between 1 and 65535, inclusive"),  # defaulted to port
        ("spec.ports[1].name", 'Invalid value: "Bad": a lowercase RFC 1123 label must consist of lower case '
                               "alphanumeric characters or '-', and must start and end with an alphanumeric character "
                               "(e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
        ("spec.ports[1].protocol", 'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'),
        ("spec.ports[1].targetPort", "Invalid value: 70000: must be between 1 and 65535, inclusive"),
    ]
    assert pairs(sample("Service", spec__ports=[])) == [("spec.ports", "Required value")]


def test_service_type_and_node_ports() -> None:
    assert pairs(sample("Service", spec__type="Magic")) == [
        ("spec.type", 'Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", '
                      '"NodePort"')]
    low = sample("Service", spec__ports=[{"port": 80, "nodePort": 80}])
    assert pairs(low) == [("spec.ports[0].nodePort", "Invalid value: 80: provided port is not in the valid range. "
                                                     "The range of valid ports is 30000-32767")]
    cluster_ip = sample("Service", spec__type="ClusterIP", spec__ports=[{"port": 80, "nodePort": 30001}])
    assert pairs(cluster_ip) == [("spec.ports[0].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'")]
    dup = sample("Service", spec__ports=[{"name": "a", "port": 80, "nodePort": 30001},
                                         {"name": "b", "port": 81, "nodePort": 30001}])
    assert pairs(dup) == [("spec.ports[1].nodePort", "Duplicate value: 30001")]


def test_service_cluster_ip_rules() -> None:
    assert pairs(sample("Service", spec__clusterIP="10.96.0.300")) == [
        ("spec.clusterIPs[0]", 'Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')]
    headless = sample("Service", spec__type="ClusterIP", spec__clusterIP="None", spec__ports=None)
    assert admit(headless) == []
    external = {"apiVersion": "v1", "kind": "Service", "metadata": META,
                "spec": {"type": "ExternalName", "externalName": "db.example.com."}}
    assert admit(external) == []
    assert pairs(sample("Service", spec__type="ExternalName")) == [("spec.externalName", "Required value")]


def test_service_cluster_ip_is_immutable_once_set() -> None:
    old = sample("Service", spec__clusterIP="10.96.0.10")
    apply_defaults(kind("Service"), old)
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.11"
    new["spec"]["clusterIPs"] = ["10.96.0.11"]
    assert pairs(new, old) == [("spec.clusterIPs[0]", 'Invalid value: []string{"10.96.0.11"}: may not change once set')]
    resized = copy.deepcopy(old)
    resized["spec"]["ports"][0]["port"] = 8080
    assert admit(resized, old) == []


def test_service_affinity_and_traffic_policy() -> None:
    obj = sample("Service", spec__sessionAffinity="Sticky", spec__type="ClusterIP", spec__externalTrafficPolicy="Local",
                 spec__ports=[{"port": 80}])
    assert pairs(obj) == [
        ("spec.sessionAffinity", 'Unsupported value: "Sticky": supported values: "ClientIP", "None"'),
        ("spec.externalTrafficPolicy", 'Invalid value: "Local": may only be set for externally-accessible services'),
    ]


def test_service_status() -> None:
    svc = sample("Service", spec__type="LoadBalancer")
    apply_defaults(kind("Service"), svc)
    new = copy.deepcopy(svc)
    new["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7", "ipMode": "VIP"}, {"hostname": "1.2.3.4"}]}}
    assert fields(validate_status_update(kind("Service"), new, svc)) == ["status.loadBalancer.ingress[1].hostname"]


# ---- config and cluster objects --------------------------------------------------------------------


def test_config_map_keys_and_immutability() -> None:
    obj = sample("ConfigMap", data={"bad/key": "x", "..": "y", "blob": "z"})
    assert fields(admit(obj)) == ["data[bad/key]", "data[..]", "data[blob]"]
    old = sample("ConfigMap", immutable=True)
    new = copy.deepcopy(old)
    new["data"]["app.conf"] = "x=2"
    new["immutable"] = False
    assert pairs(new, old) == [
        ("immutable", "Forbidden: field is immutable when `immutable` is set"),
        ("data", "Forbidden: field is immutable when `immutable` is set"),
    ]


def test_secret_types() -> None:
    assert pairs(sample("Secret", data={"tls.crt": "eA=="})) == [("data[tls.key]", "Required value")]
    docker = sample("Secret", type="kubernetes.io/dockerconfigjson", data={".dockerconfigjson": "bm90IGpzb24="})
    assert fields(admit(docker)) == ["data[.dockerconfigjson]"]
    sa = sample("Secret", type="kubernetes.io/service-account-token", data=None)
    assert pairs(sa) == [("metadata.annotations[kubernetes.io/service-account.name]", "Required value")]
    old = sample("Secret")
    new = sample("Secret", type="Opaque")
    assert pairs(new, old) == [("type", 'Invalid value: "Opaque": field is immutable')]


def test_node_taints_and_cidr() -> None:
    obj = sample("Node", spec={"podCIDR": "10.1.0.0", "taints": [{"key": "k", "effect": ""},
                                                                   {"key": "k", "effect": "NoSchedule"},
                                                                   {"key": "k", "effect": "NoSchedule"}]})
    assert fields(admit(obj)) == ["spec.taints[0].effect", "spec.taints[2]", "spec.podCIDR"]
    old = copy.deepcopy(SAMPLES["Node"])
    new = sample("Node", spec={"podCIDR": "10.2.0.0/24", "podCIDRs": ["10.2.0.0/24"]})
    assert pairs(new, old) == [("spec.podCIDRs", 'Forbidden: node updates may not change podCIDR except from "" to valid')]


def test_namespace_finalizers_and_status() -> None:
    assert fields(admit(sample("Namespace", spec={"finalizers": ["custom"]}))) == ["spec.finalizers"]
    ns = sample("Namespace")
    apply_defaults(kind("Namespace"), ns)
    terminating = copy.deepcopy(ns)
    terminating["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    assert fields(validate_status_update(kind("Namespace"), terminating, ns)) == ["status.phase"]
    terminating["status"]["phase"] = "Terminating"
    assert validate_status_update(kind("Namespace"), terminating, ns) == []


def test_endpoints_and_events() -> None:
    obj = sample("Endpoints", subsets=[{"addresses": [{"ip": "nope"}], "ports": [{"port": 80}, {"port": 81}]}, {}])
    assert fields(admit(obj)) == ["subsets[0].addresses[0].ip", "subsets[0].ports[0].name", "subsets[0].ports[1].name",
                                  "subsets[1]"]
    ev = sample("Event", involvedObject={"kind": "Pod", "name": "p", "namespace": "other"})
    assert pairs(ev) == [("involvedObject.namespace", 'Invalid value: "other": does not match event.namespace')]


def test_replication_controller() -> None:
    obj = sample("ReplicationController", spec={"selector": {"app": "other"}, "template": TEMPLATE})
    assert pairs(obj) == [("spec.template.metadata.labels", 'Invalid value: map[string]string{"app":"sample"}: '
                                                            "`selector` does not match template `labels`")]
    assert pairs(sample("ReplicationController", spec={"replicas": 1})) == [
        ("spec.selector", "Required value"), ("spec.template", "Required value")]


# ---- storage --------------------------------------------------------------------------------------------


def test_persistent_volumes() -> None:
    obj = sample("PersistentVolume", spec={"capacity": {"storage": "0"}, "accessModes": ["ReadWriteSometimes"],
                                           "persistentVolumeReclaimPolicy": "Keep"})
    assert fields(admit(obj)) == ["spec.accessModes", "spec.capacity[storage]", "spec.persistentVolumeReclaimPolicy",
                                  "spec"]
    old = copy.deepcopy(SAMPLES["PersistentVolume"])
    apply_defaults(kind("PersistentVolume"), old)
    new = copy.deepcopy(old)
    new["spec"]["hostPath"]["path"] = "/elsewhere"
    assert pairs(new, old) == [("spec.persistentvolumesource",
                                "Forbidden: spec.persistentvolumesource is immutable after creation")]


def test_persistent_volume_claims() -> None:
    assert pairs(sample("PersistentVolumeClaim", spec={})) == [
        ("spec.accessModes", "Required value: at least 1 access mode is required"),
        ("spec.resources[storage]", "Required value")]
    old = copy.deepcopy(SAMPLES["PersistentVolumeClaim"])
    apply_defaults(kind("PersistentVolumeClaim"), old)
    bigger = copy.deepcopy(old)
    bigger["spec"]["resources"]["requests"]["storage"] = "2Gi"
    bigger["spec"]["volumeName"] = "pv-1"
    assert admit(bigger, old) == []
    changed = copy.deepcopy(old)
    changed["spec"]["accessModes"] = ["ReadWriteMany"]
    assert fields(admit(changed, old)) == ["spec"]


# ---- other groups -------------------------------------------------------------------------------------------


def test_lease_and_endpoint_slices() -> None:
    assert fields(admit(sample("Lease", spec={"leaseDurationSeconds": 0, "leaseTransitions": -1}))) == [
        "spec.leaseDurationSeconds", "spec.leaseTransitions"]
    obj = sample("EndpointSlice", addressType="IPv5", endpoints=[{"addresses": []}],
                 ports=[{"name": "a", "port": 70000, "protocol": "TCP"}, {"name": "a", "protocol": "TCP"}])
    assert fields(admit(obj)) == ["addressType", "endpoints[0].addresses", "ports[0].port", "ports[1].name"]
    bad_ip = sample("EndpointSlice", endpoints=[{"addresses": ["fe80::1"]}])
    assert fields(admit(bad_ip)) == ["endpoints[0].addresses[0]"]
    old = copy.deepcopy(SAMPLES["EndpointSlice"])
    new = sample("EndpointSlice", addressType="IPv6", endpoints=[{"addresses": ["fe80::1"]}])
    assert pairs(new, old) == [("addressType", 'Invalid value: "IPv6": field is immutable')]


def test_ingress_rules() -> None:
    obj = sample("Ingress", spec={"rules": [{"host": "10.0.0.1", "http": {"paths": [
        {"path": "api", "pathType": "Prefix", "backend": {"service": {"name": "api"}}},
        {"path": "/x", "backend": {"service": {"name": "x", "port": {"number": 80}}}}]}}]})
    assert pairs(obj) == [
        ("spec.rules[0].host", 'Invalid value: "10.0.0.1": must be a DNS name, not an IP address'),
        ("spec.rules[0].http.paths[0].path", 'Invalid value: "api": must be an absolute path'),
        ("spec.rules[0].http.paths[0].backend", "Required value: port name or number is required"),
        ("spec.rules[0].http.paths[1].pathType", "Required value: pathType must be specified"),
    ]
    assert pairs(sample("Ingress", spec={})) == [
        ("spec", "Invalid value: []string{}: either `defaultBackend` or `rules` must be specified")]


def test_horizontal_pod_autoscaler() -> None:
    obj = sample("HorizontalPodAutoscaler", spec={"minReplicas": 0, "maxReplicas": 0, "scaleTargetRef": {},
                                                  "metrics": [{"type": "Magic"}]})
    assert pairs(obj) == [
        ("spec.minReplicas", "Invalid value: 0: must be greater than or equal to 1"),
        ("spec.maxReplicas", "Invalid value: 0: must be greater than 0"),
        ("spec.scaleTargetRef.kind", "Required value"),
        ("spec.scaleTargetRef.name", "Required value"),
        ("spec.metrics[0].type", 'Unsupported value: "Magic": supported values: "Object", "Pods", "Resource", '
                                 '"External", "ContainerResource"'),
    ]
    defaulted = sample("HorizontalPodAutoscaler", spec={"maxReplicas": 3, "scaleTargetRef": {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}})
    assert admit(defaulted) == []


def test_deployment_sample_is_the_corrected_seed() -> None:
    assert SAMPLES["Deployment"]["spec"]["selector"] == {"matchLabels": {"app": "nginx-container"}}


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    for key, value in items:
        out += _paths(value, (*prefix, key))
    return out


@pytest.mark.parametrize("name", sorted(set(SAMPLES) - {"Pod"}))
def test_malformed_values_never_crash_the_chain(name: str) -> None:
    """Whatever the client sends, admission answers with causes, never an exception."""
    k = kind(name)
    values: tuple[Any, ...] = ("x", -1, {}, [1], None)
    for i, path in enumerate(_paths(SAMPLES[name])):
        for value in values[i % 2::2]:
            obj = copy.deepcopy(SAMPLES[name])
            target = obj
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = copy.deepcopy(value)
            decode_errors(k, obj)
            unknown_fields(k, obj)
            apply_defaults(k, obj)
            validate(k, obj)
            validate(k, obj, SAMPLES[name])
            validate_status_update(k, obj, SAMPLES[name])
