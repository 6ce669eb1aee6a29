"""Validation: the causes Kubernetes would give for an object (422 Invalid), on create and update.

The API server calls, after `core.fields.decode_errors` and `core.defaults.apply_defaults`:
- `validate(kind, obj)` on create, `validate(kind, obj, old)` on update (the whole object);
- `validate_status_update(kind, obj, old)` on writes to the /status subresource.
and raises `core.errors.invalid(kind.kind, name, causes, kind.group)` when causes come back. Each
cause has Kubernetes' field path, wording and reason. Metadata is checked here for every kind; the
per-kind rules live in core/schema/rules/, reading the typed views of core/schema/.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from pydantic import ValidationError

from core.defaults import apply_defaults
from core.errors import Cause
from core.fields import decode_errors
from core.kinds import Kind
from core.schema import formats, model_for
from core.schema.causes import TYPE_INVALID
from core.schema.meta import Resource, parse
from core.schema.rules import apps_v1, batch_v1, core_v1, other
from core.schema.rules.common import Subject
from core.schema.rules.meta import validate_object_meta

Rule = Callable[[Subject], list[Cause]]

_NAME_FNS: dict[tuple[str, str], formats.NameFn] = {
    ("", "Namespace"): formats.name_is_dns_label,
    ("", "Service"): formats.name_is_dns1035_label,
}

_RULES: dict[tuple[str, str], Rule] = {
    ("", "Pod"): core_v1.pod,
    ("", "PodTemplate"): core_v1.pod_template,
    ("", "Service"): core_v1.service,
    ("", "Endpoints"): core_v1.endpoints,
    ("", "Namespace"): core_v1.namespace,
    ("", "Node"): core_v1.node,
    ("", "ConfigMap"): core_v1.config_map,
    ("", "Secret"): core_v1.secret,
    ("", "Event"): core_v1.event,
    ("", "ReplicationController"): core_v1.replication_controller,
    ("", "PersistentVolume"): core_v1.persistent_volume,
    ("", "PersistentVolumeClaim"): core_v1.persistent_volume_claim,
    ("apps", "Deployment"): apps_v1.deployment,
    ("apps", "ReplicaSet"): apps_v1.replica_set,
    ("apps", "DaemonSet"): apps_v1.daemon_set,
    ("apps", "StatefulSet"): apps_v1.stateful_set,
    ("apps", "ControllerRevision"): apps_v1.controller_revision,
    ("batch", "Job"): batch_v1.job,
    ("batch", "CronJob"): batch_v1.cron_job,
    ("coordination.k8s.io", "Lease"): other.lease,
    ("discovery.k8s.io", "EndpointSlice"): other.endpoint_slice,
    ("networking.k8s.io", "Ingress"): other.ingress,
    ("autoscaling", "HorizontalPodAutoscaler"): other.hpa,
}

_STATUS_RULES: dict[tuple[str, str], Rule] = {
    ("", "Pod"): core_v1.pod_status,
    ("", "Namespace"): core_v1.namespace_status,
    ("", "Service"): core_v1.service_status,
    ("apps", "Deployment"): apps_v1.status,
    ("apps", "ReplicaSet"): apps_v1.status,
    ("apps", "DaemonSet"): apps_v1.status,
    ("apps", "StatefulSet"): apps_v1.status,
    ("", "ReplicationController"): apps_v1.status,
    ("batch", "Job"): batch_v1.job_status,
}


def validate(kind: Kind, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[Cause]:
    """All causes that make `obj` invalid: a create when `old` is None, else an update of `old`."""
    subject = _subject(kind, obj, old)
    if isinstance(subject, list):
        return subject
    name_fn = _NAME_FNS.get((kind.group, kind.kind), formats.name_is_dns_subdomain)
    causes = validate_object_meta(subject.model.metadata, namespaced=kind.namespaced, name_fn=name_fn)
    rule = _RULES.get((kind.group, kind.kind))
    if rule is not None:
        causes += rule(subject)
    return _dedupe(causes)


def validate_status_update(kind: Kind, obj: dict[str, Any], old: dict[str, Any]) -> list[Cause]:
    """Causes for a write to /status (spec and metadata changes are the API server's to drop)."""
    subject = _subject(kind, obj, old)
    if isinstance(subject, list):
        return subject
    rule = _STATUS_RULES.get((kind.group, kind.kind))
    return _dedupe(rule(subject)) if rule is not None else []


def _subject(kind: Kind, obj: Any, old: Any) -> Subject | list[Cause]:
    """Parse both versions into typed views, or return why they cannot be (wrong JSON types)."""
    if not isinstance(obj, dict):
        return [Cause("", "the object must be a JSON object", TYPE_INVALID)]
    model_cls = model_for(kind)
    try:
        model = parse(model_cls, obj)
    except ValidationError:
        return decode_errors(kind, obj) or [Cause("", "the object does not match its schema", TYPE_INVALID)]
    old_model: Resource | None = None
    if isinstance(old, dict):
        # Compare against the old version as Kubernetes would read it back: defaulted (a version stored
        # before a default existed must not make every update look like a forbidden change).
        old = copy.deepcopy(old)
        apply_defaults(kind, old)
        try:
            old_model = parse(model_cls, old)
        except ValidationError:
            old_model = model_cls()
    return Subject(kind, obj, model, old if isinstance(old, dict) else None, old_model)


def _dedupe(causes: list[Cause]) -> list[Cause]:
    """Kubernetes' ToAggregate drops repeated messages; keep the first of each."""
    seen: set[tuple[str, str]] = set()
    out = []
    for cause in causes:
        key = (cause.field, cause.message)
        if key not in seen:
            seen.add(key)
            out.append(cause)
    return out
