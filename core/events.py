"""core/v1 Events as components report them: who (source), about what (involvedObject), why.

Pure construction only; `bus.recorder.EventRecorder` sends them. The name follows Kubernetes'
`<object name>.<hex>` form, so `kubectl describe` and `kubectl get events` look familiar.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.meta import rfc3339

NORMAL = "Normal"
WARNING = "Warning"


@dataclass(frozen=True)
class Event:
    """An Event a pure decision asks its controller to record about the object it decided on."""

    type: str
    reason: str
    message: str


def involved(obj: dict[str, Any]) -> dict[str, Any]:
    """The involvedObject reference of an object (kind/apiVersion as stored, uid, revision)."""
    md = obj.get("metadata") or {}
    ref = {"kind": obj.get("kind", ""), "apiVersion": obj.get("apiVersion", ""), "name": md.get("name", ""),
           "uid": md.get("uid", ""), "resourceVersion": md.get("resourceVersion", "")}
    if md.get("namespace"):
        ref["namespace"] = md["namespace"]
    return ref


def make_event(obj: dict[str, Any], type_: str, reason: str, message: str, *, component: str, host: str = "",
               now: datetime, field_path: str = "", rng: random.Random | None = None) -> dict[str, Any]:
    ref = involved(obj)
    if field_path:
        ref["fieldPath"] = field_path
    ns = ref.get("namespace") or "default"
    stamp = rfc3339(now)
    source: dict[str, Any] = {"component": component}
    if host:
        source["host"] = host
    suffix = "%016x" % (rng or random).getrandbits(64)
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{ref['name']}.{suffix}", "namespace": ns},
        "involvedObject": ref, "reason": reason, "message": message, "type": type_,
        "source": source, "reportingComponent": component, "reportingInstance": host,
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        "eventTime": None, "action": reason,
    }
