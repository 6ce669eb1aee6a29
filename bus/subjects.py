"""Mapping between object keys and NATS subjects.

Subject of an object: `<prefix>.<stream token>.<group>.<resource>.<namespace>.<name>`, group
`core` for the core group, namespace `_` for cluster-scoped kinds, every `.` inside a token
written as `~` (Kubernetes names never contain `~`, so the mapping is reversible). Filtering by
subject then gives "all pods", "all pods in namespace x" or one object for free.
"""

from __future__ import annotations

from core.keys import KeyFilter, ObjectKey

CLUSTER_SCOPE = "_"


def _enc(token: str) -> str:
    return token.replace(".", "~")


def _dec(token: str) -> str:
    return token.replace("~", ".")


class SubjectSpace:
    """The subjects of one stream: `<prefix>.<token>.…`."""

    def __init__(self, prefix: str, token: str) -> None:
        self.root = f"{prefix}.{token}"
        self._depth = self.root.count(".") + 1

    @property
    def all(self) -> str:
        return f"{self.root}.>"

    def subject(self, key: ObjectKey) -> str:
        return (f"{self.root}.{_enc(key.group or 'core')}.{key.resource}."
                f"{_enc(key.namespace) if key.namespace else CLUSTER_SCOPE}.{_enc(key.name)}")

    def key(self, subject: str) -> ObjectKey:
        parts = subject.split(".")[self._depth:]
        if len(parts) != 4:
            raise ValueError(f"not an object subject: {subject}")
        group, resource, namespace, name = parts
        return ObjectKey("" if group == "core" else _dec(group), resource,
                         "" if namespace == CLUSTER_SCOPE else _dec(namespace), _dec(name))

    def filter(self, f: KeyFilter) -> str:
        if f.resource is None and f.group is None:
            return self.all
        group = "*" if f.group is None else _enc(f.group or "core")
        resource = f.resource or "*"
        if f.namespace is None:
            namespace = "*"
        else:
            namespace = _enc(f.namespace) if f.namespace else CLUSTER_SCOPE
        name = "*" if f.name is None else _enc(f.name)
        return f"{self.root}.{group}.{resource}.{namespace}.{name}"
