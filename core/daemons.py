"""What the DaemonSet controller decides: which nodes run a daemon pod, what to create and delete, how a
rolling update proceeds, which ControllerRevisions to keep, and the status. Pure.

Kubernetes 1.32's DaemonSetsController, as objects in and decisions out; the async shell in
components/controllers/daemonset.py reads its informers into a `DaemonView`, asks `decide`, and
performs the `Plan` (creates, deletes), then writes `daemon_status`.

- Placement (`placement`): a node should run the daemon pod when the pod template's nodeSelector
  and required node affinity match it and every NoSchedule/NoExecute taint is tolerated by the
  template's tolerations plus those every daemon pod gets (`DAEMON_TOLERATIONS`). A pod already
  there may continue running while only NoSchedule taints are untolerated (Kubernetes'
  `shouldContinueRunning`): it is then counted misscheduled, not deleted. A node being deleted
  runs nothing.
- Pods (`daemon_pod`): the template with those tolerations, the labels `controller-revision-hash`
  and `pod-template-generation`, and a required node affinity `metadata.name In [node]` that
  replaces the template's required terms (already checked against the node), so the default
  scheduler binds it there.
- `manage`: one pod per node that should run; failed (and succeeded) pods deleted, failed ones
  behind a per-node backoff (`FailedPodBackoff`); surplus pods deleted keeping the oldest; every
  pod on a node that may not continue deleted; unscheduled pods aimed at a node that is gone
  deleted.
- `rolling_update`: only when `manage` has nothing to do (Kubernetes runs it once the
  expectations that manage set are met). Without surge: delete old pods while the unavailable
  count stays within maxUnavailable, old pods that are not available first and free; `manage`
  then creates the new one. With surge: create the new pod beside the old one, delete the old
  once the new one is available.
- History (`plan_history`, `history_to_delete`): the ControllerRevision holding the current
  template (made if missing, renumbered to the newest if an older one matches again), and the
  old ones beyond revisionHistoryLimit that no live pod uses.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from core.history import revision_body, template_hash, template_patch
from core.nodeaffinity import NAME_FIELD, parse_node_affinity
from core.taints import NO_EXECUTE, NO_SCHEDULE, untolerated
from core.workload import (
    available_in,
    scaled_value,
    generate_name_prefix,
    is_available,
    is_deleting,
    is_ready,
    labels_of,
    name_of,
    owner_reference,
    parse_time,
    phase,
    pod_from_template,
)

Obj = dict[str, Any]

HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
# apps/v1 keeps the internal templateGeneration here when the API server sets it.
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
API_VERSION = "apps/v1"
KIND = "DaemonSet"

ROLLING_UPDATE = "RollingUpdate"
ON_DELETE = "OnDelete"

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
PID_PRESSURE = "node.kubernetes.io/pid-pressure"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"

# Every daemon pod tolerates these (Kubernetes' AddOrUpdateDaemonPodTolerations): a daemon keeps
# running through node trouble, with no tolerationSeconds, so it is never evicted for it.
DAEMON_TOLERATIONS: tuple[Obj, ...] = (
    {"key": NOT_READY, "operator": "Exists", "effect": NO_EXECUTE},
    {"key": UNREACHABLE, "operator": "Exists", "effect": NO_EXECUTE},
    {"key": DISK_PRESSURE, "operator": "Exists", "effect": NO_SCHEDULE},
    {"key": MEMORY_PRESSURE, "operator": "Exists", "effect": NO_SCHEDULE},
    {"key": PID_PRESSURE, "operator": "Exists", "effect": NO_SCHEDULE},
    {"key": UNSCHEDULABLE, "operator": "Exists", "effect": NO_SCHEDULE},
)
HOST_NETWORK_TOLERATION: Obj = {"key": NETWORK_UNAVAILABLE, "operator": "Exists", "effect": NO_SCHEDULE}

_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


# -- the DaemonSet's spec ---------------------------------------------------------------------
def template_of_ds(ds: Mapping[str, Any]) -> Obj:
    return dict((ds.get("spec") or {}).get("template") or {})


def template_generation(ds: Mapping[str, Any]) -> str:
    """What goes into `pod-template-generation`: the template generation when the API server keeps
    one, else metadata.generation."""
    md = ds.get("metadata") or {}
    ann = (md.get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
    if ann:
        return str(ann)
    return str(md.get("generation") or 1)


def strategy_type(ds: Mapping[str, Any]) -> str:
    return str(((ds.get("spec") or {}).get("updateStrategy") or {}).get("type") or ROLLING_UPDATE)


def min_ready_seconds(ds: Mapping[str, Any]) -> int:
    return int((ds.get("spec") or {}).get("minReadySeconds") or 0)


def history_limit(ds: Mapping[str, Any]) -> int:
    raw = (ds.get("spec") or {}).get("revisionHistoryLimit")
    return 10 if raw is None else max(int(raw), 0)


def surge_and_unavailable(ds: Mapping[str, Any], desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) for `desired` nodes; both 0 would stall, so that is unavailable 1
    (Kubernetes' updatedDesiredNodeCounts)."""
    if strategy_type(ds) != ROLLING_UPDATE:
        return 0, 0
    ru = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    surge = scaled_value(ru.get("maxSurge", 0), desired, round_up=True)
    unavailable = scaled_value(ru.get("maxUnavailable", 1), desired, round_up=True)
    if desired > 0 and surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def allows_surge(ds: Mapping[str, Any]) -> bool:
    if strategy_type(ds) != ROLLING_UPDATE:
        return False
    ru = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    try:
        return scaled_value(ru.get("maxSurge", 0), 1, round_up=True) != 0
    except ValueError:
        return False


