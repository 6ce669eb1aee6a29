"""Defaulting: the values Kubernetes fills in before validation, applied in place to object dicts.

Follows k8s.io/kubernetes pkg/apis/*/v1/defaults.go plus what the create strategies and default
admission plugins add to what a client reads back (pod priority and preemption policy, pod
status phase and QoS class, namespace finalizer, Job selector); `default_tolerations` is the
DefaultTolerationSeconds plugin, separate because its seconds are an API server setting. `apply_defaults` is idempotent and runs on create and on update; it only fills what is
absent (or the Go zero value), never overwrites. Cluster IPs and node ports are allocated by the
API server (core.ipalloc), not here. Values are taken as valid types: run `core.fields.decode_errors`
first; anything of the wrong shape is left alone.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Callable

from core.kinds import Kind
from core.schema.quantity import QuantityError, parse_quantity

Obj = dict[str, Any]

DEFAULT_TOLERATION_SECONDS = 300
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
SYSTEM_PRIORITIES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
JOB_UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")
JOB_NAME_LABELS = ("job-name", "batch.kubernetes.io/job-name")
_VOLUME_SOURCES = (
    "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "configMap", "csi", "downwardAPI",
    "emptyDir", "ephemeral", "fc", "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs",
    "hostPath", "image", "iscsi", "nfs", "persistentVolumeClaim", "photonPersistentDisk", "portworxVolume",
    "projected", "quobyte", "rbd", "scaleIO", "secret", "storageos", "vsphereVolume",
)


def apply_defaults(kind: Kind, obj: Obj) -> None:
    """Fill Kubernetes' defaults into `obj` (in place, idempotent)."""
    if not isinstance(obj, dict):
        return
    fn = _DEFAULTERS.get((kind.group, kind.kind))
    if fn is not None:
        fn(obj)


def preserve_allocations(kind: Kind, new: Obj, old: Obj) -> None:
    """On a Service update, keep what the server allocated and the client left out (in place).

    Kubernetes' service REST does this before validation: an update without `clusterIP` keeps the
    old one (unless the type changes to or from ExternalName), a port without `nodePort` keeps the
    node port of the old port with the same port number and protocol, and `healthCheckNodePort`
    survives. Other kinds are left alone.
    """
    if (kind.group, kind.kind) != ("", "Service"):
        return
    spec, old_spec = _sub(new, "spec"), _sub(old, "spec")
    if spec is None or old_spec is None:
        return
    new_type, old_type = spec.get("type") or "ClusterIP", old_spec.get("type") or "ClusterIP"
    if "ExternalName" not in (new_type, old_type) and not spec.get("clusterIP") and not spec.get("clusterIPs"):
        for key in ("clusterIP", "clusterIPs"):
            if old_spec.get(key):
                spec[key] = old_spec[key]
    if new_type in ("NodePort", "LoadBalancer"):
        old_ports = {(p.get("port"), p.get("protocol") or "TCP"): p.get("nodePort") for p in _items(old_spec, "ports")}
        for port in _items(spec, "ports"):
            if not port.get("nodePort"):
                carried = old_ports.get((port.get("port"), port.get("protocol") or "TCP"))
                if carried:
                    port["nodePort"] = carried
        if not spec.get("healthCheckNodePort") and old_spec.get("healthCheckNodePort"):
            spec["healthCheckNodePort"] = old_spec["healthCheckNodePort"]


# ---- dict helpers -------------------------------------------------------------------------------


def _sub(parent: Any, key: str) -> Obj | None:
    """parent[key] if it is an object, else None."""
    if isinstance(parent, dict):
        v = parent.get(key)
        if isinstance(v, dict):
            return v
    return None


def _ensure(parent: Obj, key: str) -> Obj | None:
    """parent[key], created as {} when absent; None when it holds something else."""
    if parent.get(key) is None:
        parent[key] = {}
    v = parent[key]
    return v if isinstance(v, dict) else None


def _items(parent: Any, key: str) -> list[Obj]:
    if isinstance(parent, dict) and isinstance(parent.get(key), list):
        return [x for x in parent[key] if isinstance(x, dict)]
    return []


def _unset(obj: Obj, key: str, value: Any) -> None:
    """Default a Go pointer field: only when absent or null."""
    if obj.get(key) is None:
        obj[key] = value


def _empty(obj: Obj, key: str, value: Any) -> None:
    """Default a Go value field: also when it holds the zero value ("" or 0)."""
    current = obj.get(key)
    if current is None or current == "" or (current == 0 and not isinstance(current, bool)):
        obj[key] = value


