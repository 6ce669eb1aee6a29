"""The garbage collector's owner/dependent graph and its decisions. Pure.

`OwnerGraph` is fed every object of the OBJECTS stream (the controller's informer calls
`observe` / `forget`) and keeps, per uid, what the collector needs: the object's identity (kind,
namespace, name), its ownerReferences, whether it is being deleted and its finalizers; and, per
owner uid, the uids of the objects that reference it, whether or not that owner exists (an owner
that was never seen is "virtual", as in Kubernetes). Each change returns the uids whose sync may
now decide something different, so the shell only enqueues: a new object with owners; changed
owner references (and the foreground-deleting owners a dependent stopped blocking); an object
entering orphan or foreground deletion (and, for foreground, its dependents); on removal, its
dependents (their owner is now absent) and the owners it was keeping waiting.

`decide(graph, uid, live)` is the sync of one uid, with Kubernetes 1.32's semantics:

- An object deleting with the `orphan` finalizer: drop its reference from every dependent, then
  remove `orphan` (which lets the API server remove it).
- An object deleting with `foregroundDeletion`: while a dependent references it with
  `blockOwnerDeletion: true`, have every dependent not yet being deleted processed (`Process`:
  their own sync deletes or unblocks them); when none blocks, remove `foregroundDeletion`.
  A dependent being deleted (a pod a kubelet is still terminating, a ReplicaSet itself waiting for
  its pods) is waited for, so cascades go level by level.
- Any other object being deleted: nothing (the API server and kubelets finish it).
- An object that is not being deleted, as a dependent: each owner reference is *solid* (the owner
  exists and is not waiting for its dependents), *waiting* (the owner is deleting in the
  foreground) or *dangling* (no object with that uid, or one whose identity does not match the
  reference). An owner missing from the graph is only judged dangling after a live look-up: the
  first pass returns `LookUp`, the shell GETs those owners by name and calls `decide` again with
  what it found (`live`), since the projection may lag the API server.
  * all solid: nothing;
  * some solid, others dangling or waiting: patch the references — dangling ones removed, waiting
    ones with `blockOwnerDeletion` set to false — so the waiting owner can go;
  * none solid: delete it — in the foreground if an owner is waiting and it has dependents of its
    own (the cascade keeps its shape), otherwise in the background.

Owner references to kinds the registry does not know are treated as solid: the collector never
deletes on the strength of an owner it cannot look up. A namespaced owner referenced from a
cluster-scoped object is dangling (Kubernetes' OwnerRefInvalidNamespace).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from core.kinds import REGISTRY, Kind

Obj = dict[str, Any]

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
BACKGROUND_POLICY = "Background"
FOREGROUND_POLICY = "Foreground"


# -- the graph's records ----------------------------------------------------------------------
@dataclass(frozen=True)
class OwnerRef:
    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool = False
    block: bool = False  # blockOwnerDeletion

    @property
    def resolved(self) -> Kind | None:
        return REGISTRY.by_gvk(self.api_version, self.kind)


def parse_refs(raw: Any) -> tuple[OwnerRef, ...]:
    out = []
    for r in raw or ():
        if isinstance(r, dict) and r.get("uid"):
            out.append(OwnerRef(str(r.get("apiVersion", "")), str(r.get("kind", "")), str(r.get("name", "")),
                                str(r["uid"]), bool(r.get("controller")), bool(r.get("blockOwnerDeletion"))))
    return tuple(out)


@dataclass(frozen=True)
class Node:
    """One observed object, as the collector sees it."""

    uid: str
    api_version: str
    kind: str
    namespace: str
    name: str
    resource_version: str = ""
    owners: tuple[OwnerRef, ...] = ()
    deleting: bool = False
    finalizers: tuple[str, ...] = ()
    raw_refs: tuple[Obj, ...] = field(default=(), compare=False, hash=False)

    @property
    def resolved(self) -> Kind | None:
        return REGISTRY.by_gvk(self.api_version, self.kind)

    @property
    def waiting_for_dependents(self) -> bool:
        return self.deleting and FOREGROUND in self.finalizers

    @property
    def orphaning(self) -> bool:
        return self.deleting and ORPHAN in self.finalizers

    def ref_to(self, uid: str) -> OwnerRef | None:
        for r in self.owners:
            if r.uid == uid:
                return r
        return None

    @property
    def target(self) -> Target:
        return Target(self.api_version, self.kind, self.namespace, self.name, self.uid)


def node_of(obj: Mapping[str, Any]) -> Node | None:
    md = obj.get("metadata") or {}
    uid = md.get("uid")
    if not uid:
        return None
    raw = tuple(dict(r) for r in md.get("ownerReferences") or () if isinstance(r, dict))
    return Node(uid=str(uid), api_version=str(obj.get("apiVersion", "")), kind=str(obj.get("kind", "")),
                namespace=str(md.get("namespace") or ""), name=str(md.get("name", "")),
                resource_version=str(md.get("resourceVersion", "")), owners=parse_refs(raw),
                deleting=bool(md.get("deletionTimestamp")),
                finalizers=tuple(str(f) for f in md.get("finalizers") or ()), raw_refs=raw)


def owner_namespace(dependent: Node, ref: OwnerRef) -> str | None:
    """Where the owner lives: the dependent's namespace for a namespaced owner, "" for a
    cluster-scoped one; None when a cluster-scoped dependent names a namespaced owner (invalid)."""
    kind = ref.resolved
    if kind is not None and not kind.namespaced:
        return ""
    if not dependent.namespace and kind is not None:
        return None
    return dependent.namespace


def shard_key(node: Node) -> str:
    """The "namespace/name" the sharding hook sees for this uid: its controller's (or first
    owner's) so an owned object follows its owner's shard, else its own."""
    ref = next((r for r in node.owners if r.controller), node.owners[0] if node.owners else None)
    if ref is not None:
        ns = owner_namespace(node, ref)
        if ns is not None:
            return f"{ns}/{ref.name}" if ns else ref.name
    return f"{node.namespace}/{node.name}" if node.namespace else node.name


# -- the graph ---------------------------------------------------------------------------------
class OwnerGraph:
    """uid → Node, and owner uid → dependent uids (owners may be absent). No I/O."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._dependents: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, uid: str) -> Node | None:
        return self.nodes.get(uid)

    def dependents(self, uid: str) -> list[Node]:
        """The observed objects that reference `uid`, in namespace/name order."""
        out = [self.nodes[d] for d in self._dependents.get(uid, ()) if d in self.nodes]
        return sorted(out, key=lambda n: (n.namespace, n.name, n.kind, n.uid))

    def has_dependents(self, uid: str) -> bool:
        return any(d in self.nodes for d in self._dependents.get(uid, ()))

    def owner_of(self, dependent: Node, ref: OwnerRef) -> Node | None:
        """The observed owner a reference points at: same uid, and the identity the reference
        names (kind, name, namespace); None otherwise."""
        owner = self.nodes.get(ref.uid)
        if owner is None or owner.kind != ref.kind or owner.name != ref.name:
            return None
        if _group(owner.api_version) != _group(ref.api_version):
            return None  # the same kind name in another group
        if owner.namespace != (owner_namespace(dependent, ref) or ""):
            return None
        return owner

    # -- feeding ---------------------------------------------------------------------------
    def observe(self, obj: Mapping[str, Any]) -> list[str]:
        """An object was added or changed: record it; return the uids to sync."""
        new = node_of(obj)
        if new is None:
            return []
        prev = self.nodes.get(new.uid)
        self.nodes[new.uid] = new
        self._link(prev, new)
        out: list[str] = []
        gc_state = new.orphaning or new.waiting_for_dependents
        if prev is None:
            if new.owners or gc_state:
                out.append(new.uid)
            if new.waiting_for_dependents:
                out += [d.uid for d in self.dependents(new.uid)]
            return list(dict.fromkeys(out))
        if _ref_shape(prev.owners) != _ref_shape(new.owners):
            if new.owners:
                out.append(new.uid)
            # an owner waiting for its dependents may be free now (reference gone or unblocked)
            before = {r.uid: r for r in prev.owners}
            after = {r.uid: r for r in new.owners}
            for uid, ref in before.items():
                if ref.block and not (uid in after and after[uid].block):
                    owner = self.nodes.get(uid)
                    if owner is not None and owner.waiting_for_dependents:
                        out.append(uid)
        if gc_state and (prev.deleting, prev.finalizers) != (new.deleting, new.finalizers):
            out.append(new.uid)
        if new.waiting_for_dependents and not prev.waiting_for_dependents:
            # its dependents now decide differently; enqueued here too (not only through the
            # owner's `Process`) so a dependent on another shard than its owner hears of it
            out += [d.uid for d in self.dependents(new.uid)]
        return list(dict.fromkeys(out))

    def forget(self, obj: Mapping[str, Any]) -> list[str]:
        """An object is gone: drop it; return the uids to sync (its dependents, whose owner is now
        absent, and its owners waiting for their dependents)."""
        gone = node_of(obj)
        if gone is None:
            return []
        node = self.nodes.pop(gone.uid, None)
        if node is None:
            return []
        self._link(node, None)
        out = [d.uid for d in self.dependents(node.uid)]
        for ref in node.owners:
            owner = self.nodes.get(ref.uid)
            if owner is not None and owner.waiting_for_dependents:
                out.append(ref.uid)
        return list(dict.fromkeys(out))

    def _link(self, prev: Node | None, new: Node | None) -> None:
        either = new if new is not None else prev
        if either is None:
            return
        uid = either.uid
        old_owners = {r.uid for r in prev.owners} if prev is not None else set()
        new_owners = {r.uid for r in new.owners} if new is not None else set()
        for o in old_owners - new_owners:
            deps = self._dependents.get(o)
            if deps is not None:
                deps.discard(uid)
                if not deps:
                    del self._dependents[o]
        for o in new_owners - old_owners:
            self._dependents.setdefault(o, set()).add(uid)


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _ref_shape(refs: Iterable[OwnerRef]) -> list[tuple[str, str, str, bool]]:
    return sorted((r.uid, r.kind, r.name, r.block) for r in refs)


