"""Pod spec validation: containers, volumes, probes, resources, scheduling fields, pod updates.

Ported from k8s.io/kubernetes pkg/apis/core/validation (ValidatePodSpec, validateContainers,
ValidateVolumes, ValidatePodUpdate …) with its field paths and messages. Used for Pods and for
the pod template of every workload kind.
"""

from __future__ import annotations

import copy
from typing import Any

from core.errors import Cause
from core.schema import formats
from core.schema.causes import (
    duplicate, each, forbidden, invalid, nonnegative, not_found, not_supported, required,
)
from core.schema.core_v1 import Container, Handler, PodSpec, PodTemplateSpec, Probe, Volume
from core.schema.quantity import QuantityError, canonical, parse_quantity
from core.schema.rules.common import as_dict, semantic_equal, validate_annotations, validate_labels

MAX_INT32 = 2**31 - 1
PROTOCOLS = ("SCTP", "TCP", "UDP")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
HOST_PATH_TYPES = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate",
                   "Socket")
FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"
# validateVolumeSource's order: the second source found is the one reported.
VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret", "nfs", "iscsi",
    "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "quobyte", "cinder", "cephfs", "downwardAPI", "fc",
    "flexVolume", "configMap", "azureFile", "vsphereVolume", "photonPersistentDisk", "portworxVolume", "azureDisk",
    "storageos", "projected", "scaleIO", "csi", "ephemeral", "image",
)
POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


# ---- templates and specs ----------------------------------------------------------------------


def validate_pod_template(template: PodTemplateSpec, path: str, *,
                          claim_volumes: frozenset[str] = frozenset()) -> list[Cause]:
    """ValidatePodTemplateSpec (labels are at `<path>.labels`, as in Kubernetes).

    `claim_volumes` are volume names a StatefulSet's volumeClaimTemplates provide to the pods.
    """
    out = validate_labels(template.metadata.labels, f"{path}.labels")
    out += validate_annotations(template.metadata.annotations, f"{path}.annotations")
    out += validate_pod_spec(template.spec, f"{path}.spec", claim_volumes=claim_volumes)
    if template.spec.ephemeral_containers:
        out.append(forbidden(f"{path}.spec.ephemeralContainers", "ephemeral containers not allowed in pod template"))
    return out


def validate_pod_spec(spec: PodSpec, path: str, *, claim_volumes: frozenset[str] = frozenset()) -> list[Cause]:
    volume_names, out = _volumes(spec.volumes or [], f"{path}.volumes")
    volume_names |= claim_volumes
    grace = spec.termination_grace_period_seconds
    out += _containers(spec.containers, volume_names, grace, f"{path}.containers")
    out += _init_containers(spec.init_containers or [], spec.containers or [], volume_names,
                            f"{path}.initContainers")
    out += enum(f"{path}.restartPolicy", spec.restart_policy, RESTART_POLICIES)
    out += enum(f"{path}.dnsPolicy", spec.dns_policy, DNS_POLICIES)
    out += validate_labels(spec.node_selector, f"{path}.nodeSelector")
    if spec.service_account_name:
        out += each(f"{path}.serviceAccountName", spec.service_account_name,
                    formats.name_is_dns_subdomain(spec.service_account_name, False))
    if spec.node_name:
        out += each(f"{path}.nodeName", spec.node_name, formats.name_is_dns_subdomain(spec.node_name, False))
    if spec.active_deadline_seconds is not None and not 1 <= spec.active_deadline_seconds <= MAX_INT32:
        out.append(invalid(f"{path}.activeDeadlineSeconds", spec.active_deadline_seconds,
                           formats.inclusive_range_error(1, MAX_INT32)))
    if spec.hostname:
        out += each(f"{path}.hostname", spec.hostname, formats.is_dns1123_label(spec.hostname))
    if spec.subdomain:
        out += each(f"{path}.subdomain", spec.subdomain, formats.is_dns1123_label(spec.subdomain))
    out += validate_tolerations(spec, f"{path}.tolerations")
    if spec.priority_class_name:
        out += each(f"{path}.priorityClassName", spec.priority_class_name,
                    formats.name_is_dns_subdomain(spec.priority_class_name, False))
    if spec.preemption_policy is not None and spec.preemption_policy not in ("Never", "PreemptLowerPriority"):
        out.append(not_supported(f"{path}.preemptionPolicy", spec.preemption_policy,
                                 ("Never", "PreemptLowerPriority")))
    out += _topology_spread(spec, f"{path}.topologySpreadConstraints")
    return out