# ---- pod spec -----------------------------------------------------------------------------------

_IMAGE_REF = re.compile(
    r"(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
    r"(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?"
)


def image_tag(image: str) -> str:
    """The tag Kubernetes' ParseImageName sees: "latest" when neither tag nor digest, "" if unparsable."""
    m = _IMAGE_REF.fullmatch(image)
    if not m:
        return ""
    tag, digest = m.group("tag"), m.group("digest")
    if tag:
        return tag
    return "" if digest else "latest"


def default_pull_policy(image: str) -> str:
    return "Always" if image_tag(image) == "latest" else "IfNotPresent"


def _http_get(action: Obj | None) -> None:
    if action is not None:
        _empty(action, "path", "/")
        _empty(action, "scheme", "HTTP")


def _handler(h: Obj | None) -> None:
    if h is not None:
        _http_get(_sub(h, "httpGet"))
        grpc = _sub(h, "grpc")
        if grpc is not None:
            _unset(grpc, "service", "")


def _probe(p: Obj | None) -> None:
    if p is None:
        return
    _handler(p)
    _empty(p, "timeoutSeconds", 1)
    _empty(p, "periodSeconds", 10)
    _empty(p, "successThreshold", 1)
    _empty(p, "failureThreshold", 3)


def _field_ref(holder: Obj | None) -> None:
    ref = _sub(holder, "fieldRef")
    if ref is not None:
        _empty(ref, "apiVersion", "v1")


def _container(c: Obj) -> None:
    if c.get("imagePullPolicy") in (None, ""):
        image = c.get("image")
        c["imagePullPolicy"] = default_pull_policy(image if isinstance(image, str) else "")
    _empty(c, "terminationMessagePath", "/dev/termination-log")
    _empty(c, "terminationMessagePolicy", "File")
    _unset(c, "resources", {})
    for port in _items(c, "ports"):
        _empty(port, "protocol", "TCP")
    for env in _items(c, "env"):
        _field_ref(_sub(env, "valueFrom"))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(_sub(c, probe))
    lifecycle = _sub(c, "lifecycle")
    _handler(_sub(lifecycle, "postStart"))
    _handler(_sub(lifecycle, "preStop"))


def _downward_items(src: Obj | None) -> None:
    for item in _items(src, "items"):
        _field_ref(item)


def _volume(v: Obj) -> None:
    if all(v.get(s) is None for s in _VOLUME_SOURCES):
        v["emptyDir"] = {}
    for source in ("secret", "configMap", "downwardAPI", "projected"):
        src = _sub(v, source)
        if src is not None:
            _unset(src, "defaultMode", 420)
    _downward_items(_sub(v, "downwardAPI"))
    for proj in _items(_sub(v, "projected"), "sources"):
        _downward_items(_sub(proj, "downwardAPI"))
        token = _sub(proj, "serviceAccountToken")
        if token is not None:
            _unset(token, "expirationSeconds", 3600)
    _host_path(_sub(v, "hostPath"))
    iscsi = _sub(v, "iscsi")
    if iscsi is not None:
        _empty(iscsi, "iscsiInterface", "default")
    rbd = _sub(v, "rbd")
    if rbd is not None:
        _empty(rbd, "pool", "rbd")
        _empty(rbd, "user", "admin")
        _empty(rbd, "keyring", "/etc/ceph/keyring")
    claim = _sub(_sub(v, "ephemeral"), "volumeClaimTemplate")
    spec = _sub(claim, "spec")
    if spec is not None:
        _unset(spec, "volumeMode", "Filesystem")


def _host_path(hp: Obj | None) -> None:
    if hp is not None:
        _unset(hp, "type", "")


def pod_spec_defaults(spec: Obj) -> None:
    """SetDefaults_PodSpec and everything under it: applies to pods and to every pod template."""
    _empty(spec, "dnsPolicy", "ClusterFirst")
    _empty(spec, "restartPolicy", "Always")
    _unset(spec, "securityContext", {})
    _unset(spec, "terminationGracePeriodSeconds", 30)
    _empty(spec, "schedulerName", "default-scheduler")
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in _items(spec, key):
            _container(c)
    for v in _items(spec, "volumes"):
        _volume(v)


def _template(parent: Obj | None, key: str = "template") -> None:
    spec = _sub(_sub(parent, key), "spec")
    if spec is not None:
        pod_spec_defaults(spec)


# ---- pods ----------------------------------------------------------------------------------------


