"""The namespace controller: empties a terminating namespace, then finalizes it.

A deleted Namespace keeps existing, with a deletionTimestamp, status.phase Terminating (both set
by the API server) and `spec.finalizers: ["kubernetes"]`, until this controller has deleted
everything in it. `sync(name)` then, as Kubernetes' namespaced-resources deleter does:

1. deletes every object of every namespaced kind in the registry except Events, through the bus
   API (`list` then `delete` each, propagation Background, so pods bound to a node get their grace
   period and terminate normally; objects already being deleted are left to finish);
2. lists again and writes the namespace's deletion conditions (NamespaceDeletionDiscoveryFailure,
   NamespaceDeletionGroupVersionParsingFailure, NamespaceDeletionContentFailure,
   NamespaceContentRemaining, NamespaceFinalizersRemaining) with Kubernetes' reasons and messages,
   skipping the write when nothing changed;
3. while anything remains, tries again later: after the remaining pods' grace period (at most
   `max_requeue` seconds), or sooner, since a deletion in a terminating namespace seen on the
   all-objects informer enqueues the namespace;
4. once nothing remains, deletes the namespace's Events, then calls the `finalize` subresource
   without "kubernetes" in spec.finalizers; the API server removes the namespace when no
   finalizers are left.

Creation in a terminating namespace is refused by the API server (403), so the content only
shrinks. Work keys are namespace names (what the sharding hook sees too). The condition logic is
pure (`deletion_conditions`), unit-tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from bus.apiclient import ApiReplyError
from bus.informer import Obj
from bus.log import Op
from components.controllers.base import ControllerContext, Requeue, Workers
from core.keys import KeyFilter
from core.kinds import REGISTRY, Kind, Registry, Stream

if TYPE_CHECKING:
    from components.controllers.manager import ManagerConfig

log = structlog.get_logger("namespace")

COMPONENT = "namespace-controller"
FINALIZER = "kubernetes"

CONDITION_TYPES = ("NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
                   "NamespaceDeletionContentFailure", "NamespaceContentRemaining", "NamespaceFinalizersRemaining")
OK_REASONS = {
    "NamespaceDeletionDiscoveryFailure": "ResourcesDiscovered",
    "NamespaceDeletionGroupVersionParsingFailure": "ParsedGroupVersions",
    "NamespaceDeletionContentFailure": "ContentDeleted",
    "NamespaceContentRemaining": "ContentRemoved",
    "NamespaceFinalizersRemaining": "ContentHasNoFinalizers",
}
OK_MESSAGES = {
    "NamespaceDeletionDiscoveryFailure": "All resources successfully discovered",
    "NamespaceDeletionGroupVersionParsingFailure": "All legacy kube types successfully parsed",
    "NamespaceDeletionContentFailure": "All content successfully deleted, may be waiting on finalization",
    "NamespaceContentRemaining": "All content successfully removed",
    "NamespaceFinalizersRemaining": "All content-preserving finalizers finished",
}


# -- pure parts ---------------------------------------------------------------------------------
def content_kinds(registry: Registry = REGISTRY) -> list[Kind]:
    """What a namespace's deletion empties: every namespaced kind but Events (deleted last)."""
    return [k for k in registry.kinds if k.namespaced and not (k.group == "" and k.resource == "events")]


def events_kind(registry: Registry = REGISTRY) -> Kind:
    kind = registry.by_resource("", "v1", "events")
    assert kind is not None
    return kind


@dataclass
class Content:
    """What a deletion pass left behind in a namespace."""

    remaining: dict[str, int] = field(default_factory=dict)  # "resource.group" → objects left
    finalizers: dict[str, int] = field(default_factory=dict)  # finalizer → objects carrying it
    failures: list[str] = field(default_factory=list)
    estimate: float = 0.0  # seconds until the remaining pods should be gone

    @property
    def empty(self) -> bool:
        return not any(self.remaining.values())


