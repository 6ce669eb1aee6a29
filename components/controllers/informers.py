"""Informers shared by every controller in the process, and indexes over them.

One informer per (stream, filter): ten controllers watching pods cost one consumer and one
projection. `Index` keeps, for each value of a function of an object (the node a pod is bound
to, the owner a ReplicaSet's pods point at), the keys of the objects that have it, so a
controller finds "the pods on node n1" without walking every pod.

A handler added after the informers started is first told about every object already held (as
ADDED), as client-go's shared informer does, so a controller can be added at any time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bus.informer import Handler, Informer, Obj
from bus.log import EventLog, Op
from core.keys import KeyFilter
from core.kinds import Stream
from core.workload import controller_ref

IndexFunc = Callable[[Obj], Iterable[str]]


def _ns_name(obj: Obj) -> tuple[str, str]:
    md = obj.get("metadata") or {}
    return str(md.get("namespace", "") or ""), str(md.get("name", ""))


class Index:
    """value → the (namespace, name) of the objects whose `fn` yields it."""

    def __init__(self, informer: Informer, fn: IndexFunc) -> None:
        self.informer = informer
        self.fn = fn
        self._by: dict[str, set[tuple[str, str]]] = {}

    def handle(self, op: Op, old: Obj | None, new: Obj | None) -> None:
        if old is not None:
            key = _ns_name(old)
            for value in self.fn(old):
                members = self._by.get(value)
                if members is not None:
                    members.discard(key)
                    if not members:
                        del self._by[value]
        if new is not None:
            key = _ns_name(new)
            for value in self.fn(new):
                self._by.setdefault(value, set()).add(key)

    def keys(self, value: str) -> list[tuple[str, str]]:
        return sorted(self._by.get(value, ()))

    def get(self, value: str) -> list[Obj]:
        out = []
        for ns, name in self.keys(value):
            obj = self.informer.get(ns, name)
            if obj is not None:
                out.append(obj)
        return out


def pod_node_name(pod: Obj) -> list[str]:
    node = (pod.get("spec") or {}).get("nodeName")
    return [node] if isinstance(node, str) and node else []


# The indexes the workload controllers share (one name, one meaning: asked for twice, made once).
BY_CONTROLLER = "controller-uid"
ORPHANS = "orphans-by-namespace"
BY_NAMESPACE = "namespace"


def controlling(informer: Informer, namespace: str, ref: Mapping[str, Any] | None, kind: str) -> Obj | None:
    """The `kind` that a controller reference `ref` (of an object in `namespace`) points at, if
    the informer holds it with that uid (a same-named successor is not the owner)."""
    if ref is None or ref.get("kind") != kind:
        return None
    owner = informer.get(namespace, str(ref.get("name") or ""))
    if owner is None or (owner.get("metadata") or {}).get("uid") != ref.get("uid"):
        return None
    return owner


def controller_uid(obj: Obj) -> list[str]:
    """The uid of the object's controller (ownerReference with controller: true)."""
    uid = str((controller_ref(obj) or {}).get("uid") or "")
    return [uid] if uid else []


def orphan_namespace(obj: Obj) -> list[str]:
    """The namespace of an object no controller owns (candidates for adoption)."""
    if controller_ref(obj) is not None:
        return []
    return namespace_of(obj)


def namespace_of(obj: Obj) -> list[str]:
    return [str((obj.get("metadata") or {}).get("namespace") or "")]


class SharedInformers:
    def __init__(self, logs: Mapping[Stream, EventLog]) -> None:
        self.logs = logs
        self._informers: dict[tuple[Stream, KeyFilter], Informer] = {}
        self._indexes: dict[tuple[int, str], Index] = {}

    def informer(self, stream: Stream, flt: KeyFilter) -> Informer:
        key = (stream, flt)
        inf = self._informers.get(key)
        if inf is None:
            inf = Informer(self.logs[stream], flt, name=f"{flt.resource or stream.value}")
            self._informers[key] = inf
        return inf

    def add_handler(self, informer: Informer, handler: Handler) -> None:
        informer.add_handler(handler)
        if informer.synced.is_set():
            for obj in informer.items():
                handler(Op.ADDED, None, obj)

    def index(self, informer: Informer, name: str, fn: IndexFunc) -> Index:
        """The index `name` over `informer` (made on first use; later callers share it)."""
        key = (id(informer), name)
        idx = self._indexes.get(key)
        if idx is None:
            idx = Index(informer, fn)
            self._indexes[key] = idx
            self.add_handler(informer, idx.handle)
        return idx

    async def start(self) -> None:
        """List every informer asked for so far, then follow; returns once all have listed. Starting
        again starts only those asked for since (an informer's start is idempotent)."""
        await asyncio.gather(*(inf.start() for inf in self._informers.values()))

    async def stop(self) -> None:
        await asyncio.gather(*(inf.stop() for inf in self._informers.values()))

    @property
    def informers(self) -> list[Informer]:
        return list(self._informers.values())