def _pod(obj: Obj) -> None:
    spec = _ensure(obj, "spec")
    if spec is None:
        return
    pod_spec_defaults(spec)
    for key in ("containers", "initContainers"):
        for c in _items(spec, key):
            resources = _sub(c, "resources")
            limits = _sub(resources, "limits")
            if resources is not None and limits is not None:
                requests = _ensure(resources, "requests")
                if requests is not None:
                    for name, value in limits.items():
                        requests.setdefault(name, value)
    _unset(spec, "enableServiceLinks", True)
    if spec.get("hostNetwork") is True:
        for key in ("containers", "initContainers"):
            for c in _items(spec, key):
                for port in _items(c, "ports"):
                    _empty(port, "hostPort", port.get("containerPort", 0))
    if spec.get("priority") is None:
        spec["priority"] = SYSTEM_PRIORITIES.get(str(spec.get("priorityClassName") or ""), 0)
    _unset(spec, "preemptionPolicy", "PreemptLowerPriority")
    status = _ensure(obj, "status")
    if status is not None:
        _empty(status, "phase", "Pending")
        _empty(status, "qosClass", pod_qos_class(spec))


def default_tolerations(obj: Obj, *, not_ready: int = DEFAULT_TOLERATION_SECONDS,
                        unreachable: int = DEFAULT_TOLERATION_SECONDS) -> None:
    """The DefaultTolerationSeconds admission plugin: a pod that says nothing about the not-ready and
    unreachable NoExecute taints is evicted that many seconds after its node gets one (300 s unless the
    API server is told otherwise)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    tolerations = spec.get("tolerations")
    if tolerations is None:
        tolerations = []
    if not isinstance(tolerations, list):
        return
    for taint, seconds in ((NOT_READY_TAINT, not_ready), (UNREACHABLE_TAINT, unreachable)):
        tolerated = any(
            isinstance(t, dict) and t.get("key") in (taint, "", None) and t.get("effect") in ("NoExecute", "", None)
            for t in tolerations
        )
        if not tolerated:
            tolerations.append({"key": taint, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": seconds})
    spec["tolerations"] = tolerations


def pod_qos_class(spec: Obj) -> str:
    """Kubernetes' ComputePodQOS over containers and init containers (cpu and memory only)."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    guaranteed = True
    for key in ("containers", "initContainers"):
        for c in _items(spec, key):
            res = _sub(c, "resources") or {}
            for name, raw in (_sub(res, "requests") or {}).items():
                q = _positive(name, raw)
                if q is not None:
                    requests[name] = requests.get(name, 0) + q
            found = set()
            for name, raw in (_sub(res, "limits") or {}).items():
                q = _positive(name, raw)
                if q is not None:
                    found.add(name)
                    limits[name] = limits.get(name, 0) + q
            if not {"cpu", "memory"} <= found:
                guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(n) == v for n, v in requests.items()) and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def _positive(name: str, raw: Any) -> Any:
    if name not in ("cpu", "memory"):
        return None
    try:
        value = parse_quantity(raw).value
    except (QuantityError, TypeError):
        return None
    return value if value > 0 else None


# ---- workloads -------------------------------------------------------------------------------


