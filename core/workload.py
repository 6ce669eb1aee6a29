"""What the workload controllers share about pods and owners. Pure.

- Owner references: the controller reference of an object, and the reference a controller puts on
  what it makes (`controller: true`, `blockOwnerDeletion: true`).
- Claiming (client-go's ControllerRefManager): given an owner's selector and the candidates,
  which objects it owns, which orphans it adopts, and which of its own it releases because they
  stopped matching.
- Pod state as controllers judge it: active, ready, available after `minReadySeconds`.
- Pods made from a template, and the order in which a controller deletes surplus pods
  (Kubernetes' `ActivePods` ordering: the least useful first).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from core.selectors import LabelSelector

Obj = dict[str, Any]


# -- owner references -----------------------------------------------------------------------
def controller_ref(obj: Mapping[str, Any]) -> Obj | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def controller_key(obj: Mapping[str, Any], kind: str) -> str | None:
    """`namespace/name` of the object's controller when that controller is a `kind` (owners are
    in the object's own namespace)."""
    ref = controller_ref(obj)
    if ref is None or ref.get("kind") != kind:
        return None
    return f"{(obj.get('metadata') or {}).get('namespace') or ''}/{ref.get('name') or ''}"


def owner_reference(owner: Mapping[str, Any], api_version: str, kind: str, *, controller: bool = True,
                    block: bool = True) -> Obj:
    md = owner.get("metadata") or {}
    ref: Obj = {"apiVersion": api_version, "kind": kind, "name": md.get("name", ""), "uid": md.get("uid", "")}
    if controller:
        ref["controller"] = True
    if block:
        ref["blockOwnerDeletion"] = True
    return ref


def is_deleting(obj: Mapping[str, Any] | None) -> bool:
    return bool(((obj or {}).get("metadata") or {}).get("deletionTimestamp"))


def uid_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid", ""))


def name_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


@dataclass
class Claim:
    owned: list[Obj] = field(default_factory=list)  # controlled by the owner and matching
    adopt: list[Obj] = field(default_factory=list)  # orphans that match: to be adopted
    release: list[Obj] = field(default_factory=list)  # controlled by the owner, no longer matching


def claim(owner: Mapping[str, Any], selector: LabelSelector, candidates: Iterable[Mapping[str, Any]], *,
          can_adopt: bool = True) -> Claim:
    """Sort `candidates` (objects in the owner's namespace) into owned / to adopt / to release.

    An object controlled by someone else is never touched. An orphan is adopted only if it
    matches, neither it nor the owner is being deleted, and `can_adopt` (the caller's fresh check
    that the owner still exists with this uid). A non-matching object of the owner's is released
    unless it is being deleted (it goes away anyway)."""
    out = Claim()
    uid = uid_of(owner)
    owner_deleting = is_deleting(owner)
    for obj in candidates:
        ref = controller_ref(obj)
        matches = selector.matches(labels_of(obj))
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches:
                out.owned.append(dict(obj))
            elif not is_deleting(obj) and not owner_deleting:
                out.release.append(dict(obj))
            continue
        if matches and can_adopt and not owner_deleting and not is_deleting(obj):
            out.adopt.append(dict(obj))
    return out


def with_owner(obj: Mapping[str, Any], ref: Mapping[str, Any]) -> list[Obj]:
    """The ownerReferences of `obj` with `ref` added (replacing one with the same uid)."""
    refs = [dict(r) for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("uid") != ref.get("uid")]
    return refs + [dict(ref)]


def without_owner(obj: Mapping[str, Any], uid: str) -> list[Obj]:
    return [dict(r) for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("uid") != uid]


# -- pod state --------------------------------------------------------------------------------
def parse_time(s: Any) -> datetime | None:
    if not isinstance(s, str) or not s:
        return None
    try:
        t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def is_active(pod: Mapping[str, Any]) -> bool:
    """Counts toward replicas: not finished and not being deleted."""
    return phase(pod) not in ("Succeeded", "Failed") and not is_deleting(pod)