def enum(path: str, value: str, allowed: tuple[str, ...]) -> list[Cause]:
    if not value:
        return [required(path)]
    if value not in allowed:
        return [not_supported(path, value, allowed)]
    return []


# ---- volumes ----------------------------------------------------------------------------------


def _volumes(volumes: list[Volume], path: str) -> tuple[set[str], list[Cause]]:
    names: set[str] = set()
    out: list[Cause] = []
    for i, vol in enumerate(volumes):
        p = f"{path}[{i}]"
        errs = _volume_source(vol.model_extra or {}, p)
        if not vol.name:
            errs.append(required(f"{p}.name"))
        else:
            errs += each(f"{p}.name", vol.name, formats.is_dns1123_label(vol.name))
        if vol.name in names:
            errs.append(duplicate(f"{p}.name", vol.name))
        if not errs:
            names.add(vol.name)
        out += errs
    return names, out


def _volume_source(sources: dict[str, Any], path: str) -> list[Cause]:
    present = [s for s in VOLUME_SOURCES if sources.get(s) is not None]
    if not present:
        return [required(path, "must specify a volume type")]
    out = [forbidden(f"{path}.{s}", "may not specify more than 1 volume type") for s in present[1:]]
    kind = present[0]
    src = sources[kind] if isinstance(sources[kind], dict) else {}
    p = f"{path}.{kind}"
    if kind == "hostPath":
        if not src.get("path"):
            out.append(required(f"{p}.path"))
        if src.get("type") not in (None, *HOST_PATH_TYPES):
            out.append(not_supported(f"{p}.type", src["type"], HOST_PATH_TYPES))
    elif kind in ("secret", "configMap"):
        name_key = "secretName" if kind == "secret" else "name"
        if not src.get(name_key):
            out.append(required(f"{p}.{name_key}"))
        out += _file_mode(src.get("defaultMode"), f"{p}.defaultMode")
        items = src.get("items")
        for j, item in enumerate(items if isinstance(items, list) else []):
            out += _key_to_path(item, f"{p}.items[{j}]")
    elif kind == "persistentVolumeClaim":
        if not src.get("claimName"):
            out.append(required(f"{p}.claimName"))
    elif kind == "nfs":
        if not src.get("server"):
            out.append(required(f"{p}.server"))
        nfs_path = src.get("path")
        if not isinstance(nfs_path, str) or not nfs_path:
            out.append(required(f"{p}.path"))
        elif not nfs_path.startswith("/"):
            out.append(invalid(f"{p}.path", nfs_path, "must be an absolute path"))
    elif kind in ("downwardAPI", "projected"):
        out += _file_mode(src.get("defaultMode"), f"{p}.defaultMode")
    return out


def _file_mode(mode: Any, path: str) -> list[Cause]:
    if isinstance(mode, int) and not 0 <= mode <= 0o777:
        return [invalid(path, mode, FILE_MODE_ERROR)]
    return []


def _key_to_path(item: Any, path: str) -> list[Cause]:
    item = item if isinstance(item, dict) else {}
    out = []
    if not item.get("key"):
        out.append(required(f"{path}.key"))
    if not item.get("path"):
        out.append(required(f"{path}.path"))
    return out + _file_mode(item.get("mode"), f"{path}.mode")


# ---- containers ------------------------------------------------------------------------------


def _containers(containers: list[Container] | None, volumes: set[str], grace: int | None,
                path: str) -> list[Cause]:
    if not containers:
        return [required(path)]
    out: list[Cause] = []
    names: set[str] = set()
    for i, c in enumerate(containers):
        p = f"{path}[{i}]"
        out += _container_common(c, volumes, p)
        if c.name in names:
            out.append(duplicate(f"{p}.name", c.name))
        else:
            names.add(c.name)
        if c.restart_policy is not None:
            out.append(forbidden(f"{p}.restartPolicy", "may not be set for non-init containers"))
        if c.lifecycle is not None:
            out += _handler(c.lifecycle.post_start, grace, f"{p}.lifecycle.postStart", lifecycle=True)
            out += _handler(c.lifecycle.pre_stop, grace, f"{p}.lifecycle.preStop", lifecycle=True)
        out += _probe(c.liveness_probe, f"{p}.livenessProbe", success_one=True)
        out += _probe(c.readiness_probe, f"{p}.readinessProbe", success_one=False)
        out += _probe(c.startup_probe, f"{p}.startupProbe", success_one=True)
    out += _unique_host_ports(containers, path)
    return out


