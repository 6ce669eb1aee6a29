"""Discovery documents: /version, aggregated discovery (/api, /apis as APIGroupDiscoveryList v2) and
the legacy form (APIVersions, APIGroupList, APIGroup, APIResourceList).

kubectl cannot work without discovery: it maps `pods`, `po`, `deploy` to group/version/resource
through these documents, learns which verbs and subresources exist (`deployments/scale` as
autoscaling/v1 Scale, `pods/log`, `pods/exec`), and checks that metrics.k8s.io is served before
`kubectl top`. Everything is derived from the kinds registry (`core/kinds.py`); groups the registry
does not hold (metrics.k8s.io) are passed in as `ExtraGroup`s, and the API server decides whether
to include them. Pure: registry in, dicts out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.kinds import VERBS, Kind, Registry

from .tables import negotiate

DISCOVERY_GROUP = "apidiscovery.k8s.io"
DISCOVERY_VERSIONS = ("v2", "v2beta1")
_AGGREGATED = {("APIGroupDiscoveryList", DISCOVERY_GROUP): DISCOVERY_VERSIONS}

# Subresource → (verbs, response kind as (group, version, kind); None means the parent's kind).
_SUBRESOURCES: dict[str, tuple[tuple[str, ...], tuple[str, str, str] | None]] = {
    "status": (("get", "patch", "update"), None),
    "scale": (("get", "patch", "update"), ("autoscaling", "v1", "Scale")),
    "binding": (("create",), ("", "v1", "Binding")),
    "log": (("get",), None),
    "exec": (("create", "get"), ("", "v1", "PodExecOptions")),
    "attach": (("create", "get"), ("", "v1", "PodAttachOptions")),
    "portforward": (("create", "get"), ("", "v1", "PodPortForwardOptions")),
    "eviction": (("create",), ("policy", "v1", "Eviction")),
    "finalize": (("update",), None),
}
# Kubernetes serves no deletecollection on namespaces.
_VERBS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "namespaces"): tuple(v for v in VERBS if v != "deletecollection"),
}


# --- /version ------------------------------------------------------------------------------------

def version_info(*, git_commit: str = "0" * 40, build_date: str = "2025-04-22T00:00:00Z") -> dict[str, str]:
    """/version. kubectl's dispatcher picks its bundled v1.32 client from `minor`."""
    return {
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.4-jetkube",
        "gitCommit": git_commit,
        "gitTreeState": "clean",
        "buildDate": build_date,
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


# --- negotiation ---------------------------------------------------------------------------------

def aggregated_version(accept: str | None) -> str | None:
    """`v2` or `v2beta1` when the client prefers aggregated discovery, else None (legacy form)."""
    chosen = negotiate(accept, _AGGREGATED)
    return chosen[2] if chosen else None


def wants_aggregated(accept: str | None) -> bool:
    """True for `application/json;g=apidiscovery.k8s.io;v=v2(beta1);as=APIGroupDiscoveryList`."""
    return aggregated_version(accept) is not None


def aggregated_content_type(accept: str | None) -> str:
    """The response Content-Type for the aggregated version asked for; kubectl reads g/v/as from it."""
    version = aggregated_version(accept) or "v2"
    return f"application/json;g={DISCOVERY_GROUP};v={version};as=APIGroupDiscoveryList"


# --- per-resource facts --------------------------------------------------------------------------

def verbs_of(kind: Kind) -> list[str]:
    return list(_VERBS.get((kind.group, kind.resource), VERBS))


def _subresource(kind: Kind, name: str) -> tuple[list[str], tuple[str, str, str]]:
    verbs, response = _SUBRESOURCES.get(name, (("get",), None))
    return list(verbs), response or (kind.group, kind.version, kind.kind)


# --- groups the registry does not hold -----------------------------------------------------------

@dataclass(frozen=True)
class StaticResource:
    """A resource served outside the registry (an aggregated API such as metrics.k8s.io)."""

    resource: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ("get", "list")
    singular: str = ""


@dataclass(frozen=True)
class ExtraGroup:
    """A whole group/version served outside the registry, in every discovery form."""

    group: str
    version: str
    resources: tuple[StaticResource, ...]

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def aggregated(self) -> dict[str, Any]:
        """Its APIGroupDiscovery item for /apis (aggregated)."""
        resources = [{
            "resource": r.resource,
            "responseKind": {"group": self.group, "version": self.version, "kind": r.kind},
            "scope": "Namespaced" if r.namespaced else "Cluster",
            "singularResource": r.singular,
            "verbs": list(r.verbs),
        } for r in sorted(self.resources, key=lambda r: r.resource)]
        return _group_item(self.group, [(self.version, resources)])

    @property
    def api_group(self) -> dict[str, Any]:
        """Its APIGroup entry, as listed in the legacy APIGroupList and served at /apis/<group>."""
        return _api_group(self.group, [self.version])

    @property
    def resource_list(self) -> dict[str, Any]:
        """Its APIResourceList, served at /apis/<group>/<version>."""
        resources = [{
            "name": r.resource, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
            "verbs": list(r.verbs),
        } for r in sorted(self.resources, key=lambda r: r.resource)]
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": self.group_version,
                "resources": resources}