def _deployment(obj: Obj) -> None:
    spec = _ensure(obj, "spec")
    if spec is None:
        return
    _unset(spec, "replicas", 1)
    strategy = _ensure(spec, "strategy")
    if strategy is not None:
        _empty(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            ru = _ensure(strategy, "rollingUpdate")
            if ru is not None:
                _unset(ru, "maxUnavailable", "25%")
                _unset(ru, "maxSurge", "25%")
    _unset(spec, "revisionHistoryLimit", 10)
    _unset(spec, "progressDeadlineSeconds", 600)
    _template(spec)


def _replica_set(obj: Obj) -> None:
    spec = _ensure(obj, "spec")
    if spec is not None:
        _unset(spec, "replicas", 1)
        _template(spec)


def _replication_controller(obj: Obj) -> None:
    spec = _ensure(obj, "spec")
    if spec is None:
        return
    labels = _sub(_sub(spec, "template"), "metadata")
    template_labels = labels.get("labels") if labels is not None else None
    if isinstance(template_labels, dict):
        if not spec.get("selector"):
            spec["selector"] = dict(template_labels)
        meta = _ensure(obj, "metadata")
        if meta is not None and not meta.get("labels"):
            meta["labels"] = dict(template_labels)
    _unset(spec, "replicas", 1)
    _template(spec)


def _daemon_set(obj: Obj) -> None:
    spec = _ensure(obj, "spec")
    if spec is None:
        return
    strategy = _ensure(spec, "updateStrategy")
    if strategy is not None:
        _empty(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            ru = _ensure(strategy, "rollingUpdate")
            if ru is not None:
                _unset(ru, "maxUnavailable", 1)
                _unset(ru, "maxSurge", 0)
    _unset(spec, "revisionHistoryLimit", 10)
    _template(spec)


def _stateful_set(obj: Obj) -> None:
    spec = _ensure(obj, "spec")
    if spec is None:
        return
    _unset(spec, "replicas", 1)
    _empty(spec, "podManagementPolicy", "OrderedReady")
    strategy = _ensure(spec, "updateStrategy")
    if strategy is not None:
        _empty(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            ru = _ensure(strategy, "rollingUpdate")
            if ru is not None:
                _unset(ru, "partition", 0)
    _unset(spec, "revisionHistoryLimit", 10)
    retention = _ensure(spec, "persistentVolumeClaimRetentionPolicy")
    if retention is not None:
        _empty(retention, "whenDeleted", "Retain")
        _empty(retention, "whenScaled", "Retain")
    for claim in _items(spec, "volumeClaimTemplates"):
        _pvc(claim)
    _template(spec)


def _job(obj: Obj) -> None:
    spec = _ensure(obj, "spec")
    if spec is None:
        return
    _job_spec(spec)
    meta = _ensure(obj, "metadata")
    if meta is None:
        return
    if spec.get("manualSelector") is not True and meta.get("uid"):
        _generate_job_selector(spec, str(meta.get("name") or ""), str(meta["uid"]))
    template_meta = _sub(_sub(spec, "template"), "metadata")
    labels = template_meta.get("labels") if template_meta is not None else None
    if isinstance(labels, dict) and not meta.get("labels"):
        meta["labels"] = dict(labels)


def _job_spec(spec: Obj) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    _unset(spec, "parallelism", 1)
    _unset(spec, "backoffLimit", 2**31 - 1 if spec.get("backoffLimitPerIndex") is not None else 6)
    _unset(spec, "completionMode", "NonIndexed")
    _unset(spec, "suspend", False)
    _unset(spec, "manualSelector", False)
    policy = _sub(spec, "podFailurePolicy")
    for rule in _items(policy, "rules"):
        for pattern in _items(rule, "onPodConditions"):
            _empty(pattern, "status", "True")
    _unset(spec, "podReplacementPolicy", "Failed" if policy is not None else "TerminatingOrFailed")
    _template(spec)


def _generate_job_selector(spec: Obj, name: str, uid: str) -> None:
    """The Job strategy's generateSelector: pods carry the job's uid and name; select by uid."""
    template = _ensure(spec, "template")
    meta = _ensure(template, "metadata") if template is not None else None
    labels = _ensure(meta, "labels") if meta is not None else None
    selector = _ensure(spec, "selector")
    match = _ensure(selector, "matchLabels") if selector is not None else None
    if labels is None or match is None:
        return
    for key in JOB_NAME_LABELS:
        labels.setdefault(key, name)
    for key in JOB_UID_LABELS:
        labels.setdefault(key, uid)
    match.setdefault(JOB_UID_LABELS[1], uid)


def _cron_job(obj: Obj) -> None:
    spec = _ensure(obj, "spec")
    if spec is None:
        return
    _empty(spec, "concurrencyPolicy", "Allow")
    _unset(spec, "suspend", False)
    _unset(spec, "successfulJobsHistoryLimit", 3)
    _unset(spec, "failedJobsHistoryLimit", 1)
    _template(_sub(_sub(spec, "jobTemplate"), "spec"))


# ---- services, config, cluster objects ---------------------------------------------------------


def _service(obj: Obj) -> None:
    spec = _ensure(obj, "spec")
    if spec is None:
        return
    _empty(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        client_ip = _sub(_sub(spec, "sessionAffinityConfig"), "clientIP")
        if client_ip is None or client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    _empty(spec, "type", "ClusterIP")
    svc_type = spec["type"]
    for port in _items(spec, "ports"):
        _empty(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port", 0)
    externally = svc_type in ("NodePort", "LoadBalancer") or (svc_type == "ClusterIP" and spec.get("externalIPs"))
    if externally:
        _empty(spec, "externalTrafficPolicy", "Cluster")
    if svc_type in ("ClusterIP", "NodePort", "LoadBalancer"):
        _unset(spec, "internalTrafficPolicy", "Cluster")
    if svc_type == "LoadBalancer":
        _unset(spec, "allocateLoadBalancerNodePorts", True)
        for ing in _items(_sub(_sub(obj, "status"), "loadBalancer"), "ingress"):
            if ing.get("ip"):
                _unset(ing, "ipMode", "VIP")
    if svc_type == "ExternalName":
        return
    cluster_ip = spec.get("clusterIP")
    cluster_ips = spec.get("clusterIPs")
    if cluster_ip and not cluster_ips:
        spec["clusterIPs"] = [cluster_ip]
    elif not cluster_ip and isinstance(cluster_ips, list) and cluster_ips:
        spec["clusterIP"] = cluster_ips[0]
    headless_without_selector = spec.get("clusterIP") == "None" and not spec.get("selector")
    _unset(spec, "ipFamilyPolicy", "RequireDualStack" if headless_without_selector else "SingleStack")
    _unset(spec, "ipFamilies", ["IPv4"])


def _secret(obj: Obj) -> None:
    _empty(obj, "type", "Opaque")
    string_data = obj.get("stringData")
    if isinstance(string_data, dict):
        data = _ensure(obj, "data")
        if data is not None:
            for key, value in string_data.items():
                if isinstance(value, str):
                    data[key] = base64.b64encode(value.encode("utf-8")).decode("ascii")
            del obj["stringData"]


def _namespace(obj: Obj) -> None:
    meta = _ensure(obj, "metadata")
    if meta is None:
        return
    name = meta.get("name")
    if isinstance(name, str) and name:
        labels = _ensure(meta, "labels")
        if labels is not None:
            labels["kubernetes.io/metadata.name"] = name
    spec = _ensure(obj, "spec")
    # Only before deletion starts: the namespace controller removes "kubernetes" while finalizing.
    if spec is not None and not meta.get("deletionTimestamp") and spec.get("finalizers") is None:
        spec["finalizers"] = ["kubernetes"]
    status = _ensure(obj, "status")
    if status is not None:
        _empty(status, "phase", "Active")


def _node(obj: Obj) -> None:
    status = _sub(obj, "status")
    if status is not None and status.get("allocatable") is None and isinstance(status.get("capacity"), dict):
        status["allocatable"] = dict(status["capacity"])


def _pv(obj: Obj) -> None:
    spec = _ensure(obj, "spec")
    if spec is not None:
        _empty(spec, "persistentVolumeReclaimPolicy", "Retain")
        _unset(spec, "volumeMode", "Filesystem")
        _host_path(_sub(spec, "hostPath"))
    status = _ensure(obj, "status")
    if status is not None:
        _empty(status, "phase", "Pending")


def _pvc(obj: Obj) -> None:
    spec = _ensure(obj, "spec")
    if spec is not None:
        _unset(spec, "volumeMode", "Filesystem")
    status = _ensure(obj, "status")
    if status is not None:
        _empty(status, "phase", "Pending")


def _endpoints(obj: Obj) -> None:
    for subset in _items(obj, "subsets"):
        for port in _items(subset, "ports"):
            _empty(port, "protocol", "TCP")


def _endpoint_slice(obj: Obj) -> None:
    for port in _items(obj, "ports"):
        _unset(port, "name", "")
        _unset(port, "protocol", "TCP")


def _pod_template(obj: Obj) -> None:
    _template(obj)


_SCALE_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
    {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]}
_SCALE_DOWN = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _hpa(obj: Obj) -> None:
    spec = _ensure(obj, "spec")
    if spec is None:
        return
    _unset(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    behavior = _sub(spec, "behavior")
    if behavior is not None:
        for key, rules in (("scaleUp", _SCALE_UP), ("scaleDown", _SCALE_DOWN)):
            current = _ensure(behavior, key)
            if current is None:
                continue
            for field, value in rules.items():
                if current.get(field) is None:
                    current[field] = [dict(p) for p in value] if isinstance(value, list) else value


_DEFAULTERS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("", "Pod"): _pod,
    ("", "PodTemplate"): _pod_template,
    ("", "Service"): _service,
    ("", "Secret"): _secret,
    ("", "Namespace"): _namespace,
    ("", "Node"): _node,
    ("", "PersistentVolume"): _pv,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "Endpoints"): _endpoints,
    ("", "ReplicationController"): _replication_controller,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cron_job,
    ("discovery.k8s.io", "EndpointSlice"): _endpoint_slice,
    ("autoscaling", "HorizontalPodAutoscaler"): _hpa,
}