def _init_containers(init: list[Container], regular: list[Container], volumes: set[str],
                     path: str) -> list[Cause]:
    out: list[Cause] = []
    names = {c.name for c in regular}
    for i, c in enumerate(init):
        p = f"{path}[{i}]"
        out += _container_common(c, volumes, p)
        sidecar = c.restart_policy == "Always"
        if c.restart_policy is not None and not sidecar:
            out.append(not_supported(f"{p}.restartPolicy", c.restart_policy, ("Always",)))
        if c.name in names:
            out.append(duplicate(f"{p}.name", c.name))
        elif c.name:
            names.add(c.name)
        out += _unique_host_ports([c], path)
        if not sidecar:
            for field, detail in (("lifecycle", "may not be set for init containers without restartPolicy=Always"),
                                  ("liveness_probe", "may not be set for init containers without restartPolicy=Always"),
                                  ("readiness_probe", "may not be set for init containers"),
                                  ("startup_probe", "may not be set for init containers without restartPolicy=Always")):
                if getattr(c, field) is not None:
                    alias = Container.model_fields[field].alias or field
                    out.append(forbidden(f"{p}.{alias}", detail))
    return out


def _container_common(c: Container, volumes: set[str], p: str) -> list[Cause]:
    out: list[Cause] = []
    if not c.name:
        out.append(required(f"{p}.name"))
    else:
        out += each(f"{p}.name", c.name, formats.is_dns1123_label(c.name))
    if not c.image:
        out.append(required(f"{p}.image"))
    out += enum(f"{p}.terminationMessagePolicy", c.termination_message_policy, TERMINATION_MESSAGE_POLICIES)
    out += _container_ports(c, f"{p}.ports")
    out += _env(c, f"{p}.env")
    out += _volume_mounts(c, volumes, f"{p}.volumeMounts")
    out += enum(f"{p}.imagePullPolicy", c.image_pull_policy, PULL_POLICIES)
    out += _resources(c, f"{p}.resources")
    return out


def _container_ports(c: Container, path: str) -> list[Cause]:
    out: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(c.ports or []):
        p = f"{path}[{i}]"
        if port.name:
            msgs = formats.is_valid_port_name(port.name)
            if msgs:
                out += each(f"{p}.name", port.name, msgs)
            elif port.name in names:
                out.append(duplicate(f"{p}.name", port.name))
            else:
                names.add(port.name)
        if port.container_port == 0:
            out.append(required(f"{p}.containerPort"))
        else:
            out += each(f"{p}.containerPort", port.container_port, formats.is_valid_port_num(port.container_port))
        if port.host_port != 0:
            out += each(f"{p}.hostPort", port.host_port, formats.is_valid_port_num(port.host_port))
        out += enum(f"{p}.protocol", port.protocol, PROTOCOLS)
    return out


def _unique_host_ports(containers: list[Container], path: str) -> list[Cause]:
    seen: set[str] = set()
    out = []
    for i, c in enumerate(containers):
        for j, port in enumerate(c.ports or []):
            if port.host_port == 0:
                continue
            key = f"{port.host_ip}/{port.protocol}/{port.host_port}"
            if key in seen:
                out.append(duplicate(f"{path}[{i}].ports[{j}].hostPort", key))
            seen.add(key)
    return out


def _env(c: Container, path: str) -> list[Cause]:
    out: list[Cause] = []
    for i, env in enumerate(c.env or []):
        p = f"{path}[{i}]"
        if not env.name:
            out.append(required(f"{p}.name"))
        out += each(f"{p}.name", env.name, formats.is_relaxed_env_var_name(env.name))
        src = env.value_from
        if src is None:
            continue
        sources = [s for s in (src.field_ref, src.resource_field_ref, src.config_map_key_ref, src.secret_key_ref,
                               src.file_key_ref) if s is not None]
        vp = f"{p}.valueFrom"
        if not sources:
            out.append(invalid(vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
                                       "`secretKeyRef`"))
        elif env.value:
            out.append(invalid(vp, "", "may not be specified when `value` is not empty"))
        elif len(sources) > 1:
            out.append(invalid(vp, "", "may not have more than one field specified at a time"))
        if src.field_ref is not None and not src.field_ref.field_path:
            out.append(required(f"{vp}.fieldRef.fieldPath"))
        for name, ref in (("configMapKeyRef", src.config_map_key_ref), ("secretKeyRef", src.secret_key_ref)):
            if ref is not None:
                if not ref.name:
                    out.append(required(f"{vp}.{name}.name"))
                if not ref.key:
                    out.append(required(f"{vp}.{name}.key"))
                else:
                    out += each(f"{vp}.{name}.key", ref.key, formats.is_config_map_key(ref.key))
    return out