# -- actions -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """An object to write, by identity and uid (only that incarnation)."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str

    @property
    def resolved(self) -> Kind | None:
        return REGISTRY.by_gvk(self.api_version, self.kind)


@dataclass(frozen=True)
class LookUp:
    """GET these owners (of `dependent`) live, then decide again with what was found."""

    dependent: str
    refs: tuple[OwnerRef, ...]


@dataclass(frozen=True)
class Delete:
    target: Target
    propagation: str
    # the live object must still have these references (the projection may lag): else try later
    expect_refs: tuple[Obj, ...] = field(default=(), compare=False, hash=False)
    why: str = ""


@dataclass(frozen=True)
class PatchOwnerRefs:
    """Merge patch of metadata.ownerReferences (the whole new list) at `resource_version`."""

    target: Target
    resource_version: str
    owner_references: tuple[Obj, ...] = field(compare=True, hash=False)
    why: str = ""


@dataclass(frozen=True)
class RemoveFinalizer:
    """Merge patch of metadata.finalizers (`remaining`) at `resource_version`."""

    target: Target
    resource_version: str
    finalizer: str
    remaining: tuple[str, ...]


@dataclass(frozen=True)
class Process:
    """Sync these uids (the dependents of an owner deleting in the foreground)."""

    uids: tuple[str, ...]


