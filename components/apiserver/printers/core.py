"""Printers for core/v1 kinds other than Pod: services, nodes, namespaces, events, config and storage.

Each reproduces the columns and cell formatting of Kubernetes' `pkg/printers/internalversion`
(v1.32) for that kind. Input: the object as stored (JSON dict) and the time to measure ages from.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .common import (
    AGE, NAME, Cells, Column, Obj, Printer, age, format_labels, list_with_more, load_balancer_ingress,
    meta, parse_time, since, spec, status,
)

# --- services ------------------------------------------------------------------------------------

def service_external_ip(svc: Obj) -> str:
    """`getServiceExternalIP`: `<none>`, the LoadBalancer ingress, `<pending>`, or the ExternalName."""
    sp = spec(svc)
    svc_type = sp.get("type") or "ClusterIP"
    external_ips: list[str] = list(sp.get("externalIPs") or [])
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) if external_ips else "<none>"
    if svc_type == "LoadBalancer":
        lb = load_balancer_ingress(status(svc).get("loadBalancer"))
        if external_ips:
            return ",".join(([*lb.split(",")] if lb else []) + external_ips)
        return lb or "<pending>"
    if svc_type == "ExternalName":
        return str(sp.get("externalName", ""))
    return "<unknown>"


def service_ports(svc: Obj) -> str:
    """`makePortString`: `80/TCP,443:30443/TCP`, `<none>` without ports."""
    pieces = []
    for port in spec(svc).get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        if port.get("nodePort"):
            pieces.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{port.get('port')}/{protocol}")
    return ",".join(pieces) or "<none>"


def _service_cells(svc: Obj, now: datetime) -> Cells:
    sp = spec(svc)
    cluster_ips = sp.get("clusterIPs") or []
    cluster_ip = (cluster_ips[0] if cluster_ips else sp.get("clusterIP")) or "<none>"
    return [
        meta(svc).get("name", ""), sp.get("type") or "ClusterIP", cluster_ip, service_external_ip(svc),
        service_ports(svc), age(svc, now), format_labels(sp.get("selector")),
    ]


SERVICE = Printer(
    (
        NAME,
        Column("Type", description="type determines how the Service is exposed."),
        Column("Cluster-IP", description="clusterIP is the IP address of the service."),
        Column("External-IP", description="externalIPs is a list of IP addresses for which nodes in the "
                                          "cluster will also accept traffic for this service."),
        Column("Port(s)", description="The list of ports that are exposed by this service."),
        AGE,
        Column("Selector", priority=1, description="Route service traffic to pods with label keys and "
                                                   "values matching this selector."),
    ),
    _service_cells,
)

# --- nodes ---------------------------------------------------------------------------------------

NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_ROLE_LABEL = "kubernetes.io/role"


def node_status(node: Obj) -> str:
    """`Ready`, `NotReady`, `Unknown` (no Ready condition), plus `,SchedulingDisabled` if cordoned."""
    parts: list[str] = []
    for cond in status(node).get("conditions") or []:
        if cond.get("type") == "Ready":
            parts = ["Ready" if cond.get("status") == "True" else "NotReady"]
    if not parts:
        parts = ["Unknown"]
    if spec(node).get("unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def node_roles(node: Obj) -> str:
    """Roles from `node-role.kubernetes.io/<role>` and `kubernetes.io/role=<role>` labels, sorted."""
    roles: set[str] = set()
    for key, value in (meta(node).get("labels") or {}).items():
        if key.startswith(NODE_ROLE_PREFIX) and key[len(NODE_ROLE_PREFIX):]:
            roles.add(key[len(NODE_ROLE_PREFIX):])
        elif key == NODE_ROLE_LABEL and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: Obj, kind: str) -> str:
    for addr in status(node).get("addresses") or []:
        if addr.get("type") == kind:
            return str(addr.get("address", ""))
    return "<none>"


def _node_cells(node: Obj, now: datetime) -> Cells:
    info: Mapping[str, Any] = status(node).get("nodeInfo") or {}
    return [
        meta(node).get("name", ""), node_status(node), node_roles(node), age(node, now),
        info.get("kubeletVersion", ""),
        _node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
        info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


NODE = Printer(
    (
        NAME,
        Column("Status", description="The status of the node"),
        Column("Roles", description="The roles of the node"),
        AGE,
        Column("Version", description="Kubelet Version reported by the node."),
        Column("Internal-IP", priority=1, description="List of addresses reachable to the node."),
        Column("External-IP", priority=1, description="List of addresses reachable to the node."),
        Column("OS-Image", priority=1, description="OS Image reported by the node from /etc/os-release."),
        Column("Kernel-Version", priority=1, description="Kernel Version reported by the node."),
        Column("Container-Runtime", priority=1, description="ContainerRuntime Version reported by the node."),
    ),
    _node_cells,
)

# --- namespaces ----------------------------------------------------------------------------------

NAMESPACE = Printer(
    (NAME, Column("Status", description="The status of the namespace"), AGE),
    lambda ns, now: [meta(ns).get("name", ""), status(ns).get("phase", ""), age(ns, now)],
)

# --- events --------------------------------------------------------------------------------------

def _event_source(ev: Obj) -> str:
    """`formatEventSource`: `component, host`, falling back to reportingController/Instance."""
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent") or ev.get("reportingController") or ""
    host = source.get("host") or ev.get("reportingInstance") or ""
    return f"{component}, {host}" if host else component


def _event_cells(ev: Obj, now: datetime) -> Cells:
    first = since(ev.get("firstTimestamp"), now)
    if not parse_time(ev.get("firstTimestamp")):
        first = since(ev.get("eventTime"), now)
    last = since(ev.get("lastTimestamp"), now) if parse_time(ev.get("lastTimestamp")) else first
    count = ev.get("count") or 0
    series = ev.get("series")
    if series:
        last = since(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif count == 0:
        count = 1  # singleton events carry no count in the events.k8s.io API
    involved = ev.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [
        last, ev.get("type", ""), ev.get("reason", ""), target, involved.get("fieldPath", ""),
        _event_source(ev), str(ev.get("message", "")).strip(), first, int(count), meta(ev).get("name", ""),
    ]


EVENT = Printer(
    (
        Column("Last Seen", description="The time at which the most recent occurrence of this event was recorded."),
        Column("Type", description="Type of this event (Normal, Warning), new types could be added in the future"),
        Column("Reason", description="This should be a short, machine understandable string that gives the "
                                     "reason for the transition into the object's current status."),
        Column("Object", description="The object that this event is about."),
        Column("Subobject", priority=1, description="If referring to a piece of an object instead of an "
                                                    "entire object, this string should contain a valid "
                                                    "JSON/Go field access statement."),
        Column("Source", priority=1, description="The component reporting this event."),
        Column("Message", description="A human-readable description of the status of this operation."),
        Column("First Seen", priority=1, description="The time at which the event was first recorded."),
        Column("Count", priority=1, description="The number of times this event has occurred."),
        Column("Name", priority=1, format="name", description=NAME.description),
    ),
    _event_cells,
)

# --- config --------------------------------------------------------------------------------------

CONFIGMAP = Printer(
    (NAME, Column("Data", description="Data contains the configuration data."), AGE),
    lambda cm, now: [meta(cm).get("name", ""), len(cm.get("data") or {}) + len(cm.get("binaryData") or {}),
                     age(cm, now)],
)

SECRET = Printer(
    (NAME, Column("Type", description="Used to facilitate programmatic handling of secret data."),
     Column("Data", description="Data contains the secret data."), AGE),
    lambda s, now: [meta(s).get("name", ""), s.get("type") or "Opaque", len(s.get("data") or {}), age(s, now)],
)

SERVICEACCOUNT = Printer(
    (NAME, Column("Secrets", description="Secrets is a list of the secrets in the same namespace that pods "
                                         "running using this ServiceAccount are allowed to use."), AGE),
    lambda sa, now: [meta(sa).get("name", ""), len(sa.get("secrets") or []), age(sa, now)],
)

# --- endpoints -----------------------------------------------------------------------------------

def format_endpoints(ep: Obj) -> str:
    """`formatEndpoints`: up to three `ip:port`, then ` + N more...`; `<none>` without subsets."""
    subsets = ep.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    limit, count, more = 3, 0, False
    for ss in subsets:
        addresses = ss.get("addresses") or []
        ports = ss.get("ports") or []
        pairs = [(a.get("ip", ""), None) for a in addresses] if not ports else [
            (a.get("ip", ""), p.get("port")) for p in ports for a in addresses]
        for ip, port in pairs:
            count += 1
            if len(shown) == limit:
                more = True
                continue
            host = f"[{ip}]" if ":" in ip and port is not None else ip
            shown.append(host if port is None else f"{host}:{port}")
    return list_with_more(shown, more, count, limit, empty="")


ENDPOINTS = Printer(
    (NAME, Column("Endpoints", description="The set of all endpoints is the union of all subsets."), AGE),
    lambda ep, now: [meta(ep).get("name", ""), format_endpoints(ep), age(ep, now)],
)

# --- storage -------------------------------------------------------------------------------------

_ACCESS_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
                 ("ReadWriteOncePod", "RWOP"))


def access_modes(modes: list[str] | None) -> str:
    """`GetAccessModesAsString`: `RWO,ROX,…` in Kubernetes' fixed order."""
    present = set(modes or [])
    return ",".join(short for long, short in _ACCESS_MODES if long in present)