def _volume_mounts(c: Container, volumes: set[str], path: str) -> list[Cause]:
    out: list[Cause] = []
    mount_points: set[str] = set()
    for i, m in enumerate(c.volume_mounts or []):
        p = f"{path}[{i}]"
        if not m.name:
            out.append(required(f"{p}.name"))
        elif m.name not in volumes:
            out.append(not_found(f"{p}.name", m.name))
        if not m.mount_path:
            out.append(required(f"{p}.mountPath"))
        if m.mount_path in mount_points:
            out.append(invalid(f"{p}.mountPath", m.mount_path, "must be unique"))
        mount_points.add(m.mount_path)
        if m.sub_path:
            out += _local_descending_path(m.sub_path, f"{path}.subPath")
        if m.sub_path and m.sub_path_expr:
            out.append(invalid(f"{p}.subPathExpr", m.sub_path_expr, "subPathExpr and subPath are mutually exclusive"))
        if m.mount_propagation is not None and m.mount_propagation not in ("Bidirectional", "HostToContainer", "None"):
            out.append(not_supported(f"{p}.mountPropagation", m.mount_propagation,
                                     ("Bidirectional", "HostToContainer", "None")))
    return out


def _local_descending_path(target: str, path: str) -> list[Cause]:
    out = []
    if target.startswith("/"):
        out.append(invalid(path, target, "must be a relative path"))
    if ".." in target.replace("\\", "/").split("/"):
        out.append(invalid(path, target, "must not contain '..'"))
    return out


# ---- resources and probes ---------------------------------------------------------------------


def _standard_container_resource(name: str) -> bool:
    return name in ("cpu", "memory", "ephemeral-storage") or name.startswith("hugepages-")


def _overcommit_allowed(name: str) -> bool:
    native = "/" not in name or "kubernetes.io/" in name
    return native and not name.startswith("hugepages-")


def _resources(c: Container, path: str) -> list[Cause]:
    res = c.resources
    if res is None:
        return []
    out: list[Cause] = []
    limits = {}
    for name, raw in (res.limits or {}).items():
        p = f"{path}.limits[{name}]"
        out += _resource_name(name, p)
        q = _quantity(raw, p, out)
        if q is not None:
            limits[name] = q
    for name, raw in (res.requests or {}).items():
        p = f"{path}.requests[{name}]"
        out += _resource_name(name, p)
        q = _quantity(raw, p, out)
        if q is None:
            continue
        lim = limits.get(name)
        if lim is not None:
            if q.value != lim.value and not _overcommit_allowed(name):
                out.append(invalid(f"{path}.requests", canonical(q), f"must be equal to {name} limit of {canonical(lim)}"))
            elif q.value > lim.value:
                out.append(invalid(f"{path}.requests", canonical(q),
                                   f"must be less than or equal to {name} limit of {canonical(lim)}"))
        elif not _overcommit_allowed(name) and name not in (res.limits or {}):
            out.append(required(f"{path}.limits", "Limit must be set for non overcommitable resources"))
    return out


def _resource_name(name: str, path: str) -> list[Cause]:
    out = each(path, name, formats.is_qualified_name(name))
    if "/" not in name and not _standard_container_resource(name):
        out.append(invalid(path, name, "must be a standard resource for containers"))
    return out


def _quantity(raw: Any, path: str, out: list[Cause]) -> Any:
    try:
        q = parse_quantity(raw)
    except QuantityError as exc:
        out.append(invalid(path, str(raw), str(exc)))
        return None
    if q.value < 0:
        out.append(invalid(path, canonical(q), "must be greater than or equal to 0"))
        return None
    return q


