"""Validation of the smaller groups: Lease, EndpointSlice, Ingress, HorizontalPodAutoscaler.

Ported from k8s.io/kubernetes pkg/apis/{coordination,discovery,networking,autoscaling}/validation.
"""

from __future__ import annotations

import ipaddress

from core.errors import Cause
from core.schema import formats
from core.schema import other as m
from core.schema.causes import (
    duplicate, each, immutable, invalid, nonnegative, not_supported, required, too_many,
)
from core.schema.rules.common import Subject
from core.schema.rules.pod import PROTOCOLS

ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
METRIC_TYPES = ("Object", "Pods", "Resource", "External", "ContainerResource")


def lease(s: Subject) -> list[Cause]:
    spec: m.LeaseSpec = s.model.spec
    out: list[Cause] = []
    if spec.lease_duration_seconds is not None and spec.lease_duration_seconds <= 0:
        out.append(invalid("spec.leaseDurationSeconds", spec.lease_duration_seconds, "must be greater than 0"))
    out += nonnegative("spec.leaseTransitions", spec.lease_transitions)
    return out


def endpoint_slice(s: Subject) -> list[Cause]:
    sl: m.EndpointSlice = s.model
    out: list[Cause] = []
    if not sl.address_type:
        out.append(required("addressType"))
    elif sl.address_type not in ADDRESS_TYPES:
        out.append(not_supported("addressType", sl.address_type, ADDRESS_TYPES))
    endpoints = sl.endpoints or []
    if len(endpoints) > 1000:
        out.append(too_many("endpoints", len(endpoints), 1000))
    for i, ep in enumerate(endpoints):
        p = f"endpoints[{i}]"
        addresses = ep.addresses or []
        if not addresses:
            out.append(required(f"{p}.addresses", "must contain at least 1 address"))
        elif len(addresses) > 100:
            out.append(too_many(f"{p}.addresses", len(addresses), 100))
        for j, address in enumerate(addresses):
            out += _slice_address(sl.address_type, address, f"{p}.addresses[{j}]")
        if ep.node_name:
            out += each(f"{p}.nodeName", ep.node_name, formats.name_is_dns_subdomain(ep.node_name, False))
        if ep.hostname is not None:
            out += each(f"{p}.hostname", ep.hostname, formats.is_dns1123_label(ep.hostname))
    names: set[str] = set()
    for i, port in enumerate(sl.ports or []):
        p = f"ports[{i}]"
        name = port.name or ""
        if name:
            out += each(f"{p}.name", name, formats.is_dns1123_label(name))
        if name in names:
            out.append(duplicate(f"{p}.name", name))
        names.add(name)
        if port.protocol is None:
            out.append(required(f"{p}.protocol"))
        elif port.protocol not in PROTOCOLS:
            out.append(not_supported(f"{p}.protocol", port.protocol, PROTOCOLS))
        if port.port is not None:
            out += each(f"{p}.port", port.port, formats.is_valid_port_num(port.port))
        if port.app_protocol is not None:
            out += each(f"{p}.appProtocol", port.app_protocol, formats.is_qualified_name(port.app_protocol))
    if s.updating and s.old_model.address_type != sl.address_type:
        out.append(immutable("addressType", sl.address_type))
    return out


def _slice_address(address_type: str, address: str, path: str) -> list[Cause]:
    if address_type == "IPv4":
        return each(path, address, formats.is_valid_ipv4(address))
    if address_type == "IPv6":
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            return [invalid(path, address, "must be a valid IPv6 address")]
    if address_type == "FQDN":
        errs = formats.is_dns1123_subdomain(address)
        if "." not in address and not errs:
            errs = ["should be a domain with at least two segments separated by dots"]
        return each(path, address, errs)
    return []


# ---- Ingress ---------------------------------------------------------------------------------------


def ingress(s: Subject) -> list[Cause]:
    spec: m.IngressSpec = s.model.spec
    out: list[Cause] = []
    if not spec.rules and spec.default_backend is None:
        out.append(invalid("spec", [], "either `defaultBackend` or `rules` must be specified"))
    if spec.default_backend is not None:
        out += _backend(spec.default_backend, "spec.defaultBackend")
    for i, rule in enumerate(spec.rules or []):
        p = f"spec.rules[{i}]"
        if rule.host:
            try:
                ipaddress.ip_address(rule.host)
                out.append(invalid(f"{p}.host", rule.host, "must be a DNS name, not an IP address"))
            except ValueError:
                pass
            check = formats.is_wildcard_dns1123_subdomain if "*" in rule.host else formats.is_dns1123_subdomain
            out += each(f"{p}.host", rule.host, check(rule.host))
        if rule.http is not None:
            paths = rule.http.paths or []
            if not paths:
                out.append(required(f"{p}.http.paths"))
            for j, path in enumerate(paths):
                out += _http_path(path, f"{p}.http.paths[{j}]")
    for i, tls in enumerate(spec.tls or []):
        for j, host in enumerate(tls.hosts or []):
            check = formats.is_wildcard_dns1123_subdomain if "*" in host else formats.is_dns1123_subdomain
            out += each(f"spec.tls[{i}].hosts[{j}]", host, check(host))
    if spec.ingress_class_name:
        out += each("spec.ingressClassName", spec.ingress_class_name,
                    formats.name_is_dns_subdomain(spec.ingress_class_name, False))
    return out


