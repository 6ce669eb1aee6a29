"""Admission: from request bytes to an object fit to store.

Decoding (JSON or YAML, the right apiVersion and kind, types that fit the schema), strict field
validation, defaulting, validation against the previous version, and the metadata the server
owns (uid, creationTimestamp, generation, namespace). Every failure is an `ApiError` with the code
Kubernetes gives; nothing here touches the log.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import yaml

from core import errors
from core.defaults import apply_defaults, default_tolerations
from core.fields import decode_error_message, field_report
from core.kinds import Kind
from core.protobuf import decode_with_unknown, is_protobuf
from core.meta import rfc3339
from core.validation import validate, validate_status_update

MAX_BODY = 3 * 1024 * 1024

# Kinds whose status is written only through /status: a main-resource write keeps the old status
# and a create starts from an empty one, as Kubernetes' strategies do.
_SERVER_OWNED_STATUS = frozenset({
    "Pod", "Deployment", "ReplicaSet", "ReplicationController", "DaemonSet", "StatefulSet", "Job", "CronJob",
    "Service", "Node", "PersistentVolume", "PersistentVolumeClaim", "HorizontalPodAutoscaler", "Ingress",
})
_HAS_GENERATION = _SERVER_OWNED_STATUS | {"Namespace"}


@dataclass
class Warnings:
    messages: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.messages.append(message)


def parse_body(body: bytes, content_type: str, warnings: Warnings | None = None) -> Any:
    """JSON (also when no Content-Type is sent, as kubectl scale and the Python client do), YAML,
    or Kubernetes protobuf (kubectl's typed commands: `create deployment|configmap|secret|…`)."""
    if len(body) > MAX_BODY:
        raise errors.RequestEntityTooLarge("the request body is too large: limit is 3145728 bytes")
    ct = (content_type or "").split(";")[0].strip().lower()
    if not body.strip():
        raise errors.BadRequest("the request body is empty")
    if is_protobuf(ct):
        obj, unknown = decode_with_unknown(body)
        # Kubernetes ignores protobuf fields it does not know; a newer kubectl may set one our
        # table lacks, so these are warnings even under fieldValidation=Strict.
        for path in unknown:
            if warnings is not None:
                warnings.add(f'unknown protobuf field "{path}" ignored')
        return obj
    if ct in ("application/yaml", "application/apply-patch+yaml", "text/yaml"):
        try:
            return yaml.safe_load(body)
        except yaml.YAMLError as e:
            raise errors.BadRequest(f"the request body is not valid YAML: {_one_line(str(e))}") from e
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise errors.BadRequest(f"couldn't get version/kind; json parse error: {e}") from e


def _one_line(s: str) -> str:
    return " ".join(s.split())


def check_type_meta(kind: Kind, obj: Any) -> dict[str, Any]:
    """The body must be an object of the URL's kind. A missing `kind` or `apiVersion` is taken
    from the URL, as Kubernetes' decoder does (the Python client sends model objects without
    them); one that names another kind or version is 400."""
    if not isinstance(obj, dict):
        raise errors.BadRequest(f"the body of the request must be a {kind.kind} object, not {type(obj).__name__}")
    if not obj.get("kind"):
        obj["kind"] = kind.kind
    if not obj.get("apiVersion"):
        obj["apiVersion"] = kind.api_version
    api_version, got_kind = obj["apiVersion"], obj["kind"]
    if got_kind != kind.kind or api_version != kind.api_version:
        raise errors.BadRequest(
            f'{got_kind} in version "{api_version}" cannot be handled as a {kind.kind}: '
            f"the request is for {kind.api_version} {kind.kind} (check apiVersion and kind, or the URL)")
    return obj


def check_fields(kind: Kind, obj: dict[str, Any], field_validation: str, warnings: Warnings) -> None:
    """Types that do not fit the schema are always 400; unknown fields per fieldValidation."""
    bad, unknown = field_report(kind, obj)
    if bad:
        raise errors.BadRequest(decode_error_message(kind, bad), kind=kind.resource, causes=bad)
    mode = (field_validation or "Warn").capitalize()
    if mode not in ("Strict", "Warn", "Ignore"):
        raise errors.BadRequest(f'fieldValidation must be one of "Strict", "Warn" or "Ignore", not {field_validation!r}')
    if mode == "Ignore":
        return
    if not unknown:
        return
    if mode == "Strict":
        listed = ", ".join(f'unknown field "{u}"' for u in unknown)
        raise errors.BadRequest(f"strict decoding error: {listed}", kind=kind.resource,
                                causes=[errors.Cause(u, f'unknown field "{u}"', "FieldValueInvalid") for u in unknown])
    for u in unknown:
        warnings.add(f'unknown field "{u}"')


def _raise_invalid(kind: Kind, obj: dict[str, Any], causes: list[errors.Cause]) -> None:
    if causes:
        name = (obj.get("metadata") or {}).get("name") or (obj.get("metadata") or {}).get("generateName") or ""
        raise errors.invalid(kind.kind, name, causes, kind.group)


def admit_create(kind: Kind, obj: dict[str, Any], *, namespace: str, now: datetime, uid: str | None = None,
                 toleration_seconds: tuple[int, int] = (300, 300)) -> dict[str, Any]:
    """Fill what the server owns, default and validate a new object (name already chosen)."""
    md = obj.setdefault("metadata", {})
    if not isinstance(md, dict):
        raise errors.BadRequest("metadata must be an object")
    if kind.namespaced:
        if md.get("namespace") and md["namespace"] != namespace:
            raise errors.BadRequest("the namespace of the provided object does not match the namespace sent on the request")
        md["namespace"] = namespace
    else:
        md.pop("namespace", None)
    for owned in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
        md.pop(owned, None)
    md["uid"] = uid or str(uuid.uuid4())
    md["creationTimestamp"] = rfc3339(now)
    if kind.kind in _HAS_GENERATION:
        md["generation"] = 1
    else:
        md.pop("generation", None)
    if kind.kind in _SERVER_OWNED_STATUS:
        obj["status"] = {}
    apply_defaults(kind, obj)
    if kind.kind == "Pod" and not kind.group:
        default_tolerations(obj, not_ready=toleration_seconds[0], unreachable=toleration_seconds[1])
    _raise_invalid(kind, obj, validate(kind, obj))
    return obj


def admit_update(kind: Kind, new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """A main-resource write: the server's metadata and (for most kinds) the status stay as they were."""
    md, old_md = new.setdefault("metadata", {}), old["metadata"]
    if not isinstance(md, dict):
        raise errors.BadRequest("metadata must be an object")
    for key in ("name", "namespace"):
        if md.get(key, old_md.get(key)) != old_md.get(key):
            raise errors.BadRequest(f"the {key} of the object ({md.get(key)}) does not match the {key} on the URL "
                                    f"({old_md.get(key)})")
    for owned in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace", "name"):
        if owned in old_md:
            md[owned] = old_md[owned]
        else:
            md.pop(owned, None)
    if kind.kind in _SERVER_OWNED_STATUS:
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    apply_defaults(kind, new)
    _raise_invalid(kind, new, validate(kind, new, old))
    if kind.kind in _HAS_GENERATION:
        changed = _without(new, ("metadata", "status")) != _without(old, ("metadata", "status"))
        md["generation"] = int(old_md.get("generation", 1)) + (1 if changed else 0)
    return new


def admit_status_update(kind: Kind, body: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """A /status write: only the status changes (plus metadata labels/annotations, as Kubernetes allows)."""
    new = copy.deepcopy(old)
    new["status"] = body.get("status", {})
    _raise_invalid(kind, new, validate_status_update(kind, new, old))
    return new


def _without(obj: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in keys}
