"""core/v1 validation beyond metadata: Pod, PodTemplate, Service, Namespace, Node, ConfigMap, Secret,
Event, Endpoints, ReplicationController, PersistentVolume, PersistentVolumeClaim.

Ported from k8s.io/kubernetes pkg/apis/core/validation with its paths and messages. Each rule takes
a `Subject` (new dict + typed view, old ones on update) and returns causes.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from core.errors import Cause
from core.schema import core_v1 as m
from core.schema import formats
from core.schema.causes import (
    DUPLICATE, GoValue, duplicate, each, forbidden, go_int_or_string, go_quote, immutable, invalid, nonnegative,
    not_supported, required, too_long,
)
from core.schema.quantity import QuantityError, canonical, parse_quantity
from core.schema.rules.common import Subject, as_dict, semantic_equal, validate_label_selector, validate_labels
from core.schema.rules.meta import validate_finalizer_name
from core.schema.rules.pod import (
    PROTOCOLS, TAINT_EFFECTS, port_num_or_name, validate_pod_spec, validate_pod_template, validate_pod_update,
)

MAX_SECRET_SIZE = 1024 * 1024
NODE_PORT_RANGE = (30000, 32767)
SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"


# ---- pods ------------------------------------------------------------------------------------------


def pod(s: Subject) -> list[Cause]:
    out = validate_pod_spec(s.model.spec, "spec")
    if not s.updating:
        if s.model.spec.ephemeral_containers:
            out.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
        return out
    return out + validate_pod_update(s.raw, s.old_raw or {}, s.model.spec, s.old_model.spec)


def pod_template(s: Subject) -> list[Cause]:
    return validate_pod_template(s.model.template, "template")


# ---- services -------------------------------------------------------------------------------------


def service(s: Subject) -> list[Cause]:
    spec: m.ServiceSpec = s.model.spec
    out: list[Cause] = []
    if s.updating:
        old_ips = s.old_model.spec.cluster_ips or []
        new_ips = spec.cluster_ips or []
        if "ExternalName" not in (spec.type, s.old_model.spec.type) and old_ips and new_ips and new_ips[0] != old_ips[0]:
            out.append(invalid("spec.clusterIPs[0]", new_ips, "may not change once set"))
    headless = (spec.cluster_ips or [""])[0] == "None" or spec.cluster_ip == "None"
    ports = spec.ports or []
    if not ports and not headless and spec.type != "ExternalName":
        out.append(required("spec.ports"))
    if spec.type == "LoadBalancer":
        if headless:
            out.append(invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for LoadBalancer services"))
        for i, port in enumerate(ports):
            if port.port == 10250:
                out.append(invalid(f"spec.ports[{i}]", port.port, "may not expose port 10250 externally since it is used by kubelet"))
    elif spec.type == "NodePort" and headless:
        out.append(invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for NodePort services"))
    elif spec.type == "ExternalName":
        if spec.cluster_ips:
            out.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        if spec.ip_families:
            out.append(forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
        if spec.ip_family_policy is not None:
            out.append(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
        cname = spec.external_name.removesuffix(".")
        if cname:
            out += each("spec.externalName", cname, formats.is_dns1123_subdomain(cname))
        else:
            out.append(required("spec.externalName"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        out += _service_port(port, len(ports) > 1, names, f"spec.ports[{i}]")
    out += validate_labels(spec.selector, "spec.selector")
    if not spec.session_affinity:
        out.append(required("spec.sessionAffinity"))
    elif spec.session_affinity not in ("ClientIP", "None"):
        out.append(not_supported("spec.sessionAffinity", spec.session_affinity, ("ClientIP", "None")))
    if spec.session_affinity == "ClientIP":
        timeout = ((spec.session_affinity_config or {}).get("clientIP") or {}).get("timeoutSeconds")
        if not isinstance(timeout, int) or not 0 < timeout <= 86400:
            out.append(invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout,
                               "must be greater than 0 and less than 86400"))
    elif spec.session_affinity == "None" and spec.session_affinity_config is not None:
        out.append(forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"))
    out += _cluster_ips(spec)
    for i, ip in enumerate(spec.external_ips or []):
        out += each(f"spec.externalIPs[{i}]", ip, formats.is_valid_ip(ip))
    if not spec.type:
        out.append(required("spec.type"))
    elif spec.type not in SERVICE_TYPES:
        out.append(not_supported("spec.type", spec.type, SERVICE_TYPES))
    out += _node_ports(spec)
    seen: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        key = (port.protocol, port.port)
        if key in seen:
            out.append(duplicate(f"spec.ports[{i}]", GoValue(
                f'core.ServicePort{{Name:"", Protocol:{go_quote(port.protocol)}, AppProtocol:(*string)(nil), '
                f'Port:{port.port}, TargetPort:{go_int_or_string(0)}, NodePort:0}}')))
        seen.add(key)
    out += _traffic_policies(spec)
    return out


def _service_port(port: m.ServicePort, require_name: bool, names: set[str], path: str) -> list[Cause]:
    out: list[Cause] = []
    if require_name and not port.name:
        out.append(required(f"{path}.name"))
    elif port.name:
        out += each(f"{path}.name", port.name, formats.is_dns1123_label(port.name))
        if port.name in names:
            out.append(duplicate(f"{path}.name", port.name))
        names.add(port.name)
    out += each(f"{path}.port", port.port, formats.is_valid_port_num(port.port))
    if not port.protocol:
        out.append(required(f"{path}.protocol"))
    elif port.protocol not in PROTOCOLS:
        out.append(not_supported(f"{path}.protocol", port.protocol, PROTOCOLS))
    out += port_num_or_name(port.target_port, f"{path}.targetPort")
    if port.app_protocol is not None:
        out += each(f"{path}.appProtocol", port.app_protocol, formats.is_qualified_name(port.app_protocol))
    return out


def _cluster_ips(spec: m.ServiceSpec) -> list[Cause]:
    if spec.type == "ExternalName":
        return []
    out: list[Cause] = []
    ips = spec.cluster_ips or []
    if spec.cluster_ip:
        if not ips:
            out.append(required("spec.clusterIPs"))
        elif ips[0] != spec.cluster_ip:
            out.append(invalid("spec.clusterIPs", ips, "first value must match `clusterIP`"))
    elif ips:
        out.append(invalid("spec.clusterIPs", ips, "must be empty when `clusterIP` is not specified"))
    seen: set[str] = set()
    for i, family in enumerate(spec.ip_families or []):
        if family not in ("IPv4", "IPv6"):
            out.append(not_supported(f"spec.ipFamilies[{i}]", family, ("IPv4", "IPv6")))
        if family in seen:
            out.append(duplicate(f"spec.ipFamilies[{i}]", family))
        seen.add(family)
    policies = ("PreferDualStack", "RequireDualStack", "SingleStack")
    if spec.ip_family_policy is not None and spec.ip_family_policy not in policies:
        out.append(not_supported("spec.ipFamilyPolicy", spec.ip_family_policy, policies))
    for i, ip in enumerate(ips):
        if i == 0 and ip == "None":
            if len(ips) > 1:
                out.append(invalid("spec.clusterIPs", ips, "'None' must be the first and only value"))
            continue
        out += each(f"spec.clusterIPs[{i}]", ip, formats.is_valid_ip(ip))
    if len(ips) > 2:
        out.append(invalid("spec.clusterIPs", ips, "may only hold up to 2 values"))
    return out


def _node_ports(spec: m.ServiceSpec) -> list[Cause]:
    out: list[Cause] = []
    seen: set[tuple[str, int]] = set()
    lo, hi = NODE_PORT_RANGE
    for i, port in enumerate(spec.ports or []):
        if port.node_port == 0:
            continue
        path = f"spec.ports[{i}].nodePort"
        if spec.type == "ClusterIP":
            out.append(forbidden(path, "may not be used when `type` is 'ClusterIP'"))
            continue
        if not lo <= port.node_port <= hi:
            out.append(invalid(path, port.node_port, "provided port is not in the valid range. "
                               f"The range of valid ports is {lo}-{hi}"))
        key = (port.protocol, port.node_port)
        if key in seen:
            out.append(duplicate(path, port.node_port))
        seen.add(key)
    return out


def _traffic_policies(spec: m.ServiceSpec) -> list[Cause]:
    out: list[Cause] = []
    external = spec.type in ("NodePort", "LoadBalancer") or (spec.type == "ClusterIP" and bool(spec.external_ips))
    if not external:
        if spec.external_traffic_policy:
            out.append(invalid("spec.externalTrafficPolicy", spec.external_traffic_policy,
                               "may only be set for externally-accessible services"))
    elif not spec.external_traffic_policy:
        out.append(required("spec.externalTrafficPolicy"))
    elif spec.external_traffic_policy not in ("Cluster", "Local"):
        out.append(not_supported("spec.externalTrafficPolicy", spec.external_traffic_policy, ("Cluster", "Local")))
    needs_health_check = spec.type == "LoadBalancer" and spec.external_traffic_policy == "Local"
    if not needs_health_check and spec.health_check_node_port:
        out.append(invalid("spec.healthCheckNodePort", spec.health_check_node_port,
                           "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
    if spec.internal_traffic_policy is None:
        if spec.type in ("ClusterIP", "NodePort", "LoadBalancer"):
            out.append(required("spec.internalTrafficPolicy"))
    elif spec.internal_traffic_policy not in ("Cluster", "Local"):
        out.append(not_supported("spec.internalTrafficPolicy", spec.internal_traffic_policy, ("Cluster", "Local")))
    return out


def endpoints(s: Subject) -> list[Cause]:
    out: list[Cause] = []
    for i, subset in enumerate(s.model.subsets or []):
        p = f"subsets[{i}]"
        if not subset.addresses and not subset.not_ready_addresses:
            out.append(required(p, "must specify `addresses` or `notReadyAddresses`"))
        for key, addresses in (("addresses", subset.addresses), ("notReadyAddresses", subset.not_ready_addresses)):
            for j, addr in enumerate(addresses or []):
                ap = f"{p}.{key}[{j}]"
                out += each(f"{ap}.ip", addr.ip, formats.is_valid_ip(addr.ip))
                if addr.hostname:
                    out += each(f"{ap}.hostname", addr.hostname, formats.is_dns1123_label(addr.hostname))
                if addr.node_name:
                    out += each(f"{ap}.nodeName", addr.node_name, formats.is_dns1123_subdomain(addr.node_name))
        ports = subset.ports or []
        for j, port in enumerate(ports):
            pp = f"{p}.ports[{j}]"
            if len(ports) > 1 and not port.name:
                out.append(required(f"{pp}.name"))
            elif port.name:
                out += each(f"{pp}.name", port.name, formats.is_dns1123_label(port.name))
            out += each(f"{pp}.port", port.port, formats.is_valid_port_num(port.port))
            if not port.protocol:
                out.append(required(f"{pp}.protocol"))
            elif port.protocol not in PROTOCOLS:
                out.append(not_supported(f"{pp}.protocol", port.protocol, PROTOCOLS))
    return out


# ---- cluster objects and config -------------------------------------------------------------------


def namespace(s: Subject) -> list[Cause]:
    out: list[Cause] = []
    for name in s.model.spec.finalizers or []:
        out += validate_finalizer_name(name, "spec.finalizers")
    return out


def node(s: Subject) -> list[Cause]:
    spec: m.NodeSpec = s.model.spec
    out: list[Cause] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(spec.taints or []):
        p = f"spec.taints[{i}]"
        out += each(f"{p}.key", taint.key, formats.is_qualified_name(taint.key))
        msgs = formats.is_valid_label_value(taint.value)
        if msgs:
            out.append(invalid(f"{p}.value", taint.value, ";".join(msgs)))
        if not taint.effect:
            out.append(required(f"{p}.effect"))
        elif taint.effect not in TAINT_EFFECTS:
            out.append(not_supported(f"{p}.effect", taint.effect, TAINT_EFFECTS))
        if (taint.effect, taint.key) in seen:
            dump = (f"core.Taint{{Key:{go_quote(taint.key)}, Value:{go_quote(taint.value)}, "
                    f"Effect:{go_quote(taint.effect)}, TimeAdded:<nil>}}")
            out.append(Cause(p, f"Duplicate value: {dump}: taints must be unique by key and effect pair", DUPLICATE))
        seen.add((taint.effect, taint.key))
    if spec.pod_cidr:
        out += each("spec.podCIDR", spec.pod_cidr, formats.is_valid_cidr(spec.pod_cidr))
    for i, cidr in enumerate(spec.pod_cidrs or []):
        out += each(f"spec.podCIDRs[{i}]", cidr, formats.is_valid_cidr(cidr))
    if s.updating:
        old: m.NodeSpec = s.old_model.spec
        if old.pod_cidrs and (spec.pod_cidrs or []) != old.pod_cidrs:
            out.append(forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'))
        if old.provider_id and spec.provider_id != old.provider_id:
            out.append(forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid'))
    return out


def config_map(s: Subject) -> list[Cause]:
    cm: m.ConfigMap = s.model
    out: list[Cause] = []
    if s.updating and s.old_model.immutable:
        if not cm.immutable:
            out.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
        if (cm.data or {}) != (s.old_model.data or {}):
            out.append(forbidden("data", IMMUTABLE_WHEN_SET))
        if (cm.binary_data or {}) != (s.old_model.binary_data or {}):
            out.append(forbidden("binaryData", IMMUTABLE_WHEN_SET))
    total = 0
    for key, value in (cm.data or {}).items():
        out += each(f"data[{key}]", key, formats.is_config_map_key(key))
        if key in (cm.binary_data or {}):
            out.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
        total += len(value.encode())
    for key, value in (cm.binary_data or {}).items():
        out += each(f"binaryData[{key}]", key, formats.is_config_map_key(key))
        total += _decoded_len(value)
    if total > MAX_SECRET_SIZE:
        out.append(too_long("", MAX_SECRET_SIZE))
    return out


def _decoded(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return None


def _decoded_len(value: str) -> int:
    decoded = _decoded(value)
    return len(decoded) if decoded is not None else len(value)


def secret(s: Subject) -> list[Cause]:
    sec: m.Secret = s.model
    out: list[Cause] = []
    if s.updating:
        old: m.Secret = s.old_model
        if sec.type != old.type:
            out.append(immutable("type", sec.type))
        if old.immutable:
            if not sec.immutable:
                out.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
            if (sec.data or {}) != (old.data or {}):
                out.append(forbidden("data", IMMUTABLE_WHEN_SET))
    data = dict(sec.data or {})
    for key in sec.string_data or {}:
        data[key] = base64.b64encode((sec.string_data or {})[key].encode()).decode()
    total = 0
    for key, value in data.items():
        out += each(f"data[{key}]", key, formats.is_config_map_key(key))
        total += _decoded_len(value)
    if total > MAX_SECRET_SIZE:
        out.append(too_long("data", MAX_SECRET_SIZE))
    out += _secret_type(sec, data)
    return out


def _secret_type(sec: m.Secret, data: dict[str, str]) -> list[Cause]:
    t = sec.type
    if t == "kubernetes.io/service-account-token":
        if not (sec.metadata.annotations or {}).get("kubernetes.io/service-account.name"):
            return [required("metadata.annotations[kubernetes.io/service-account.name]")]
    elif t in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if t == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if key not in data:
            return [required(f"data[{key}]")]
        error = _json_object_error(_decoded(data[key]) or b"")
        if error:
            return [invalid(f"data[{key}]", "<secret contents redacted>", error)]
    elif t == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            return [required("data[username]"), required("data[password]")]
    elif t == "kubernetes.io/ssh-auth":
        if not _decoded(data.get("ssh-privatekey", "")):
            return [required("data[ssh-privatekey]")]
    elif t == "kubernetes.io/tls":
        return [required(f"data[{key}]") for key in ("tls.crt", "tls.key") if key not in data]
    return []


def _json_object_error(raw: bytes) -> str:
    if not raw.strip():
        return "unexpected end of JSON input"
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        return f"invalid character in JSON: {exc}"
    if not isinstance(parsed, dict):
        return "json: cannot unmarshal " + ("array" if isinstance(parsed, list) else "value") \
            + " into Go value of type map[string]interface {}"
    return ""


def event(s: Subject) -> list[Cause]:
    ev: m.Event = s.model
    involved = ev.involved_object.namespace
    ns = ev.metadata.namespace
    if (not involved and ns not in ("", "default")) or (involved and ns != involved):
        return [invalid("involvedObject.namespace", involved, "does not match event.namespace")]
    return []


# ---- replication controllers and storage ------------------------------------------------------------


def replication_controller(s: Subject) -> list[Cause]:
    spec: m.ReplicationControllerSpec = s.model.spec
    out = nonnegative("spec.minReadySeconds", spec.min_ready_seconds)
    if not spec.selector:
        out.append(required("spec.selector"))
    out += nonnegative("spec.replicas", spec.replicas)
    template = spec.template
    if template is None:
        return out + [required("spec.template")]
    if spec.selector:
        labels = template.metadata.labels or {}
        if any(labels.get(k) != v for k, v in spec.selector.items()):
            out.append(invalid("spec.template.metadata.labels", template.metadata.labels or None,
                               "`selector` does not match template `labels`"))
    out += validate_pod_template(template, "spec.template")
    out += workload_template_rules(template, "spec.template", "ReplicationController")
    return out


def workload_template_rules(template: m.PodTemplateSpec, path: str, kind: str) -> list[Cause]:
    """Controllers restart their pods forever and cannot carry a pod deadline."""
    out: list[Cause] = []
    if template.spec.restart_policy != "Always":
        out.append(not_supported(f"{path}.spec.restartPolicy", template.spec.restart_policy, ("Always",)))
    if template.spec.active_deadline_seconds is not None:
        out.append(forbidden(f"{path}.spec.activeDeadlineSeconds", f"activeDeadlineSeconds in {kind} is not Supported"))
    return out


def persistent_volume(s: Subject) -> list[Cause]:
    spec: m.PersistentVolumeSpec = s.model.spec
    out: list[Cause] = []
    out += _access_modes(spec.access_modes, "spec.accessModes", "")
    capacity = spec.capacity or {}
    if not capacity:
        out.append(required("spec.capacity"))
    if "storage" not in capacity or len(capacity) > 1:
        out.append(not_supported("spec.capacity", GoValue(_resource_list(capacity)), ("storage",)))
    for name, raw in capacity.items():
        out += _positive_quantity(raw, f"spec.capacity[{name}]")
    policies = ("Delete", "Recycle", "Retain")
    if spec.persistent_volume_reclaim_policy and spec.persistent_volume_reclaim_policy not in policies:
        out.append(not_supported("spec.persistentVolumeReclaimPolicy", spec.persistent_volume_reclaim_policy, policies))
    if spec.storage_class_name:
        out += each("spec.storageClassName", spec.storage_class_name,
                    formats.name_is_dns_subdomain(spec.storage_class_name, False))
    if spec.volume_mode is not None and spec.volume_mode not in ("Block", "Filesystem"):
        out.append(not_supported("spec.volumeMode", spec.volume_mode, ("Block", "Filesystem")))
    sources = [k for k in _PV_SOURCES if (spec.model_extra or {}).get(k) is not None]
    if not sources:
        out.append(required("spec", "must specify a volume type"))
    out += [forbidden(f"spec.{k}", "may not specify more than 1 volume type") for k in sources[1:]]
    if s.updating:
        old = s.old_raw.get("spec") if isinstance(s.old_raw, dict) else None
        new = s.raw.get("spec")
        old_src = {k: (old or {}).get(k) for k in _PV_SOURCES}
        new_src = {k: (new or {}).get(k) for k in _PV_SOURCES}
        if not semantic_equal(old_src, new_src):
            out.append(forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation"))
        if s.old_model.spec.volume_mode != spec.volume_mode:
            out.append(immutable("spec.volumeMode", spec.volume_mode))
    return out


_PV_SOURCES = (
    "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume", "flocker",
    "gcePersistentDisk", "glusterfs", "hostPath", "iscsi", "local", "nfs", "photonPersistentDisk", "portworxVolume",
    "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume",
)


def _resource_list(res: dict[str, Any]) -> str:
    body = ", ".join(f"{go_quote(k)}:{_qstr(v)}" for k, v in sorted(res.items()))
    return "core.ResourceList{" + body + "}"


def _qstr(raw: Any) -> str:
    try:
        return go_quote(canonical(parse_quantity(raw)))
    except QuantityError:
        return go_quote(str(raw))


def _positive_quantity(raw: Any, path: str) -> list[Cause]:
    try:
        q = parse_quantity(raw)
    except QuantityError as exc:
        return [invalid(path, str(raw), str(exc))]
    if q.value <= 0:
        return [invalid(path, canonical(q), "must be greater than zero")]
    return []


def _access_modes(modes: list[str] | None, path: str, required_detail: str) -> list[Cause]:
    if not modes:
        return [required(path, required_detail)]
    out = [not_supported(path, mode, ACCESS_MODES) for mode in modes if mode not in ACCESS_MODES]
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        out.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return out


def persistent_volume_claim(s: Subject) -> list[Cause]:
    return validate_pvc_spec(s.model.spec, "spec") + (_pvc_update(s) if s.updating else [])


def validate_pvc_spec(spec: m.PersistentVolumeClaimSpec, path: str) -> list[Cause]:
    out = _access_modes(spec.access_modes, f"{path}.accessModes", "at least 1 access mode is required")
    out += validate_label_selector(spec.selector, f"{path}.selector")
    storage = (spec.resources.requests or {}).get("storage")
    if storage is None:
        out.append(required(f"{path}.resources[storage]"))
    else:
        out += _positive_quantity(storage, f"{path}.resources[storage]")
    if spec.storage_class_name:
        out += each(f"{path}.storageClassName", spec.storage_class_name,
                    formats.name_is_dns_subdomain(spec.storage_class_name, False))
    if spec.volume_mode is not None and spec.volume_mode not in ("Block", "Filesystem"):
        out.append(not_supported(f"{path}.volumeMode", spec.volume_mode, ("Block", "Filesystem")))
    return out


def _pvc_update(s: Subject) -> list[Cause]:
    new = dict(s.raw.get("spec") or {})
    old = dict((s.old_raw or {}).get("spec") or {})
    out: list[Cause] = []
    new_req = ((new.get("resources") or {}).get("requests") or {}).get("storage")
    old_req = ((old.get("resources") or {}).get("requests") or {}).get("storage")
    try:
        if new_req is not None and old_req is not None and parse_quantity(new_req).value < parse_quantity(old_req).value:
            out.append(forbidden("spec.resources.requests.storage", "field can not be less than status.capacity"))
    except QuantityError:
        pass
    for key in ("resources", "volumeAttributesClassName"):
        new.pop(key, None)
        old.pop(key, None)
    if not old.get("volumeName"):
        new.pop("volumeName", None)
        old.pop("volumeName", None)
    if not semantic_equal(new, old):
        out.append(forbidden("spec", "spec is immutable after creation except resources.requests and "
                                     "volumeAttributesClassName for bound claims"))
    return out



# ---- /status writes -----------------------------------------------------------------------------------


def pod_status(s: Subject) -> list[Cause]:
    st = as_dict(s.raw.get("status"))
    old_st = (s.old_raw or {}).get("status") or {}
    out: list[Cause] = []
    if s.model.spec.node_name != s.old_model.spec.node_name:
        out.append(forbidden("status.nodeName", "may not be changed directly"))
    nominated = st.get("nominatedNodeName")
    if isinstance(nominated, str) and nominated and nominated != old_st.get("nominatedNodeName"):
        out += each("status.nominatedNodeName", nominated, formats.name_is_dns_subdomain(nominated, False))
    for key in ("podIP", "hostIP"):
        ip = st.get(key)
        if isinstance(ip, str) and ip:
            out += each(f"status.{key}", ip, formats.is_valid_ip(ip))
    for key in ("podIPs", "hostIPs"):
        listed = st.get(key)
        ips = [x.get("ip") for x in (listed if isinstance(listed, list) else []) if isinstance(x, dict)]
        for i, ip in enumerate(ips):
            if isinstance(ip, str):
                out += each(f"status.{key}[{i}]", ip, formats.is_valid_ip(ip))
        single = st.get(key[:-1])
        if ips and single and ips[0] != single:
            out.append(invalid(f"status.{key}[0]", ips[0], f"must be equal to `status.{key[:-1]}`"))
    return out


def namespace_status(s: Subject) -> list[Cause]:
    st = as_dict(s.raw.get("status"))
    phase = st.get("phase", "")
    if not s.model.metadata.deletion_timestamp:
        if phase != "Active":
            return [invalid("status.phase", phase, "may only be 'Active' if `deletionTimestamp` is empty")]
    elif phase != "Terminating":
        return [invalid("status.phase", phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")]
    return []


def service_status(s: Subject) -> list[Cause]:
    st = as_dict(s.raw.get("status"))
    ingress = ((st.get("loadBalancer") or {}).get("ingress")) or []
    out: list[Cause] = []
    for i, ing in enumerate(ingress):
        if not isinstance(ing, dict):
            continue
        p = f"status.loadBalancer.ingress[{i}]"
        if ing.get("ip"):
            out += each(f"{p}.ip", ing["ip"], formats.is_valid_ip(ing["ip"]))
        if ing.get("ipMode") is not None and ing["ipMode"] not in ("Proxy", "VIP"):
            out.append(not_supported(f"{p}.ipMode", ing["ipMode"], ("Proxy", "VIP")))
        hostname = ing.get("hostname")
        if hostname:
            out += each(f"{p}.hostname", hostname, formats.is_dns1123_subdomain(hostname))
            if not formats.is_valid_ip(hostname):
                out.append(invalid(f"{p}.hostname", hostname, "must be a DNS name, not an IP address"))
    return out