# -- placement ----------------------------------------------------------------------------------
def daemon_tolerations(spec: Mapping[str, Any]) -> list[Obj]:
    """The template's tolerations with the daemon ones added (an identical one is kept; one equal
    but for tolerationSeconds is replaced, as AddOrUpdateTolerationInPodSpec does)."""
    out = [dict(t) for t in spec.get("tolerations") or [] if isinstance(t, Mapping)]
    extra = list(DAEMON_TOLERATIONS) + ([HOST_NETWORK_TOLERATION] if spec.get("hostNetwork") else [])

    def ident(t: Mapping[str, Any]) -> tuple[str, str, str, str]:
        return (str(t.get("key") or ""), str(t.get("operator") or ""), str(t.get("value") or ""),
                str(t.get("effect") or ""))

    for tol in extra:
        for i, have in enumerate(out):
            if ident(have) == ident(tol):
                out[i] = dict(tol)
                break
        else:
            out.append(dict(tol))
    return out


@dataclass(frozen=True)
class Placement:
    should_run: bool  # a daemon pod belongs here (counts toward desiredNumberScheduled)
    should_continue: bool  # a daemon pod already here may stay


NOWHERE = Placement(False, False)


def placement(ds: Mapping[str, Any], node: Mapping[str, Any]) -> Placement:
    """Kubernetes' NodeShouldRunDaemonPod for this DaemonSet and node."""
    if is_deleting(node):
        return NOWHERE
    name = name_of(node)
    spec = template_of_ds(ds).get("spec") or {}
    if spec.get("nodeName") and spec.get("nodeName") != name:
        return NOWHERE
    if not parse_node_affinity(spec).matches(labels_of(node), name):
        return NOWHERE
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = daemon_tolerations(spec)
    if untolerated(taints, tolerations, (NO_SCHEDULE, NO_EXECUTE)):
        return Placement(False, not untolerated(taints, tolerations, (NO_EXECUTE,)))
    return Placement(True, True)