def _handler(h: Handler | None, grace: int | None, path: str, *, lifecycle: bool) -> list[Cause]:
    if h is None:
        return []
    out: list[Cause] = []
    count = 0
    for name, action in (("exec", h.exec_), ("httpGet", h.http_get), ("tcpSocket", h.tcp_socket),
                         ("grpc", h.grpc), ("sleep", h.sleep)):
        if action is None:
            continue
        if count:
            out.append(forbidden(f"{path}.{name}", "may not specify more than 1 handler type"))
            continue
        count += 1
        p = f"{path}.{name}"
        if name == "exec" and h.exec_ is not None and not h.exec_.command:
            out.append(required(f"{p}.command"))
        elif name == "httpGet" and h.http_get is not None:
            if not h.http_get.path:
                out.append(required(f"{p}.path"))
            out += port_num_or_name(h.http_get.port, f"{p}.port")
            if h.http_get.scheme not in ("HTTP", "HTTPS"):
                out.append(not_supported(f"{p}.scheme", h.http_get.scheme, ("HTTP", "HTTPS")))
        elif name == "tcpSocket" and h.tcp_socket is not None:
            out += port_num_or_name(h.tcp_socket.port, f"{p}.port")
        elif name == "grpc" and h.grpc is not None:
            out += each(f"{p}.port", h.grpc.port, formats.is_valid_port_num(h.grpc.port))
        elif name == "sleep" and h.sleep is not None and lifecycle:
            limit = 30 if grace is None else grace
            if not 0 <= h.sleep.seconds <= limit:
                out.append(invalid(f"{p}.seconds", h.sleep.seconds,
                                   f"must be non-negative and less than terminationGracePeriodSeconds ({limit})"))
    if count == 0:
        out.append(required(path, "must specify a handler type"))
    return out


def port_num_or_name(port: int | str | None, path: str) -> list[Cause]:
    """ValidatePortNumOrName for an IntOrString port."""
    if isinstance(port, str):
        return each(path, port, formats.is_valid_port_name(port))
    return each(path, port or 0, formats.is_valid_port_num(port or 0))


def _probe(probe: Probe | None, path: str, *, success_one: bool) -> list[Cause]:
    if probe is None:
        return []
    out = _handler(probe, None, path, lifecycle=False)
    for field in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        out += nonnegative(f"{path}.{field}", getattr(probe, _snake(field)))
    if probe.termination_grace_period_seconds is not None and probe.termination_grace_period_seconds <= 0:
        out.append(invalid(f"{path}.terminationGracePeriodSeconds", probe.termination_grace_period_seconds,
                           "must be greater than 0"))
    if success_one and probe.success_threshold != 1:
        out.append(invalid(f"{path}.successThreshold", probe.success_threshold, "must be 1"))
    return out


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)


# ---- scheduling ---------------------------------------------------------------------------------


