"""The ReplicaSet and ReplicationController controllers: the async shell around core/replicas.py.

One class serves both kinds (`RS` and `RC` describe them): apps/v1 ReplicaSets select pods with a
LabelSelector, core/v1 ReplicationControllers with a plain map. Kubernetes 1.32's
ReplicaSetController is the reference.

Reads: the sets' informer and the pods' informer (OBJECTS stream), with indexes so that a sync
never walks the pods of the whole cluster: pods by controller uid (shared by name with the other
workload controllers), orphan pods by namespace, and sets by namespace and by controller uid.

Handlers only do bookkeeping and enqueue "namespace/name" keys of sets: a pod's change enqueues
its controller (by its controller ownerReference, resolved through a uid → key map), or, for an
orphan, every set of its namespace whose selector matches it. Pod events also feed the
expectations: an ADDED pod of ours is an observed creation, a DELETED one (or one that got a
deletionTimestamp) an observed deletion.

`sync(key)`: claim the active pods (adopt matching orphans, release owned pods that stopped
matching); if the expectations are met and the set is not being deleted, create the missing pods
(slow-start batches, concurrently within a batch) or delete the surplus (least useful first);
then write the status if it changed, and requeue the key for when a ready pod becomes available
(minReadySeconds). Writes carry the revision that enqueued the key as their cause (see base.py).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from bus.apiclient import ApiReplyError
from bus.informer import Obj
from bus.log import Op
from components.controllers.base import (
    Workers,
    ControllerContext,
    Expectations,
    Requeue,
    object_key,
    revision_of,
    split_key,
)
from components.controllers.informers import (BY_CONTROLLER, BY_NAMESPACE, ORPHANS, controller_uid, namespace_of,
                                               orphan_namespace)
from components.controllers.podcontrol import CreateFailed, ObjectControl
from core import replicas
from core.errors import BadRequest
from core.keys import KeyFilter
from core.kinds import Stream
from core.selectors import LabelSelector
from core.workload import (
    claim,
    controller_ref,
    generate_name_prefix,
    is_active,
    is_deleting,
    labels_of,
    name_of,
    owner_reference,
    pod_from_template,
    uid_of,
)

if TYPE_CHECKING:
    from components.controllers.manager import ManagerConfig

log = structlog.get_logger("replicaset")


@dataclass(frozen=True)
class SetKind:
    """What differs between ReplicaSets and ReplicationControllers."""

    name: str  # the controller's name (the writer is system:controller:<name>)
    component: str  # the Events' source, as Kubernetes names it
    group: str
    plural: str
    api_version: str
    kind: str
    selector: Callable[[Obj], LabelSelector]

    @property
    def resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


RS = SetKind("replicaset", "replicaset-controller", "apps", "replicasets", "apps/v1", "ReplicaSet",
             lambda rs: LabelSelector.from_spec((rs.get("spec") or {}).get("selector")))
RC = SetKind("replicationcontroller", "replication-controller", "", "replicationcontrollers", "v1",
             "ReplicationController", lambda rc: LabelSelector.from_labels((rc.get("spec") or {}).get("selector")))

# Index names: "controller-uid" is shared with the other workload controllers (same meaning).


class ReplicaSetController(Workers):
    def __init__(self, ctx: ControllerContext, kind: SetKind = RS, *, workers: int = 4,
                 burst: int = replicas.BURST_REPLICAS, catch_up_timeout: float = 5.0) -> None:
        self.kind = kind
        self.name = kind.name
        super().__init__(ctx, workers=workers, catch_up_timeout=catch_up_timeout)
        self.burst = burst
        self.recorder = ctx.recorder(kind.component)
        self.control = ObjectControl(self.api, self.recorder)
        self.expectations = Expectations(self.clock)
        inf = ctx.informers
        self.sets = inf.informer(Stream.OBJECTS, KeyFilter(kind.group, kind.plural))
        self.pods = inf.informer(Stream.OBJECTS, KeyFilter("", "pods"))
        self.pods_by_controller = inf.index(self.pods, BY_CONTROLLER, controller_uid)
        self.orphans = inf.index(self.pods, ORPHANS, orphan_namespace)
        self.sets_by_namespace = inf.index(self.sets, BY_NAMESPACE, namespace_of)
        self.sets_by_controller = inf.index(self.sets, BY_CONTROLLER, controller_uid)
        self.keys: dict[str, str] = {}  # uid of a set → its key
        self._selectors: dict[str, tuple[Any, LabelSelector | None]] = {}  # uid → (spec.selector, parsed)
        inf.add_handler(self.sets, self._on_set)
        inf.add_handler(self.pods, self._on_pod)

    # -- handlers: bookkeeping and enqueueing only ----------------------------------------
    def _on_set(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if op is Op.DELETED:
            if old is not None:
                key = object_key(old)
                self.keys.pop(uid_of(old), None)
                self._selectors.pop(uid_of(old), None)
                self.expectations.forget(key)
                self.queue.enqueue(key, self.sets.revision)
            return
        if new is not None:
            self.keys[uid_of(new)] = object_key(new)
            self.queue.enqueue_object(new)

    def _resolve(self, pod: Obj, ref: dict[str, Any] | None) -> str | None:
        """The key of the set of ours that `ref` (a pod's controller reference) points at."""
        if ref is None or ref.get("kind") != self.kind.kind:
            return None
        key = self.keys.get(str(ref.get("uid") or ""))
        if key is None or split_key(key)[0] != str((pod.get("metadata") or {}).get("namespace") or ""):
            return None
        return key

    def _on_pod(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if op is Op.DELETED:
            if old is not None:
                self._pod_gone(old, self.pods.revision)
            return
        if new is None:
            return
        rev = revision_of(new)
        if op is Op.ADDED or old is None:
            if is_deleting(new):
                self._pod_gone(new, rev)
                return
            key = self._resolve(new, controller_ref(new))
            if key is not None:
                self.expectations.creation_observed(key)
                self.queue.enqueue(key, rev)
            elif controller_ref(new) is None:
                self._enqueue_matching(new, rev)
            return
        if old.get("metadata", {}).get("resourceVersion") == new.get("metadata", {}).get("resourceVersion"):
            return
        labels_changed = labels_of(old) != labels_of(new)
        if is_deleting(new):
            self._pod_gone(new, rev)
            if labels_changed:
                self._pod_gone(old, rev)
            return
        cur_ref, old_ref = controller_ref(new), controller_ref(old)
        ref_changed = (cur_ref or {}).get("uid") != (old_ref or {}).get("uid")
        if ref_changed and old_ref is not None:
            old_key = self._resolve(old, old_ref)
            if old_key is not None:
                self.queue.enqueue(old_key, rev)
        if cur_ref is not None:
            key = self._resolve(new, cur_ref)
            if key is not None:
                self.queue.enqueue(key, rev)
            return
        if labels_changed or ref_changed:
            self._enqueue_matching(new, rev)

    def _pod_gone(self, pod: Obj, rev: int) -> None:
        key = self._resolve(pod, controller_ref(pod))
        if key is not None:
            self.expectations.deletion_observed(key, uid_of(pod))
            self.queue.enqueue(key, rev)

    def _enqueue_matching(self, pod: Obj, rev: int) -> None:
        """An orphan: every set of its namespace that would adopt it."""
        ns = str((pod.get("metadata") or {}).get("namespace") or "")
        labels = labels_of(pod)
        for s in self.sets_by_namespace.get(ns):
            sel = self._selector(s)
            if sel is not None and not sel.empty and sel.matches(labels):
                self.queue.enqueue(object_key(s), rev)

    def _selector(self, s: Obj) -> LabelSelector | None:
        """The set's selector (None if invalid), parsed once per distinct spec.selector."""
        uid = uid_of(s)
        raw = (s.get("spec") or {}).get("selector")
        hit = self._selectors.get(uid)
        if hit is not None and hit[0] == raw:
            return hit[1]
        try:
            sel: LabelSelector | None = self.kind.selector(s)
        except BadRequest:
            sel = None
        self._selectors[uid] = (copy.deepcopy(raw), sel)
        return sel

    # -- reads ----------------------------------------------------------------------------
    def _candidates(self, s: Obj) -> list[Obj]:
        """The active pods this set may own: those it controls, and the orphans of its namespace."""
        ns = str((s.get("metadata") or {}).get("namespace") or "")
        owned = [p for p in self.pods_by_controller.get(uid_of(s))
                 if (p.get("metadata") or {}).get("namespace") == ns]
        return [p for p in owned + self.orphans.get(ns) if is_active(p)]

    def _related_pods(self, s: Obj) -> list[Obj]:
        """The pods of this set and of the sets sharing its controller (a Deployment's), for ranking
        pods by how many of their kin share their node."""
        ns = str((s.get("metadata") or {}).get("namespace") or "")
        ref = controller_ref(s)
        siblings = [s]
        if ref is not None and ref.get("uid"):
            siblings += [o for o in self.sets_by_controller.get(str(ref["uid"]))
                         if (o.get("metadata") or {}).get("namespace") == ns and uid_of(o) != uid_of(s)]
        seen: dict[str, Obj] = {}
        for o in siblings:
            for p in self.pods_by_controller.get(uid_of(o)):
                if (p.get("metadata") or {}).get("namespace") == ns:
                    seen.setdefault(uid_of(p), p)
        return list(seen.values())

    def _owner_ref(self, s: Obj) -> Obj:
        return owner_reference(s, self.kind.api_version, self.kind.kind)

    # -- reconcile ------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        s = self.sets.get(ns, name)
        if s is None:
            self.expectations.forget(key)
            return
        selector = self._selector(s)
        if selector is None:
            log.warning("invalid selector; not syncing", kind=self.kind.kind, key=key)
            return
        needs_sync = self.expectations.satisfied(key)
        owned = await self._claim(s, selector)
        desired = replicas.desired_replicas(s)
        error: BaseException | None = None
        if needs_sync and not is_deleting(s):
            error = await self._manage(key, s, owned, desired)
        now = self.clock.wall()
        counts = replicas.count(s, owned, now)
        failure = replicas.failure_for(desired, len(owned), _message(error)) if error is not None else None
        status = replicas.status_for(s, counts, failure, now)
        await self._write_status(s, status)
        if error is None and counts.next_available is not None:
            self.queue.enqueue(key, after=counts.next_available + 0.001)
        if isinstance(error, CreateFailed):
            raise Requeue(f"creating pods failed: {error}") from error
        if error is not None:
            raise error

    async def _claim(self, s: Obj, selector: LabelSelector) -> list[Obj]:
        """Adopt matching orphans and release owned pods that stopped matching (Kubernetes'
        ClaimPods); the owned active pods that match."""
        c = claim(s, selector, self._candidates(s), can_adopt=not selector.empty)
        owned = list(c.owned)
        if c.adopt and await self._can_adopt(s):
            ref = self._owner_ref(s)
            adopted = await asyncio.gather(*(self.control.adopt(ref, p) for p in c.adopt))
            owned += [p for p in adopted if p is not None and is_active(p)]
        if c.release:
            await asyncio.gather(*(self.control.release(uid_of(s), p) for p in c.release))
        return owned

    async def _can_adopt(self, s: Obj) -> bool:
        """A fresh read (not the projection): the set still exists with this uid and is not being
        deleted, so a set deleted meanwhile never adopts (Kubernetes' RecheckDeletionTimestamp)."""
        md = s.get("metadata") or {}
        try:
            fresh = await self.api.get(self.kind.resource, str(md.get("namespace") or ""), str(md.get("name") or ""))
        except ApiReplyError as e:
            if e.code == 404:
                return False
            raise
        return uid_of(fresh) == uid_of(s) and not is_deleting(fresh)

    async def _manage(self, key: str, s: Obj, owned: list[Obj], desired: int) -> BaseException | None:
        """Create or delete pods towards `desired`; the first error, if any (not raised: the status
        is written first)."""
        p = replicas.plan(desired, len(owned), burst=self.burst)
        if p.create:
            return await self._create(key, s, p.create)
        if p.delete:
            victims = replicas.pods_to_delete(owned, self._related_pods(s), p.delete, now=self.clock.wall())
            return await self._delete(key, s, victims)
        return None

    async def _create(self, key: str, s: Obj, n: int) -> BaseException | None:
        self.expectations.expect(key, creations=n)
        template = (s.get("spec") or {}).get("template") or {}
        body = pod_from_template(template, self._owner_ref(s), generate_name=generate_name_prefix(name_of(s)))
        made = 0
        error: BaseException | None = None
        for size in replicas.slow_start(n):
            results = await asyncio.gather(*(self.control.create(s, body) for _ in range(size)),
                                           return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            made += size - len(failed)
            if failed:
                error = failed[0]
                if isinstance(error, asyncio.CancelledError):
                    raise error
                break
        if n - made:
            # never made (refused, or not tried after a refusal): stop waiting for them
            self.expectations.creations_failed(key, n - made)
        if made:
            log.debug("created pods", kind=self.kind.kind, key=key, created=made, wanted=n)
        return error

    async def _delete(self, key: str, s: Obj, victims: list[Obj]) -> BaseException | None:
        self.expectations.expect(key, deletions=[uid_of(p) for p in victims])
        results = await asyncio.gather(*(self.control.delete(s, p) for p in victims), return_exceptions=True)
        error: BaseException | None = None
        for pod, r in zip(victims, results):
            if r is True:
                continue
            # already gone, or the delete failed: nothing will be observed for it
            self.expectations.deletion_observed(key, uid_of(pod))
            if isinstance(r, BaseException) and error is None:
                error = r
        if isinstance(error, asyncio.CancelledError):
            raise error
        return error

    async def _write_status(self, s: Obj, status: Obj) -> None:
        if not replicas.status_changed(s, status):
            return
        md = s.get("metadata") or {}
        body = {**s, "status": status}
        try:
            written = await self.api.update(self.kind.resource, str(md.get("namespace") or ""),
                                            str(md.get("name") or ""), body, subresource="status")
        except ApiReplyError as e:
            if e.code == 404:
                return
            if e.code == 409:
                raise Requeue(f"{self.kind.kind} {object_key(s)} changed under us") from e
            raise
        # The next sync must read this version, not the one before it (a stale read would only
        # lose a compare-and-swap and back off).
        rv = revision_of(written)
        if rv:
            try:
                await self.sets.wait_for(rv, timeout=self.catch_up_timeout)
            except asyncio.TimeoutError:
                log.warning("informer slow to apply our status write", kind=self.kind.kind, revision=rv)


def _message(error: BaseException | None) -> str:
    if isinstance(error, ApiReplyError):
        return str(error.status.get("message") or error)
    return str(error or "")


def build_replicaset(ctx: ControllerContext, cfg: ManagerConfig) -> ReplicaSetController:
    return ReplicaSetController(ctx, RS, workers=cfg.workers)


def build_replicationcontroller(ctx: ControllerContext, cfg: ManagerConfig) -> ReplicaSetController:
    return ReplicaSetController(ctx, RC, workers=cfg.workers)