def _storage_class(obj: Obj) -> str:
    annotations = meta(obj).get("annotations") or {}
    return str(spec(obj).get("storageClassName")
               or annotations.get("volume.beta.kubernetes.io/storage-class", ""))


def _pv_cells(pv: Obj, now: datetime) -> Cells:
    sp = spec(pv)
    claim = sp.get("claimRef")
    claim_text = f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else ""
    phase = "Terminating" if meta(pv).get("deletionTimestamp") else status(pv).get("phase", "")
    return [
        meta(pv).get("name", ""), str((sp.get("capacity") or {}).get("storage", "0")),
        access_modes(sp.get("accessModes")), sp.get("persistentVolumeReclaimPolicy", ""), phase, claim_text,
        _storage_class(pv), sp.get("volumeAttributesClassName") or "<unset>", status(pv).get("reason", ""),
        age(pv, now), sp.get("volumeMode") or "<unset>",
    ]


PERSISTENTVOLUME = Printer(
    (
        NAME,
        Column("Capacity", description="capacity is the description of the persistent volume's resources and capacity."),
        Column("Access Modes", description="accessModes contains all ways the volume can be mounted."),
        Column("Reclaim Policy", description="persistentVolumeReclaimPolicy defines what happens to a persistent "
                                             "volume when released from its claim."),
        Column("Status", description="phase indicates if a volume is available, bound to a claim, or released by a claim."),
        Column("Claim", description="claimRef is part of a bi-directional binding between PersistentVolume and "
                                    "PersistentVolumeClaim."),
        Column("StorageClass", description="StorageClass of the pv"),
        Column("VolumeAttributesClass", description="VolumeAttributesClass of the pv"),
        Column("Reason", description="reason is a brief CamelCase string that describes any failure."),
        AGE,
        Column("VolumeMode", priority=1, description="volumeMode defines if a volume is intended to be used with "
                                                     "a formatted filesystem or to remain in raw block state."),
    ),
    _pv_cells,
)