def validate_tolerations(spec: PodSpec, path: str) -> list[Cause]:
    out: list[Cause] = []
    for i, t in enumerate(spec.tolerations or []):
        p = f"{path}[{i}]"
        if t.key:
            out += each(f"{p}.key", t.key, formats.is_qualified_name(t.key))
        if not t.key and t.operator != "Exists":
            out.append(invalid(f"{p}.operator", t.operator,
                               'operator must be Exists when `key` is empty, which means "match all values and all keys"'))
        if t.toleration_seconds is not None and t.effect != "NoExecute":
            out.append(invalid(f"{p}.effect", t.effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if t.operator in ("Equal", ""):
            msgs = formats.is_valid_label_value(t.value)
            if msgs:
                out.append(invalid(f"{p}.operator", t.value, ";".join(msgs)))
        elif t.operator == "Exists":
            if t.value:
                out.append(invalid(f"{p}.operator", t.model_dump(by_alias=True, exclude_none=True),
                                   "value must be empty when `operator` is 'Exists'"))
        else:
            out.append(not_supported(f"{p}.operator", t.operator, ("Equal", "Exists")))
        if t.effect and t.effect not in TAINT_EFFECTS:
            out.append(not_supported(f"{p}.effect", t.effect, TAINT_EFFECTS))
    return out


def _topology_spread(spec: PodSpec, path: str) -> list[Cause]:
    out: list[Cause] = []
    constraints = spec.topology_spread_constraints or []
    for i, c in enumerate(constraints):
        p = f"{path}[{i}]"
        if c.max_skew <= 0:
            out.append(invalid(f"{p}.maxSkew", c.max_skew, "must be greater than zero"))
        if not c.topology_key:
            out.append(required(f"{p}.topologyKey", "can not be empty"))
        else:
            out += each(f"{p}.topologyKey", c.topology_key, formats.is_qualified_name(c.topology_key))
        if c.when_unsatisfiable not in ("DoNotSchedule", "ScheduleAnyway"):
            out.append(not_supported(f"{p}.whenUnsatisfiable", c.when_unsatisfiable,
                                     ("DoNotSchedule", "ScheduleAnyway")))
        if any(o.topology_key == c.topology_key and o.when_unsatisfiable == c.when_unsatisfiable
               for o in constraints[i + 1:]):
            out.append(duplicate(f"{p}.{{topologyKey, whenUnsatisfiable}}",
                                 f"{{{c.topology_key}, {c.when_unsatisfiable}}}"))
        if c.min_domains is not None:
            if c.min_domains <= 0:
                out.append(invalid(f"{p}.minDomains", c.min_domains, "must be greater than 0"))
            elif c.when_unsatisfiable != "DoNotSchedule":
                out.append(invalid(f"{p}.minDomains", c.min_domains,
                                   "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not "
                                   + c.when_unsatisfiable))
    return out


# ---- pod updates ---------------------------------------------------------------------------------


def validate_pod_update(new: dict[str, Any], old: dict[str, Any], new_spec: PodSpec, old_spec: PodSpec) -> list[Cause]:
    """ValidatePodUpdate: only images, activeDeadlineSeconds, added tolerations (and grace -1 → 1)."""
    out: list[Cause] = []
    new_raw = as_dict(new.get("spec"))
    old_raw = as_dict(old.get("spec"))
    munged = copy.deepcopy(new_raw)
    for key in ("containers", "initContainers"):
        new_list, old_list = _list(munged.get(key)), _list(old_raw.get(key))
        if len(new_list) != len(old_list):
            return out + [forbidden(f"spec.{key}", "pod updates may not add or remove containers")]
        for i, (n, o) in enumerate(zip(new_list, old_list)):
            image = as_dict(n).get("image") or ""
            if not isinstance(image, str) or not image:
                out.append(required(f"spec.{key}[{i}].image"))
            elif image.strip() != image:
                out.append(invalid(f"spec.{key}[{i}].image", image, "must not have leading or trailing whitespace"))
            if isinstance(n, dict) and isinstance(o, dict):
                n["image"] = o.get("image")
    new_ads, old_ads = new_spec.active_deadline_seconds, old_spec.active_deadline_seconds
    if new_ads is not None:
        if not 0 <= new_ads <= MAX_INT32:
            return out + [invalid("spec.activeDeadlineSeconds", new_ads, formats.inclusive_range_error(0, MAX_INT32))]
        if old_ads is not None and old_ads < new_ads:
            return out + [invalid("spec.activeDeadlineSeconds", new_ads, "must be less than or equal to previous value")]
    elif old_ads is not None:
        out.append(invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"))
    out += _only_added_tolerations(new_raw.get("tolerations") or [], old_raw.get("tolerations") or [])
    _restore(munged, old_raw, "activeDeadlineSeconds")
    _restore(munged, old_raw, "tolerations")
    _restore(munged, old_raw, "schedulingGates")
    old_grace, new_grace = old_spec.termination_grace_period_seconds, new_spec.termination_grace_period_seconds
    if old_grace is not None and old_grace < 0 and new_grace == 1:
        _restore(munged, old_raw, "terminationGracePeriodSeconds")
    if not semantic_equal(munged, old_raw):
        out.append(forbidden("spec", POD_UPDATE_FORBIDDEN))
    return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _restore(munged: dict[str, Any], old: dict[str, Any], key: str) -> None:
    if key in old:
        munged[key] = copy.deepcopy(old[key])
    else:
        munged.pop(key, None)


def _only_added_tolerations(new: list[Any], old: list[Any]) -> list[Cause]:
    for o in old:
        if not isinstance(o, dict):
            continue
        stripped = {k: v for k, v in o.items() if k != "tolerationSeconds"}
        if not any(isinstance(n, dict) and semantic_equal({k: v for k, v in n.items() if k != "tolerationSeconds"},
                                                          stripped) for n in new):
            return [forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")]
    return []