Action = LookUp | Delete | PatchOwnerRefs | RemoveFinalizer | Process


class Owner(str, Enum):
    """What a live look-up found for an owner reference."""

    ABSENT = "absent"  # 404, or an object of that name with another uid
    SOLID = "solid"
    WAITING = "waiting"  # deleting with foregroundDeletion


def judge_live(ref: OwnerRef, obj: Mapping[str, Any] | None) -> Owner:
    """Classify a live GET's answer (None for 404) for one reference."""
    if obj is None:
        return Owner.ABSENT
    md = obj.get("metadata") or {}
    if md.get("uid") != ref.uid:
        return Owner.ABSENT
    if md.get("deletionTimestamp") and FOREGROUND in (md.get("finalizers") or ()):
        return Owner.WAITING
    return Owner.SOLID


# -- decisions ---------------------------------------------------------------------------------
def decide(graph: OwnerGraph, uid: str, live: Mapping[str, Owner] | None = None) -> list[Action]:
    """What the collector does for `uid` now (see the module doc). `live` holds the results of
    look-ups the previous pass asked for, by owner uid."""
    node = graph.node(uid)
    if node is None:
        return []
    if node.deleting:
        if node.orphaning:
            return _orphan(graph, node)
        if node.waiting_for_dependents:
            return _foreground(graph, node)
        return []
    if not node.owners:
        return []
    return _as_dependent(graph, node, live or {})


