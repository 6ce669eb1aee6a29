"""The StatefulSet controller's decisions (Kubernetes 1.32 `StatefulSetControl`). Pure.

Objects in, decisions out; `components/controllers/statefulset.py` reads the projection and
performs them.

- Identity: pod `<set>-<ordinal>` for the ordinals `start .. start+replicas-1`, labelled with its
  name, its index and the revision it was made from (`controller-revision-hash: <set>-<hash>`),
  `hostname = <pod>`, `subdomain = spec.serviceName`; one claim `<template>-<set>-<ordinal>` per
  volumeClaimTemplate, named in the pod's volumes.
- Revisions (`revisions`): the update revision is the ControllerRevision holding the current
  template (an equal one is reused; a name taken by a different template bumps collisionCount);
  the current revision is the one `status.currentRevision` names while it exists.
- The plan (`plan`), in Kubernetes' order: living replicas first (recreate failed ones, create
  missing ones, wait for each to be Running and Ready and available), then condemned pods (ordinal
  out of range) from the highest, then the rolling update from the highest ordinal down to the
  partition, one pod at a time. `OrderedReady` stops at the first thing it has to wait for or has
  just done; `Parallel` creates and deletes everything at once (a rolling update is still one by one).
- Status (`status`) as computeReplicaStatus + completeRollingUpdate; `prunable` revisions are the
  oldest beyond revisionHistoryLimit that neither a pod nor the status uses.

Departures: spec.updateStrategy.rollingUpdate.maxUnavailable (alpha) is ignored; an adopted pod
whose identity labels differ is left as it is (Kubernetes patches them); an equal older revision
that becomes the update revision again keeps its revision number.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.history import next_revision, revision_body, template_hash, template_of
from core.workload import (
    available_in,
    is_available,
    is_deleting,
    is_ready,
    name_of,
    owner_reference,
    phase,
    pod_from_template,
    uid_of,
)

Obj = dict[str, Any]

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
ORDERED_READY = "OrderedReady"
PARALLEL = "Parallel"
ROLLING_UPDATE = "RollingUpdate"
ON_DELETE = "OnDelete"
RETAIN = "Retain"
DELETE = "Delete"

_ORDINAL_RE = re.compile(r"^(.*)-([0-9]+)$")


# -- identity ---------------------------------------------------------------------------------
def spec_of(sts: Mapping[str, Any]) -> Obj:
    return dict(sts.get("spec") or {})


def replicas_of(sts: Mapping[str, Any]) -> int:
    r = spec_of(sts).get("replicas")
    return 1 if r is None else int(r)


def start_ordinal(sts: Mapping[str, Any]) -> int:
    return int((spec_of(sts).get("ordinals") or {}).get("start") or 0)


def ordinal_range(sts: Mapping[str, Any]) -> range:
    start = start_ordinal(sts)
    return range(start, start + replicas_of(sts))


def parse_ordinal(pod_name: str) -> tuple[str, int] | None:
    """(parent name, ordinal) of a name of the form `<parent>-<n>`, else None."""
    m = _ORDINAL_RE.match(pod_name)
    if m is None:
        return None
    return m.group(1), int(m.group(2))


def ordinal_of(sts: Mapping[str, Any], pod: Mapping[str, Any]) -> int | None:
    """The pod's ordinal if its name makes it a member of the set (Kubernetes' isMemberOf)."""
    parsed = parse_ordinal(name_of(pod))
    if parsed is None or parsed[0] != name_of(sts):
        return None
    return parsed[1]


def pod_name(sts: Mapping[str, Any], ordinal: int) -> str:
    return f"{name_of(sts)}-{ordinal}"


def claim_name(template_name: str, sts: Mapping[str, Any], ordinal: int) -> str:
    return f"{template_name}-{name_of(sts)}-{ordinal}"


def revision_of_pod(pod: Mapping[str, Any]) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL, ""))


def owner_ref(sts: Mapping[str, Any]) -> Obj:
    return owner_reference(sts, "apps/v1", "StatefulSet")


def retention(sts: Mapping[str, Any]) -> tuple[str, str]:
    """(whenDeleted, whenScaled) of persistentVolumeClaimRetentionPolicy (Retain by default)."""
    p = spec_of(sts).get("persistentVolumeClaimRetentionPolicy") or {}
    return str(p.get("whenDeleted") or RETAIN), str(p.get("whenScaled") or RETAIN)


def claim_bodies(sts: Mapping[str, Any], ordinal: int) -> list[Obj]:
    """The PersistentVolumeClaims of one ordinal: each template's metadata and spec, the template's
    labels plus the selector's matchLabels; owned by the set when whenDeleted is Delete."""
    md = sts.get("metadata") or {}
    match = dict((spec_of(sts).get("selector") or {}).get("matchLabels") or {})
    out = []
    for t in spec_of(sts).get("volumeClaimTemplates") or []:
        tmd = t.get("metadata") or {}
        labels = dict(tmd.get("labels") or {})
        labels.update(match)
        cmd: Obj = {"name": claim_name(str(tmd.get("name", "")), sts, ordinal), "namespace": md.get("namespace", "")}
        if labels:
            cmd["labels"] = labels
        if tmd.get("annotations"):
            cmd["annotations"] = dict(tmd["annotations"])
        if retention(sts)[0] == DELETE:
            cmd["ownerReferences"] = [owner_reference(sts, "apps/v1", "StatefulSet", controller=False)]
        out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": cmd,
                    "spec": copy.deepcopy(t.get("spec") or {})})
    return out


