"""The REST semantics of every registered kind, independent of transport.

`Resources` turns verbs (get, list, create, update, patch, delete, deletecollection and the
status/scale/binding subresources) into reads of the watch cache and compare-and-swap appends to
the log. The HTTP front and the bus API both call it, so both go through one admission path.
A stale compare-and-swap is retried for patches and deletes (the server re-reads and re-applies,
as Kubernetes' GuaranteedUpdate does) and surfaces as 409 Conflict for updates that named a
resourceVersion.
"""

from __future__ import annotations

import base64
import copy
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import structlog

from bus.log import EventLog, Meta, Op, WrongRevision
from components.apiserver.admission import (Warnings, admit_create, admit_status_update, admit_update,
                                            check_fields, check_type_meta)
from components.apiserver.cache import WatchCache
from core import errors
from core.defaults import preserve_allocations
from core.ipalloc import allocate_ip, allocate_node_port, check_requested_ip
from core.keys import KeyFilter, ObjectKey
from core.kinds import REGISTRY, Kind, Registry, Stream
from core.meta import generate_name, rfc3339
from core.patches import apply_patch
from core.selectors import FieldSelector, LabelSelector, parse_field_selector, parse_label_selector

log = structlog.get_logger("apiserver.resources")

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
WRITE_DEADLINE = 10.0  # seconds a write may spend re-reading and retrying a stale compare-and-swap


def _attempts(deadline: float = WRITE_DEADLINE) -> Iterator[int]:
    """Retry a compare-and-swap until the deadline, as Kubernetes' GuaranteedUpdate does (it is
    bounded by the request's timeout, not by a count): contention on one object only slows it."""
    end = time.monotonic() + deadline
    n = 0
    while n == 0 or time.monotonic() < end:
        yield n
        n += 1


@dataclass
class Settings:
    service_cidr: str = "10.96.0.0/12"
    node_port_range: tuple[int, int] = (30000, 32767)
    # DefaultTolerationSeconds: (not-ready, unreachable) seconds a new pod tolerates before eviction
    toleration_seconds: tuple[int, int] = (300, 300)


@dataclass
class ListResult:
    items: list[dict[str, Any]]
    resource_version: int
    continue_token: str = ""
    remaining: int | None = None


@dataclass
class WriteContext:
    actor: str = ""
    request_id: str = ""
    field_validation: str = ""
    dry_run: bool = False
    warnings: Warnings = field(default_factory=Warnings)
    deleted: bool = False  # set when this request removed the object (not just marked it deleting)
    causation: str = ""  # the revision that made a controller write (bus API callers only)

    def meta(self) -> Meta:
        return Meta(self.actor, self.request_id, self.causation)


def obj_key(kind: Kind, namespace: str, name: str) -> ObjectKey:
    return ObjectKey(kind.group, kind.resource, namespace if kind.namespaced else "", name)