def _pvc_cells(pvc: Obj, now: datetime) -> Cells:
    sp, st = spec(pvc), status(pvc)
    phase = "Terminating" if meta(pvc).get("deletionTimestamp") else st.get("phase", "")
    capacity = modes = ""
    if sp.get("volumeName"):
        modes = access_modes(st.get("accessModes"))
        capacity = str((st.get("capacity") or {}).get("storage", "0"))
    return [
        meta(pvc).get("name", ""), phase, sp.get("volumeName", ""), capacity, modes, _storage_class(pvc),
        sp.get("volumeAttributesClassName") or "<unset>", age(pvc, now), sp.get("volumeMode") or "<unset>",
    ]


PERSISTENTVOLUMECLAIM = Printer(
    (
        NAME,
        Column("Status", description="phase represents the current phase of PersistentVolumeClaim."),
        Column("Volume", description="volumeName is the binding reference to the PersistentVolume backing this claim."),
        Column("Capacity", description="capacity represents the actual resources of the underlying volume."),
        Column("Access Modes", description="accessModes contains the actual access modes the volume backing the PVC has."),
        Column("StorageClass", description="StorageClass of the pvc"),
        Column("VolumeAttributesClass", description="VolumeAttributesClass of the pvc"),
        AGE,
        Column("VolumeMode", priority=1, description="volumeMode defines what type of volume is required by the claim."),
    ),
    _pvc_cells,
)

__all__ = [
    "SERVICE", "NODE", "NAMESPACE", "EVENT", "CONFIGMAP", "SECRET", "SERVICEACCOUNT", "ENDPOINTS",
    "PERSISTENTVOLUME", "PERSISTENTVOLUMECLAIM", "service_external_ip", "service_ports", "node_status",
    "node_roles", "format_endpoints", "access_modes",
]