def _http_path(path: m.HTTPIngressPath, p: str) -> list[Cause]:
    if path.path_type is None:
        return [required(f"{p}.pathType", "pathType must be specified")]
    out: list[Cause] = []
    if path.path_type in ("Exact", "Prefix"):
        if not path.path.startswith("/"):
            out.append(invalid(f"{p}.path", path.path, "must be an absolute path"))
        for seq in ("//", "/./", "/../", "%2f", "%2F"):
            if path.path and seq in path.path:
                out.append(invalid(f"{p}.path", path.path, f"must not contain '{seq}'"))
        for suffix in ("/..", "/."):
            if path.path.endswith(suffix):
                out.append(invalid(f"{p}.path", path.path, f"cannot end with '{suffix}'"))
    elif path.path_type == "ImplementationSpecific":
        if path.path and not path.path.startswith("/"):
            out.append(invalid(f"{p}.path", path.path, "must be an absolute path"))
    else:
        out.append(not_supported(f"{p}.pathType", path.path_type, PATH_TYPES))
    return out + _backend(path.backend, f"{p}.backend")


def _backend(backend: m.IngressBackend, path: str) -> list[Cause]:
    if backend.resource is not None and backend.service is not None:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if backend.resource is not None:
        return []
    svc = backend.service
    if svc is None:
        return [invalid(path, "", "resource or service backend is required")]
    out: list[Cause] = []
    if not svc.name:
        out.append(required(f"{path}.service.name"))
    else:
        out += each(f"{path}.service.name", svc.name, formats.name_is_dns1035_label(svc.name, False))
    port = svc.port
    if port.name and port.number:
        out.append(invalid(path, "", "cannot set both port name & port number"))
    elif port.name:
        out += each(f"{path}.service.port.name", port.name, formats.is_valid_port_name(port.name))
    elif port.number:
        out += each(f"{path}.service.port.number", port.number, formats.is_valid_port_num(port.number))
    else:
        out.append(required(path, "port name or number is required"))
    return out


# ---- HorizontalPodAutoscaler -----------------------------------------------------------------------


def hpa(s: Subject) -> list[Cause]:
    spec: m.HorizontalPodAutoscalerSpec = s.model.spec
    out: list[Cause] = []
    if spec.min_replicas is not None and spec.min_replicas < 1:
        out.append(invalid("spec.minReplicas", spec.min_replicas, "must be greater than or equal to 1"))
    if spec.max_replicas < 1:
        out.append(invalid("spec.maxReplicas", spec.max_replicas, "must be greater than 0"))
    if spec.min_replicas is not None and spec.max_replicas < spec.min_replicas:
        out.append(invalid("spec.maxReplicas", spec.max_replicas, "must be greater than or equal to `minReplicas`"))
    ref = spec.scale_target_ref
    for field, value in (("kind", ref.kind), ("name", ref.name)):
        p = f"spec.scaleTargetRef.{field}"
        if not value:
            out.append(required(p))
        elif "/" in value or "%" in value or value in (".", ".."):
            out.append(invalid(p, value, "may not contain '/' or '%'" if value not in (".", "..")
                               else f"may not be '{value}'"))
    for i, metric in enumerate(spec.metrics or []):
        out += _metric(metric, f"spec.metrics[{i}]")
    return out


def _metric(metric: m.MetricSpec, path: str) -> list[Cause]:
    out: list[Cause] = []
    if not metric.type:
        out.append(required(f"{path}.type", "must specify a metric source type"))
    elif metric.type not in METRIC_TYPES:
        out.append(not_supported(f"{path}.type", metric.type, METRIC_TYPES))
    sources = {"Object": metric.object, "Pods": metric.pods, "Resource": metric.resource,
               "External": metric.external, "ContainerResource": metric.container_resource}
    present = [k for k, v in sources.items() if v is not None]
    if metric.type in METRIC_TYPES and sources[metric.type] is None:
        out.append(required(f"{path}.{_lower_first(metric.type)}", "must populate information for the given metric source"))
    if len(present) > 1 or (present and metric.type in METRIC_TYPES and present != [metric.type]):
        out.append(invalid(f"{path}.type", metric.type, "must populate the given metric source only"))
    if metric.type == "Resource" and metric.resource is not None:
        res = metric.resource
        if not res.name:
            out.append(required(f"{path}.resource.name", "must specify a resource name"))
        target = res.target
        tp = f"{path}.resource.target"
        if not target.type:
            out.append(required(f"{tp}.type", "must specify a metric target type"))
        elif target.type not in ("Utilization", "Value", "AverageValue"):
            out.append(not_supported(f"{tp}.type", target.type, ("Utilization", "Value", "AverageValue")))
        if target.average_utilization is not None and target.average_utilization < 1:
            out.append(invalid(f"{tp}.averageUtilization", target.average_utilization, "must be greater than 0"))
        if target.type == "Utilization" and target.average_utilization is None:
            out.append(required(f"{tp}.averageUtilization", "must set either a target raw value or a target utilization"))
    return out


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:]