class Resources:
    def __init__(self, logs: dict[Stream, EventLog], caches: dict[Stream, WatchCache], *,
                 registry: Registry = REGISTRY, settings: Settings | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 ids: random.Random | None = None) -> None:
        """`clock` stamps creation and deletion times; `ids`, when given, draws uids and generated
        names (a replay sandbox seeds it, so two runs name everything alike)."""
        self.logs = logs
        self.caches = caches
        self.registry = registry
        self.settings = settings or Settings()
        self.clock = clock
        self.ids = ids

    # -- plumbing -------------------------------------------------------------------------
    def cache(self, kind: Kind) -> WatchCache:
        return self.caches[kind.stream]

    async def _commit(self, kind: Kind, key: ObjectKey, op: Op, obj: dict[str, Any], expected: int,
                      ctx: WriteContext) -> dict[str, Any]:
        md = obj["metadata"]
        md.pop("resourceVersion", None)
        if ctx.dry_run:
            md["resourceVersion"] = str(expected) if expected else ""
            ctx.deleted = op is Op.DELETED
            return obj
        entry = await self.logs[kind.stream].append(key, op, orjson.dumps(obj), expected=expected, meta=ctx.meta())
        self.cache(kind).note_write(entry.revision)
        md["resourceVersion"] = str(entry.revision)
        ctx.deleted = op is Op.DELETED
        return obj

    async def _current(self, kind: Kind, key: ObjectKey) -> dict[str, Any]:
        cache = self.cache(kind)
        await cache.fresh()
        obj = cache.get(key)
        if obj is None:
            raise errors.not_found(kind.resource, key.name, kind.group)
        return obj

    async def _catch_up(self, kind: Kind, e: WrongRevision) -> None:
        try:
            await self.cache(kind).wait_for(e.actual, timeout=5)
        except TimeoutError as te:
            raise errors.ServiceUnavailable("the watch cache is behind the log; try again") from te

    # -- reads ----------------------------------------------------------------------------
    async def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(await self._current(kind, obj_key(kind, namespace, name)))

    async def list(self, kind: Kind, namespace: str | None, *, label_selector: str = "", field_selector: str = "",
                   limit: int = 0, continue_token: str = "", resource_version: str = "") -> ListResult:
        labels = parse_label_selector(label_selector) if label_selector else None
        fields = parse_field_selector(field_selector) if field_selector else None
        cache = self.cache(kind)
        if resource_version not in ("", "0"):
            try:
                await cache.wait_for(int(resource_version), timeout=3)
            except ValueError as e:
                raise errors.BadRequest(f"invalid resourceVersion {resource_version!r}") from e
            except TimeoutError as e:
                raise errors.Timeout(f"Too large resource version: {resource_version}, current: {cache.revision}",
                                     retry_after=1) from e
        elif resource_version == "":
            await cache.fresh()
        flt = self.filter_for(kind, namespace, fields)
        start: tuple[str, str] | None = None
        list_rv = cache.revision
        selected: Iterable[tuple[ObjectKey, dict[str, Any]]] = cache.select(flt)
        if continue_token:
            list_rv, start = _decode_continue(continue_token)
            selected = _as_of(cache, flt, list_rv)
        matched = sorted(
            ((key.namespace, key.name), obj) for key, obj in selected
            if self.matches(obj, labels, fields))
        if start is not None:
            matched = [m for m in matched if m[0] > start]
        token, remaining = "", None
        if limit and len(matched) > limit:
            token = _encode_continue(list_rv, matched[limit - 1][0])
            remaining = len(matched) - limit
            matched = matched[:limit]
        items = [copy.deepcopy(obj) for _, obj in matched]
        return ListResult(items, list_rv, token, remaining)

    def filter_for(self, kind: Kind, namespace: str | None, fields: FieldSelector | None) -> KeyFilter:
        name = fields.exact("metadata.name") if fields else None
        if namespace is None and fields is not None and kind.namespaced:
            namespace = fields.exact("metadata.namespace")
        ns = (namespace or None) if kind.namespaced else ""
        return KeyFilter(kind.group, kind.resource, ns, name)

    @staticmethod
    def matches(obj: dict[str, Any], labels: LabelSelector | None, fields: FieldSelector | None) -> bool:
        if labels is not None and not labels.matches((obj.get("metadata") or {}).get("labels") or {}):
            return False
        return fields is None or fields.matches(obj)

    # -- create ---------------------------------------------------------------------------
    async def create(self, kind: Kind, namespace: str, body: Any, ctx: WriteContext) -> dict[str, Any]:
        obj = check_type_meta(kind, body)
        check_fields(kind, obj, ctx.field_validation, ctx.warnings)
        md = obj.get("metadata") or {}
        if kind.namespaced:
            namespace = namespace or md.get("namespace") or "default"
            await self._require_namespace(namespace)
        generated = not md.get("name") and bool(md.get("generateName"))
        for _attempt in range(8):
            candidate = copy.deepcopy(obj)
            cmd = candidate.setdefault("metadata", {})
            if generated:
                cmd["name"] = generate_name(str(cmd["generateName"]), self.ids)
            admit_create(kind, candidate, namespace=namespace, now=self.clock(),
                         uid=None if self.ids is None else str(uuid.UUID(int=self.ids.getrandbits(128), version=4)),
                         toleration_seconds=self.settings.toleration_seconds)
            name = cmd["name"]
            await self._allocate(kind, candidate)
            key = obj_key(kind, namespace, name)
            try:
                return await self._create_at(kind, key, candidate, ctx)
            except errors.AlreadyExists:
                if not generated:
                    raise
        raise errors.AlreadyExists(f"could not generate a unique name from {md.get('generateName')!r}")

    async def _create_at(self, kind: Kind, key: ObjectKey, obj: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        expected = 0
        for _ in _attempts():
            try:
                return await self._commit(kind, key, Op.ADDED, obj, expected, ctx)
            except WrongRevision as e:
                last = await self.logs[kind.stream].latest(key)
                if last is None or last.op is not Op.DELETED:
                    raise errors.already_exists(kind.resource, key.name, kind.group) from e
                expected = last.revision  # the key was deleted: a create expects its tombstone
        raise errors.Conflict(f"could not create {key}: too many concurrent writers")

    async def _require_namespace(self, namespace: str) -> None:
        ns_kind = self.registry.by_resource("", "v1", "namespaces")
        assert ns_kind is not None
        cache = self.cache(ns_kind)
        key = ObjectKey("", "namespaces", "", namespace)
        ns = cache.get(key)
        if ns is None or (ns.get("metadata") or {}).get("deletionTimestamp"):
            # Only a missing or terminating namespace needs the freshest view; an existing one is
            # the common case, and waiting there would tie every create to a probe of the log.
            await cache.fresh()
            ns = cache.get(key)
        if ns is None:
            raise errors.not_found("namespaces", namespace)
        if (ns.get("metadata") or {}).get("deletionTimestamp"):
            raise errors.Forbidden(f"unable to create new content in namespace {namespace} because it is being "
                                   "terminated", kind="namespaces", name=namespace)

    async def _allocate(self, kind: Kind, obj: dict[str, Any]) -> None:
        """Service cluster IPs and node ports come from the server, as in Kubernetes."""
        if kind.kind != "Service":
            return
        spec = obj.setdefault("spec", {})
        stype = spec.get("type", "ClusterIP")
        services = [o for k, o in self.cache(kind).objects.items() if k.resource == "services"]
        name = obj["metadata"].get("name", "")
        if stype != "ExternalName":
            used = {ip for o in services for ip in (o.get("spec") or {}).get("clusterIPs") or []}
            wanted = spec.get("clusterIP")
            if wanted in (None, ""):
                ip = allocate_ip(self.settings.service_cidr, used, hint=len(used))
                spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
            elif wanted != "None":
                why = check_requested_ip(wanted, self.settings.service_cidr, used)
                if why:
                    raise errors.invalid("Service", name, [errors.Cause("spec.clusterIPs", why)])
                spec["clusterIPs"] = [wanted]
            else:
                spec["clusterIPs"] = ["None"]
        if stype in ("NodePort", "LoadBalancer"):
            used_ports = {p["nodePort"] for o in services for p in ((o.get("spec") or {}).get("ports") or [])
                          if p.get("nodePort")}
            low, high = self.settings.node_port_range
            for port in spec.get("ports") or []:
                if port.get("nodePort") and port["nodePort"] in used_ports:
                    raise errors.invalid("Service", name, [errors.Cause(
                        "spec.ports[].nodePort", f"Invalid value: {port['nodePort']}: provided port is already "
                                                 "allocated")])
                if not port.get("nodePort"):
                    port["nodePort"] = allocate_node_port(used_ports, lo=low, hi=high)
                used_ports.add(port["nodePort"])

    # -- update ---------------------------------------------------------------------------
    async def update(self, kind: Kind, namespace: str, name: str, body: Any, ctx: WriteContext, *,
                     subresource: str = "") -> dict[str, Any]:
        obj = check_type_meta(kind, body)
        if subresource != "status":
            check_fields(kind, obj, ctx.field_validation, ctx.warnings)
        key = obj_key(kind, namespace, name)
        body_name = (obj.get("metadata") or {}).get("name")
        if body_name and body_name != name:
            raise errors.BadRequest(f"the name of the object ({body_name}) does not match the name on the URL ({name})")
        want_rv = (obj.get("metadata") or {}).get("resourceVersion")
        for _ in _attempts():
            old = await self._current(kind, key)
            if want_rv and str(want_rv) != old["metadata"]["resourceVersion"]:
                raise errors.conflict(kind.resource, name, kind.group)
            try:
                return await self._replace(kind, key, copy.deepcopy(obj), old, ctx, subresource=subresource)
            except WrongRevision as e:
                if want_rv:
                    raise errors.conflict(kind.resource, name, kind.group) from e
                await self._catch_up(kind, e)
        raise errors.conflict(kind.resource, name, kind.group)

    async def _replace(self, kind: Kind, key: ObjectKey, new: dict[str, Any], old: dict[str, Any],
                       ctx: WriteContext, *, subresource: str = "") -> dict[str, Any]:
        """Admit `new` over `old` and append it at old's revision (WrongRevision if stale)."""
        old = copy.deepcopy(old)
        expected = int(old["metadata"]["resourceVersion"])
        if subresource == "status":
            new = admit_status_update(kind, new, old)
        elif subresource == "finalize":
            new = _admit_finalize(new, old)
        else:
            preserve_allocations(kind, new, old)
            if kind.kind == "Namespace":  # only /finalize changes a namespace's finalizers
                _keep_namespace_finalizers(new, old)
            new = admit_update(kind, new, old)
        md = new["metadata"]
        namespace_held = kind.kind == "Namespace" and bool((new.get("spec") or {}).get("finalizers"))
        if (md.get("deletionTimestamp") and not md.get("finalizers") and not md.get("deletionGracePeriodSeconds")
                and not namespace_held):
            return await self._commit(kind, key, Op.DELETED, new, expected, ctx)
        if _unchanged(new, old):
            # A write that changes nothing is not written: no new revision, no watch event (as in
            # Kubernetes, so `kubectl patch` says "(no change)" and re-applies stay quiet).
            return old
        return await self._commit(kind, key, Op.MODIFIED, new, expected, ctx)

    async def patch(self, kind: Kind, namespace: str, name: str, content_type: str, body: bytes,
                    ctx: WriteContext, *, subresource: str = "") -> dict[str, Any]:
        key = obj_key(kind, namespace, name)
        for _ in _attempts():
            old = await self._current(kind, key)
            current = copy.deepcopy(old)
            patched = apply_patch(content_type, current, body, kind=kind.kind)
            if not isinstance(patched, dict):
                raise errors.BadRequest("the patch did not produce an object")
            want_rv = (patched.get("metadata") or {}).get("resourceVersion")
            if want_rv and str(want_rv) != old["metadata"]["resourceVersion"]:
                raise errors.conflict(kind.resource, name, kind.group)
            check_type_meta(kind, patched)
            if subresource != "status":
                check_fields(kind, patched, ctx.field_validation, ctx.warnings)
            try:
                return await self._replace(kind, key, patched, old, ctx, subresource=subresource)
            except WrongRevision as e:
                await self._catch_up(kind, e)
        raise errors.conflict(kind.resource, name, kind.group)

    # -- delete ---------------------------------------------------------------------------
    async def delete(self, kind: Kind, namespace: str, name: str, options: dict[str, Any],
                     ctx: WriteContext) -> dict[str, Any]:
        key = obj_key(kind, namespace, name)
        pre = options.get("preconditions") or {}
        for _ in _attempts():
            old = await self._current(kind, key)
            md = old["metadata"]
            if pre.get("uid") and pre["uid"] != md.get("uid"):
                raise errors.Conflict(f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
                                      f"{md.get('uid')}", kind=kind.resource, name=name)
            if pre.get("resourceVersion") and str(pre["resourceVersion"]) != md["resourceVersion"]:
                raise errors.Conflict(f"Precondition failed: ResourceVersion in precondition: "
                                      f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                      f"{md['resourceVersion']}", kind=kind.resource, name=name)
            obj = copy.deepcopy(old)
            expected = int(md["resourceVersion"])
            grace = self._grace(kind, obj, options)
            gc_changed = _apply_propagation(obj, options)
            finalizers = list(obj["metadata"].get("finalizers") or [])
            if kind.kind == "Namespace":
                finalizers += list((obj.get("spec") or {}).get("finalizers") or [])
            try:
                if finalizers or grace:
                    return await self._mark_deleting(kind, key, obj, expected, grace, ctx, changed=gc_changed)
                return await self._commit(kind, key, Op.DELETED, obj, expected, ctx)
            except WrongRevision as e:
                await self._catch_up(kind, e)
        raise errors.conflict(kind.resource, name, kind.group)

    def _grace(self, kind: Kind, obj: dict[str, Any], options: dict[str, Any]) -> int:
        """Only pods bound to a node wait for their kubelet (graceful deletion)."""
        if kind.kind != "Pod" or not (obj.get("spec") or {}).get("nodeName"):
            return 0
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        return max(int(grace), 0)

    async def _mark_deleting(self, kind: Kind, key: ObjectKey, obj: dict[str, Any], expected: int, grace: int,
                             ctx: WriteContext, *, changed: bool = False) -> dict[str, Any]:
        md = obj["metadata"]
        if md.get("deletionTimestamp"):
            current_grace = md.get("deletionGracePeriodSeconds")
            if not (grace < (current_grace or 0)):
                if changed:  # a second delete asking for another propagation: only the finalizers change
                    return await self._commit(kind, key, Op.MODIFIED, obj, expected, ctx)
                return obj  # already being deleted; a shorter grace period may still shorten it
            if grace == 0 and not md.get("finalizers"):
                return await self._commit(kind, key, Op.DELETED, obj, expected, ctx)
        md["deletionTimestamp"] = rfc3339(self.clock() + timedelta(seconds=grace))
        md["deletionGracePeriodSeconds"] = grace
        if kind.kind == "Namespace":
            obj.setdefault("status", {})["phase"] = "Terminating"
        return await self._commit(kind, key, Op.MODIFIED, obj, expected, ctx)

    async def delete_collection(self, kind: Kind, namespace: str | None, options: dict[str, Any], ctx: WriteContext,
                                *, label_selector: str = "", field_selector: str = "") -> ListResult:
        listed = await self.list(kind, namespace, label_selector=label_selector, field_selector=field_selector)
        done = []
        for item in listed.items:
            md = item["metadata"]
            try:
                done.append(await self.delete(kind, md.get("namespace", ""), md["name"], options, ctx))
            except errors.NotFound:
                continue
        return ListResult(done, self.cache(kind).revision)

    # -- subresources ---------------------------------------------------------------------
    async def get_scale(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
        return scale_of(kind, await self.get(kind, namespace, name))

    async def update_scale(self, kind: Kind, namespace: str, name: str, replicas_of: Callable[[dict[str, Any]], Any],
                           ctx: WriteContext, *, want_rv: str = "") -> dict[str, Any]:
        key = obj_key(kind, namespace, name)
        for _ in _attempts():
            old = await self._current(kind, key)
            if want_rv and want_rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(kind.resource, name, kind.group)
            replicas = replicas_of(scale_of(kind, old))
            if not isinstance(replicas, int) or isinstance(replicas, bool):
                raise errors.BadRequest(f"spec.replicas must be an integer, not {replicas!r}")
            new = copy.deepcopy(old)
            new.setdefault("spec", {})["replicas"] = replicas
            try:
                return scale_of(kind, await self._replace(kind, key, new, old, ctx))
            except WrongRevision as e:
                if want_rv:
                    raise errors.conflict(kind.resource, name, kind.group) from e
                await self._catch_up(kind, e)
        raise errors.conflict(kind.resource, name, kind.group)

    async def bind(self, kind: Kind, namespace: str, name: str, binding: Any, ctx: WriteContext) -> dict[str, Any]:
        """pods/binding: set spec.nodeName once, with the PodScheduled condition."""
        if not isinstance(binding, dict) or not isinstance(binding.get("target"), dict) \
                or not binding["target"].get("name"):
            raise errors.BadRequest("a Binding needs target.name (the node)")
        node = binding["target"]["name"]
        key = obj_key(kind, namespace, name)
        for _ in _attempts():
            old = await self._current(kind, key)
            want_uid = (binding.get("metadata") or {}).get("uid") if isinstance(binding.get("metadata"), dict) else None
            if want_uid and want_uid != old["metadata"].get("uid"):
                raise errors.Conflict(f"Precondition failed: UID in precondition: {want_uid}, UID in object meta: "
                                      f"{old['metadata'].get('uid')}", kind="pods", name=name)
            if (old.get("spec") or {}).get("nodeName"):
                raise errors.Conflict(f'pod {name} is already assigned to node "{old["spec"]["nodeName"]}"',
                                      kind="pods", name=name)
            if old["metadata"].get("deletionTimestamp"):
                raise errors.Conflict(f"pod {name} is being deleted, cannot be assigned to a host", kind="pods", name=name)
            new = copy.deepcopy(old)
            new["spec"]["nodeName"] = node
            conds = [c for c in (new.setdefault("status", {}).get("conditions") or []) if c.get("type") != "PodScheduled"]
            conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                          "lastTransitionTime": rfc3339(self.clock())})
            new["status"]["conditions"] = conds
            try:
                await self._commit(kind, key, Op.MODIFIED, new, int(old["metadata"]["resourceVersion"]), ctx)
                return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
            except WrongRevision as e:
                await self._catch_up(kind, e)
        raise errors.conflict(kind.resource, name, kind.group)

    async def ensure_initial_namespaces(self) -> None:
        ns_kind = self.registry.by_resource("", "v1", "namespaces")
        assert ns_kind is not None
        for name in INITIAL_NAMESPACES:
            try:
                await self.create(ns_kind, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                                  WriteContext(actor="system:apiserver"))
            except errors.AlreadyExists:
                pass


