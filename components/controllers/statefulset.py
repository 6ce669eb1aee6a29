"""The StatefulSet controller: the async shell around `core.statefulsets`.

Reads four informers of the OBJECTS stream — StatefulSets, pods, PersistentVolumeClaims and
ControllerRevisions — with pods and revisions indexed by their controller's uid (and orphan pods by
namespace, to find those to adopt). Handlers only enqueue the owning set's "namespace/name": a
pod's change enqueues its controller, an orphan pod whose name has a set's ordinal form enqueues
that set (to adopt it), a deleted claim enqueues the set it was made for.

`sync(key)` re-reads the projection: claims the set's pods (adopting orphans named `<set>-<n>`
that match the selector, releasing its pods that stopped matching), finds or creates the
ControllerRevision of the current template, asks `core.statefulsets.plan` what to do next and
does it — claims before their pod, pods created and deleted with Kubernetes' Event texts
("create Pod web-0 in StatefulSet web successful") — then writes the status (skipped when
unchanged) and prunes revisions beyond revisionHistoryLimit. Expectations on pod creations and
deletions keep a lagging projection from making it act twice; a claim that already exists (409)
is simply there.

Time comes from `ctx.clock`: availability after minReadySeconds is judged against its wall clock,
and a set waiting for a pod to become available is enqueued again when it will be.
"""

from __future__ import annotations

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
    split_key,
)
from components.controllers.informers import BY_CONTROLLER, ORPHANS, controller_uid, orphan_namespace
from components.controllers.podcontrol import ObjectControl
from core import statefulsets as sts_core
from core.errors import BadRequest
from core.history import template_of
from core.keys import KeyFilter
from core.kinds import Stream
from core.selectors import LabelSelector
from core.workload import claim, controller_key, controller_ref, is_deleting, labels_of, name_of, uid_of, with_owner

if TYPE_CHECKING:
    from components.controllers.manager import ManagerConfig

log = structlog.get_logger("statefulset")

COMPONENT = "statefulset-controller"
KIND = "StatefulSet"
SETS = "statefulsets.apps"
REVISIONS = "controllerrevisions.apps"
CLAIMS = "persistentvolumeclaims"


def _msg(e: ApiReplyError) -> str:
    return str(e.status.get("message") or e)