def pod_body(sts: Mapping[str, Any], template: Mapping[str, Any], ordinal: int, revision: str) -> Obj:
    """The pod of one ordinal made from `template` (the template of revision `revision`)."""
    name = pod_name(sts, ordinal)
    pod = pod_from_template(template, owner_ref(sts), name=name, extra_labels={
        POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal), REVISION_LABEL: revision})
    pod["metadata"]["namespace"] = (sts.get("metadata") or {}).get("namespace", "")
    spec = pod["spec"]
    spec["hostname"] = name
    service = spec_of(sts).get("serviceName")
    if service:
        spec["subdomain"] = service
    templates = [str((t.get("metadata") or {}).get("name", ""))
                 for t in spec_of(sts).get("volumeClaimTemplates") or []]
    if templates:
        claims = [{"name": t, "persistentVolumeClaim": {"claimName": claim_name(t, sts, ordinal)}} for t in templates]
        spec["volumes"] = claims + [v for v in spec.get("volumes") or [] if v.get("name") not in templates]
    return pod


# -- revisions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Revisions:
    current: str
    update: str
    current_template: Obj
    update_template: Obj
    collision_count: int
    create: Obj | None = None  # a ControllerRevision to create (the new update revision)


def revisions(sts: Mapping[str, Any], owned: Iterable[Mapping[str, Any]]) -> Revisions:
    """The current and update revisions, and the ControllerRevision to create if the template is new."""
    owned = sorted(owned, key=lambda r: (int(r.get("revision") or 0), name_of(r)))
    template = dict(spec_of(sts).get("template") or {})
    status = sts.get("status") or {}
    collisions = int(status.get("collisionCount") or 0)
    by_name = {name_of(r): r for r in owned}
    equal = [r for r in owned if template_of(r) == template]
    create: Obj | None = None
    if equal:
        update = name_of(equal[-1])
    else:
        while True:
            h = template_hash(template, collisions)
            name = f"{name_of(sts)}-{h}"
            if name not in by_name:
                break
            collisions += 1  # the name is taken by a different template: a hash collision
        match = (spec_of(sts).get("selector") or {}).get("matchLabels") or {}
        create = revision_body(sts, owner_ref(sts), template, next_revision(owned), h, selector_labels=match)
        update = name
    current_name = str(status.get("currentRevision") or "")
    if current_name not in by_name or current_name == update:
        current_name = update
        current_template = template
    else:
        current_template = template_of(by_name[current_name])
    return Revisions(current_name, update, current_template, template, collisions, create)


def prunable(sts: Mapping[str, Any], owned: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]],
             current: str, update: str) -> list[Obj]:
    """Revisions to delete: the oldest of those no pod and neither current nor update uses, beyond
    revisionHistoryLimit."""
    limit = spec_of(sts).get("revisionHistoryLimit")
    limit = 10 if limit is None else int(limit)
    live = {current, update} | {revision_of_pod(p) for p in pods}
    history = sorted((dict(r) for r in owned if name_of(r) not in live),
                     key=lambda r: (int(r.get("revision") or 0), name_of(r)))
    excess = len(history) - limit
    return history[:excess] if excess > 0 else []