def metrics_group() -> ExtraGroup:
    """metrics.k8s.io/v1beta1 (pods → PodMetrics, nodes → NodeMetrics; get and list), for `kubectl top`."""
    return ExtraGroup("metrics.k8s.io", "v1beta1", (
        StaticResource("nodes", "NodeMetrics", namespaced=False),
        StaticResource("pods", "PodMetrics", namespaced=True),
    ))


# --- aggregated discovery ------------------------------------------------------------------------

def _resource_item(kind: Kind) -> dict[str, Any]:
    item: dict[str, Any] = {
        "resource": kind.resource,
        "responseKind": {"group": kind.group, "version": kind.version, "kind": kind.kind},
        "scope": "Namespaced" if kind.namespaced else "Cluster",
        "singularResource": kind.singular_name,
        "verbs": verbs_of(kind),
    }
    if kind.short_names:
        item["shortNames"] = list(kind.short_names)
    if kind.categories:
        item["categories"] = list(kind.categories)
    subresources = []
    for name in sorted(kind.subresources):
        verbs, (group, version, response_kind) = _subresource(kind, name)
        subresources.append({
            "subresource": name,
            "responseKind": {"group": group, "version": version, "kind": response_kind},
            "verbs": verbs,
        })
    if subresources:
        item["subresources"] = subresources
    return item


def _group_item(name: str, versions: Iterable[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "versions": [{"version": v, "resources": resources, "freshness": "Current"} for v, resources in versions],
    }


def _registry_group_item(registry: Registry, group: str) -> dict[str, Any]:
    versions = registry.groups().get(group, [])
    return _group_item(group, [
        (v, [_resource_item(k) for k in sorted(registry.in_group_version(group, v), key=lambda k: k.resource)])
        for v in versions
    ])


def _discovery_list(items: list[dict[str, Any]], version: str) -> dict[str, Any]:
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"{DISCOVERY_GROUP}/{version}", "metadata": {},
            "items": items}


def aggregated_core(registry: Registry, *, extra: Sequence[dict[str, Any]] = (), version: str = "v2") -> dict[str, Any]:
    """/api as an APIGroupDiscoveryList: one item, the core group (named ""), version v1.

    `extra` adds APIResourceDiscovery entries to core/v1 (resources served outside the registry).
    """
    item = _registry_group_item(registry, "")
    if extra:
        resources = item["versions"][0]["resources"] + list(extra)
        item["versions"][0]["resources"] = sorted(resources, key=lambda r: r["resource"])
    return _discovery_list([item], version)


def aggregated_groups(registry: Registry, *, extra_groups: Sequence[dict[str, Any] | ExtraGroup] = (),
                      version: str = "v2") -> dict[str, Any]:
    """/apis as an APIGroupDiscoveryList: every named group of the registry, then `extra_groups`."""
    items = [_registry_group_item(registry, g) for g in registry.groups() if g]
    items += [g.aggregated if isinstance(g, ExtraGroup) else g for g in extra_groups]
    return _discovery_list(items, version)


# --- legacy discovery ----------------------------------------------------------------------------

def api_versions(*, server_address: str = "") -> dict[str, Any]:
    """Legacy /api: the core group's versions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _api_group(name: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(registry: Registry, *, extra: Sequence[ExtraGroup] = ()) -> dict[str, Any]:
    """Legacy /apis: an APIGroupList of the registry's named groups, then `extra`."""
    groups = [_api_group(g, vs) for g, vs in registry.groups().items() if g]
    groups += [e.api_group for e in extra]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, group: str, *, extra: Sequence[ExtraGroup] = ()) -> dict[str, Any] | None:
    """/apis/<group>: the APIGroup, or None if no such group is served."""
    versions = registry.groups().get(group) if group else None
    if versions:
        return {"kind": "APIGroup", "apiVersion": "v1", **_api_group(group, versions)}
    for e in extra:
        if e.group == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **e.api_group}
    return None


def _api_resources(kind: Kind) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": kind.resource, "singularName": kind.singular_name, "namespaced": kind.namespaced,
        "kind": kind.kind, "verbs": verbs_of(kind),
    }
    if kind.short_names:
        main["shortNames"] = list(kind.short_names)
    if kind.categories:
        main["categories"] = list(kind.categories)
    out = [main]
    for name in sorted(kind.subresources):
        verbs, (group, version, response_kind) = _subresource(kind, name)
        sub: dict[str, Any] = {"name": f"{kind.resource}/{name}", "singularName": "", "namespaced": kind.namespaced}
        if (group, version) != (kind.group, kind.version):
            sub["group"], sub["version"] = group, version
        sub["kind"], sub["verbs"] = response_kind, verbs
        out.append(sub)
    return out


def api_resource_list(registry: Registry, group: str, version: str, *,
                      extra: Sequence[ExtraGroup] = ()) -> dict[str, Any] | None:
    """/api/v1 or /apis/<group>/<version>: the APIResourceList, or None if not served.

    Subresources are listed as `pods/log`, `deployments/scale` (group autoscaling, version v1, kind
    Scale), `pods/eviction` (policy/v1 Eviction); no storageVersionHash.
    """
    kinds = registry.in_group_version(group, version)
    if kinds:
        resources = [r for k in sorted(kinds, key=lambda k: k.resource) for r in _api_resources(k)]
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": kinds[0].api_version,
                "resources": resources}
    for e in extra:
        if (e.group, e.version) == (group, version):
            return e.resource_list
    return None
