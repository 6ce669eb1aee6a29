"""Defaulting: exact results for the seed pod and every kind, idempotence, no overwriting."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from core.defaults import apply_defaults, default_pull_policy, default_tolerations, image_tag, pod_qos_class

from .helpers import SEED_DEPLOYMENT_FIXED, SEED_POD, deployment, kind, load, pod

CONTAINER_DEFAULTS = {"imagePullPolicy": "Always", "terminationMessagePath": "/dev/termination-log",
                      "terminationMessagePolicy": "File", "resources": {}}
TEMPLATE_SPEC_DEFAULTS = {"dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "securityContext": {},
                          "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler"}


def defaulted(obj: dict[str, Any]) -> dict[str, Any]:
    """Defaults plus the DefaultTolerationSeconds plugin, as pod creation applies both."""
    apply_defaults(kind(obj["kind"]), obj)
    if obj["kind"] == "Pod":
        default_tolerations(obj)
    return obj


def test_toleration_seconds_are_a_setting() -> None:
    obj = pod()
    default_tolerations(obj, not_ready=7, unreachable=9)
    assert obj["spec"]["tolerations"] == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 7},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 9}]
    default_tolerations(obj, not_ready=1, unreachable=1)  # idempotent: what is there stays
    assert [t["tolerationSeconds"] for t in obj["spec"]["tolerations"]] == [7, 9]


def test_seed_pod_gets_exactly_kubernetes_defaults() -> None:
    obj = defaulted(load(SEED_POD))
    assert obj == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nginx-pod", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": {
            "containers": [{"name": "nginx-container", "image": "nginx", **CONTAINER_DEFAULTS}],
            **TEMPLATE_SPEC_DEFAULTS,
            "enableServiceLinks": True,
            "priority": 0,
            "preemptionPolicy": "PreemptLowerPriority",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                 "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                 "tolerationSeconds": 300},
            ],
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


@pytest.mark.parametrize("text", [SEED_POD, SEED_DEPLOYMENT_FIXED])
def test_defaulting_is_idempotent(text: str) -> None:
    once = defaulted(load(text))
    twice = defaulted(copy.deepcopy(once))
    assert once == twice


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.25", "IfNotPresent"),
    ("localhost:5000/nginx", "Always"), ("localhost:5000/nginx:v1", "IfNotPresent"),
    ("nginx@sha256:" + "a" * 64, "IfNotPresent"), ("nginx:latest@sha256:" + "a" * 64, "Always"),
    ("docker.io/library/busybox", "Always"), ("", "IfNotPresent"), ("NGINX", "IfNotPresent"),
])
def test_image_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    assert default_pull_policy(image) == policy


def test_image_tag_parsing() -> None:
    assert image_tag("registry.example.com:5000/team/app:1.2") == "1.2"
    assert image_tag("app") == "latest"


def test_user_values_are_never_overwritten() -> None:
    obj = pod(restartPolicy="Never", dnsPolicy="Default", terminationGracePeriodSeconds=0, priority=5,
              schedulerName="mine", securityContext={"runAsUser": 1}, enableServiceLinks=False,
              tolerations=[{"operator": "Exists"}])
    obj["spec"]["containers"][0].update(imagePullPolicy="Never", terminationMessagePolicy="FallbackToLogsOnError")
    spec = defaulted(obj)["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["terminationGracePeriodSeconds"], spec["priority"],
            spec["schedulerName"], spec["enableServiceLinks"]) == ("Never", "Default", 0, 5, "mine", False)
    assert spec["securityContext"] == {"runAsUser": 1}
    assert spec["tolerations"] == [{"operator": "Exists"}]  # already tolerates every taint
    assert spec["containers"][0]["imagePullPolicy"] == "Never"
    assert spec["containers"][0]["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_pod_container_details() -> None:
    obj = pod(initContainers=[{"name": "init", "image": "busybox:1"}], hostNetwork=True,
              volumes=[{"name": "v"}, {"name": "s", "secret": {"secretName": "x"}},
                       {"name": "c", "configMap": {"name": "x", "defaultMode": 0o400}},
                       {"name": "h", "hostPath": {"path": "/x"}},
                       {"name": "p", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}},
                                                               {"downwardAPI": {"items": [
                                                                   {"path": "n", "fieldRef": {"fieldPath": "x"}}]}}]}}])
    c = obj["spec"]["containers"][0]
    c.update(ports=[{"containerPort": 80}], env=[{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
             resources={"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}},
             livenessProbe={"httpGet": {"port": 80}}, readinessProbe={"grpc": {"port": 9000}},
             lifecycle={"preStop": {"httpGet": {"port": 80}}})
    spec = defaulted(obj)["spec"]
    c = spec["containers"][0]
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP", "hostPort": 80}]
    assert c["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "spec.nodeName", "apiVersion": "v1"}
    assert c["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert c["livenessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                                  "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert c["readinessProbe"]["grpc"] == {"port": 9000, "service": ""}
    assert c["lifecycle"]["preStop"]["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}
    assert spec["initContainers"][0]["imagePullPolicy"] == "IfNotPresent"
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["v"] == {"name": "v", "emptyDir": {}}
    assert vols["s"]["secret"]["defaultMode"] == 420
    assert vols["c"]["configMap"]["defaultMode"] == 0o400
    assert vols["h"]["hostPath"] == {"path": "/x", "type": ""}
    sources = vols["p"]["projected"]["sources"]
    assert vols["p"]["projected"]["defaultMode"] == 420
    assert sources[0]["serviceAccountToken"]["expirationSeconds"] == 3600
    assert sources[1]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"] == "v1"


@pytest.mark.parametrize(("resources", "qos"), [
    ([{}], "BestEffort"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1Gi"}}], "Guaranteed"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}], "Burstable"),
    ([{"requests": {"cpu": "100m"}}], "Burstable"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}}, {}], "Burstable"),
    ([{"limits": {"nvidia.com/gpu": "1"}}], "BestEffort"),
])
def test_pod_qos_class(resources: list[dict[str, Any]], qos: str) -> None:
    obj = pod(containers=[{"name": f"c{i}", "image": "x", "resources": r} for i, r in enumerate(resources)])
    assert defaulted(obj)["status"]["qosClass"] == qos


def test_system_priority_classes() -> None:
    assert defaulted(pod(priorityClassName="system-node-critical"))["spec"]["priority"] == 2000001000
    assert defaulted(pod(priorityClassName="system-cluster-critical"))["spec"]["priority"] == 2000000000


def test_seed_deployment_defaults() -> None:
    spec = defaulted(load(SEED_DEPLOYMENT_FIXED))["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (3, 10, 600)
    tspec = spec["template"]["spec"]
    assert tspec == {"containers": [{"name": "nginx-container", "image": "nginx", **CONTAINER_DEFAULTS}],
                     **TEMPLATE_SPEC_DEFAULTS}  # no Pod-only defaults in templates


def test_deployment_replicas_and_recreate() -> None:
    obj = deployment(strategy={"type": "Recreate"})
    del obj["spec"]["replicas"]
    spec = defaulted(obj)["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


def test_replica_set_and_replication_controller() -> None:
    rs = defaulted({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"},
                    "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a:1"}]}}}})
    assert rs["spec"]["replicas"] == 1
    assert rs["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    rc = defaulted({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "r"},
                    "spec": {"template": {"metadata": {"labels": {"app": "a"}},
                                          "spec": {"containers": [{"name": "a", "image": "a:1"}]}}}})
    assert rc["spec"]["selector"] == {"app": "a"}
    assert rc["metadata"]["labels"] == {"app": "a"}
    assert rc["spec"]["replicas"] == 1


def test_daemon_set_and_stateful_set() -> None:
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "a", "image": "a:1"}]}}
    ds = defaulted({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"},
                    "spec": {"template": copy.deepcopy(template)}})["spec"]
    assert ds["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert ds["revisionHistoryLimit"] == 10
    sts = defaulted({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
                     "spec": {"template": copy.deepcopy(template), "volumeClaimTemplates": [
                         {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}})["spec"]
    assert sts["replicas"] == 1
    assert sts["podManagementPolicy"] == "OrderedReady"
    assert sts["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["revisionHistoryLimit"] == 10
    assert sts["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    claim = sts["volumeClaimTemplates"][0]
    assert claim["spec"]["volumeMode"] == "Filesystem"
    assert claim["status"] == {"phase": "Pending"}
    ondelete = defaulted({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
                          "spec": {"updateStrategy": {"type": "OnDelete"}}})
    assert ondelete["spec"]["updateStrategy"] == {"type": "OnDelete"}


def test_job_defaults_and_generated_selector() -> None:
    job = defaulted({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "uid": "u-1"},
                     "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                    "containers": [{"name": "pi", "image": "perl:5"}]}}}})
    spec = job["spec"]
    assert {k: spec[k] for k in ("parallelism", "completions", "backoffLimit", "completionMode", "suspend",
                                 "manualSelector", "podReplacementPolicy")} == {
        "parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": False,
        "manualSelector": False, "podReplacementPolicy": "TerminatingOrFailed"}
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    labels = {"job-name": "pi", "batch.kubernetes.io/job-name": "pi", "controller-uid": "u-1",
              "batch.kubernetes.io/controller-uid": "u-1"}
    assert spec["template"]["metadata"]["labels"] == labels
    assert job["metadata"]["labels"] == labels
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_job_parallel_work_queue_keeps_completions_unset() -> None:
    spec = defaulted({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "q"},
                      "spec": {"parallelism": 3, "backoffLimitPerIndex": 1, "podFailurePolicy": {"rules": [
                          {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}}})["spec"]
    assert "completions" not in spec
    assert spec["backoffLimit"] == 2**31 - 1
    assert spec["podReplacementPolicy"] == "Failed"
    assert spec["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"] == "True"
    assert "selector" not in spec  # no uid yet: the API server assigns it before defaulting


def test_cron_job_defaults_template_but_not_job_spec() -> None:
    cj = defaulted({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                    "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                        "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}})
    spec = cj["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"], spec["successfulJobsHistoryLimit"],
            spec["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    assert "backoffLimit" not in spec["jobTemplate"]["spec"]
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"


def test_service_defaults() -> None:
    svc = defaulted({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}, {"port": 443, "targetPort": "https"}]}})
    assert svc["spec"] == {
        "selector": {"app": "web"},
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80},
                  {"port": 443, "targetPort": "https", "protocol": "TCP"}],
        "sessionAffinity": "None", "type": "ClusterIP", "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"],
    }
    np = defaulted({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
                    "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], "clusterIP": "10.96.0.9",
                             "sessionAffinity": "ClientIP"},
                    "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}})
    assert np["spec"]["externalTrafficPolicy"] == "Cluster"
    assert np["spec"]["allocateLoadBalancerNodePorts"] is True
    assert np["spec"]["clusterIPs"] == ["10.96.0.9"]
    assert np["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    assert np["status"]["loadBalancer"]["ingress"][0]["ipMode"] == "VIP"
    ext = defaulted({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "e"},
                     "spec": {"type": "ExternalName", "externalName": "example.com"}})
    assert ext["spec"] == {"type": "ExternalName", "externalName": "example.com", "sessionAffinity": "None"}
    headless = defaulted({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "h"},
                          "spec": {"clusterIP": "None"}})
    assert headless["spec"]["ipFamilyPolicy"] == "RequireDualStack"
    assert headless["spec"]["clusterIPs"] == ["None"]


def test_secret_defaults_and_string_data() -> None:
    secret = defaulted({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                        "data": {"a": "YQ=="}, "stringData": {"b": "héllo", "a": "x"}})
    assert secret["type"] == "Opaque"
    assert "stringData" not in secret
    assert secret["data"] == {"a": "eA==", "b": base64.b64encode("héllo".encode()).decode()}


def test_namespace_defaults() -> None:
    ns = defaulted({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    assert ns == {"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
                  "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    finalizing = {"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": "a", "deletionTimestamp": "2024-01-01T00:00:00Z"},
                  "spec": {}, "status": {"phase": "Terminating"}}
    assert defaulted(finalizing)["spec"] == {}  # the namespace controller removed "kubernetes"


def test_storage_and_node_defaults() -> None:
    pv = defaulted({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"},
                    "spec": {"capacity": {"storage": "1Gi"}, "hostPath": {"path": "/d"}}})
    assert (pv["spec"]["persistentVolumeReclaimPolicy"], pv["spec"]["volumeMode"], pv["status"]["phase"]) == (
        "Retain", "Filesystem", "Pending")
    assert pv["spec"]["hostPath"]["type"] == ""
    pvc = defaulted({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "spec": {}})
    assert pvc["spec"]["volumeMode"] == "Filesystem"
    assert pvc["status"] == {"phase": "Pending"}
    node = defaulted({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
                      "status": {"capacity": {"cpu": "4", "memory": "8Gi"}}})
    assert node["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi"}


def test_endpoints_endpoint_slices_and_hpa() -> None:
    ep = defaulted({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "e"},
                    "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]})
    assert ep["subsets"][0]["ports"][0]["protocol"] == "TCP"
    sl = defaulted({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "s"},
                    "addressType": "IPv4", "endpoints": [], "ports": [{"port": 80}]})
    assert sl["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]
    hpa = defaulted({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
                     "spec": {"maxReplicas": 5, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}},
                              "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}})
    spec = hpa["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    assert spec["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                                             "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert spec["behavior"]["scaleUp"]["policies"][0] == {"type": "Pods", "value": 4, "periodSeconds": 15}


def test_kinds_without_defaults_and_malformed_input_are_left_alone() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}
    assert defaulted(copy.deepcopy(cm)) == cm
    broken: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": "nginx"}}
    defaulted(broken)
    assert broken["spec"]["containers"] == "nginx"
    apply_defaults(kind("Pod"), "not a dict")  # type: ignore[arg-type]


def test_pod_qos_helper_ignores_bad_quantities() -> None:
    assert pod_qos_class({"containers": [{"resources": {"limits": {"cpu": "lots"}}}]}) == "BestEffort"


def test_service_updates_keep_allocations() -> None:
    from core.defaults import preserve_allocations

    old: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"type": "NodePort", "clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"],
                    "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]}}
    new: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}}
    preserve_allocations(kind("Service"), new, old)
    assert new["spec"]["clusterIP"] == "10.96.0.7"
    assert new["spec"]["clusterIPs"] == ["10.96.0.7"]
    assert new["spec"]["ports"] == [{"port": 80, "nodePort": 30080}, {"port": 81}]
    external = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                "spec": {"type": "ExternalName", "externalName": "x.example.com"}}
    preserve_allocations(kind("Service"), external, old)
    assert "clusterIP" not in external["spec"]
    pod_obj = pod()
    preserve_allocations(kind("Pod"), pod_obj, pod())
    assert pod_obj == pod()