# -- the plan ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreatePod:
    ordinal: int
    pod: Obj
    claims: tuple[Obj, ...] = ()  # claims to create first (the missing ones)


@dataclass(frozen=True)
class CreateClaims:
    """An existing pod lacks claims (deleted by someone, or adopted): make them again."""
    ordinal: int
    pod: str
    claims: tuple[Obj, ...]


@dataclass(frozen=True)
class DeletePod:
    name: str
    uid: str
    why: str  # "failed", "condemned", "update"


@dataclass(frozen=True)
class OwnClaims:
    """whenScaled=Delete: before a condemned pod goes, its claims get it as owner (so they go with it)."""
    pod: str
    pod_uid: str
    claims: tuple[str, ...]


Action = CreatePod | CreateClaims | DeletePod | OwnClaims


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    requeue_after: float | None = None  # a ready pod becomes available then
    waiting_on: str = ""  # what OrderedReady waits for (for logs)


def running_and_ready(pod: Mapping[str, Any]) -> bool:
    return phase(pod) == "Running" and is_ready(pod)


def healthy(pod: Mapping[str, Any] | None) -> bool:
    return pod is not None and running_and_ready(pod) and not is_deleting(pod)


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _claim_names(sts: Mapping[str, Any], ordinal: int) -> list[str]:
    return [claim_name(str((t.get("metadata") or {}).get("name", "")), sts, ordinal)
            for t in spec_of(sts).get("volumeClaimTemplates") or []]


def _missing_claims(sts: Mapping[str, Any], ordinal: int, claims: Mapping[str, Mapping[str, Any]]) -> tuple[Obj, ...]:
    return tuple(c for c in claim_bodies(sts, ordinal) if name_of(c) not in claims)


def plan(sts: Mapping[str, Any], pods: Iterable[Mapping[str, Any]], revs: Revisions,
         claims: Mapping[str, Mapping[str, Any]], now: datetime) -> Plan:
    """What to do next for a set whose claimed pods are `pods` and whose namespace holds `claims`
    (name → PersistentVolumeClaim)."""
    spec = spec_of(sts)
    monotonic = spec.get("podManagementPolicy", ORDERED_READY) != PARALLEL
    min_ready = int(spec.get("minReadySeconds") or 0)
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("type", ROLLING_UPDATE) == ROLLING_UPDATE
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0) if rolling else 0
    wanted = ordinal_range(sts)
    slots: dict[int, Obj | None] = {o: None for o in wanted}
    condemned: list[tuple[int, Obj]] = []
    for p in pods:
        o = ordinal_of(sts, p)
        if o is None:
            continue
        if o in slots:
            slots[o] = dict(p)
        else:
            condemned.append((o, dict(p)))
    condemned.sort(key=lambda t: -t[0])  # the highest ordinal first
    first_unhealthy: str | None = None
    for o in wanted:
        if not healthy(slots[o]):
            first_unhealthy = pod_name(sts, o)
            break
    if first_unhealthy is None:
        for _, p in sorted(condemned, key=lambda t: t[0]):
            if not healthy(p):
                first_unhealthy = name_of(p)
                break

    out = Plan()
    if is_deleting(sts):
        return out
    deleted: set[str] = set()

    def wait(what: str) -> Plan:
        out.waiting_on = what
        return out

    # 1. the living replicas, in ordinal order
    for o in wanted:
        pod = slots[o]
        name = pod_name(sts, o)
        if pod is not None and phase(pod) in ("Failed", "Succeeded"):
            if not is_deleting(pod):
                out.actions.append(DeletePod(name, uid_of(pod), "failed"))
                deleted.add(name)
            if monotonic:
                return wait(f"{name} to be replaced")
            continue
        if pod is None:
            stale = [n for n in _claim_names(sts, o) if n in claims and is_deleting(claims[n])]
            if stale:  # a claim of this name is going away: the pod must wait for a fresh one
                if monotonic:
                    return wait(f"claim {stale[0]} to be deleted")
                continue
            old = rolling and o < partition
            template, revision = (revs.current_template, revs.current) if old else (revs.update_template, revs.update)
            out.actions.append(CreatePod(o, pod_body(sts, template, o, revision), _missing_claims(sts, o, claims)))
            if monotonic:
                return wait(f"{name} to be created")
            continue
        if is_deleting(pod):
            if monotonic:
                return wait(f"{name} to terminate")
            continue
        missing = _missing_claims(sts, o, claims)
        if missing:
            out.actions.append(CreateClaims(o, name, missing))
        if not running_and_ready(pod):
            if monotonic:
                return wait(f"{name} to be Running and Ready")
            continue
        if not is_available(pod, min_ready, now):
            out.requeue_after = _min(out.requeue_after, available_in(pod, min_ready, now))
            if monotonic:
                return wait(f"{name} to be available")

    # 2. condemned pods, from the highest ordinal
    when_scaled = retention(sts)[1]
    for _, pod in condemned:
        name = name_of(pod)
        if is_deleting(pod):
            if monotonic:
                return wait(f"{name} to terminate")
            continue
        if monotonic and name != first_unhealthy:
            if not running_and_ready(pod):
                return wait(f"{name} to be Running and Ready before it is removed")
            if not is_available(pod, min_ready, now):
                out.requeue_after = _min(out.requeue_after, available_in(pod, min_ready, now))
                return wait(f"{name} to be available before it is removed")
        if when_scaled == DELETE:
            o = ordinal_of(sts, pod)
            names = _claim_names(sts, o if o is not None else 0)
            owned = tuple(n for n in names if n in claims and not _owned_by(claims[n], uid_of(pod)))
            if owned:
                out.actions.append(OwnClaims(name, uid_of(pod), owned))
        out.actions.append(DeletePod(name, uid_of(pod), "condemned"))
        deleted.add(name)
        if monotonic:
            return wait(f"{name} to terminate")

    # 3. the rolling update, from the highest ordinal down to the partition, one at a time
    if not rolling:
        return out
    for o in reversed(wanted):
        if o < partition:
            break
        pod = slots[o]
        name = pod_name(sts, o)
        if pod is not None and name not in deleted and not is_deleting(pod) and revision_of_pod(pod) != revs.update:
            out.actions.append(DeletePod(name, uid_of(pod), "update"))
            return wait(f"{name} to be updated")
        if pod is None or name in deleted or not healthy(pod):
            return wait(f"{name} to be healthy during the update")
    return out