def _keep_namespace_finalizers(new: dict[str, Any], old: dict[str, Any]) -> None:
    was = (old.get("spec") or {}).get("finalizers")
    spec = new.setdefault("spec", {})
    if isinstance(spec, dict):
        if was is None:
            spec.pop("finalizers", None)
        else:
            spec["finalizers"] = list(was)


def _admit_finalize(body: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """PUT namespaces/<name>/finalize: only spec.finalizers changes (the namespace controller's call)."""
    new = copy.deepcopy(old)
    finalizers = (body.get("spec") or {}).get("finalizers") or []
    if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
        raise errors.BadRequest("spec.finalizers must be a list of strings")
    new.setdefault("spec", {})["finalizers"] = finalizers
    return new


ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"


def _apply_propagation(obj: dict[str, Any], options: dict[str, Any]) -> bool:
    """Turn DeleteOptions' propagation into the garbage collector's finalizers, as Kubernetes does:
    Orphan (or the old `orphanDependents: true`) adds `orphan`, Foreground adds
    `foregroundDeletion`, Background (the default) adds neither; a policy named explicitly also
    removes the other one. Returns whether the finalizers changed."""
    policy = options.get("propagationPolicy")
    if policy is None and options.get("orphanDependents") is not None:
        policy = "Orphan" if options["orphanDependents"] else "Background"
    if policy is None:
        return False
    md = obj["metadata"]
    before = list(md.get("finalizers") or [])
    after = [f for f in before if f not in (ORPHAN, FOREGROUND)]
    if policy == "Orphan":
        after.append(ORPHAN)
    elif policy == "Foreground":
        after.append(FOREGROUND)
    if after == before:
        return False
    if after:
        md["finalizers"] = after
    else:
        md.pop("finalizers", None)
    return True


def scale_of(kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
    """The autoscaling/v1 Scale view of a workload (status.selector as a string)."""
    md = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    selector = spec.get("selector")
    if kind.kind == "ReplicationController":
        sel = LabelSelector.from_spec({"matchLabels": selector or {}})
    else:
        sel = LabelSelector.from_spec(selector)
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": md["name"], "namespace": md.get("namespace", ""), "uid": md.get("uid"),
                     "resourceVersion": md.get("resourceVersion"), "creationTimestamp": md.get("creationTimestamp")},
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": status.get("replicas", 0), "selector": str(sel)},
    }