def _remaining(node: Node, finalizer: str) -> tuple[str, ...]:
    return tuple(f for f in node.finalizers if f != finalizer)


def _orphan(graph: OwnerGraph, owner: Node) -> list[Action]:
    acts: list[Action] = []
    for dep in graph.dependents(owner.uid):
        refs = tuple(r for r in dep.raw_refs if r.get("uid") != owner.uid)
        acts.append(PatchOwnerRefs(dep.target, dep.resource_version, refs,
                                   why=f"orphaned by {owner.kind} {owner.name}"))
    acts.append(RemoveFinalizer(owner.target, owner.resource_version, ORPHAN, _remaining(owner, ORPHAN)))
    return acts


def _foreground(graph: OwnerGraph, owner: Node) -> list[Action]:
    deps = graph.dependents(owner.uid)
    blocking = [d for d in deps if (ref := d.ref_to(owner.uid)) is not None and ref.block]
    if not blocking:
        return [RemoveFinalizer(owner.target, owner.resource_version, FOREGROUND, _remaining(owner, FOREGROUND))]
    pending = tuple(d.uid for d in deps if not d.deleting)
    return [Process(pending)] if pending else []


def classify(graph: OwnerGraph, node: Node, live: Mapping[str, Owner]) -> tuple[
        list[OwnerRef], list[OwnerRef], list[OwnerRef], list[OwnerRef]]:
    """(solid, waiting, dangling, unknown) references of a dependent; unknown ones need a look-up."""
    solid: list[OwnerRef] = []
    waiting: list[OwnerRef] = []
    dangling: list[OwnerRef] = []
    unknown: list[OwnerRef] = []
    for ref in node.owners:
        if ref.resolved is None:
            solid.append(ref)  # a kind we cannot look up: never collect on its account
            continue
        if owner_namespace(node, ref) is None:
            dangling.append(ref)
            continue
        owner = graph.owner_of(node, ref)
        state: Owner | None
        if owner is not None:
            state = Owner.WAITING if owner.waiting_for_dependents else Owner.SOLID
        else:
            state = live.get(ref.uid)
        if state is None:
            unknown.append(ref)
        elif state is Owner.SOLID:
            solid.append(ref)
        elif state is Owner.WAITING:
            waiting.append(ref)
        else:
            dangling.append(ref)
    return solid, waiting, dangling, unknown


def _as_dependent(graph: OwnerGraph, node: Node, live: Mapping[str, Owner]) -> list[Action]:
    solid, waiting, dangling, unknown = classify(graph, node, live)
    if unknown:
        return [LookUp(node.uid, tuple(unknown))]
    if not waiting and not dangling:
        return []
    if solid:
        drop = {r.uid for r in dangling}
        unblock = {r.uid for r in waiting if r.block}
        refs = []
        for raw in node.raw_refs:
            if raw.get("uid") in drop:
                continue
            if raw.get("uid") in unblock:
                raw = {**raw, "blockOwnerDeletion": False}
            refs.append(raw)
        if tuple(refs) == node.raw_refs:
            return []
        why = [w for w, on in (("dangling references removed", drop),
                                ("owners deleting in the foreground unblocked", unblock)) if on]
        return [PatchOwnerRefs(node.target, node.resource_version, tuple(refs), why="; ".join(why))]
    if waiting and graph.has_dependents(node.uid):
        policy = FOREGROUND_POLICY
    else:
        policy = BACKGROUND_POLICY
    reason = "owners deleting in the foreground" if waiting else "all owners are gone"
    return [Delete(node.target, policy, expect_refs=node.raw_refs, why=reason)]