def _owned_by(obj: Mapping[str, Any], uid: str) -> bool:
    return any(r.get("uid") == uid for r in (obj.get("metadata") or {}).get("ownerReferences") or [])


# -- status -----------------------------------------------------------------------------------
def status(sts: Mapping[str, Any], pods: Iterable[Mapping[str, Any]], revs: Revisions, now: datetime) -> Obj:
    """The status Kubernetes computes from the claimed pods (members of the set, in range or not)."""
    spec = spec_of(sts)
    min_ready = int(spec.get("minReadySeconds") or 0)
    counts = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 0, "updatedReplicas": 0}
    for p in pods:
        if ordinal_of(sts, p) is None:
            continue
        counts["replicas"] += 1
        if running_and_ready(p):
            counts["readyReplicas"] += 1
            if is_available(p, min_ready, now):
                counts["availableReplicas"] += 1
        if not is_deleting(p):
            rev = revision_of_pod(p)
            if rev == revs.current:
                counts["currentReplicas"] += 1
            if rev == revs.update:
                counts["updatedReplicas"] += 1
    out: Obj = {k: v for k, v in (sts.get("status") or {}).items()
                if k not in counts and k not in ("currentRevision", "updateRevision", "collisionCount",
                                                  "observedGeneration")}
    out.update(counts)
    out["observedGeneration"] = int((sts.get("metadata") or {}).get("generation") or 0)
    out["currentRevision"] = revs.current
    out["updateRevision"] = revs.update
    out["collisionCount"] = revs.collision_count
    strategy = (spec.get("updateStrategy") or {}).get("type", ROLLING_UPDATE)
    if (strategy == ROLLING_UPDATE and counts["updatedReplicas"] == counts["replicas"]
            and counts["readyReplicas"] == counts["replicas"]):
        out["currentReplicas"] = counts["updatedReplicas"]
        out["currentRevision"] = revs.update
    return out