def pod_condition(pod: Mapping[str, Any], type_: str) -> Obj | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return dict(c)
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    c = pod_condition(pod, "Ready")
    return c is not None and c.get("status") == "True"


def ready_since(pod: Mapping[str, Any]) -> datetime | None:
    c = pod_condition(pod, "Ready")
    if c is None or c.get("status") != "True":
        return None
    return parse_time(c.get("lastTransitionTime"))


def is_available(pod: Mapping[str, Any], min_ready_seconds: int, now: datetime) -> bool:
    """Ready for at least `min_ready_seconds` (Kubernetes' IsPodAvailable)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + timedelta(seconds=min_ready_seconds) <= now


def available_in(pod: Mapping[str, Any], min_ready_seconds: int, now: datetime) -> float | None:
    """Seconds until a ready pod becomes available (0 if it is), None if it is not ready."""
    if not is_ready(pod):
        return None
    since = ready_since(pod)
    if min_ready_seconds <= 0 or since is None:
        return 0.0
    return max(0.0, (since + timedelta(seconds=min_ready_seconds) - now).total_seconds())


def restarts(pod: Mapping[str, Any]) -> int:
    return sum(int(s.get("restartCount") or 0) for s in (pod.get("status") or {}).get("containerStatuses") or [])


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}
_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def deletion_order(pods: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """Pods in the order a controller deletes surplus ones (Kubernetes' ActivePods `Less`):
    unscheduled before scheduled; Pending before Unknown before Running; not ready before ready;
    ready for less time first; more container restarts first; newer before older."""
    def key(p: Mapping[str, Any]) -> tuple[Any, ...]:
        assigned = bool((p.get("spec") or {}).get("nodeName"))
        ready = is_ready(p)
        since = ready_since(p) or _EPOCH
        created = parse_time((p.get("metadata") or {}).get("creationTimestamp")) or _EPOCH
        return (assigned, _PHASE_RANK.get(phase(p), 3), ready,
                -since.timestamp() if ready else 0.0, -restarts(p), -created.timestamp(), name_of(p))
    return [dict(p) for p in sorted(pods, key=key)]


def scaled_value(value: int | str | None, total: int, *, round_up: bool) -> int:
    """An IntOrString against `total`: an int as is, "25%" of total rounded up or down
    (Kubernetes' GetScaledValueFromIntOrPercent). Anything else raises ValueError."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if not value.endswith("%"):
            raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}")
        try:
            pct = int(value[:-1])
        except ValueError as e:
            raise ValueError(f"invalid value {value!r}: {e}") from e
        scaled = pct * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    raise ValueError(f"invalid value for IntOrString: {value!r}")


def pod_from_template(template: Mapping[str, Any], owner_ref: Mapping[str, Any] | None, *, name: str = "",
                      generate_name: str = "", extra_labels: Mapping[str, str] | None = None) -> Obj:
    """A Pod body from a PodTemplateSpec: the template's labels, annotations and finalizers, its
    spec, and the controller reference."""
    tmd = template.get("metadata") or {}
    md: Obj = {}
    if name:
        md["name"] = name
    else:
        md["generateName"] = generate_name
    labels = dict(tmd.get("labels") or {})
    labels.update(extra_labels or {})
    if labels:
        md["labels"] = labels
    if tmd.get("annotations"):
        md["annotations"] = dict(tmd["annotations"])
    if tmd.get("finalizers"):
        md["finalizers"] = list(tmd["finalizers"])
    if owner_ref is not None:
        md["ownerReferences"] = [dict(owner_ref)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": copy.deepcopy(template.get("spec") or {})}


def generate_name_prefix(owner_name: str) -> str:
    """`<owner>-`, shortened so that the generated name stays a valid 63-character label value
    (Kubernetes' getPodsPrefix)."""
    prefix = f"{owner_name}-"
    max_len = 63 - 5  # generateName appends five characters
    return prefix if len(prefix) <= max_len else prefix[:max_len]