class StatefulSetController(Workers):
    name = "statefulset"

    def __init__(self, ctx: ControllerContext, *, workers: int = 4, catch_up_timeout: float = 5.0) -> None:
        super().__init__(ctx, workers=workers, catch_up_timeout=catch_up_timeout)
        self.recorder = ctx.recorder(COMPONENT)
        self.control = ObjectControl(self.api, self.recorder)
        self.expectations = Expectations(self.clock)
        inf = ctx.informers
        self.sets = inf.informer(Stream.OBJECTS, KeyFilter("apps", "statefulsets"))
        self.pods = inf.informer(Stream.OBJECTS, KeyFilter("", "pods"))
        self.claims = inf.informer(Stream.OBJECTS, KeyFilter("", "persistentvolumeclaims"))
        self.revisions = inf.informer(Stream.OBJECTS, KeyFilter("apps", "controllerrevisions"))
        # Index names (and functions) as the other workload controllers spell them: shared, not doubled.
        self.pods_by_owner = inf.index(self.pods, BY_CONTROLLER, controller_uid)
        self.orphans = inf.index(self.pods, ORPHANS, orphan_namespace)
        self.revisions_by_owner = inf.index(self.revisions, BY_CONTROLLER, controller_uid)
        inf.add_handler(self.sets, self._on_set)
        inf.add_handler(self.pods, self._on_pod)
        inf.add_handler(self.revisions, self._on_revision)
        inf.add_handler(self.claims, self._on_claim)

    # -- handlers: enqueue the owner only -------------------------------------------------
    def _on_set(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        obj = new or old
        if obj is None:
            return
        if op is Op.DELETED:
            self.expectations.forget(object_key(obj))
        self.queue.enqueue_object(obj)

    def _owner_key(self, obj: Obj) -> str | None:
        return controller_key(obj, KIND)

    def _on_pod(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        pod = new or old
        if pod is None:
            return
        rev = int((pod.get("metadata") or {}).get("resourceVersion") or 0)
        key = self._owner_key(pod)
        if key is not None:
            if op is Op.ADDED:
                self.expectations.creation_observed(key)
            elif op is Op.DELETED or (is_deleting(new) and not is_deleting(old)):
                self.expectations.deletion_observed(key, uid_of(pod))
            self.queue.enqueue(key, rev)
        if old is not None and new is not None:
            old_key = self._owner_key(old)
            if old_key is not None and old_key != key:
                self.queue.enqueue(old_key, rev)
        if new is not None and key is None and not is_deleting(new):
            for s in self._sets_wanting(new):
                self.queue.enqueue(object_key(s), rev)

    def _sets_wanting(self, pod: Obj) -> list[Obj]:
        """The sets in the pod's namespace that would adopt this orphan (its name and labels fit)."""
        parsed = sts_core.parse_ordinal(name_of(pod))
        if parsed is None:
            return []
        ns = str((pod.get("metadata") or {}).get("namespace") or "")
        s = self.sets.get(ns, parsed[0])
        if s is None:
            return []
        try:
            selector = LabelSelector.from_spec((s.get("spec") or {}).get("selector"))
        except BadRequest:
            return []
        return [s] if not selector.empty and selector.matches(labels_of(pod)) else []

    def _on_revision(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        obj = new or old
        key = self._owner_key(obj) if obj is not None else None
        if key is not None:
            self.queue.enqueue(key)

    def _on_claim(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        """A claim that went away (or is going) may be one a pod waits for."""
        if op is not Op.DELETED and not (is_deleting(new) and not is_deleting(old)):
            return
        obj = new or old
        if obj is None:
            return
        parsed = sts_core.parse_ordinal(name_of(obj))
        if parsed is None:
            return
        ns = str((obj.get("metadata") or {}).get("namespace") or "")
        for s in self.sets.items():
            md = s.get("metadata") or {}
            if md.get("namespace") == ns and parsed[0].endswith(f"-{md.get('name', '')}"):
                self.queue.enqueue(object_key(s))

    # -- reconcile ------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        sts = self.sets.get(ns, name)
        if sts is None:
            self.expectations.forget(key)
            return
        if not self.expectations.satisfied(key):
            return  # our own writes are on their way back; their events enqueue the set again
        pods = await self._claim_pods(sts)
        owned_revisions = [r for r in self.revisions_by_owner.get(uid_of(sts))
                           if (r.get("metadata") or {}).get("namespace") == ns]
        revs = sts_core.revisions(sts, owned_revisions)
        if revs.create is not None:
            await self._create_revision(sts, revs)
        claims = self._claims_of(sts, pods)
        now = self.clock.wall()
        p = sts_core.plan(sts, pods, revs, claims, now)
        if p.actions:
            log.info("statefulset actions", statefulset=key, waiting_on=p.waiting_on,
                     actions=[f"{type(a).__name__}:{getattr(a, 'name', '') or getattr(a, 'ordinal', '')}"
                              for a in p.actions])
        try:
            await self._perform(key, sts, p.actions)
        finally:
            await self._write_status(sts, sts_core.status(sts, pods, revs, now))
        await self._prune(sts, owned_revisions, pods, revs)
        if p.requeue_after is not None:
            self.queue.enqueue(key, after=max(p.requeue_after, 0.05))

    async def _claim_pods(self, sts: Obj) -> list[Obj]:
        ns = str((sts.get("metadata") or {}).get("namespace") or "")
        uid = uid_of(sts)
        try:
            selector = LabelSelector.from_spec((sts.get("spec") or {}).get("selector"))
        except BadRequest:
            return []
        owned = self.pods_by_owner.get(uid)
        orphans = [p for p in self.orphans.get(ns)
                   if controller_ref(p) is None and sts_core.ordinal_of(sts, p) is not None]
        can_adopt = True
        if orphans and not is_deleting(sts):
            can_adopt = await self._still_there(sts)
        c = claim(sts, selector, [p for p in owned if (p.get("metadata") or {}).get("namespace") == ns] + orphans,
                  can_adopt=can_adopt)
        pods = list(c.owned)
        ref = sts_core.owner_ref(sts)
        for p in c.adopt:
            adopted = await self.control.adopt(ref, p)
            if adopted is not None:
                pods.append(adopted)
        for p in c.release:
            await self.control.release(uid, p)
        return pods

    async def _still_there(self, sts: Obj) -> bool:
        """A fresh read before adopting: the set must still exist with this uid (RecheckDeletionTimestamp)."""
        md = sts.get("metadata") or {}
        try:
            fresh = await self.api.get(SETS, str(md.get("namespace", "")), str(md.get("name", "")))
        except ApiReplyError as e:
            if e.code == 404:
                return False
            raise
        return uid_of(fresh) == uid_of(sts) and not is_deleting(fresh)

    def _claims_of(self, sts: Obj, pods: list[Obj]) -> dict[str, Obj]:
        ns = str((sts.get("metadata") or {}).get("namespace") or "")
        ordinals = set(sts_core.ordinal_range(sts))
        ordinals |= {o for o in (sts_core.ordinal_of(sts, p) for p in pods) if o is not None}
        out: dict[str, Obj] = {}
        for o in ordinals:
            for body in sts_core.claim_bodies(sts, o):
                got = self.claims.get(ns, name_of(body))
                if got is not None:
                    out[name_of(body)] = got
        return out

    async def _create_revision(self, sts: Obj, revs: sts_core.Revisions) -> None:
        assert revs.create is not None
        ns = str((sts.get("metadata") or {}).get("namespace") or "")
        name = name_of(revs.create)
        try:
            made = await self.api.create(REVISIONS, ns, revs.create)
        except ApiReplyError as e:
            if e.code != 409:
                raise
            try:
                existing = await self.api.get(REVISIONS, ns, name)
            except ApiReplyError as e2:
                raise Requeue(f"revision {name} raced: {_msg(e2)}") from e2
            if uid_of(sts) in controller_uid(existing) and template_of(existing) == template_of(revs.create):
                await self._caught_up(self.revisions, existing)
                raise Requeue(f"revision {name} exists; waiting for the projection") from e
            # Someone else's revision holds the name: a hash collision. Count it; the next pass
            # names the template with the new count.
            await self._write_status(sts, {**(sts.get("status") or {}), "collisionCount": revs.collision_count + 1})
            raise Requeue(f"revision name {name} collides") from e
        await self._caught_up(self.revisions, made)

    async def _perform(self, key: str, sts: Obj, actions: list[sts_core.Action]) -> None:
        creates = sum(1 for a in actions if isinstance(a, sts_core.CreatePod))
        deletes = [a.uid for a in actions if isinstance(a, sts_core.DeletePod)]
        if creates or deletes:
            self.expectations.expect(key, creations=creates, deletions=deletes)
        pending = creates
        try:
            for a in actions:
                if isinstance(a, sts_core.CreatePod):
                    pending -= 1
                    await self._create_claims(sts, name_of(a.pod), a.claims)
                    await self._create_pod(key, sts, a.pod)
                elif isinstance(a, sts_core.CreateClaims):
                    await self._create_claims(sts, a.pod, a.claims)
                elif isinstance(a, sts_core.OwnClaims):
                    await self._own_claims(sts, a)
                elif isinstance(a, sts_core.DeletePod):
                    await self._delete_pod(key, sts, a)
        except BaseException:
            self.expectations.creations_failed(key, pending)  # never attempted: stop waiting for them
            raise

    async def _create_claims(self, sts: Obj, pod: str, claims: tuple[Obj, ...]) -> None:
        ns = str((sts.get("metadata") or {}).get("namespace") or "")
        for body in claims:
            cname = name_of(body)
            try:
                await self.api.create(CLAIMS, ns, body)
            except ApiReplyError as e:
                if e.code == 409:
                    continue  # already there (our projection lags): that is the claim
                self.recorder.record(sts, "Warning", "FailedCreate",
                                     f"create Claim {cname} for Pod {pod} in StatefulSet {name_of(sts)} "
                                     f"failed error: {_msg(e)}")
                raise Requeue(f"creating claim {cname} failed: {_msg(e)}") from e
            self.recorder.record(sts, "Normal", "SuccessfulCreate",
                                 f"create Claim {cname} Pod {pod} in StatefulSet {name_of(sts)} success")

    async def _create_pod(self, key: str, sts: Obj, body: Obj) -> None:
        ns = str((sts.get("metadata") or {}).get("namespace") or "")
        pname = name_of(body)
        try:
            await self.api.create("pods", ns, body)
        except ApiReplyError as e:
            self.expectations.creations_failed(key)
            if e.code == 409:
                return  # the pod exists already (projection lag): nothing to do
            self.recorder.record(sts, "Warning", "FailedCreate",
                                 f"create Pod {pname} in StatefulSet {name_of(sts)} failed error: {_msg(e)}")
            raise Requeue(f"creating pod {pname} failed: {_msg(e)}") from e
        self.recorder.record(sts, "Normal", "SuccessfulCreate",
                             f"create Pod {pname} in StatefulSet {name_of(sts)} successful")

    async def _delete_pod(self, key: str, sts: Obj, a: sts_core.DeletePod) -> None:
        ns = str((sts.get("metadata") or {}).get("namespace") or "")
        try:
            await self.api.delete("pods", ns, a.name, uid=a.uid or None)
        except ApiReplyError as e:
            self.expectations.deletion_observed(key, a.uid)
            if e.code in (404, 409):
                return  # gone already, or another pod of that name
            self.recorder.record(sts, "Warning", "FailedDelete",
                                 f"delete Pod {a.name} in StatefulSet {name_of(sts)} failed error: {_msg(e)}")
            raise Requeue(f"deleting pod {a.name} failed: {_msg(e)}") from e
        self.recorder.record(sts, "Normal", "SuccessfulDelete",
                             f"delete Pod {a.name} in StatefulSet {name_of(sts)} successful")

    async def _own_claims(self, sts: Obj, a: sts_core.OwnClaims) -> None:
        """whenScaled=Delete: the condemned pod becomes an owner of its claims, so the garbage
        collector removes them once the pod is gone."""
        ns = str((sts.get("metadata") or {}).get("namespace") or "")
        ref = {"apiVersion": "v1", "kind": "Pod", "name": a.pod, "uid": a.pod_uid}
        for cname in a.claims:
            current = self.claims.get(ns, cname)
            if current is None:
                continue
            md = current.get("metadata") or {}
            patch = {"metadata": {"ownerReferences": with_owner(current, ref),
                                  "resourceVersion": md.get("resourceVersion"), "uid": md.get("uid")}}
            try:
                await self.api.patch(CLAIMS, ns, cname, patch)
            except ApiReplyError as e:
                if e.code == 404:
                    continue
                if e.code == 409:
                    raise Requeue(f"claim {cname} changed under us") from e
                raise

    async def _write_status(self, sts: Obj, status: Obj) -> None:
        if status == (sts.get("status") or {}):
            return
        md = sts.get("metadata") or {}
        body = {"apiVersion": "apps/v1", "kind": KIND,
                "metadata": {"name": md.get("name"), "namespace": md.get("namespace"),
                             "resourceVersion": md.get("resourceVersion")},
                "status": status}
        try:
            written = await self.api.update(SETS, str(md.get("namespace", "")), str(md.get("name", "")), body,
                                            subresource="status")
        except ApiReplyError as e:
            if e.code == 404:
                return
            if e.code == 409:
                raise Requeue(f"statefulset {md.get('name')} changed under us") from e
            raise
        await self._caught_up(self.sets, written)

    async def _prune(self, sts: Obj, owned: list[Obj], pods: list[Obj], revs: sts_core.Revisions) -> None:
        for r in sts_core.prunable(sts, owned, pods, revs.current, revs.update):
            md = r.get("metadata") or {}
            try:
                await self.api.delete(REVISIONS, str(md.get("namespace", "")), str(md.get("name", "")),
                                      uid=uid_of(r) or None)
            except ApiReplyError as e:
                if e.code not in (404, 409):
                    raise

    async def _caught_up(self, informer: Informer, written: Any) -> None:
        await caught_up(informer, written, self.catch_up_timeout)


def build(ctx: ControllerContext, cfg: ManagerConfig) -> StatefulSetController:
    return StatefulSetController(ctx, workers=cfg.workers)
