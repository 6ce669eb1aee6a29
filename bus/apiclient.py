"""The client side of the API server's bus API (`<prefix>.api.<verb>` request/reply).

Components call the API server through this, never by importing it: a write from a scheduler
or a kubelet goes through the same admission path as one from kubectl.
"""

from __future__ import annotations

import builtins
from contextvars import ContextVar
from typing import Any

import orjson
from nats.aio.client import Client

from core.kinds import REGISTRY


# The revision that made the caller act (a controller's worker sets it for the key it syncs):
# every write made while it is set carries it, and the log records it as the entry's causation.
CAUSE: ContextVar[str] = ContextVar("jetkube_cause", default="")


class ApiReplyError(Exception):
    """The API server answered with a failure Status."""

    def __init__(self, code: int, status: dict[str, Any]) -> None:
        super().__init__(f"{code} {status.get('reason', '')}: {status.get('message', '')}")
        self.code = code
        self.status = status


async def request(nc: Client, prefix: str, verb: str, req: dict[str, Any], timeout: float = 10.0) -> tuple[int, Any]:
    reply = await nc.request(f"{prefix}.api.{verb}", orjson.dumps(req), timeout=timeout)
    out = orjson.loads(reply.data)
    return int(out["code"]), out["object"]


async def call(nc: Client, prefix: str, verb: str, req: dict[str, Any], timeout: float = 10.0) -> Any:
    """Like `request`, but a failure raises `ApiReplyError`."""
    code, obj = await request(nc, prefix, verb, req, timeout)
    if code >= 400:
        raise ApiReplyError(code, obj)
    return obj


class ApiClient:
    """Typed calls on the bus API for one component: who writes (`actor`) travels with each call.

    `resource` is "pods", "nodes", "leases.coordination.k8s.io" style: the plural, then the group
    after the first dot, as kubectl spells it.
    """

    def __init__(self, nc: Client, prefix: str, actor: str, *, timeout: float = 10.0) -> None:
        self.nc = nc
        self.prefix = prefix
        self.actor = actor
        self.timeout = timeout

    def _req(self, resource: str, namespace: str = "", name: str = "", **extra: Any) -> dict[str, Any]:
        plural, _, group = resource.partition(".")
        version = REGISTRY.version_of(group, plural) or "v1"
        req: dict[str, Any] = {"group": group, "version": version, "resource": plural, "namespace": namespace,
                               "name": name, "actor": self.actor}
        cause = CAUSE.get()
        if cause:
            req["cause"] = cause
        req.update({k: v for k, v in extra.items() if v is not None})
        return req

    async def get(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        return await call(self.nc, self.prefix, "get", self._req(resource, namespace, name), self.timeout)

    async def list(self, resource: str, namespace: str = "", *, label_selector: str = "",
                   field_selector: str = "") -> dict[str, Any]:
        query = {"labelSelector": label_selector, "fieldSelector": field_selector}
        return await call(self.nc, self.prefix, "list", self._req(resource, namespace, query=query), self.timeout)

    async def create(self, resource: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return await call(self.nc, self.prefix, "create", self._req(resource, namespace, body=body), self.timeout)

    async def update(self, resource: str, namespace: str, name: str, body: dict[str, Any], *,
                     subresource: str = "") -> dict[str, Any]:
        """PUT: compare-and-swap on the body's metadata.resourceVersion (409 if stale)."""
        req = self._req(resource, namespace, name, body=body, subresource=subresource)
        return await call(self.nc, self.prefix, "update", req, self.timeout)

    async def patch(self, resource: str, namespace: str, name: str, patch: dict[str, Any] | builtins.list[Any], *,
                    subresource: str = "", content_type: str = "application/merge-patch+json") -> dict[str, Any]:
        req = self._req(resource, namespace, name, body=patch, subresource=subresource, contentType=content_type)
        return await call(self.nc, self.prefix, "patch", req, self.timeout)

    async def delete(self, resource: str, namespace: str, name: str, *, grace_period_seconds: int | None = None,
                     uid: str | None = None, propagation: str | None = None) -> dict[str, Any]:
        opts: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            opts["gracePeriodSeconds"] = grace_period_seconds
        if uid is not None:
            opts["preconditions"] = {"uid": uid}
        if propagation is not None:
            opts["propagationPolicy"] = propagation
        return await call(self.nc, self.prefix, "delete", self._req(resource, namespace, name, body=opts),
                          self.timeout)

    async def bind(self, namespace: str, pod: str, node: str, *, uid: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "Binding",
                                "metadata": {"name": pod, "namespace": namespace},
                                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        if uid:
            body["metadata"]["uid"] = uid
        return await call(self.nc, self.prefix, "bind", self._req("pods", namespace, pod, body=body), self.timeout)
