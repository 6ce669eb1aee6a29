"""The garbage collector: the async shell around `core.ownergraph`.

One informer over every object of the OBJECTS stream (`KeyFilter()`, shared with any other
controller that asks for it) feeds an `OwnerGraph`; Leases and Events live in their own streams
and are never owned by what the collector manages, so it does not read them. Handlers only
record the change in the graph and enqueue the uids whose decision may have changed.

Work keys are object uids: names are not unique across kinds (a ConfigMap and a ReplicaSet may
both be "web"), uids are, and a key outlives nothing it should not (a recreated object has a new
uid). The sharding hook sees "namespace/name" keys, so before enqueueing a uid the collector asks
`ctx.owns` about the object's *controller's* (else first owner's) "namespace/name", or its own
when it has no owners: an owned object is collected by the shard that runs its owner.

`sync(uid)` asks `decide` what to do; when the answer is a `LookUp` (owners missing from the
projection), it GETs those owners from the API server (fresh reads) and decides again with what
it found. Writes are compare-and-swap: reference and finalizer patches carry the
resourceVersion the decision was read at, deletions the uid precondition, and a Delete first
checks that the live object still has the references the decision saw. A 409 means the world
moved on (Requeue: the key is retried on a fresher view); a 404 means the object is gone
(nothing to do). After each write the shell waits for its informer to apply it, so the next
pass never acts twice on its own change.

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from bus.apiclient import ApiReplyError
from bus.informer import Obj
from bus.log import Op
from components.controllers.base import ControllerContext, ControllerQueue, Requeue, Workers, caught_up
from core.keys import KeyFilter
from core.kinds import Stream
from core.ownergraph import (
    Action,
    Delete,
    LookUp,
    Owner,
    OwnerGraph,
    OwnerRef,
    PatchOwnerRefs,
    Process,
    RemoveFinalizer,
    Target,
    decide,
    judge_live,
    owner_namespace,
    shard_key,
)

if TYPE_CHECKING:
    from components.controllers.manager import ManagerConfig

log = structlog.get_logger("garbagecollector")


class GarbageCollector(Workers):
    name = "garbagecollector"

    def __init__(self, ctx: ControllerContext, *, workers: int = 4, catch_up_timeout: float = 5.0) -> None:
        super().__init__(ctx, workers=workers, catch_up_timeout=catch_up_timeout)
        self.graph = OwnerGraph()
        # Keys are uids: the sharding check is made on the owner's "ns/name" in `_enqueue`.
        self.queue = ControllerQueue(clock=ctx.clock, name=self.name)
        self.objects = ctx.informers.informer(Stream.OBJECTS, KeyFilter())
        ctx.informers.add_handler(self.objects, self._on_object)

    # -- handlers: the graph and the queue only --------------------------------------------
    def _on_object(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        uids: list[str] = []
        if new is None:
            if old is not None:
                uids += self.graph.forget(old)
        else:
            if old is not None and _uid(old) != _uid(new):  # replaced while we were not looking
                uids += self.graph.forget(old)
            uids += self.graph.observe(new)
        for uid in uids:
            self._enqueue(uid)

    def _enqueue(self, uid: str) -> None:
        node = self.graph.node(uid)
        if node is None or not self.ctx.owns(shard_key(node)):
            return
        try:
            revision = int(node.resource_version or 0)
        except ValueError:
            revision = 0
        self.queue.enqueue(uid, revision)

    # -- reconcile ------------------------------------------------------------------------
    async def sync(self, uid: str) -> None:
        live: dict[str, Owner] = {}
        for _ in range(3):
            actions = decide(self.graph, uid, live)
            lookups = [a for a in actions if isinstance(a, LookUp)]
            if not lookups:
                break
            live.update(await self._look_up(lookups[0]))
        else:
            raise Requeue(f"owners of {uid} keep changing")
        if any(not isinstance(a, Process) for a in actions):
            log.info("gc actions", uid=uid, actions=[_describe(a) for a in actions])
        await self.perform(actions)

    async def _look_up(self, a: LookUp) -> dict[str, Owner]:
        node = self.graph.node(a.dependent)
        out: dict[str, Owner] = {}
        if node is None:
            return out
        for ref in a.refs:
            out[ref.uid] = await self._live_owner(ref, owner_namespace(node, ref))
        return out

    async def _live_owner(self, ref: OwnerRef, namespace: str | None) -> Owner:
        kind = ref.resolved
        if kind is None or namespace is None:
            return Owner.ABSENT
        try:
            obj = await self.api.get(kind.api_resource, namespace, ref.name)
        except ApiReplyError as e:
            if e.code == 404:
                return Owner.ABSENT
            raise
        return judge_live(ref, obj)

    async def perform(self, actions: list[Action]) -> None:
        for a in actions:
            if isinstance(a, Process):
                for uid in a.uids:
                    self._enqueue(uid)
            elif isinstance(a, Delete):
                await self._delete(a)
            elif isinstance(a, PatchOwnerRefs):
                patch: dict[str, Any] = {"metadata": {"resourceVersion": a.resource_version,
                                                      "ownerReferences": list(a.owner_references) or None}}
                await self._patch(a.target, patch)
            elif isinstance(a, RemoveFinalizer):
                await self._patch(a.target, {"metadata": {"resourceVersion": a.resource_version,
                                                          "finalizers": list(a.remaining) or None}})

    async def _delete(self, a: Delete) -> None:
        kind = a.target.resolved
        if kind is None:
            return
        t = a.target
        try:
            current = await self.api.get(kind.api_resource, t.namespace, t.name)
        except ApiReplyError as e:
            if e.code == 404:
                return
            raise
        md = current.get("metadata") or {}
        if md.get("uid") != t.uid or md.get("deletionTimestamp"):
            return  # another incarnation, or already on its way out
        if list(md.get("ownerReferences") or []) != list(a.expect_refs):
            raise Requeue(f"{t.kind} {t.namespace}/{t.name} changed owners since the projection saw it")
        try:
            written = await self.api.delete(kind.api_resource, t.namespace, t.name, uid=t.uid or None,
                                                propagation=a.propagation or None)
        except ApiReplyError as e:
            if e.code in (404, 409):  # gone, or replaced by a newer object of that name
                return
            raise
        log.info("deleted dependent", kind=t.kind, namespace=t.namespace, name=t.name, propagation=a.propagation,
                 why=a.why)
        await self._caught_up(written)

    async def _patch(self, t: Target, patch: dict[str, Any]) -> None:
        kind = t.resolved
        if kind is None:
            return
        try:
            written = await self.api.patch(kind.api_resource, t.namespace, t.name, patch)
        except ApiReplyError as e:
            if e.code == 404:
                return
            if e.code == 409:
                raise Requeue(f"{t.kind} {t.namespace}/{t.name} changed under us") from e
            raise
        await self._caught_up(written)

    async def _caught_up(self, written: Any) -> None:
        await caught_up(self.objects, written, self.catch_up_timeout)


def _uid(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("uid", ""))


def _describe(a: Action) -> str:
    if isinstance(a, Process):
        return f"process {len(a.uids)} dependents"
    if isinstance(a, LookUp):
        return f"look up {len(a.refs)} owners"
    t = a.target
    what = f"{t.kind} {t.namespace}/{t.name}" if t.namespace else f"{t.kind} {t.name}"
    if isinstance(a, Delete):
        return f"delete {what} ({a.propagation})"
    if isinstance(a, PatchOwnerRefs):
        return f"patch ownerReferences of {what}"
    return f"remove {a.finalizer} from {what}"


def build(ctx: ControllerContext, cfg: ManagerConfig) -> GarbageCollector:
    return GarbageCollector(ctx, workers=cfg.workers)
