"""The API over the bus: request/reply on `<prefix>.api.<verb>`, one queue group for all replicas.

Components (scheduler, controllers, kubelets) write through here rather than over HTTP: the same
`Resources` and so the same admission path, no TLS or HTTP parsing, and any number of API server
replicas share the load with no coordination. Request and reply are JSON:
request `{"group","version","resource","namespace","name","subresource","body","contentType",
"query","actor","cause"}`; reply `{"code": <http code>, "object": <object or Status>}`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from bus.log import Unavailable
from components.apiserver.resources import Resources, WriteContext
from core import errors
from core.kinds import Registry

log = structlog.get_logger("apiserver.busapi")

VERBS = ("get", "list", "create", "update", "patch", "delete", "bind", "scale")
QUEUE = "apiserver"


class BusApi:
    def __init__(self, nc: Client, prefix: str, resources: Resources, registry: Registry) -> None:
        self.nc = nc
        self.subject = f"{prefix}.api.*"
        self.resources = resources
        self.registry = registry
        self._sub: Subscription | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self._sub is None:
            self._sub = await self.nc.subscribe(self.subject, queue=QUEUE, cb=self._on_msg)

    async def stop(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            await sub.unsubscribe()
        for t in list(self._tasks):
            t.cancel()

    async def _on_msg(self, msg: Msg) -> None:
        task = asyncio.create_task(self._serve(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, msg: Msg) -> None:
        reply = await self.answer(msg.subject.rsplit(".", 1)[-1], msg.data)
        if msg.reply:
            await msg.respond(reply)

    async def answer(self, verb: str, data: bytes) -> bytes:
        """The reply to one request: a failure is a Status, never an exception."""
        try:
            code, obj = await self.call(verb, orjson.loads(data))
        except errors.ApiError as e:
            code, obj = e.code, e.to_status()
        except Unavailable as e:
            err = errors.ServiceUnavailable(f"the log is unavailable: {e}")
            code, obj = err.code, err.to_status()
        except orjson.JSONDecodeError as e:
            err2 = errors.BadRequest(f"bus request is not JSON: {e}")
            code, obj = err2.code, err2.to_status()
        except Exception as e:  # a bug: reply with a Status so the caller is not left waiting
            log.exception("unhandled bus api error", verb=verb)
            err3 = errors.InternalError(f"Internal error occurred: {type(e).__name__}: {e}")
            code, obj = err3.code, err3.to_status()
        return orjson.dumps({"code": code, "object": obj})

    async def call(self, verb: str, req: dict[str, Any]) -> tuple[int, Any]:
        if verb not in VERBS:
            raise errors.NotFound(f"unknown bus api verb {verb!r}")
        kind = self.registry.by_resource(req.get("group", ""), req.get("version", "v1"), req.get("resource", ""))
        if kind is None:
            raise errors.NotFound(f"no resource {req.get('resource')!r} in {req.get('group') or 'core'}/"
                                  f"{req.get('version', 'v1')}")
        ns = req.get("namespace", "") if kind.namespaced else ""
        name = req.get("name", "")
        query = req.get("query") or {}
        ctx = WriteContext(actor=req.get("actor", "") or "bus", request_id=req.get("requestId", ""),
                           field_validation=query.get("fieldValidation", "Strict"), causation=str(req.get("cause", "")))
        r = self.resources
        if verb == "get":
            return 200, await r.get(kind, ns, name)
        if verb == "list":
            res = await r.list(kind, ns or None, label_selector=query.get("labelSelector", ""),
                               field_selector=query.get("fieldSelector", ""))
            return 200, {"kind": kind.list_kind_name, "apiVersion": kind.api_version,
                         "metadata": {"resourceVersion": str(res.resource_version)}, "items": res.items}
        if verb == "create":
            return 201, await r.create(kind, ns, req.get("body"), ctx)
        if verb == "update":
            return 200, await r.update(kind, ns, name, req.get("body"), ctx, subresource=req.get("subresource", ""))
        if verb == "patch":
            body = req.get("body")
            raw = body.encode() if isinstance(body, str) else orjson.dumps(body)
            return 200, await r.patch(kind, ns, name, req.get("contentType", "application/merge-patch+json"), raw, ctx,
                                      subresource=req.get("subresource", ""))
        if verb == "delete":
            return 200, await r.delete(kind, ns, name, req.get("body") or {}, ctx)
        if verb == "bind":
            return 201, await r.bind(kind, ns, name, req.get("body"), ctx)
        replicas = (req.get("body") or {}).get("replicas")
        return 200, await r.update_scale(kind, ns, name, lambda _s: replicas, ctx)

