"""The kinds registry: every API resource jetkube serves, and how it is stored.

Each `Kind` names its group/version/resource/kind, scope, short names and categories (for
discovery and kubectl), its subresources, and the `Stream` that holds its history. The API
server, discovery, the bus subjects and the controllers all look kinds up here; nothing else
hard-codes a resource name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Stream(str, Enum):
    """Which log a kind lives in; each has its own retention and its own revision space."""

    OBJECTS = "objects"  # full history, bounded per object by the compactor
    LEASES = "leases"  # heartbeats: one version per object
    EVENTS = "events"  # core/v1 Events: expire after an hour


VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Kind:
    group: str  # "" for the core group
    version: str
    resource: str  # plural, lower case
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    stream: Stream = Stream.OBJECTS
    list_kind: str = field(default="", compare=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_resource(self) -> str:
        """How the bus API client names it: the plural, then the group after a dot (`replicasets.apps`)."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"


_ALL = ("all",)

KINDS: tuple[Kind, ...] = (
    # core/v1
    Kind("", "v1", "namespaces", "Namespace", False, short_names=("ns",), subresources=("status", "finalize")),
    Kind("", "v1", "pods", "Pod", True, short_names=("po",), categories=_ALL,
         subresources=("status", "binding", "log", "exec", "attach", "portforward", "eviction")),
    Kind("", "v1", "services", "Service", True, short_names=("svc",), categories=_ALL, subresources=("status",)),
    Kind("", "v1", "endpoints", "Endpoints", True, singular="endpoints", short_names=("ep",)),
    Kind("", "v1", "nodes", "Node", False, short_names=("no",), subresources=("status",)),
    Kind("", "v1", "configmaps", "ConfigMap", True, short_names=("cm",)),
    Kind("", "v1", "secrets", "Secret", True),
    Kind("", "v1", "serviceaccounts", "ServiceAccount", True, short_names=("sa",)),
    Kind("", "v1", "events", "Event", True, short_names=("ev",), stream=Stream.EVENTS),
    Kind("", "v1", "replicationcontrollers", "ReplicationController", True, short_names=("rc",),
         categories=_ALL, subresources=("status", "scale")),
    Kind("", "v1", "persistentvolumes", "PersistentVolume", False, short_names=("pv",), subresources=("status",)),
    Kind("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, short_names=("pvc",),
         subresources=("status",)),
    # apps/v1
    Kind("apps", "v1", "deployments", "Deployment", True, short_names=("deploy",), categories=_ALL,
         subresources=("status", "scale")),
    Kind("apps", "v1", "replicasets", "ReplicaSet", True, short_names=("rs",), categories=_ALL,
         subresources=("status", "scale")),
    Kind("apps", "v1", "daemonsets", "DaemonSet", True, short_names=("ds",), categories=_ALL,
         subresources=("status",)),
    Kind("apps", "v1", "statefulsets", "StatefulSet", True, short_names=("sts",), categories=_ALL,
         subresources=("status", "scale")),
    Kind("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    # batch/v1
    Kind("batch", "v1", "jobs", "Job", True, categories=_ALL, subresources=("status",)),
    Kind("batch", "v1", "cronjobs", "CronJob", True, short_names=("cj",), categories=_ALL, subresources=("status",)),
    # others
    Kind("coordination.k8s.io", "v1", "leases", "Lease", True, stream=Stream.LEASES),
    Kind("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    Kind("networking.k8s.io", "v1", "ingresses", "Ingress", True, short_names=("ing",), subresources=("status",)),
    Kind("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, short_names=("hpa",),
         categories=_ALL, subresources=("status",)),
)


class Registry:
    """Lookups over a fixed set of kinds."""

    def __init__(self, kinds: tuple[Kind, ...] = KINDS) -> None:
        self.kinds = kinds
        self._by_resource = {(k.group, k.version, k.resource): k for k in kinds}
        self._by_gvk = {(k.api_version, k.kind): k for k in kinds}
        self._version: dict[tuple[str, str], str] = {}
        for k in kinds:  # the first version listed is the one served by default
            self._version.setdefault((k.group, k.resource), k.version)

    def by_resource(self, group: str, version: str, resource: str) -> Kind | None:
        return self._by_resource.get((group, version, resource))

    def by_gvk(self, api_version: str, kind: str) -> Kind | None:
        return self._by_gvk.get((api_version, kind))

    def version_of(self, group: str, resource: str) -> str | None:
        """The version a resource is served at (the first one the registry lists)."""
        return self._version.get((group, resource))

    def groups(self) -> dict[str, list[str]]:
        """Group name → its versions, in registry order (core group as "")."""
        out: dict[str, list[str]] = {}
        for k in self.kinds:
            versions = out.setdefault(k.group, [])
            if k.version not in versions:
                versions.append(k.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[Kind]:
        return [k for k in self.kinds if k.group == group and k.version == version]


REGISTRY = Registry()
