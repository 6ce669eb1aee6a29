"""The DaemonSet controller: the async shell around `core.daemons`.

Reads four informers from the OBJECTS stream — DaemonSets, pods, nodes, ControllerRevisions —
and keeps one workqueue of DaemonSet keys ("namespace/name"). Handlers only enqueue: a DaemonSet
change enqueues it; a pod change enqueues its controlling DaemonSet (an orphan, every DaemonSet
of its namespace whose selector matches it); a node that appears, goes, or changes what decides
eligibility (labels, taints, deletion) enqueues every DaemonSet (they are few); a revision
change enqueues its owner.

`sync(key)` does what Kubernetes' syncDaemonSet does:
1. claim the ControllerRevisions and find (or create, or renumber) the one holding the current
   template: its hash labels the pods;
2. claim the pods (adopt matching orphans after a fresh check that the DaemonSet is still the same
   object, release its pods that stopped matching);
3. if the expectations of its earlier writes are met: `core.daemons.decide` says which nodes get
   a pod and which pods go (failed ones behind a per-node backoff, with a FailedDaemonPod Event);
   creations go out in slow-start batches (1, 2, 4, …), deletions together; then old revisions
   beyond revisionHistoryLimit that no pod uses are deleted;
4. write the status when it changed (observedGeneration only when step 3 ran), and look again
   when a failed pod's backoff ends or a ready pod turns available under minReadySeconds.

Pods and Events are written through `ObjectControl` (SuccessfulCreate "Created pod: …",
SuccessfulDelete "Deleted pod: …", component "daemonset-controller").
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import structlog

from bus.apiclient import ApiReplyError
from bus.informer import Informer, Obj
from bus.log import Op
from components.controllers.base import (
    caught_up,
    Workers,
    ControllerContext,
    Expectations,
    Requeue,
    object_key,
    revision_of,
    split_key,
)
from components.controllers.informers import BY_NAMESPACE, controlling, namespace_of
from components.controllers.podcontrol import CreateFailed, ObjectControl
from core.daemons import (
    API_VERSION,
    KIND,
    DaemonView,
    FailedPodBackoff,
    HistoryPlan,
    Plan,
    daemon_pod,
    daemon_status,
    decide,
    history_limit,
    history_to_delete,
    next_available_in,
    plan_history,
    revision_matches,
    template_of_ds,
)
from core.errors import BadRequest
from core.keys import KeyFilter
from core.kinds import Stream
from core.selectors import LabelSelector
from core.workload import claim, controller_ref, is_deleting, labels_of, name_of, owner_reference, uid_of

if TYPE_CHECKING:
    from components.controllers.manager import ManagerConfig

log = structlog.get_logger("daemonset")

COMPONENT = "daemonset-controller"
REVISIONS = "controllerrevisions.apps"
DAEMONSETS = "daemonsets.apps"
SLOW_START_INITIAL = 1


def _node_changed(old: Obj | None, new: Obj | None) -> bool:
    """Whether a node update can change which DaemonSets should run there."""
    if old is None or new is None:
        return True
    return (labels_of(old) != labels_of(new)
            or (old.get("spec") or {}).get("taints") != (new.get("spec") or {}).get("taints")
            or is_deleting(old) != is_deleting(new))


class DaemonSetController(Workers):
    name = "daemonset"

    def __init__(self, ctx: ControllerContext, *, workers: int = 4, catch_up_timeout: float = 5.0) -> None:
        super().__init__(ctx, workers=workers, catch_up_timeout=catch_up_timeout)
        inf = ctx.informers
        self.daemonsets = inf.informer(Stream.OBJECTS, KeyFilter("apps", "daemonsets"))
        self.pods = inf.informer(Stream.OBJECTS, KeyFilter("", "pods"))
        self.nodes = inf.informer(Stream.OBJECTS, KeyFilter("", "nodes"))
        self.revisions = inf.informer(Stream.OBJECTS, KeyFilter("apps", "controllerrevisions"))
        self.daemonsets_in = inf.index(self.daemonsets, BY_NAMESPACE, namespace_of)
        self.pods_in = inf.index(self.pods, BY_NAMESPACE, namespace_of)
        self.revisions_in = inf.index(self.revisions, BY_NAMESPACE, namespace_of)
        self.recorder = ctx.recorder(COMPONENT)
        self.control = ObjectControl(self.api, self.recorder)
        self.expectations = Expectations(self.clock)
        self.backoff = FailedPodBackoff()
        inf.add_handler(self.daemonsets, self._on_daemonset)
        inf.add_handler(self.pods, self._on_pod)
        inf.add_handler(self.nodes, self._on_node)
        inf.add_handler(self.revisions, self._on_revision)

    # -- handlers: enqueue only -------------------------------------------------------------
    def _on_daemonset(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        obj = new or old
        if obj is None:
            return
        if op is Op.DELETED:
            self.expectations.forget(object_key(obj))
            self.backoff.forget(uid_of(obj))
        self.queue.enqueue_object(obj)

    def _owner(self, obj: Obj) -> Obj | None:
        """The DaemonSet controlling `obj`, if it is one we know with that uid."""
        return controlling(self.daemonsets, str((obj.get("metadata") or {}).get("namespace") or ""),
                           controller_ref(obj), KIND)

    def _selecting(self, obj: Obj) -> list[Obj]:
        """The DaemonSets of the object's namespace whose selector matches it (for orphans)."""
        ns = str((obj.get("metadata") or {}).get("namespace") or "")
        labels = labels_of(obj)
        out = []
        for ds in self.daemonsets_in.get(ns):
            try:
                sel = LabelSelector.from_spec((ds.get("spec") or {}).get("selector"))
            except BadRequest:
                continue
            if not sel.empty and sel.matches(labels):
                out.append(ds)
        return out

    def _enqueue_for(self, obj: Obj, cause: int) -> None:
        owner = self._owner(obj)
        if owner is not None:
            self.queue.enqueue(object_key(owner), cause)
        elif controller_ref(obj) is None:
            for ds in self._selecting(obj):
                self.queue.enqueue(object_key(ds), cause)

    def _on_pod(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        pod = new or old
        if pod is None:
            return
        cause = revision_of(new) or revision_of(old)
        owner = self._owner(pod)
        if owner is not None:
            key = object_key(owner)
            if op is Op.DELETED or is_deleting(pod):
                self.expectations.deletion_observed(key, uid_of(pod))
            elif op is Op.ADDED:
                self.expectations.creation_observed(key)
        if op is Op.MODIFIED and old is not None and (
                controller_ref(old) != controller_ref(pod) or labels_of(old) != labels_of(pod)):
            self._enqueue_for(old, cause)  # the DaemonSet it left (or that may adopt it no more)
        self._enqueue_for(pod, cause)

    def _on_node(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if op is Op.MODIFIED and not _node_changed(old, new):
            return
        cause = revision_of(new) or revision_of(old)
        for ds in self.daemonsets.items():
            self.queue.enqueue(object_key(ds), cause)

    def _on_revision(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        rev = new or old
        if rev is not None:
            self._enqueue_for(rev, revision_of(new) or revision_of(old))

    # -- reconcile --------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        ds = self.daemonsets.get(ns, name)
        if ds is None:
            self.expectations.forget(key)
            return
        if is_deleting(ds):
            return
        try:
            selector = LabelSelector.from_spec((ds.get("spec") or {}).get("selector"))
        except BadRequest as e:
            log.warning("daemonset has an invalid selector", key=key, error=str(e))
            return
        if selector.empty:
            self.recorder.record(ds, "Warning", "SelectingAll",
                                 "This daemon set is selecting all pods. A non-empty selector is required.")
            return

        revisions = await self._claim(ds, selector, self.revisions_in.get(ns), "ControllerRevision")
        history = plan_history(ds, revisions)
        await self._ensure_revision(ds, history)

        pods = await self._claim(ds, selector, self.pods_in.get(ns), "Pod")
        now_mono = self.clock.monotonic()
        self.backoff.gc(now_mono)
        view = DaemonView(ds, list(self.nodes.items()), pods, history.hash, self.clock.wall(),
                          self.backoff.waits(uid_of(ds), now_mono))
        satisfied = self.expectations.satisfied(key)
        plan = Plan()
        if satisfied:
            plan = decide(view)
            if not plan.empty:
                log.info("daemon pods", daemonset=key, create_on=plan.create_on,
                         delete=[name_of(p) for p in plan.delete])
            await self._perform(key, ds, plan, history.hash)
            await self._cleanup_history(ds, history, pods)
        generation = int((ds.get("metadata") or {}).get("generation") or 0) if satisfied else None
        await self._write_status(ds, view, generation)
        waits = [w for w in (plan.recheck_after, next_available_in(view)) if w is not None]
        if waits:
            self.queue.enqueue(key, after=min(waits) + 0.05)

    # -- claiming ---------------------------------------------------------------------------
    async def _claim(self, ds: Obj, selector: LabelSelector, candidates: list[Obj], kind: str) -> list[Obj]:
        """The objects the DaemonSet controls, after adopting matching orphans and releasing its own
        that stopped matching (client-go's ControllerRefManager)."""
        c = claim(ds, selector, candidates)
        if c.adopt and not await self._still_same(ds):
            c = claim(ds, selector, candidates, can_adopt=False)
        owned = list(c.owned)
        ref = owner_reference(ds, API_VERSION, KIND)
        for obj in c.adopt:
            adopted = await self.control.adopt(ref, obj, kind=kind)
            if adopted is not None:
                owned.append(adopted)
        for obj in c.release:
            await self.control.release(uid_of(ds), obj, kind=kind)
        return owned

    async def _still_same(self, ds: Obj) -> bool:
        """A fresh read: adopting for a DaemonSet that was deleted (or replaced) would orphan again."""
        md = ds.get("metadata") or {}
        try:
            fresh = await self.api.get(DAEMONSETS, str(md.get("namespace", "")), str(md.get("name", "")))
        except ApiReplyError as e:
            if e.code == 404:
                return False
            raise
        return uid_of(fresh) == uid_of(ds) and not is_deleting(fresh)

    # -- history ----------------------------------------------------------------------------
    async def _ensure_revision(self, ds: Obj, history: HistoryPlan) -> None:
        ns = str((ds.get("metadata") or {}).get("namespace") or "")
        if history.create is not None:
            try:
                made = await self.control.create(ds, history.create, event=False)
            except CreateFailed as e:
                if e.code != 409:
                    raise Requeue(f"creating revision: {e}") from e
                await self._on_revision_exists(ds, history.create)
                return
            await self._caught_up(self.revisions, made)
        elif history.renumber is not None and history.current is not None:
            cur = history.current
            patch = {"metadata": {"resourceVersion": (cur.get("metadata") or {}).get("resourceVersion")},
                     "revision": history.renumber}
            try:
                written = await self.api.patch(REVISIONS, ns, name_of(cur), patch)
            except ApiReplyError as e:
                if e.code in (404, 409):
                    raise Requeue(f"revision {name_of(cur)} changed under us") from e
                raise
            await self._caught_up(self.revisions, written)

    async def _on_revision_exists(self, ds: Obj, body: Obj) -> None:
        """A revision of that name exists. The same template: ours (the projection lags, or it waits
        for adoption) and it will show up. Another template: a hash collision, so the next hash
        is computed with a higher collisionCount."""
        ns = str((ds.get("metadata") or {}).get("namespace") or "")
        try:
            existing = await self.api.get(REVISIONS, ns, name_of(body))
        except ApiReplyError as e:
            raise Requeue(f"revision {name_of(body)} vanished") from e
        if revision_matches(existing, template_of_ds(ds)):
            await self._caught_up(self.revisions, existing)
            return
        count = int((ds.get("status") or {}).get("collisionCount") or 0) + 1
        await self.api.patch(DAEMONSETS, ns, name_of(ds), {"status": {"collisionCount": count}},
                             subresource="status")
        raise Requeue(f"hash collision on revision {name_of(body)}; collisionCount now {count}")

    async def _cleanup_history(self, ds: Obj, history: HistoryPlan, pods: list[Obj]) -> None:
        for rev in history_to_delete(history.old, history_limit(ds), pods):
            await self.control.delete(ds, rev, kind="ControllerRevision", event=False)

    # -- pods -------------------------------------------------------------------------------
    async def _perform(self, key: str, ds: Obj, plan: Plan, hash_: str) -> None:
        if plan.empty:
            return
        self.expectations.expect(key, creations=len(plan.create_on), deletions=[uid_of(p) for p in plan.delete])
        now = self.clock.monotonic()
        for f in plan.failed:
            self.backoff.step(uid_of(ds), f.node, now)
            self.recorder.record(ds, "Warning", "FailedDaemonPod", f.message)
        errors: list[BaseException] = []
        errors += await self._create(key, ds, plan.create_on, hash_)
        errors += await self._delete(key, ds, plan.delete)
        if errors:
            raise Requeue(f"{len(errors)} pod writes failed: {errors[0]}")

    async def _create(self, key: str, ds: Obj, nodes: list[str], hash_: str) -> list[BaseException]:
        """Slow start: batches of 1, 2, 4, …; a batch with a failure ends the creating, and the
        creations never attempted are no longer expected."""
        pos, batch = 0, SLOW_START_INITIAL
        while pos < len(nodes):
            chunk = nodes[pos:pos + batch]
            pos += len(chunk)
            results = await asyncio.gather(*(self._create_one(ds, node, hash_) for node in chunk),
                                           return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                self.expectations.creations_failed(key, len(failed) + len(nodes) - pos)
                return failed
            batch *= 2
        return []

    async def _create_one(self, ds: Obj, node: str, hash_: str) -> None:
        await self.control.create(ds, daemon_pod(ds, node, hash_))

    async def _delete(self, key: str, ds: Obj, pods: list[Obj]) -> list[BaseException]:
        async def one(pod: Obj) -> None:
            try:
                if not await self.control.delete(ds, pod):
                    self.expectations.deletion_observed(key, uid_of(pod))
            except BaseException:
                self.expectations.deletion_observed(key, uid_of(pod))
                raise
        results = await asyncio.gather(*(one(p) for p in pods), return_exceptions=True)
        return [r for r in results if isinstance(r, BaseException)]

    # -- status -----------------------------------------------------------------------------
    async def _write_status(self, ds: Obj, view: DaemonView, generation: int | None) -> None:
        status = daemon_status(view, observed_generation=generation)
        if status == (ds.get("status") or {}):
            return
        md = ds.get("metadata") or {}
        try:
            await self.api.patch(DAEMONSETS, str(md.get("namespace", "")), str(md.get("name", "")),
                                 {"status": status}, subresource="status")
        except ApiReplyError as e:
            if e.code == 404:
                return
            if e.code == 409:
                raise Requeue(f"daemonset {object_key(ds)} changed under us") from e
            raise

    async def _caught_up(self, informer: Informer, written: Any) -> None:
        await caught_up(informer, written, self.catch_up_timeout)


def build(ctx: ControllerContext, cfg: ManagerConfig) -> DaemonSetController:
    return DaemonSetController(ctx, workers=cfg.workers)
