"""The Kubernetes REST API over HTTP: what kubectl and the Python client talk to.

One catch-all route parses Kubernetes paths (`/api/v1/namespaces/x/pods/y/status`,
`/apis/apps/v1/deployments`, discovery, OpenAPI, health) and hands the verb to `Resources`.
Responses are always JSON (protobuf is never answered, so nobody gets a 406); Tables when the
client asks for them; watches as chunked JSON lines. Every failure becomes a `Status` object with
Kubernetes' code and reason — a bug becomes a 500 Status and a log line, never a traceback.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from aiohttp import web

from bus.log import LogError, Unavailable
from components.apiserver import discovery, openapi, tables
from components.apiserver.admission import MAX_BODY, parse_body
from components.apiserver.resources import Resources, WriteContext
from components.apiserver.streaming import PodStreams
from components.apiserver.watch import WatchRequest, open_watch
from core import errors
from core.kinds import Kind, Registry
from core.patches import apply_patch

log = structlog.get_logger("apiserver.http")

JSON = "application/json"


@dataclass
class Target:
    kind: Kind
    namespace: str | None  # None: all namespaces (or a cluster-scoped kind)
    name: str = ""
    subresource: str = ""


def _json(body: Any, status: int = 200, *, content_type: str = JSON, headers: dict[str, str] | None = None) -> web.Response:
    h = dict(headers or {})
    h["Content-Type"] = content_type
    return web.Response(body=orjson.dumps(body), status=status, headers=h)


# Kinds whose DELETE answers the deleted object itself; for every other kind an object removed at
# once is answered with a Success Status naming it (kubectl takes the uid from either), as
# Kubernetes' registries do. An object only marked for deletion is always answered as itself.
RETURN_DELETED_OBJECT = frozenset({"Pod", "Service", "Namespace", "PersistentVolume", "PersistentVolumeClaim"})


def deleted_status(kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata") or {}
    details: dict[str, Any] = {"name": md.get("name", ""), "kind": kind.resource, "uid": md.get("uid", "")}
    if kind.group:
        details["group"] = kind.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def status_response(err: errors.ApiError) -> web.Response:
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else None
    return _json(err.to_status(), err.code, headers=headers)


class HttpApi:
    def __init__(self, resources: Resources, registry: Registry, *, ready: asyncio.Event,
                 streams: PodStreams | None = None, read_only: str | None = None) -> None:
        self.resources = resources
        self.streams = streams  # pods/log, exec, attach (and portforward's refusal), over the bus
        self.registry = registry
        self.ready = ready
        self.read_only = read_only  # set: every write answers 405 with this message (a point in time)
        middlewares = [self._refuse_writes] if read_only else []
        self.app = web.Application(client_max_size=MAX_BODY + 1024 * 1024, middlewares=middlewares)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    @web.middleware
    async def _refuse_writes(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return await handler(request)  # type: ignore[no-any-return]
        return status_response(errors.MethodNotAllowed(self.read_only or "this API server is read-only"))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except errors.ApiError as e:
            return status_response(e)
        except Unavailable as e:
            return status_response(errors.ServiceUnavailable(f"the log is unavailable: {e}", retry_after=1))
        except LogError as e:
            log.exception("log error", path=request.path)
            return status_response(errors.InternalError(f"Internal error occurred: {e}"))
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as e:  # a bug: answer a Status, keep serving, and say so loudly in the log
            log.exception("unhandled error", method=request.method, path=request.path)
            return status_response(errors.InternalError(f"Internal error occurred: {type(e).__name__}: {e}"))

    # -- routing --------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        accept = request.headers.get("Accept", "")
        if path == "/version":
            return _json(discovery.version_info())
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            if path.startswith("/readyz") and not self.ready.is_set():
                return web.Response(text="[-]watch-cache not synced\nreadyz check failed", status=500)
            return web.Response(text="ok")
        if parts and parts[0] == "openapi":
            return self._openapi(parts)
        if path == "/":
            return _json({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v3", "/readyz",
                                    "/version"]})
        if parts[0] == "api":
            if len(parts) == 1:
                if discovery.wants_aggregated(accept):
                    return _json(discovery.aggregated_core(self.registry, version=discovery.aggregated_version(accept) or "v2"),
                                 content_type=discovery.aggregated_content_type(accept))
                return _json(discovery.api_versions())
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis":
            if len(parts) == 1:
                if discovery.wants_aggregated(accept):
                    return _json(discovery.aggregated_groups(self.registry,
                                                             version=discovery.aggregated_version(accept) or "v2"),
                                 content_type=discovery.aggregated_content_type(accept))
                return _json(discovery.api_group_list(self.registry))
            if len(parts) == 2:
                doc = discovery.api_group(self.registry, parts[1])
                if doc is None:
                    raise errors.NotFound(f"the server could not find the requested resource (group {parts[1]})")
                return _json(doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise errors.NotFound("the server could not find the requested resource")
        if not rest:
            doc = discovery.api_resource_list(self.registry, group, version)
            if doc is None:
                raise errors.NotFound(f"the server could not find the requested resource ({group or 'core'}/{version})")
            return _json(doc)
        target = self._target(group, version, rest)
        return await self._resource(request, target)

    def _openapi(self, parts: list[str]) -> web.Response:
        if parts[1:2] == ["v3"]:
            if len(parts) == 2:
                return _json(openapi.openapi_index(self.registry))
            doc = openapi.openapi_document(self.registry, "/".join(parts[2:]))
            if doc is not None:
                return _json(doc)
        raise errors.NotFound("the server could not find the requested resource")

    def _kind(self, group: str, version: str, resource: str) -> Kind:
        kind = self.registry.by_resource(group, version, resource)
        if kind is None:
            gv = f"{group}/{version}" if group else version
            raise errors.NotFound(f'the server could not find the requested resource: no resource "{resource}" '
                                  f'in {gv}')
        return kind

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        if rest[0] == "namespaces" and len(rest) >= 3:
            inner = self.registry.by_resource(group, version, rest[2])
            if inner is not None and inner.namespaced:
                if len(rest) > 5:
                    raise errors.NotFound("the server could not find the requested resource")
                return Target(inner, rest[1], rest[3] if len(rest) > 3 else "", rest[4] if len(rest) > 4 else "")
            if group == "" and rest[2] in ("status", "finalize") and len(rest) == 3:
                return Target(self._kind(group, version, "namespaces"), None, rest[1], rest[2])
            self._kind(group, version, rest[2])  # raises NotFound for an unknown resource
            raise errors.NotFound(f"the server could not find the requested resource ({rest[2]} is cluster-scoped)")
        kind = self._kind(group, version, rest[0])
        if len(rest) > 3:
            raise errors.NotFound("the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if kind.namespaced and name:
            raise errors.NotFound(f"the server could not find the requested resource: {kind.resource} are namespaced; "
                                  f"use /namespaces/<namespace>/{kind.resource}/{name}")
        return Target(kind, None if kind.namespaced else "", name, sub)

    # -- verbs ----------------------------------------------------------------------------
    async def _resource(self, request: web.Request, t: Target) -> web.StreamResponse:
        if not self.ready.is_set():
            raise errors.ServiceUnavailable("the API server is starting; try again", retry_after=1)
        if t.subresource and t.subresource not in t.kind.subresources:
            raise errors.NotFound(f"the server could not find the requested resource: {t.kind.resource}/"
                                  f"{t.subresource}")
        q = request.query
        method = request.method
        ctx = WriteContext(actor=request.headers.get("User-Agent", "").split(" ")[0] or "anonymous",
                           request_id=request.headers.get("X-Request-Id", "") or uuid.uuid4().hex[:16],
                           field_validation=q.get("fieldValidation", ""), dry_run=q.get("dryRun") == "All")
        ns = t.namespace or ""
        if not t.name:
            if method == "GET":
                if q.get("watch") in ("true", "1"):
                    return await self._watch(request, t)
                return await self._list(request, t)
            if method == "POST":
                if t.namespace is None and t.kind.namespaced:
                    raise errors.MethodNotAllowed(f"create {t.kind.resource} needs a namespace in the URL")
                body = parse_body(await self._body(request), request.headers.get("Content-Type", ""), ctx.warnings)
                obj = await self.resources.create(t.kind, ns, body, ctx)
                return self._object(request, t, obj, 201, ctx)
            if method == "DELETE":
                options = await self._delete_options(request)
                result = await self.resources.delete_collection(
                    t.kind, t.namespace, options, ctx, label_selector=q.get("labelSelector", ""),
                    field_selector=q.get("fieldSelector", ""))
                return _json(self._list_body(t.kind, result.items, result.resource_version, ""))
            raise errors.MethodNotAllowed(f"{method} is not supported on a collection of {t.kind.resource}")
        if t.subresource in ("log", "exec", "attach", "portforward") and self.streams is not None:
            return await self.streams.handle(request, t.kind, ns, t.name, t.subresource)
        if t.subresource in ("log", "exec", "attach", "portforward", "eviction"):
            return await self._node_subresource(t)
        if t.subresource == "scale":
            return await self._scale(request, t, ctx)
        if t.subresource == "binding":
            if method != "POST":
                raise errors.MethodNotAllowed("pods/binding accepts POST only")
            body = parse_body(await self._body(request), request.headers.get("Content-Type", ""), ctx.warnings)
            return _json(await self.resources.bind(t.kind, ns, t.name, body, ctx), 201)
        if method == "GET":
            if q.get("watch") in ("true", "1"):
                raise errors.BadRequest("watch a single object with fieldSelector=metadata.name=<name> on the collection")
            return self._object(request, t, await self.resources.get(t.kind, ns, t.name), 200, ctx)
        if method == "PUT":
            body = parse_body(await self._body(request), request.headers.get("Content-Type", ""), ctx.warnings)
            obj = await self.resources.update(t.kind, ns, t.name, body, ctx, subresource=t.subresource)
            return self._object(request, t, obj, 200, ctx)
        if method == "PATCH":
            body = await self._body(request)
            if not body.strip():
                raise errors.BadRequest("the patch body is empty")
            obj = await self.resources.patch(t.kind, ns, t.name, request.headers.get("Content-Type", ""), body, ctx,
                                             subresource=t.subresource)
            return self._object(request, t, obj, 200, ctx)
        if method == "DELETE":
            options = await self._delete_options(request)
            obj = await self.resources.delete(t.kind, ns, t.name, options, ctx)
            if ctx.deleted and t.kind.kind not in RETURN_DELETED_OBJECT:
                return _json(deleted_status(t.kind, obj))
            return self._object(request, t, obj, 200, ctx)
        raise errors.MethodNotAllowed(f"{method} is not supported on {t.kind.resource}")

    async def _body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise errors.RequestEntityTooLarge("the request body is too large: limit is 3145728 bytes")
        chunks, size = [], 0
        while True:
            chunk = await request.content.read(1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_BODY:
                raise errors.RequestEntityTooLarge("the request body is too large: limit is 3145728 bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        raw = await self._body(request)
        options: dict[str, Any] = {}
        if raw.strip():
            body = parse_body(raw, request.headers.get("Content-Type", ""))
            if not isinstance(body, dict):
                raise errors.BadRequest("DeleteOptions must be an object")
            options = body
        q = request.query
        if "gracePeriodSeconds" in q:
            try:
                options["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
            except ValueError:
                raise errors.BadRequest("gracePeriodSeconds must be an integer") from None
        if "propagationPolicy" in q:
            options["propagationPolicy"] = q["propagationPolicy"]
        policy = options.get("propagationPolicy")
        if policy not in (None, "Background", "Foreground", "Orphan"):
            raise errors.BadRequest(f'propagationPolicy must be "Background", "Foreground" or "Orphan", not {policy!r}')
        return options

    def _object(self, request: web.Request, t: Target, obj: dict[str, Any], code: int,
                ctx: WriteContext) -> web.Response:
        headers = {"Warning": ", ".join(f'299 - "{w}"' for w in ctx.warnings.messages)} if ctx.warnings.messages else None
        accept = request.headers.get("Accept", "")
        if tables.wants_table(accept) and obj.get("kind") == t.kind.kind:
            body = tables.table(t.kind, [obj], resource_version=obj["metadata"].get("resourceVersion", ""),
                                include_object=request.query.get("includeObject", "Metadata"),
                                api_version=tables.table_api_version(accept))
            return _json(body, code, headers=headers)
        obj.setdefault("kind", t.kind.kind)
        obj.setdefault("apiVersion", t.kind.api_version)
        return _json(obj, code, headers=headers)

    def _list_body(self, kind: Kind, items: list[dict[str, Any]], rv: int, token: str,
                   remaining: int | None = None) -> dict[str, Any]:
        md: dict[str, Any] = {"resourceVersion": str(rv)}
        if token:
            md["continue"] = token
        if remaining is not None:
            md["remainingItemCount"] = remaining
        for item in items:
            item.setdefault("kind", kind.kind)
            item.setdefault("apiVersion", kind.api_version)
        return {"kind": kind.list_kind_name, "apiVersion": kind.api_version, "metadata": md, "items": items}

    async def _list(self, request: web.Request, t: Target) -> web.Response:
        q = request.query
        try:
            limit = int(q.get("limit", "0") or 0)
        except ValueError:
            raise errors.BadRequest(f"limit must be an integer, not {q.get('limit')!r}") from None
        result = await self.resources.list(
            t.kind, t.namespace, label_selector=q.get("labelSelector", ""), field_selector=q.get("fieldSelector", ""),
            limit=max(limit, 0), continue_token=q.get("continue", ""), resource_version=q.get("resourceVersion", ""))
        accept = request.headers.get("Accept", "")
        if tables.wants_table(accept):
            body = tables.table(t.kind, result.items, resource_version=str(result.resource_version),
                                continue_token=result.continue_token,
                                include_object=q.get("includeObject", "Metadata"),
                                api_version=tables.table_api_version(accept))
            if result.remaining is not None:
                body.setdefault("metadata", {})["remainingItemCount"] = result.remaining
            return _json(body)
        return _json(self._list_body(t.kind, result.items, result.resource_version, result.continue_token,
                                     result.remaining))

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        timeout = None
        if q.get("timeoutSeconds"):
            try:
                timeout = float(q["timeoutSeconds"])
            except ValueError:
                raise errors.BadRequest("timeoutSeconds must be a number") from None
        sie = q.get("sendInitialEvents")
        req = WatchRequest(kind=t.kind, namespace=t.namespace, label_selector=q.get("labelSelector", ""),
                           field_selector=q.get("fieldSelector", ""), resource_version=q.get("resourceVersion", ""),
                           send_initial_events=None if sie is None else sie == "true",
                           allow_bookmarks=q.get("allowWatchBookmarks") in ("true", "1"), timeout=timeout)
        accept = request.headers.get("Accept", "")
        as_table = tables.wants_table(accept)
        stream = await open_watch(self.resources, req)  # a bad request is still a plain Status reply
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        sent_columns = False
        try:
            async for etype, obj in stream:
                if as_table and etype in ("ADDED", "MODIFIED", "DELETED"):
                    obj = tables.table(t.kind, [obj], resource_version=obj["metadata"].get("resourceVersion", ""),
                                       include_object=q.get("includeObject", "Metadata"),
                                       column_definitions=not sent_columns,
                                       api_version=tables.table_api_version(accept))
                    sent_columns = True
                elif etype in ("ADDED", "MODIFIED", "DELETED"):
                    obj.setdefault("kind", t.kind.kind)
                    obj.setdefault("apiVersion", t.kind.api_version)
                await response.write(orjson.dumps({"type": etype, "object": obj}) + b"\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        try:
            await response.write_eof()
        except ConnectionResetError:
            pass
        return response

    async def _scale(self, request: web.Request, t: Target, ctx: WriteContext) -> web.Response:
        ns = t.namespace or ""
        if request.method == "GET":
            return _json(await self.resources.get_scale(t.kind, ns, t.name))
        raw = await self._body(request)
        if request.method == "PUT":
            body = parse_body(raw, request.headers.get("Content-Type", ""))
            if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
                raise errors.BadRequest("a Scale needs spec.replicas")
            want_rv = str((body.get("metadata") or {}).get("resourceVersion") or "")
            replicas = body["spec"].get("replicas", 0)
            return _json(await self.resources.update_scale(t.kind, ns, t.name, lambda _s: replicas, ctx,
                                                           want_rv=want_rv))
        if request.method == "PATCH":
            ct = request.headers.get("Content-Type", "")

            def patched(scale: dict[str, Any]) -> Any:
                return (apply_patch(ct, scale, raw, kind="Scale", strategic=True).get("spec") or {}).get("replicas")

            return _json(await self.resources.update_scale(t.kind, ns, t.name, patched, ctx))
        raise errors.MethodNotAllowed(f"{request.method} is not supported on {t.kind.resource}/scale")

    async def _node_subresource(self, t: Target) -> web.Response:
        pod = await self.resources.get(t.kind, t.namespace or "", t.name)
        if self.read_only:
            raise errors.BadRequest(f"pods/{t.subresource} is not kept in the log: {self.read_only}")
        if not (pod.get("spec") or {}).get("nodeName"):
            raise errors.BadRequest(f"pod {t.name} does not have a host assigned")
        raise errors.ServiceUnavailable(f"pods/{t.subresource} needs the node agent of "
                                        f"{pod['spec']['nodeName']}, which is not reachable")
