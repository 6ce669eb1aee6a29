"""Object identity: the key that names one object in the log.

`ObjectKey` is (group, resource, namespace, name) with group "" for the core group and
namespace "" for cluster-scoped kinds. The bus maps it to a subject; the API server and every
projection index objects by it.
"""

from __future__ import annotations

from typing import NamedTuple


class ObjectKey(NamedTuple):
    group: str
    resource: str
    namespace: str
    name: str

    def __str__(self) -> str:
        gr = f"{self.resource}.{self.group}" if self.group else self.resource
        return f"{gr}/{self.namespace}/{self.name}" if self.namespace else f"{gr}/{self.name}"


class KeyFilter(NamedTuple):
    """A set of keys: a resource, optionally one namespace, optionally one name.

    `resource=None` means every resource of the stream (the watch cache's feed).
    """

    group: str | None = None
    resource: str | None = None
    namespace: str | None = None
    name: str | None = None

    def matches(self, key: ObjectKey) -> bool:
        return ((self.group is None or key.group == self.group)
                and (self.resource is None or key.resource == self.resource)
                and (self.namespace is None or key.namespace == self.namespace)
                and (self.name is None or key.name == self.name))
