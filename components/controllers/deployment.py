"""The Deployment controller: the async shell around `core.rollout`.

Reads Deployments, ReplicaSets and pods from the shared informers (OBJECTS stream). Handlers only
enqueue a Deployment's "namespace/name": its own changes; a ReplicaSet's change enqueues its
controlling Deployment (an orphan ReplicaSet: every Deployment of its namespace whose selector
matches it); a pod's deletion enqueues the Deployment above its ReplicaSet when that Deployment
uses Recreate, which waits for the old pods to be gone.

`sync(key)` follows Kubernetes' DeploymentController.syncDeployment: claim ReplicaSets by
selector (adopt orphans, release what stopped matching); a Deployment being deleted only gets its
status synced; paused conditions; a paused Deployment or a scaling event only scales
(proportionally mid-rollout); otherwise one step of the Recreate or RollingUpdate rollout, then
the status (counters, Available, Progressing with the progress deadline), and the clean-up of old
ReplicaSets beyond revisionHistoryLimit once the rollout is complete. Every decision is a pure
function of core/rollout.py; this module performs them in Kubernetes' order.

Writes are compare-and-swap at the revision they were decided on (a 409 becomes `Requeue`, the key
is retried on a fresher view). After each write the controller waits until its informer has
applied it — the expectation that keeps a lagging projection from making it act twice (for
instance create the new ReplicaSet again, or scale an old one down twice).

The Deployment's `deployment.kubernetes.io/revision` annotation is written by a metadata merge
patch before the status update: Kubernetes carries annotations in the status update, this API
server's /status keeps only the status.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from bus.apiclient import ApiReplyError
from bus.informer import Informer, Obj
from bus.log import Op
from components.controllers.base import (
    caught_up,
    Workers,
    ControllerContext,
    Requeue,
    object_key,
    revision_of,
    split_key,
)
from components.controllers.informers import BY_CONTROLLER, BY_NAMESPACE, controller_uid, controlling, namespace_of
from components.controllers.podcontrol import ObjectControl
from core import rollout
from core.errors import BadRequest
from core.history import template_hash
from core.keys import KeyFilter
from core.kinds import Stream
from core.rollout import PROGRESSING, Reason, Scale
from core.selectors import LabelSelector
from core.workload import claim, controller_ref, is_deleting, labels_of, name_of, owner_reference, uid_of

if TYPE_CHECKING:
    from components.controllers.manager import ManagerConfig

log = structlog.get_logger("deployment")

COMPONENT = "deployment-controller"
DEPLOYMENTS = "deployments.apps"
REPLICASETS = "replicasets.apps"


def _ns(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


class _Working:
    """A Deployment as this sync sees it: `stored` is the last version the API server returned,
    `obj` the copy the sync changes (status, revision annotation) before writing it."""

    def __init__(self, stored: Obj) -> None:
        self.stored = stored
        self.obj = copy.deepcopy(stored)

    @property
    def key(self) -> str:
        return object_key(self.stored)

    @property
    def status(self) -> Obj:
        st: Obj = self.obj.setdefault("status", {})
        return st


class DeploymentController(Workers):
    name = "deployment"

    def __init__(self, ctx: ControllerContext, *, workers: int = 4, catch_up_timeout: float = 5.0) -> None:
        super().__init__(ctx, workers=workers, catch_up_timeout=catch_up_timeout)
        self.recorder = ctx.recorder(COMPONENT)
        self.control = ObjectControl(self.api, self.recorder)
        inf = ctx.informers
        self.deployments = inf.informer(Stream.OBJECTS, KeyFilter("apps", "deployments"))
        self.replicasets = inf.informer(Stream.OBJECTS, KeyFilter("apps", "replicasets"))
        self.pods = inf.informer(Stream.OBJECTS, KeyFilter("", "pods"))
        self.deployments_by_namespace = inf.index(self.deployments, BY_NAMESPACE, namespace_of)
        self.rs_by_namespace = inf.index(self.replicasets, BY_NAMESPACE, namespace_of)
        self.rs_by_controller = inf.index(self.replicasets, BY_CONTROLLER, controller_uid)
        self.pods_by_controller = inf.index(self.pods, BY_CONTROLLER, controller_uid)
        self._selectors: dict[str, tuple[Any, LabelSelector | None]] = {}  # uid → (spec.selector, parsed)
        inf.add_handler(self.deployments, self._on_deployment)
        inf.add_handler(self.replicasets, self._on_replicaset)
        inf.add_handler(self.pods, self._on_pod)

    # -- handlers: enqueueing only --------------------------------------------------------
    def _on_deployment(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if op is Op.DELETED:
            if old is not None:
                self._selectors.pop(uid_of(old), None)
                self.queue.enqueue(object_key(old), self.deployments.revision)
            return
        self.queue.enqueue_object(new)

    def _resolve(self, namespace: str, ref: dict[str, Any] | None) -> Obj | None:
        """The Deployment a controller reference points at, if it is one we know (same uid)."""
        return controlling(self.deployments, namespace, ref, "Deployment")

    def _on_replicaset(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if op is Op.DELETED:
            if old is not None:
                d = self._resolve(_ns(old), controller_ref(old))
                if d is not None:
                    self.queue.enqueue(object_key(d), self.replicasets.revision)
            return
        if new is None:
            return
        rev = revision_of(new)
        ref = controller_ref(new)
        if op is Op.ADDED or old is None:
            if ref is not None:
                d = self._resolve(_ns(new), ref)
                if d is not None:
                    self.queue.enqueue(object_key(d), rev)
            elif not is_deleting(new):
                self._enqueue_matching(new, rev)
            return
        if (old.get("metadata") or {}).get("resourceVersion") == (new.get("metadata") or {}).get("resourceVersion"):
            return
        old_ref = controller_ref(old)
        ref_changed = (ref or {}).get("uid") != (old_ref or {}).get("uid")
        if ref_changed and old_ref is not None:
            d = self._resolve(_ns(old), old_ref)
            if d is not None:
                self.queue.enqueue(object_key(d), rev)
        if ref is not None:
            d = self._resolve(_ns(new), ref)
            if d is not None:
                self.queue.enqueue(object_key(d), rev)
            return
        if ref_changed or labels_of(old) != labels_of(new):
            self._enqueue_matching(new, rev)

    def _enqueue_matching(self, rs: Obj, rev: int) -> None:
        """An orphan ReplicaSet: every Deployment of its namespace that would adopt it."""
        labels = labels_of(rs)
        for d in self.deployments_by_namespace.get(_ns(rs)):
            sel = self._selector(d)
            if sel is not None and not sel.empty and sel.matches(labels):
                self.queue.enqueue(object_key(d), rev)

    def _on_pod(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        """A pod gone: Recreate may have been waiting for it."""
        if op is not Op.DELETED or old is None:
            return
        rs = controlling(self.replicasets, _ns(old), controller_ref(old), "ReplicaSet")
        if rs is None:
            return
        d = self._resolve(_ns(rs), controller_ref(rs))
        if d is not None and rollout.strategy_type(d) == rollout.RECREATE:
            self.queue.enqueue(object_key(d), self.pods.revision)

    def _selector(self, d: Obj) -> LabelSelector | None:
        """The Deployment's selector (None if invalid), parsed once per distinct spec.selector."""
        uid = uid_of(d)
        raw = (d.get("spec") or {}).get("selector")
        hit = self._selectors.get(uid)
        if hit is not None and hit[0] == raw:
            return hit[1]
        try:
            sel: LabelSelector | None = LabelSelector.from_spec(raw)
        except BadRequest:
            sel = None
        self._selectors[uid] = (copy.deepcopy(raw), sel)
        return sel

    # -- reconcile ------------------------------------------------------------------------
    def _now(self) -> datetime:
        return self.clock.wall()

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        current = self.deployments.get(ns, name)
        if current is None:
            return
        w = _Working(current)
        selector = self._selector(w.obj)
        if selector is None:
            log.warning("invalid selector; not syncing", key=key)
            return
        if selector.empty:
            self.recorder.record(w.obj, "Warning", "SelectingAll",
                                 "This deployment is selecting all pods. A non-empty selector is required.")
            gen = int((w.obj.get("metadata") or {}).get("generation") or 0)
            if int(w.status.get("observedGeneration") or 0) < gen:
                w.status["observedGeneration"] = gen
                await self._persist(w)
            return
        rs_list = await self._claim(w, selector)
        if is_deleting(w.obj):
            new_rs, old_rss = await self._new_and_old(w, rs_list, create=False)
            await self._sync_status(w, [*old_rss, new_rs], new_rs)
            return
        await self._check_paused(w)
        if rollout.is_paused(w.obj):
            await self._scale_and_status(w, rs_list)
            return
        new_rs, old_rss = await self._new_and_old(w, rs_list, create=False)
        if rollout.is_scaling_event(w.obj, new_rs, old_rss):
            await self._scale_and_status(w, self._fresh(rs_list))
            return
        if rollout.strategy_type(w.obj) == rollout.RECREATE:
            await self._rollout_recreate(w, self._fresh(rs_list))
        else:
            await self._rollout_rolling(w, self._fresh(rs_list))

    # -- claiming -------------------------------------------------------------------------
    async def _claim(self, w: _Working, selector: LabelSelector) -> list[Obj]:
        """Adopt matching orphan ReplicaSets, release ours that stopped matching (ClaimReplicaSets);
        the ReplicaSets this Deployment controls."""
        d = w.obj
        ns = _ns(d)
        candidates = [rs for rs in self.rs_by_controller.get(uid_of(d)) if _ns(rs) == ns]
        candidates += [rs for rs in self.rs_by_namespace.get(ns) if controller_ref(rs) is None]
        c = claim(d, selector, candidates)
        owned = list(c.owned)
        if c.adopt and await self._can_adopt(d):
            ref = owner_reference(d, "apps/v1", "Deployment")
            for rs in c.adopt:
                adopted = await self.control.adopt(ref, rs, kind="ReplicaSet")
                if adopted is not None:
                    await self._caught_up(self.replicasets, adopted)
                    owned.append(adopted)
        for rs in c.release:
            released = await self.control.release(uid_of(d), rs, kind="ReplicaSet")
            if released is not None:
                await self._caught_up(self.replicasets, released)
        return owned

    async def _can_adopt(self, d: Obj) -> bool:
        """A fresh read: the Deployment still exists with this uid and is not being deleted."""
        try:
            fresh = await self.api.get(DEPLOYMENTS, _ns(d), name_of(d))
        except ApiReplyError as e:
            if e.code == 404:
                return False
            raise
        return uid_of(fresh) == uid_of(d) and not is_deleting(fresh)

    def _fresh(self, rs_list: list[Obj]) -> list[Obj]:
        """The ReplicaSets again from the informer (which has applied our writes), dropping gone ones
        and adding ones this Deployment came to control since."""
        out: dict[str, Obj] = {}
        for rs in rs_list:
            cur = self.replicasets.get(_ns(rs), name_of(rs))
            if cur is not None and uid_of(cur) == uid_of(rs):
                out[uid_of(cur)] = cur
        return list(out.values())

    # -- the new ReplicaSet and revisions ---------------------------------------------------
    async def _new_and_old(self, w: _Working, rs_list: list[Obj], *, create: bool) -> tuple[Obj | None, list[Obj]]:
        """The new ReplicaSet (created when `create` and missing) and every old one, with the
        revision annotations synced (getAllReplicaSetsAndSyncRevision)."""
        d = w.obj
        new_rs = rollout.find_new_rs(d, rs_list)
        _, all_old = rollout.find_old_rss(d, rs_list)
        new_revision = str(rollout.max_revision(all_old) + 1)
        if new_rs is not None:
            annotations, changed = rollout.new_rs_annotations(d, rollout.annotations_of(new_rs), new_revision,
                                                              exists=True)
            if changed or rollout.min_ready_seconds(new_rs) != rollout.min_ready_seconds(d):
                body = copy.deepcopy(new_rs)
                body["metadata"]["annotations"] = annotations
                spec = body.setdefault("spec", {})
                if rollout.min_ready_seconds(d):
                    spec["minReadySeconds"] = rollout.min_ready_seconds(d)
                else:
                    spec.pop("minReadySeconds", None)
                return await self._update_rs(body), all_old
            needs = self._set_revision(w, rollout.annotations_of(new_rs).get(rollout.REVISION, ""))
            if rollout.progress_deadline(d) is not None and rollout.condition(w.status, PROGRESSING) is None:
                rollout.set_condition(w.status, rollout.new_condition(
                    PROGRESSING, "True", Reason.FOUND_NEW_RS.value, f'Found new replica set "{name_of(new_rs)}"',
                    self._now()))
                needs = True
            if needs:
                await self._persist(w)
            return new_rs, all_old
        if not create:
            return None, all_old
        hash_ = template_hash(rollout.template_of(d), rollout.collision_count(d))
        body = rollout.new_rs_body(d, hash_=hash_, replicas_=0, revision=int(new_revision))
        new_replicas = rollout.new_rs_new_replicas(d, [*all_old, body], body)
        body["spec"]["replicas"] = new_replicas
        already = False
        try:
            created = await self.api.create(REPLICASETS, _ns(d), body)
        except ApiReplyError as e:
            if e.code == 409:
                existing = await self._get_rs(_ns(d), name_of(body))
                ref = controller_ref(existing) if existing is not None else None
                if (existing is not None and ref is not None and ref.get("uid") == uid_of(d)
                        and rollout.equal_ignore_hash(rollout.template_of(d), rollout.template_of(existing))):
                    created, already = existing, True
                else:
                    # another template already has this name: hash again with a new collision count
                    w.status["collisionCount"] = (rollout.collision_count(d) or 0) + 1
                    await self._persist(w)
                    log.info("hash collision for the new replica set", deployment=w.key, name=name_of(body),
                             collision_count=w.status["collisionCount"])
                    raise Requeue(f"replica set {name_of(body)} exists with another template") from e
            elif e.code == 403:
                raise
            else:
                msg = f'Failed to create new replica set "{name_of(body)}": {e.status.get("message", e)}'
                if rollout.progress_deadline(d) is not None:
                    rollout.set_condition(w.status, rollout.new_condition(
                        PROGRESSING, "False", Reason.FAILED_RS_CREATE.value, msg, self._now()))
                    await self._persist(w)
                self.recorder.record(w.obj, "Warning", Reason.FAILED_RS_CREATE.value, msg)
                raise
        await self._caught_up(self.replicasets, created)
        if not already and new_replicas > 0:
            self.recorder.record(w.obj, "Normal", "ScalingReplicaSet",
                                 f"Scaled up replica set {name_of(created)} from 0 to {new_replicas}")
        needs = self._set_revision(w, new_revision)
        if not already and rollout.progress_deadline(d) is not None:
            rollout.set_condition(w.status, rollout.new_condition(
                PROGRESSING, "True", Reason.NEW_RS_CREATED.value, f'Created new replica set "{name_of(created)}"',
                self._now()))
            needs = True
        if needs:
            await self._persist(w)
        return created, all_old

    def _set_revision(self, w: _Working, revision: str) -> bool:
        md = w.obj.setdefault("metadata", {})
        annotations = dict(md.get("annotations") or {})
        if annotations.get(rollout.REVISION) == revision:
            return False
        annotations[rollout.REVISION] = revision
        md["annotations"] = annotations
        return True

    # -- strategies -----------------------------------------------------------------------
    async def _rollout_rolling(self, w: _Working, rs_list: list[Obj]) -> None:
        new_rs, old_rss = await self._new_and_old(w, rs_list, create=True)
        assert new_rs is not None
        all_rss: list[Obj | None] = [*old_rss, new_rs]
        step = rollout.reconcile_new_rs(w.obj, all_rss, new_rs)
        if step is not None:
            new_rs = await self._scale(w, step)
            await self._rollout_status(w, [*old_rss, new_rs], new_rs)
            return
        scales = rollout.reconcile_old_rss(w.obj, all_rss, rollout.active(old_rss), new_rs)
        if scales:
            done = {uid_of(s.rs): await self._scale(w, s) for s in scales}
            old_rss = [done.get(uid_of(rs), rs) for rs in old_rss]
            await self._rollout_status(w, [*old_rss, new_rs], new_rs)
            return
        if rollout.deployment_complete(w.obj, w.status):
            await self._cleanup(w, old_rss)
        await self._rollout_status(w, [*old_rss, new_rs], new_rs)

    async def _rollout_recreate(self, w: _Working, rs_list: list[Obj]) -> None:
        new_rs, old_rss = await self._new_and_old(w, rs_list, create=False)
        scaled = [await self._scale(w, s) for s in rollout.scale_down_for_recreate(rollout.active(old_rss))]
        if scaled:
            done = {uid_of(rs): rs for rs in scaled}
            old_rss = [done.get(uid_of(rs), rs) for rs in old_rss]
            await self._rollout_status(w, [*old_rss, new_rs], new_rs)
            return
        if rollout.old_pods_running(new_rs, old_rss, self._pods_by_rs(w.obj, [*old_rss, new_rs])):
            await self._rollout_status(w, [*old_rss, new_rs], new_rs)
            return
        if new_rs is None:
            new_rs, old_rss = await self._new_and_old(w, self._fresh(rs_list), create=True)
            assert new_rs is not None
        if rollout.rs_replicas(new_rs) != rollout.replicas(w.obj):
            new_rs = await self._scale(w, Scale(new_rs, rollout.replicas(w.obj)))
        if rollout.deployment_complete(w.obj, w.status):
            await self._cleanup(w, old_rss)
        await self._rollout_status(w, [*old_rss, new_rs], new_rs)

    def _pods_by_rs(self, d: Obj, rss: list[Obj | None]) -> dict[str, list[Obj]]:
        """The pods of each ReplicaSet that the Deployment's selector matches (getPodMapForDeployment)."""
        sel = self._selector(d)
        out: dict[str, list[Obj]] = {}
        for rs in rss:
            if rs is None:
                continue
            out[uid_of(rs)] = [p for p in self.pods_by_controller.get(uid_of(rs))
                               if _ns(p) == _ns(d) and sel is not None and sel.matches(labels_of(p))]
        return out

    async def _scale_and_status(self, w: _Working, rs_list: list[Obj]) -> None:
        """A paused Deployment or a scaling event: scale, clean up (paused), sync the status (sync)."""
        new_rs, old_rss = await self._new_and_old(w, rs_list, create=False)
        done: dict[str, Obj] = {}
        for s in rollout.scale_plan(w.obj, new_rs, old_rss):
            done[uid_of(s.rs)] = await self._scale(w, s)
        old_rss = [done.get(uid_of(rs), rs) for rs in old_rss]
        if new_rs is not None:
            new_rs = done.get(uid_of(new_rs), new_rs)
        if rollout.is_paused(w.obj):
            await self._cleanup(w, old_rss)
        await self._sync_status(w, [*old_rss, new_rs], new_rs)

    async def _check_paused(self, w: _Working) -> None:
        status = rollout.paused_status(w.obj, self._now())
        if status is not None:
            w.obj["status"] = status
            await self._persist(w)

    async def _cleanup(self, w: _Working, old_rss: list[Obj]) -> None:
        """Delete old ReplicaSets beyond revisionHistoryLimit (cleanupDeployment)."""
        for rs in rollout.history_to_delete(w.obj, old_rss):
            log.info("deleting old replica set", deployment=w.key, replicaset=name_of(rs))
            try:
                gone = await self.api.delete(REPLICASETS, _ns(rs), name_of(rs), uid=uid_of(rs) or None)
            except ApiReplyError as e:
                if e.code in (404, 409):
                    continue
                raise
            await self._caught_up(self.replicasets, gone)

    # -- status ---------------------------------------------------------------------------
    async def _sync_status(self, w: _Working, all_rss: list[Obj | None], new_rs: Obj | None) -> None:
        status = rollout.calculate_status(w.obj, all_rss, new_rs, self._now())
        if status != w.status:
            w.obj["status"] = status
            await self._persist(w)

    async def _rollout_status(self, w: _Working, all_rss: list[Obj | None], new_rs: Obj | None) -> None:
        now = self._now()
        status = rollout.rollout_status(w.obj, all_rss, new_rs, now)
        if status == w.status:
            after = rollout.stuck_requeue_after(w.obj, status, now)
            if after is not None:
                # a little past the deadline: it is judged as "before now", at a second's resolution
                self.queue.enqueue(w.key, after=max(after, 0.0) + 0.05)
            return
        w.obj["status"] = status
        await self._persist(w)

    # -- writes ---------------------------------------------------------------------------
    async def _persist(self, w: _Working) -> None:
        """Write what the sync changed on the Deployment: the revision annotation (metadata merge
        patch), then the status; both compare-and-swap."""
        ns, name = _ns(w.stored), name_of(w.stored)
        stored_ann = rollout.annotations_of(w.stored)
        want_ann = rollout.annotations_of(w.obj)
        try:
            if want_ann.get(rollout.REVISION) != stored_ann.get(rollout.REVISION):
                patch = {"metadata": {"annotations": {rollout.REVISION: want_ann.get(rollout.REVISION)},
                                      "resourceVersion": w.stored["metadata"].get("resourceVersion")}}
                w.stored = await self.api.patch(DEPLOYMENTS, ns, name, patch)
            if (w.obj.get("status") or {}) != (w.stored.get("status") or {}):
                body = {"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": name, "namespace": ns,
                                     "resourceVersion": w.stored["metadata"].get("resourceVersion")},
                        "status": w.obj.get("status") or {}}
                w.stored = await self.api.update(DEPLOYMENTS, ns, name, body, subresource="status")
        except ApiReplyError as e:
            if e.code in (404, 409):
                raise Requeue(f"deployment {ns}/{name} changed under us") from e
            raise
        w.obj.setdefault("metadata", {})["resourceVersion"] = w.stored["metadata"].get("resourceVersion")
        await self._caught_up(self.deployments, w.stored)

    async def _scale(self, w: _Working, s: Scale) -> Obj:
        """Set a ReplicaSet's size and replica annotations, with the ScalingReplicaSet Event
        (scaleReplicaSet / scaleReplicaSetAndRecordEvent)."""
        rs, d = s.rs, w.obj
        old = rollout.rs_replicas(rs)
        size_changes = old != s.replicas
        if not size_changes and not s.sync_annotations:
            return rs
        desired, max_ = rollout.replicas(d), rollout.replicas(d) + rollout.max_surge(d)
        if not size_changes and not rollout.replicas_annotations_need_update(rs, desired, max_):
            return rs
        body = copy.deepcopy(rs)
        body.setdefault("spec", {})["replicas"] = s.replicas
        body["metadata"]["annotations"], _ = rollout.set_replicas_annotations(rollout.annotations_of(rs), desired, max_)
        updated = await self._update_rs(body)
        if size_changes:
            direction = "up" if s.replicas > old else "down"
            self.recorder.record(d, "Normal", "ScalingReplicaSet",
                                 f"Scaled {direction} replica set {name_of(rs)} from {old} to {s.replicas}")
        return updated

    async def _update_rs(self, body: Obj) -> Obj:
        try:
            updated = await self.api.update(REPLICASETS, _ns(body), name_of(body), body)
        except ApiReplyError as e:
            if e.code in (404, 409):
                raise Requeue(f"replica set {_ns(body)}/{name_of(body)} changed under us") from e
            raise
        await self._caught_up(self.replicasets, updated)
        return updated

    async def _get_rs(self, namespace: str, name: str) -> Obj | None:
        try:
            return await self.api.get(REPLICASETS, namespace, name)
        except ApiReplyError as e:
            if e.code == 404:
                return None
            raise

    async def _caught_up(self, informer: Informer, written: Any) -> None:
        await caught_up(informer, written, self.catch_up_timeout)


def build(ctx: ControllerContext, cfg: ManagerConfig) -> DeploymentController:
    return DeploymentController(ctx, workers=cfg.workers)
