"""Tables: exact cells as `kubectl get` shows them, the Table envelope, and Accept negotiation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from components.apiserver.printers import human_duration, printer_for
from components.apiserver.tables import (
    parse_accept, partial_object_metadata_list, table, table_api_version, wants_partial_metadata, wants_table,
)
from core.errors import BadRequest
from core.kinds import REGISTRY, Kind

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
KUBECTL_TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                        "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")


def ts(ago: timedelta) -> str:
    return (NOW - ago).strftime("%Y-%m-%dT%H:%M:%SZ")


def kind(resource: str, group: str = "") -> Kind:
    for k in REGISTRY.kinds:
        if k.resource == resource and k.group == group:
            return k
    raise KeyError(resource)


def obj(name: str = "web", *, created: timedelta = timedelta(seconds=5), rv: str = "7", **fields: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                            "resourceVersion": rv, "creationTimestamp": ts(created)}
    meta.update(fields.pop("metadata", {}))
    return {"metadata": meta, **fields}


def cells(resource: str, o: dict[str, Any], group: str = "") -> list[Any]:
    return printer_for(group, resource).cells(o, NOW)


def column_names(resource: str, group: str = "", priority: int | None = None) -> list[str]:
    return [c.name for c in printer_for(group, resource).columns if priority is None or c.priority == priority]


# --- ages ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (5, "5s"), (119, "119s"), (120, "2m"), (182, "3m2s"),
    (599, "9m59s"), (600, "10m"), (179 * 60, "179m"), (3 * 3600, "3h"), (5 * 3600 + 180, "5h3m"),
    (8 * 3600 + 59, "8h"), (47 * 3600, "47h"), (51 * 3600, "2d3h"), (3 * 86400, "3d"), (8 * 86400, "8d"),
    (400 * 86400, "400d"), (365 * 2 * 86400 + 30 * 86400, "2y30d"), (365 * 3 * 86400, "3y"),
    (365 * 9 * 86400, "9y"),
])
def test_human_duration_matches_kubernetes(seconds: int, text: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == text


def test_age_of_object_without_timestamp_is_unknown() -> None:
    assert cells("configmaps", {"metadata": {"name": "x"}})[-1] == "<unknown>"


# --- pods ----------------------------------------------------------------------------------------

def pod(phase: str = "Pending", *, statuses: list[dict[str, Any]] | None = None, containers: int = 1,
        **extra: Any) -> dict[str, Any]:
    spec = {"containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)], **extra.pop("spec", {})}
    status = {"phase": phase, **extra.pop("status", {})}
    if statuses is not None:
        status["containerStatuses"] = statuses
    return obj("web", spec=spec, status=status, **extra)


def running(name: str = "c0", restarts: int = 0, ready: bool = True, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": ts(timedelta(1))}},
            **extra}


def test_pod_columns_and_wide_columns() -> None:
    assert column_names("pods", priority=0) == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert column_names("pods", priority=1) == ["IP", "Node", "Nominated Node", "Readiness Gates"]
    definitions = printer_for("", "pods").column_definitions()
    assert definitions[0]["format"] == "name" and definitions[0]["type"] == "string"
    assert definitions[3] == {**definitions[3], "name": "Restarts", "type": "string", "priority": 0}


def test_pending_pod() -> None:
    assert cells("pods", pod("Pending")) == ["web", "0/1", "Pending", "0", "5s", "<none>", "<none>", "<none>", "<none>"]


def test_container_creating_pod() -> None:
    p = pod("Pending", statuses=[{"name": "c0", "ready": False, "restartCount": 0,
                                  "state": {"waiting": {"reason": "ContainerCreating"}}}], spec={"nodeName": "n1"})
    assert cells("pods", p)[:5] == ["web", "0/1", "ContainerCreating", "0", "5s"]
    assert cells("pods", p)[5:7] == ["<none>", "n1"]


def test_running_pod_wide() -> None:
    p = pod("Running", statuses=[running()], spec={"nodeName": "node-1"},
            status={"podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}]})
    assert cells("pods", p) == ["web", "1/1", "Running", "0", "5s", "10.0.0.5", "node-1", "<none>", "<none>"]


def test_running_pod_with_only_pod_ip_set() -> None:
    p = pod("Running", statuses=[running()], status={"podIP": "10.0.0.9"})
    assert cells("pods", p)[5] == "10.0.0.9"


def test_partially_ready_pod() -> None:
    p = pod("Running", containers=2, statuses=[running("c0"), running("c1", ready=False)])
    assert cells("pods", p)[1:3] == ["1/2", "Running"]


def test_crash_loop_back_off_with_last_restart_time() -> None:
    crashed = {"name": "c0", "ready": False, "restartCount": 2,
               "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s"}},
               "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ts(timedelta(minutes=5))}}}
    p = pod("Running", statuses=[crashed], created=timedelta(minutes=10))
    assert cells("pods", p)[:5] == ["web", "0/1", "CrashLoopBackOff", "2 (5m ago)", "10m"]


def test_restarts_without_termination_time_show_count_only() -> None:
    p = pod("Running", statuses=[running(restarts=3)])
    assert cells("pods", p)[3] == "3"


def test_terminating_pod() -> None:
    p = pod("Running", statuses=[running()], metadata={"deletionTimestamp": ts(timedelta(seconds=1))})
    assert cells("pods", p)[:3] == ["web", "1/1", "Terminating"]


def test_terminating_pod_on_lost_node_is_unknown() -> None:
    p = pod("Running", statuses=[running()], status={"reason": "NodeLost"},
            metadata={"deletionTimestamp": ts(timedelta(seconds=1))})
    assert cells("pods", p)[2] == "Unknown"


def test_completed_pod_and_its_row_condition() -> None:
    done = {"name": "c0", "ready": False, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": ts(timedelta(seconds=3))}}}
    p = pod("Succeeded", statuses=[done])
    assert cells("pods", p)[:4] == ["web", "0/1", "Completed", "0"]
    assert printer_for("", "pods").conditions(p) == [  # type: ignore[misc]
        {"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]
    # A finished pod being deleted keeps its terminal status.
    p["metadata"]["deletionTimestamp"] = ts(timedelta(seconds=1))
    assert cells("pods", p)[2] == "Completed"


def test_failed_container_reasons() -> None:
    error = {"name": "c0", "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    exit_code = {"name": "c0", "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}
    signal = {"name": "c0", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "signal": 9}}}
    assert cells("pods", pod("Failed", statuses=[error]))[2] == "Error"
    assert cells("pods", pod("Failed", statuses=[exit_code]))[2] == "ExitCode:137"
    assert cells("pods", pod("Failed", statuses=[signal]))[2] == "Signal:9"
    assert printer_for("", "pods").conditions(pod("Failed"))[0]["reason"] == "Failed"  # type: ignore[misc]


def test_completed_container_next_to_running_one_is_running_or_not_ready() -> None:
    done = {"name": "c1", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    ready_condition = {"conditions": [{"type": "Ready", "status": "True"}]}
    assert cells("pods", pod("Running", containers=2, statuses=[running("c0"), done], status=ready_condition))[2] == "Running"
    assert cells("pods", pod("Running", containers=2, statuses=[running("c0"), done]))[2] == "NotReady"


def test_init_containers() -> None:
    init_spec = {"initContainers": [{"name": "init", "image": "busybox"}]}
    waiting = {"name": "init", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}
    p = pod("Pending", spec=init_spec, status={"initContainerStatuses": [waiting]})
    assert cells("pods", p)[1:3] == ["0/1", "Init:0/1"]
    crashing = {"name": "init", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
    p = pod("Pending", spec=init_spec, status={"initContainerStatuses": [crashing]})
    assert cells("pods", p)[2:4] == ["Init:CrashLoopBackOff", "4"]
    failed = {"name": "init", "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}
    p = pod("Pending", spec=init_spec, status={"initContainerStatuses": [failed]})
    assert cells("pods", p)[2] == "Init:ExitCode:2"
    done = {"name": "init", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    p = pod("Running", spec=init_spec, statuses=[running()], status={"initContainerStatuses": [done]})
    assert cells("pods", p)[1:3] == ["1/1", "Running"]


def test_sidecar_counts_as_a_container() -> None:
    sidecar_spec = {"initContainers": [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]}
    sidecar = {"name": "proxy", "ready": True, "started": True, "restartCount": 1,
               "state": {"running": {}}}
    p = pod("Running", spec=sidecar_spec, statuses=[running()],
            status={"initContainerStatuses": [sidecar], "conditions": [{"type": "Initialized", "status": "True"}]})
    assert cells("pods", p)[1:4] == ["2/2", "Running", "1"]


def test_scheduling_gated_and_readiness_gates() -> None:
    p = pod("Pending", spec={"readinessGates": [{"conditionType": "a"}, {"conditionType": "b"}]},
            status={"conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"},
                                   {"type": "a", "status": "True"}], "nominatedNodeName": "n2"})
    row = cells("pods", p)
    assert row[2] == "SchedulingGated"
    assert row[7:] == ["n2", "1/2"]


# --- the Table envelope --------------------------------------------------------------------------

def test_pod_table_envelope() -> None:
    pods = [pod("Pending"), obj("api", status={"phase": "Pending"}, spec={"containers": []})]
    t = table(kind("pods"), pods, resource_version="42", continue_token="tok", now=NOW)
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"] == {"resourceVersion": "42", "continue": "tok"}
    assert [c["name"] for c in t["columnDefinitions"]] == column_names("pods")
    assert [c["priority"] for c in t["columnDefinitions"]] == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert t["rows"][0]["cells"] == ["web", "0/1", "Pending", "0", "5s", "<none>", "<none>", "<none>", "<none>"]
    assert t["rows"][1]["cells"][:2] == ["api", "0/0"]
    assert t["rows"][0]["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                      "metadata": pods[0]["metadata"]}
    assert t["rows"][0]["object"]["metadata"]["resourceVersion"] == "7"
    assert "conditions" not in t["rows"][0]


def test_table_without_continue_and_empty() -> None:
    t = table(kind("pods"), [], resource_version="3", now=NOW)
    assert t["metadata"] == {"resourceVersion": "3"} and t["rows"] == []
    assert len(t["columnDefinitions"]) == 9


def test_include_object_variants_and_watch_tables() -> None:
    p = pod("Pending")
    full = table(kind("pods"), [p], resource_version="1", include_object="Object", now=NOW)["rows"][0]["object"]
    assert full == {"kind": "Pod", "apiVersion": "v1", **p}
    assert "object" not in table(kind("pods"), [p], resource_version="1", include_object="None", now=NOW)["rows"][0]
    later = table(kind("pods"), [p], resource_version="1", column_definitions=False, now=NOW)
    assert later["columnDefinitions"] == [] and len(later["rows"]) == 1
    beta = table(kind("pods"), [p], resource_version="1", api_version="meta.k8s.io/v1beta1", now=NOW)
    assert beta["apiVersion"] == beta["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"
    with pytest.raises(BadRequest):
        table(kind("pods"), [p], resource_version="1", include_object="Everything", now=NOW)


def test_kind_without_printer_gets_name_and_age() -> None:
    widget = Kind("example.com", "v1", "widgets", "Widget", True)
    t = table(widget, [obj("w1", created=timedelta(minutes=3, seconds=2))], resource_version="9", now=NOW)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Age"]
    assert t["rows"][0]["cells"] == ["w1", "3m2s"]


def test_partial_object_metadata_list() -> None:
    p = pod("Pending")
    body = partial_object_metadata_list(kind("pods"), [p], "12", "next")
    assert body == {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"resourceVersion": "12", "continue": "next"},
                    "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": p["metadata"]}]}


# --- workloads -----------------------------------------------------------------------------------

TEMPLATE = {"metadata": {"labels": {"app": "demo"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}, {"name": "side", "image": "busybox"}]}}


def test_deployment_rows() -> None:
    d = obj("demo", created=timedelta(hours=2), spec={"replicas": 3, "selector": {"matchLabels": {"app": "demo"}},
                                                       "template": TEMPLATE},
            status={"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2})
    assert column_names("deployments", "apps") == ["Name", "Ready", "Up-to-date", "Available", "Age",
                                                   "Containers", "Images", "Selector"]
    assert cells("deployments", d, "apps") == ["demo", "2/3", 3, 2, "120m", "app,side", "nginx:1.25,busybox", "app=demo"]
    fresh = obj("new", spec={"replicas": 2, "template": TEMPLATE}, status={})
    assert cells("deployments", fresh, "apps")[1:4] == ["0/2", 0, 0]


def test_replicaset_and_replicationcontroller_rows() -> None:
    selector = {"matchLabels": {"app": "demo"}, "matchExpressions": [
        {"key": "tier", "operator": "NotIn", "values": ["x", "a"]}, {"key": "env", "operator": "Exists"}]}
    rs = obj("demo-abc", spec={"replicas": 2, "selector": selector, "template": TEMPLATE},
             status={"replicas": 2, "readyReplicas": 1})
    assert column_names("replicasets", "apps", priority=0) == ["Name", "Desired", "Current", "Ready", "Age"]
    assert cells("replicasets", rs, "apps") == ["demo-abc", 2, 2, 1, "5s", "app,side", "nginx:1.25,busybox",
                                                "app=demo,env,tier notin (a,x)"]
    rc = obj("old", spec={"replicas": 1, "selector": {"app": "old"}, "template": TEMPLATE}, status={"replicas": 1})
    assert cells("replicationcontrollers", rc)[1:5] == [1, 1, 0, "5s"]
    assert cells("replicationcontrollers", rc)[-1] == "app=old"


def test_statefulset_daemonset_job_cronjob_rows() -> None:
    sts = obj("db", spec={"replicas": 3, "template": TEMPLATE}, status={"readyReplicas": 1})
    assert cells("statefulsets", sts, "apps") == ["db", "1/3", "5s", "app,side", "nginx:1.25,busybox"]
    ds = obj("agent", spec={"selector": {"matchLabels": {"app": "agent"}},
                            "template": {"spec": {"nodeSelector": {"os": "linux"}, "containers": []}}},
             status={"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1,
                     "updatedNumberScheduled": 2, "numberAvailable": 1})
    assert cells("daemonsets", ds, "apps")[:8] == ["agent", 2, 2, 1, 2, 1, "os=linux", "5s"]
    job = obj("pi", created=timedelta(minutes=2), spec={"completions": 1, "template": TEMPLATE},
              status={"succeeded": 1, "startTime": ts(timedelta(seconds=100)), "completionTime": ts(timedelta(seconds=40)),
                      "conditions": [{"type": "Complete", "status": "True"}]})
    assert column_names("jobs", "batch", priority=0) == ["Name", "Status", "Completions", "Duration", "Age"]
    assert cells("jobs", job, "batch")[:5] == ["pi", "Complete", "1/1", "60s", "2m"]
    running_job = obj("par", spec={"parallelism": 3, "template": TEMPLATE}, status={"startTime": ts(timedelta(seconds=30))})
    assert cells("jobs", running_job, "batch")[1:4] == ["Running", "0/1 of 3", "30s"]
    cj = obj("nightly", spec={"schedule": "0 3 * * *", "suspend": False, "jobTemplate": {"spec": {"template": TEMPLATE}}},
             status={"active": [{"name": "x"}], "lastScheduleTime": ts(timedelta(hours=9))})
    assert cells("cronjobs", cj, "batch")[:7] == ["nightly", "0 3 * * *", "<none>", "False", 1, "9h", "5s"]


def test_hpa_and_controllerrevision_rows() -> None:
    hpa = obj("web", spec={"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5,
                           "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                               "type": "Utilization", "averageUtilization": 50}}}]},
              status={"currentReplicas": 2, "currentMetrics": [{"type": "Resource", "resource": {
                  "name": "cpu", "current": {"averageUtilization": 12}}}]})
    assert cells("horizontalpodautoscalers", hpa, "autoscaling") == ["web", "Deployment/web", "cpu: 12%/50%", "1", 5, 2, "5s"]
    unmeasured = obj("x", spec={"scaleTargetRef": {"kind": "Deployment", "name": "x"}, "maxReplicas": 3, "metrics": [
        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}}]})
    assert cells("horizontalpodautoscalers", unmeasured, "autoscaling")[2:4] == ["memory: <unknown>/80%", "<unset>"]
    cr = obj("db-7f", metadata={"ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db",
                                                     "controller": True}]}, revision=2)
    assert cells("controllerrevisions", cr, "apps") == ["db-7f", "statefulset.apps/db", 2, "5s"]


# --- services ------------------------------------------------------------------------------------

def svc(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return obj("web", spec=spec, status=status or {})


def test_service_rows() -> None:
    assert column_names("services") == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]
    cluster_ip = svc({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                      "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}], "selector": {"app": "web"}})
    assert cells("services", cluster_ip) == ["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "5s", "app=web"]
    node_port = svc({"type": "NodePort", "clusterIPs": ["10.96.0.11"], "ports": [
        {"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]})
    assert cells("services", node_port)[1:5] == ["NodePort", "10.96.0.11", "<none>", "80:30080/TCP,53/UDP"]
    pending = svc({"type": "LoadBalancer", "clusterIPs": ["10.96.0.12"], "ports": [{"port": 443, "nodePort": 31443}]})
    assert cells("services", pending)[3:5] == ["<pending>", "443:31443/TCP"]
    lb = svc({"type": "LoadBalancer", "clusterIPs": ["10.96.0.12"], "ports": [{"port": 443, "protocol": "TCP"}]},
             {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}, {"ip": "203.0.113.1"}]}})
    assert cells("services", lb)[3] == "203.0.113.1,203.0.113.9,lb.example.com"
    external = svc({"type": "ClusterIP", "clusterIPs": ["10.96.0.13"], "externalIPs": ["1.2.3.4"], "ports": []})
    assert cells("services", external)[3:5] == ["1.2.3.4", "<none>"]
    headless = svc({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 5432, "protocol": "TCP"}]})
    assert cells("services", headless)[2] == "None"
    named = svc({"type": "ExternalName", "externalName": "db.example.com"})
    assert cells("services", named)[1:5] == ["ExternalName", "<none>", "db.example.com", "<none>"]
    assert cells("services", named)[-1] == "<none>"


# --- cluster objects -----------------------------------------------------------------------------

def node(conditions: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    info = {"kubeletVersion": "v1.32.4-jetkube", "osImage": "Debian GNU/Linux 12", "kernelVersion": "6.1.0",
            "containerRuntimeVersion": "docker://27.0.3"}
    return obj("node-1", created=timedelta(days=2, hours=3),
               status={"conditions": conditions, "nodeInfo": info,
                       "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "n1"}]},
               **extra)


def test_node_rows() -> None:
    ready = node([{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}])
    assert cells("nodes", ready) == ["node-1", "Ready", "<none>", "2d3h", "v1.32.4-jetkube", "192.168.1.10", "<none>",
                                     "Debian GNU/Linux 12", "6.1.0", "docker://27.0.3"]
    assert cells("nodes", node([{"type": "Ready", "status": "False"}]))[1] == "NotReady"
    assert cells("nodes", node([{"type": "Ready", "status": "Unknown"}]))[1] == "NotReady"
    assert cells("nodes", node([]))[1] == "Unknown"
    cordoned = node([{"type": "Ready", "status": "True"}], spec={"unschedulable": True},
                    metadata={"labels": {"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "",
                                         "kubernetes.io/role": "edge"}})
    assert cells("nodes", cordoned)[1:3] == ["Ready,SchedulingDisabled", "control-plane,edge,worker"]
    assert column_names("nodes", priority=1) == ["Internal-IP", "External-IP", "OS-Image", "Kernel-Version",
                                                 "Container-Runtime"]


def test_namespace_configmap_secret_serviceaccount_rows() -> None:
    assert cells("namespaces", obj("default", status={"phase": "Active"})) == ["default", "Active", "5s"]
    assert cells("configmaps", obj("cfg", data={"a": "1", "b": "2"}, binaryData={"c": "AA=="})) == ["cfg", 3, "5s"]
    assert cells("secrets", obj("s", type="kubernetes.io/tls", data={"tls.crt": "x", "tls.key": "y"})) == [
        "s", "kubernetes.io/tls", 2, "5s"]
    assert cells("serviceaccounts", obj("default")) == ["default", 0, "5s"]
    assert column_names("secrets") == ["Name", "Type", "Data", "Age"]


def test_event_rows() -> None:
    ev = obj("web.17a", type="Warning", reason="BackOff", message="Back-off restarting failed container\n",
             involvedObject={"kind": "Pod", "name": "web", "namespace": "default", "fieldPath": "spec.containers{c}"},
             source={"component": "kubelet", "host": "node-1"}, count=4,
             firstTimestamp=ts(timedelta(minutes=30)), lastTimestamp=ts(timedelta(seconds=40)))
    assert column_names("events", priority=0) == ["Last Seen", "Type", "Reason", "Object", "Message"]
    assert column_names("events", priority=1) == ["Subobject", "Source", "First Seen", "Count", "Name"]
    assert cells("events", ev) == ["40s", "Warning", "BackOff", "pod/web", "spec.containers{c}", "kubelet, node-1",
                                   "Back-off restarting failed container", "30m", 4, "web.17a"]
    new_style = obj("e2", type="Normal", reason="Scheduled", message="ok", eventTime="2024-05-01T11:59:00.000000Z",
                    involvedObject={"kind": "Pod", "name": "web"}, reportingComponent="default-scheduler")
    assert cells("events", new_style)[:4] == ["60s", "Normal", "Scheduled", "pod/web"]
    assert cells("events", new_style)[5] == "default-scheduler" and cells("events", new_style)[8] == 1


def test_endpoints_and_endpointslice_rows() -> None:
    ep = obj("web", subsets=[{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 5)],
                              "ports": [{"port": 80, "protocol": "TCP"}]}])
    assert cells("endpoints", ep) == ["web", "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...", "5s"]
    assert cells("endpoints", obj("none")) == ["none", "<none>", "5s"]
    es = obj("web-abc", addressType="IPv4", ports=[{"port": 80}, {"name": "http"}],
             endpoints=[{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]}])
    assert cells("endpointslices", es, "discovery.k8s.io") == ["web-abc", "IPv4", "80,http", "10.0.0.1,10.0.0.2", "5s"]
    assert cells("endpointslices", obj("empty", addressType="IPv4"), "discovery.k8s.io")[2:4] == ["<unset>", "<unset>"]


def test_storage_lease_ingress_rows() -> None:
    pv = obj("pv1", spec={"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                          "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": "default", "name": "data"},
                          "storageClassName": "local"}, status={"phase": "Bound"})
    assert cells("persistentvolumes", pv) == ["pv1", "1Gi", "RWO,RWX", "Retain", "Bound", "default/data", "local",
                                              "<unset>", "", "5s", "<unset>"]
    pvc = obj("data", spec={"volumeName": "pv1", "storageClassName": "local"},
              status={"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]})
    assert cells("persistentvolumeclaims", pvc) == ["data", "Bound", "pv1", "1Gi", "RWO", "local", "<unset>", "5s", "<unset>"]
    lease = obj("node-1", spec={"holderIdentity": "node-1", "leaseDurationSeconds": 40})
    assert cells("leases", lease, "coordination.k8s.io") == ["node-1", "node-1", "5s"]
    ing = obj("web", spec={"ingressClassName": "nginx", "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}],
                           "tls": [{"hosts": ["a.example.com"]}]},
              status={"loadBalancer": {"ingress": [{"ip": "203.0.113.5"}]}})
    assert cells("ingresses", ing, "networking.k8s.io") == ["web", "nginx", "a.example.com,b.example.com", "203.0.113.5",
                                                            "80, 443", "5s"]
    assert cells("ingresses", obj("any"), "networking.k8s.io")[1:5] == ["<none>", "*", "", "80"]


def test_every_registry_kind_has_a_table() -> None:
    for k in REGISTRY.kinds:
        t = table(k, [obj("x")], resource_version="1", now=NOW)
        assert len(t["rows"][0]["cells"]) == len(t["columnDefinitions"]), k.resource
        assert any(c["format"] == "name" for c in t["columnDefinitions"]), k.resource


# --- Accept negotiation --------------------------------------------------------------------------

def test_kubectl_get_asks_for_a_v1_table() -> None:
    assert wants_table(KUBECTL_TABLE_ACCEPT)
    assert table_api_version(KUBECTL_TABLE_ACCEPT) == "meta.k8s.io/v1"


def test_v1beta1_table_and_protobuf_first() -> None:
    beta = "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
    assert wants_table(beta) and table_api_version(beta) == "meta.k8s.io/v1beta1"
    protobuf_first = "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io," + KUBECTL_TABLE_ACCEPT
    assert wants_table(protobuf_first)
    assert not wants_table("application/vnd.kubernetes.protobuf,application/json")


@pytest.mark.parametrize("accept", [
    "", "application/json", "application/json, */*", "*/*",
    "application/json,application/json;as=Table;v=v1;g=meta.k8s.io",
    "application/json;as=Table;v=v2;g=meta.k8s.io,application/json",
])
def test_plain_requests_do_not_get_tables(accept: str) -> None:
    assert not wants_table(accept)
    assert table_api_version(accept) == "meta.k8s.io/v1"


def test_q_values_order_preferences() -> None:
    accept = "application/json;q=0.5,application/json;as=Table;v=v1;g=meta.k8s.io;q=0.9"
    assert wants_table(accept)
    assert [m.q for m in parse_accept(accept)] == [0.9, 0.5]
    assert not wants_table("application/json;as=Table;v=v1;g=meta.k8s.io;q=0,application/json")


def test_partial_object_metadata_negotiation() -> None:
    accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"
    assert wants_partial_metadata(accept) == "meta.k8s.io/v1"
    assert not wants_table(accept)
    assert wants_partial_metadata(KUBECTL_TABLE_ACCEPT) is None
    single = "application/json;as=PartialObjectMetadata;v=v1beta1;g=meta.k8s.io"
    assert wants_partial_metadata(single, list_=False) == "meta.k8s.io/v1beta1"