def pin_to_node(affinity: Mapping[str, Any] | None, node: str) -> Obj:
    """The affinity with its required node selector replaced by `metadata.name In [node]` (Kubernetes'
    ReplaceDaemonSetPodNodeNameNodeAffinity; the label terms were already checked against the node)."""
    out: Obj = copy.deepcopy(dict(affinity or {}))
    na: Obj = dict(out.get("nodeAffinity") or {})
    na["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [{"matchFields": [{"key": NAME_FIELD, "operator": "In", "values": [node]}]}]}
    out["nodeAffinity"] = na
    return out


def daemon_template(ds: Mapping[str, Any], hash_: str) -> Obj:
    """The pod template every daemon pod of this revision is made from (Kubernetes' CreatePodTemplate)."""
    template = copy.deepcopy(template_of_ds(ds))
    md = dict(template.get("metadata") or {})
    labels = dict(md.get("labels") or {})
    labels[GENERATION_LABEL] = template_generation(ds)
    if hash_:
        labels[HASH_LABEL] = hash_
    md["labels"] = labels
    template["metadata"] = md
    spec = dict(template.get("spec") or {})
    spec["tolerations"] = daemon_tolerations(spec)
    template["spec"] = spec
    return template


def daemon_pod(ds: Mapping[str, Any], node: str, hash_: str) -> Obj:
    """The body of the daemon pod for `node`."""
    template = daemon_template(ds, hash_)
    template["spec"]["affinity"] = pin_to_node(template["spec"].get("affinity"), node)
    ref = owner_reference(ds, API_VERSION, KIND)
    pod = pod_from_template(template, ref, generate_name=generate_name_prefix(name_of(ds)))
    ns = (ds.get("metadata") or {}).get("namespace")
    if ns:
        pod["metadata"]["namespace"] = ns
    return pod


def target_node(pod: Mapping[str, Any]) -> str:
    """The node a daemon pod is for: where it is bound, else the node its affinity pins it to
    (Kubernetes' GetTargetNodeName); "" if neither."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for req in (term or {}).get("matchFields") or []:
            values = req.get("values") or []
            if req.get("key") == NAME_FIELD and req.get("operator") == "In" and len(values) == 1:
                return str(values[0])
    return ""


def is_updated(pod: Mapping[str, Any], hash_: str, generation: str | None) -> bool:
    """Kubernetes' IsPodUpdated: the pod carries the current hash or the current template generation."""
    labels = labels_of(pod)
    return bool(hash_ and labels.get(HASH_LABEL) == hash_) or bool(
        generation is not None and labels.get(GENERATION_LABEL) == generation)


def _created(pod: Mapping[str, Any]) -> datetime:
    return parse_time((pod.get("metadata") or {}).get("creationTimestamp")) or _EPOCH


def oldest_first(pods: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """Scheduled before unscheduled, then oldest first, then by name (podByCreationTimestampAndPhase)."""
    return [dict(p) for p in sorted(pods, key=lambda p: (not (p.get("spec") or {}).get("nodeName"),
                                                          _created(p), name_of(p)))]


def nodes_to_pods(pods: Iterable[Mapping[str, Any]]) -> dict[str, list[Obj]]:
    """The DaemonSet's pods by target node, leaving out finished pods already being deleted
    (getNodesToDaemonPods with includeDeletedTerminal=false) and pods aimed at no node."""
    out: dict[str, list[Obj]] = {}
    for pod in pods:
        if is_deleting(pod) and phase(pod) in ("Succeeded", "Failed"):
            continue
        node = target_node(pod)
        if node:
            out.setdefault(node, []).append(dict(pod))
    return out


# -- decisions ----------------------------------------------------------------------------------
@dataclass
class DaemonView:
    """What one sync reads: the DaemonSet, every node, the DaemonSet's pods (claimed), the hash of
    the current revision, the time, and for each node whose failed-pod deletion is backing off,
    the seconds still to wait."""

    ds: Obj
    nodes: Sequence[Obj]
    pods: Sequence[Obj]
    hash: str
    now: datetime
    backoff: Mapping[str, float] = field(default_factory=dict)

    def placements(self) -> dict[str, Placement]:
        return {name_of(n): placement(self.ds, n) for n in self.nodes}


@dataclass(frozen=True)
class FailedPod:
    pod: Obj
    node: str

    @property
    def message(self) -> str:
        md = self.pod.get("metadata") or {}
        return f"Found failed daemon pod {md.get('namespace', '')}/{md.get('name', '')} on node {self.node}, will try to kill it"


@dataclass
class Plan:
    create_on: list[str] = field(default_factory=list)  # node names, each gets one new pod
    delete: list[Obj] = field(default_factory=list)  # pods
    failed: list[FailedPod] = field(default_factory=list)  # failed pods among `delete` (an Event and a backoff step each)
    recheck_after: float | None = None  # seconds: a failed pod's backoff ends

    @property
    def empty(self) -> bool:
        return not self.create_on and not self.delete

    def later(self, seconds: float) -> None:
        self.recheck_after = seconds if self.recheck_after is None else min(self.recheck_after, seconds)


def _on_node(ds: Mapping[str, Any], node: str, place: Placement, pods: list[Obj] | None, view: DaemonView,
             plan: Plan) -> None:
    """Kubernetes' podsShouldBeOnNode for one node."""
    if place.should_run and pods is None:
        plan.create_on.append(node)
        return
    if pods is None:
        return
    if not place.should_continue:
        plan.delete.extend(p for p in pods if not is_deleting(p))
        return
    running: list[Obj] = []
    for pod in pods:
        if is_deleting(pod):
            continue
        ph = phase(pod)
        if ph == "Failed":
            # The kubelet may keep refusing the pod: back off rather than fight it in a hot loop.
            wait = view.backoff.get(node, 0.0)
            if wait > 0:
                plan.later(wait)
                continue
            plan.delete.append(pod)
            plan.failed.append(FailedPod(pod, node))
        elif ph == "Succeeded":
            plan.delete.append(pod)
        else:
            running.append(pod)
    if not allows_surge(ds):
        plan.delete.extend(oldest_first(running)[1:])
        return
    if len(running) <= 1:
        if not running and place.should_run:
            plan.create_on.append(node)
        return
    # Surging: two pods may stand while the oldest new one is not yet available and the oldest
    # old one is still ready; every other pod goes.
    oldest_new: Obj | None = None
    oldest_old: Obj | None = None
    for pod in oldest_first(running):
        if labels_of(pod).get(HASH_LABEL) == view.hash:
            if oldest_new is None:
                oldest_new = pod
                continue
        elif oldest_old is None:
            oldest_old = pod
            continue
        plan.delete.append(pod)
    if oldest_new is not None and oldest_old is not None:
        if not is_ready(oldest_old) or is_available(oldest_new, min_ready_seconds(ds), view.now):
            plan.delete.append(oldest_old)


def manage(view: DaemonView) -> Plan:
    """Pods to create and delete so that each node runs what it should (Kubernetes' manage)."""
    plan = Plan()
    by_node = nodes_to_pods(view.pods)
    places = view.placements()
    for node in sorted(places):
        _on_node(view.ds, node, places[node], by_node.get(node), view, plan)
    # Unscheduled pods aimed at a node that is gone would wait for ever: the pod GC never sees them.
    for node in sorted(set(by_node) - set(places)):
        plan.delete.extend(p for p in by_node[node]
                           if not (p.get("spec") or {}).get("nodeName") and not is_deleting(p))
    return plan


def _updated_on_node(pods: Iterable[Mapping[str, Any]], hash_: str, generation: str | None
                     ) -> tuple[Obj | None, Obj | None, bool]:
    """(new pod, old pod, ok) on one node; not ok when there are two of either (manage cleans up)."""
    new: Obj | None = None
    old: Obj | None = None
    for pod in pods:
        if is_deleting(pod):
            continue
        if is_updated(pod, hash_, generation):
            if new is not None:
                return None, None, False
            new = dict(pod)
        else:
            if old is not None:
                return None, None, False
            old = dict(pod)
    return new, old, True


def desired_number(view: DaemonView) -> int:
    return sum(1 for p in view.placements().values() if p.should_run)


def rolling_update(view: DaemonView) -> Plan:
    """One step of a RollingUpdate (Kubernetes' rollingUpdate); run only when `manage` had nothing to do."""
    ds, now, hash_ = view.ds, view.now, view.hash
    generation = template_generation(ds)
    by_node = nodes_to_pods(view.pods)
    places = view.placements()
    max_surge, max_unavailable = surge_and_unavailable(ds, desired_number(view))
    mrs = min_ready_seconds(ds)
    plan = Plan()
    if max_surge == 0:
        unavailable = 0
        free: list[Obj] = []  # old pods that are not available: replacing them costs nothing
        candidates: list[Obj] = []
        for node in sorted(by_node):
            new, old, ok = _updated_on_node(by_node[node], hash_, generation)
            if not ok or (new is None) == (old is None):
                unavailable += 1  # manage sorts this node out; meanwhile it counts as unavailable
            elif new is not None:
                if not is_available(new, mrs, now):
                    unavailable += 1
            elif old is not None:
                if not is_available(old, mrs, now):
                    free.append(old)
                elif unavailable < max_unavailable:
                    candidates.append(old)
        room = min(max(max_unavailable - unavailable, 0), len(candidates))
        plan.delete = free + candidates[:room]
        return plan
    surging = 0
    allowed: list[str] = []
    candidate_nodes: list[str] = []
    for node in sorted(by_node):
        new, old, ok = _updated_on_node(by_node[node], hash_, generation)
        if not ok:
            surging += 1
            continue
        if old is None:
            continue
        if new is None:
            if not is_available(old, mrs, now):
                if not places.get(node, NOWHERE).should_run:
                    plan.delete.append(old)
                    continue
                allowed.append(node)
            elif surging < max_surge:
                candidate_nodes.append(node)
            continue
        if not is_available(new, mrs, now):
            surging += 1
            continue
        plan.delete.append(old)
    room = min(max(max_surge - surging, 0), len(candidate_nodes))
    plan.create_on = allowed + candidate_nodes[:room]
    return plan


def decide(view: DaemonView) -> Plan:
    """This sync's pod changes: `manage`'s if it has any, else the rolling update's next step."""
    plan = manage(view)
    if plan.empty and strategy_type(view.ds) == ROLLING_UPDATE:
        step = rolling_update(view)
        step.recheck_after = plan.recheck_after
        step.failed = plan.failed
        return step
    return plan


# -- status -------------------------------------------------------------------------------------
STATUS_FIELDS = ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
                 "updatedNumberScheduled", "numberAvailable", "numberUnavailable")


def daemon_status(view: DaemonView, *, observed_generation: int | None) -> Obj:
    """The status counters (Kubernetes' updateDaemonSetStatus); `observed_generation` None keeps the
    one held (the sync did not act on this generation: expectations were pending). Other fields
    (conditions, collisionCount) are carried over."""
    ds = view.ds
    generation = template_generation(ds)
    mrs = min_ready_seconds(ds)
    by_node = nodes_to_pods(view.pods)
    desired = current = misscheduled = ready = available = updated = 0
    for node, place in view.placements().items():
        pods = by_node.get(node) or []
        if not place.should_run:
            if pods:
                misscheduled += 1
            continue
        desired += 1
        if not pods:
            continue
        current += 1
        pod = oldest_first(pods)[0]
        if is_ready(pod):
            ready += 1
            if is_available(pod, mrs, view.now):
                available += 1
        if is_updated(pod, view.hash, generation):
            updated += 1
    status: Obj = dict(ds.get("status") or {})
    status.update({"currentNumberScheduled": current, "numberMisscheduled": misscheduled,
                   "desiredNumberScheduled": desired, "numberReady": ready, "updatedNumberScheduled": updated,
                   "numberAvailable": available, "numberUnavailable": desired - available})
    if observed_generation is not None:
        status["observedGeneration"] = observed_generation
    return status


def next_available_in(view: DaemonView) -> float | None:
    """Seconds until the next ready pod turns available under minReadySeconds (when to look again)."""
    mrs = min_ready_seconds(view.ds)
    if mrs <= 0:
        return None
    waits = [w for p in view.pods if (w := available_in(p, mrs, view.now)) is not None and w > 0]
    return min(waits) if waits else None


# -- history ------------------------------------------------------------------------------------
def revision_matches(revision: Mapping[str, Any], template: Mapping[str, Any]) -> bool:
    return (revision.get("data") or {}) == template_patch(template)


def revision_number(revision: Mapping[str, Any]) -> int:
    return int(revision.get("revision") or 0)


def current_hash(ds: Mapping[str, Any], revisions: Sequence[Mapping[str, Any]]) -> str:
    """The hash of the current template: the label of the revision holding it, else a fresh hash
    (with the collision count)."""
    template = template_of_ds(ds)
    matching = [r for r in revisions if revision_matches(r, template)]
    if matching:
        best = max(matching, key=revision_number)
        label = labels_of(best).get(HASH_LABEL)
        if label:
            return label
    return template_hash(template, (ds.get("status") or {}).get("collisionCount"))


@dataclass
class HistoryPlan:
    hash: str
    current: Obj | None = None  # the revision holding the template
    create: Obj | None = None  # or the one to create
    renumber: int | None = None  # the current revision's new number (it became the newest again)
    old: list[Obj] = field(default_factory=list)


def plan_history(ds: Mapping[str, Any], revisions: Sequence[Mapping[str, Any]]) -> HistoryPlan:
    """The current revision (Kubernetes' constructHistory): found, renumbered or to be created.
    Duplicates of the current one beyond the newest are treated as old."""
    template = template_of_ds(ds)
    hash_ = current_hash(ds, revisions)
    matching = sorted((dict(r) for r in revisions if revision_matches(r, template)), key=revision_number)
    current = matching[-1] if matching else None
    old = [dict(r) for r in revisions if current is None or name_of(r) != name_of(current)]
    top = max((revision_number(r) for r in revisions), default=0)
    plan = HistoryPlan(hash=hash_, current=current, old=old)
    if current is None:
        # Labelled as the template is (Kubernetes' NewControllerRevision): they match the selector.
        labels = (template.get("metadata") or {}).get("labels") or {}
        plan.create = revision_body(ds, owner_reference(ds, API_VERSION, KIND), template, top + 1, hash_,
                                    hash_label=HASH_LABEL, selector_labels=labels)
    elif revision_number(current) < top:
        plan.renumber = top + 1
    return plan


def history_to_delete(old: Sequence[Mapping[str, Any]], limit: int, pods: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """Old revisions beyond `limit`, oldest first, skipping any whose hash a live pod still has
    (Kubernetes' cleanupHistory)."""
    to_kill = len(old) - limit
    if to_kill <= 0:
        return []
    live = {h for p in nodes_to_pods(pods).values() for pod in p if (h := labels_of(pod).get(HASH_LABEL))}
    out: list[Obj] = []
    for rev in sorted(old, key=revision_number):
        if to_kill <= 0:
            break
        if labels_of(rev).get(HASH_LABEL) in live:
            continue
        out.append(dict(rev))
        to_kill -= 1
    return out


# -- failed pod backoff -----------------------------------------------------------------------
class FailedPodBackoff:
    """Per (DaemonSet uid, node): how long to wait before deleting another failed pod there,
    doubling from 1 s to 15 min (client-go's flowcontrol.Backoff). Times are monotonic seconds."""

    def __init__(self, initial: float = 1.0, maximum: float = 900.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._entries: dict[tuple[str, str], tuple[float, float]] = {}  # key → (delay, last update)

    def remaining(self, ds_uid: str, node: str, now: float) -> float:
        entry = self._entries.get((ds_uid, node))
        if entry is None:
            return 0.0
        delay, since = entry
        return max(0.0, since + delay - now)

    def waits(self, ds_uid: str, now: float) -> dict[str, float]:
        """node → seconds still to wait, for the nodes of this DaemonSet in backoff."""
        out = {}
        for (uid, node) in list(self._entries):
            if uid == ds_uid and (left := self.remaining(uid, node, now)) > 0:
                out[node] = left
        return out

    def step(self, ds_uid: str, node: str, now: float) -> None:
        key = (ds_uid, node)
        entry = self._entries.get(key)
        if entry is None or now - entry[1] > 2 * self.maximum:
            self._entries[key] = (self.initial, now)
        else:
            self._entries[key] = (min(entry[0] * 2, self.maximum), now)

    def forget(self, ds_uid: str) -> None:
        for key in [k for k in self._entries if k[0] == ds_uid]:
            del self._entries[key]

    def gc(self, now: float) -> None:
        """Drop entries idle for twice the maximum (they would restart from `initial` anyway)."""
        for key, (_, since) in list(self._entries.items()):
            if now - since > 2 * self.maximum:
                del self._entries[key]