def tally(content: Content, kind: Kind, items: Iterable[Mapping[str, Any]]) -> None:
    """Count what is left of one kind (Kubernetes writes the group after a dot, even when empty:
    "pods." for core pods)."""
    n = 0
    for item in items:
        n += 1
        md = item.get("metadata") or {}
        for f in md.get("finalizers") or ():
            content.finalizers[str(f)] = content.finalizers.get(str(f), 0) + 1
        if kind.kind == "Pod":
            grace = md.get("deletionGracePeriodSeconds")
            if grace is None:
                grace = (item.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            try:
                content.estimate = max(content.estimate, float(grace))
            except (TypeError, ValueError):
                pass
    if n:
        content.remaining[f"{kind.resource}.{kind.group}"] = n


def _condition(type_: str, status: str, reason: str, message: str, now: str) -> Obj:
    return {"type": type_, "status": status, "lastTransitionTime": now, "reason": reason, "message": message}


def deletion_conditions(old: Iterable[Mapping[str, Any]], content: Content, now: str) -> list[Obj]:
    """The namespace's status.conditions after a deletion pass, in Kubernetes' order; a condition
    whose status, reason and message did not change keeps its lastTransitionTime; conditions of
    other types are kept after them."""
    fresh: dict[str, Obj] = {}
    if content.failures:
        fresh["NamespaceDeletionContentFailure"] = _condition(
            "NamespaceDeletionContentFailure", "True", "ContentDeletionFailed",
            f"Failed to delete all resource types, {len(content.failures)} remaining: "
            + ", ".join(sorted(content.failures)), now)
    left = sorted(f"{gr} has {n} resource instances" for gr, n in content.remaining.items() if n)
    if left:
        fresh["NamespaceContentRemaining"] = _condition(
            "NamespaceContentRemaining", "True", "SomeResourcesRemain",
            "Some resources are remaining: " + ", ".join(left), now)
    held = sorted(f"{f} in {n} resource instances" for f, n in content.finalizers.items() if n)
    if held:
        fresh["NamespaceFinalizersRemaining"] = _condition(
            "NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain",
            "Some content in the namespace has finalizers remaining: " + ", ".join(held), now)
    previous = {str(c.get("type")): dict(c) for c in old if isinstance(c, Mapping)}
    out: list[Obj] = []
    for t in CONDITION_TYPES:
        new = fresh.get(t) or _condition(t, "False", OK_REASONS[t], OK_MESSAGES[t], now)
        before = previous.get(t)
        if before is not None and all(before.get(k) == new[k] for k in ("status", "reason", "message")):
            new = before
        out.append(new)
    out += [c for t, c in previous.items() if t not in CONDITION_TYPES]
    return out


def requeue_delay(content: Content, *, floor: float = 1.0, cap: float = 10.0) -> float:
    return min(max(content.estimate, floor), cap)


# -- the controller -----------------------------------------------------------------------------
class NamespaceController(Workers):
    name = "namespace"

    def __init__(self, ctx: ControllerContext, *, workers: int = 4, max_requeue: float = 10.0) -> None:
        super().__init__(ctx, workers=workers)
        self.max_requeue = max_requeue
        self.recorder = ctx.recorder(COMPONENT)
        inf = ctx.informers
        self.namespaces = inf.informer(Stream.OBJECTS, KeyFilter("", "namespaces"))
        # every object (shared with the garbage collector): a deletion in a terminating namespace
        # is the moment to look again
        self.objects = inf.informer(Stream.OBJECTS, KeyFilter())
        self.kinds = content_kinds()
        inf.add_handler(self.namespaces, self._on_namespace)
        inf.add_handler(self.objects, self._on_object)


    # -- handlers -------------------------------------------------------------------------
    def _on_namespace(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if new is not None and (new.get("metadata") or {}).get("deletionTimestamp"):
            self.queue.enqueue_object(new)

    def _on_object(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if op is not Op.DELETED or old is None:
            return
        ns_name = (old.get("metadata") or {}).get("namespace")
        if not ns_name:
            return
        ns = self.namespaces.get("", str(ns_name))
        if ns is not None and (ns.get("metadata") or {}).get("deletionTimestamp"):
            self.queue.enqueue(str(ns_name), after=0.2)  # a burst of deletions is one pass

    # -- reconcile ------------------------------------------------------------------------
    async def sync(self, name: str) -> None:
        ns = self.namespaces.get("", name)
        if ns is None or not (ns.get("metadata") or {}).get("deletionTimestamp"):
            return
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return  # finalized already: the API server removes it once its other finalizers go
        content = await self.delete_content(name)
        ns = await self._write_conditions(ns, content)
        if content.failures:
            raise Requeue(f"namespace {name}: {'; '.join(content.failures)}")
        if not content.empty:
            log.info("namespace content remaining", namespace=name, remaining=content.remaining)
            self.queue.enqueue(name, after=requeue_delay(content, cap=self.max_requeue))
            return
        await self._delete_all(events_kind(), name, Content())
        await self._finalize(ns)

    async def delete_content(self, namespace: str) -> Content:
        content = Content()
        for kind in self.kinds:
            await self._delete_all(kind, namespace, content)
        return content

    async def _delete_all(self, kind: Kind, namespace: str, content: Content) -> None:
        """Delete every object of `kind` in `namespace`; count what is left into `content`."""
        gr = f"{kind.resource}.{kind.group}"
        items = await self._list(kind, namespace, content)
        if not items:
            return
        for item in items:
            md = item.get("metadata") or {}
            if md.get("deletionTimestamp"):
                continue  # on its way out already (a terminating pod, a foreground deletion)
            try:
                await self.api.delete(kind.api_resource, namespace, str(md.get("name", "")),
                                      uid=str(md.get("uid") or "") or None, propagation="Background")
            except ApiReplyError as e:
                if e.code in (404, 409):
                    continue
                content.failures.append(f"{gr}: {e}")
        tally(content, kind, await self._list(kind, namespace, content))

    async def _list(self, kind: Kind, namespace: str, content: Content) -> list[Obj]:
        try:
            listed = await self.api.list(kind.api_resource, namespace)
        except ApiReplyError as e:
            if e.code in (404, 405):  # not served here: nothing of it can exist
                return []
            content.failures.append(f"{kind.resource}.{kind.group}: {e}")
            return []
        return list(listed.get("items") or [])

    async def _write_conditions(self, ns: Obj, content: Content) -> Obj:
        status = dict(ns.get("status") or {})
        old = list(status.get("conditions") or [])
        conditions = deletion_conditions(old, content, _now(self.clock.wall()))
        if conditions == old:
            return ns
        status["conditions"] = conditions
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {**ns["metadata"]}, "status": status}
        try:
            return dict(await self.api.update("namespaces", "", ns["metadata"]["name"], body, subresource="status"))
        except ApiReplyError as e:
            if e.code == 404:
                return ns
            if e.code == 409:
                raise Requeue(f"namespace {ns['metadata']['name']} changed under us") from e
            raise

    async def _finalize(self, ns: Obj) -> None:
        name = ns["metadata"]["name"]
        spec = dict(ns.get("spec") or {})
        spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {**ns["metadata"]}, "spec": spec}
        try:
            await self.api.update("namespaces", "", name, body, subresource="finalize")
        except ApiReplyError as e:
            if e.code == 404:
                return
            if e.code == 409:
                raise Requeue(f"namespace {name} changed under us") from e
            raise
        log.info("namespace finalized", namespace=name)


def _now(wall: Any) -> str:
    return str(wall.strftime("%Y-%m-%dT%H:%M:%SZ"))


def build(ctx: ControllerContext, cfg: ManagerConfig) -> NamespaceController:
    return NamespaceController(ctx, workers=cfg.workers)