def _as_of(cache: WatchCache, flt: KeyFilter, revision: int) -> Iterable[tuple[ObjectKey, dict[str, Any]]]:
    """The selected objects as they were at `revision`: the current ones with the ring's later
    events undone, so every page of a paginated list shows one snapshot, as Kubernetes serves
    `continue`. Older than the ring: 410, as for a continue token past etcd's compaction."""
    if revision < cache.ring_floor:
        raise errors.Expired(
            "The provided continue parameter is too old to display a consistent list result. You can start a new "
            "list without the continue parameter.")
    objects = dict(cache.select(flt))
    for ev in reversed(cache.ring):  # no await in here: the ring cannot move under us
        if ev.revision <= revision:
            break
        if not flt.matches(ev.key):
            continue
        if ev.prev is None:
            objects.pop(ev.key, None)
        else:
            objects[ev.key] = ev.prev
    return objects.items()


def _unchanged(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Would storing `new` over `old` change nothing but the resourceVersion?"""
    def strip(obj: dict[str, Any]) -> dict[str, Any]:
        md = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}
        return {**obj, "metadata": md}
    return strip(new) == strip(old)


def _encode_continue(rv: int, last: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"rv": rv, "ns": last[0], "name": last[1]})).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        d = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        return int(d["rv"]), (str(d["ns"]), str(d["name"]))
    except (ValueError, KeyError, TypeError) as e:
        raise errors.BadRequest(f"continue key is not valid: {token!r}") from e
