"""A minimal OpenAPI v3 (/openapi/v3 and its group-version documents), derived from the kinds registry.

Why minimal is enough: before `create`/`apply`, kubectl (v1.32, default `--validate=strict`) fetches
/openapi/v3, then the document for the object's group-version, and looks for a `patch` operation
tagged `x-kubernetes-group-version-kind` with that GVK. If that operation has a query parameter
named `fieldValidation`, kubectl sends `?fieldValidation=Strict` and leaves validation to the server
instead of validating against OpenAPI v2 itself (which we do not serve, so it would fail).

What must NOT be here: `application/strategic-merge-patch+json` in a patch operation's request
body. `kubectl apply` would then compute its strategic merge patch from these schemas, which carry
no patch merge keys; without it kubectl falls back to its compiled-in types, which do.

Documents are content-addressed: the index names each one as `…?hash=<sha512>` of its JSON, so the
same registry always yields the same URLs. Pure: registry in, dicts out (built once per registry and
cached; callers get copies).
"""

from __future__ import annotations

import copy
import hashlib
import json
from functools import lru_cache
from typing import Any

from core.kinds import Kind, Registry

OPENAPI_VERSION = "3.0.0"
GVK_EXTENSION = "x-kubernetes-group-version-kind"
# Patch bodies we advertise; strategic merge patch is left out on purpose (see module docstring).
PATCH_CONTENT_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json")
_SCALE = ("autoscaling", "v1", "Scale")


def _query(name: str, description: str, type_: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": {"type": type_, "uniqueItems": True}}


_DRY_RUN = _query("dryRun", "When present, indicates that modifications should not be persisted. "
                            "Valid value: All.")
_FIELD_MANAGER = _query("fieldManager", "fieldManager is a name associated with the actor or entity that "
                                        "is making these changes.")
_FIELD_VALIDATION = _query("fieldValidation", "fieldValidation instructs the server on how to handle objects in "
                                              "the request containing unknown or duplicate fields. Valid values "
                                              "are: Ignore, Warn (the default), Strict.")
_FORCE = _query("force", "Force is going to \"force\" Apply requests. It must be unset for non-apply patch "
                         "requests.", "boolean")
_WRITE_PARAMS = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "description": description, "required": True,
            "schema": {"type": "string", "uniqueItems": True}}


_NAMESPACE_PARAM = _path_param("namespace", "object name and auth scope, such as for teams and projects")


# --- names ---------------------------------------------------------------------------------------

def schema_name(group: str, version: str, kind: str) -> str:
    """Kubernetes' definition name: `io.k8s.api.core.v1.Pod`, `io.k8s.api.apps.v1.Deployment`."""
    return f"io.k8s.api.{group.split('.')[0] if group else 'core'}.{version}.{kind}"


def _camel_gv(group: str, version: str) -> str:
    return (group.split(".")[0].capitalize() if group else "Core") + version.capitalize()


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


def _ok(schema: str, codes: tuple[str, ...] = ("200",)) -> dict[str, Any]:
    body = {"content": {"application/json": {"schema": _ref(schema)}}}
    responses: dict[str, Any] = {code: {"description": "Created" if code == "201" else "OK", **body} for code in codes}
    responses["401"] = {"description": "Unauthorized"}
    return responses


# --- operations ----------------------------------------------------------------------------------

def _operation(verb: str, op_id: str, tag: str, gvk: tuple[str, str, str], *, action: str,
               params: list[dict[str, Any]] | None = None, body_schema: str | None = None,
               codes: tuple[str, ...] = ("200",)) -> dict[str, Any]:
    op: dict[str, Any] = {
        "tags": [tag],
        "description": f"{action} {gvk[2]}",
        "operationId": op_id,
        "responses": _ok(schema_name(*gvk), codes),
        "x-kubernetes-action": action,
        GVK_EXTENSION: _gvk(*gvk),
    }
    if params:
        op["parameters"] = params
    if verb == "patch":
        op["requestBody"] = {"content": {t: {"schema": {"type": "object"}} for t in PATCH_CONTENT_TYPES},
                             "required": True}
    elif body_schema:
        op["requestBody"] = {"content": {"*/*": {"schema": _ref(body_schema)}}, "required": True}
    return op


def _item_operations(tag: str, op_base: str, gvk: tuple[str, str, str], *, delete: bool) -> dict[str, Any]:
    """get/put/patch(/delete) on one object or one of its subresources (status, scale)."""
    schema = schema_name(*gvk)
    ops = {
        "get": _operation("get", f"read{op_base}", tag, gvk, action="get"),
        "put": _operation("put", f"replace{op_base}", tag, gvk, action="put", params=_WRITE_PARAMS,
                          body_schema=schema, codes=("200", "201")),
        "patch": _operation("patch", f"patch{op_base}", tag, gvk, action="patch",
                            params=[*_WRITE_PARAMS, _FORCE], codes=("200", "201")),
    }
    if delete:
        ops["delete"] = _operation("delete", f"delete{op_base}", tag, gvk, action="delete", params=[_DRY_RUN])
    return ops


def _kind_paths(kind: Kind) -> dict[str, dict[str, Any]]:
    prefix = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
    scope = f"{prefix}/namespaces/{{namespace}}/{kind.resource}" if kind.namespaced else f"{prefix}/{kind.resource}"
    gvk = (kind.group, kind.version, kind.kind)
    tag = f"{(kind.group.split('.')[0] if kind.group else 'core')}_{kind.version}"
    op_base = f"{_camel_gv(kind.group, kind.version)}{'Namespaced' if kind.namespaced else ''}{kind.kind}"
    scoped = [_NAMESPACE_PARAM] if kind.namespaced else []
    name_param = _path_param("name", f"name of the {kind.kind}")

    paths: dict[str, dict[str, Any]] = {
        scope: {
            "get": _operation("get", f"list{op_base}", tag, gvk, action="list"),
            "post": _operation("post", f"create{op_base}", tag, gvk, action="post", params=_WRITE_PARAMS,
                               body_schema=schema_name(*gvk), codes=("200", "201")),
            "delete": _operation("delete", f"delete{_camel_gv(kind.group, kind.version)}Collection"
                                           f"{'Namespaced' if kind.namespaced else ''}{kind.kind}",
                                 tag, gvk, action="deletecollection", params=[_DRY_RUN]),
            **({"parameters": scoped} if scoped else {}),
        },
        f"{scope}/{{name}}": {**_item_operations(tag, op_base, gvk, delete=True),
                               "parameters": [name_param, *scoped]},
    }
    for sub in kind.subresources:
        if sub == "status":
            sub_gvk = gvk
        elif sub == "scale":
            sub_gvk = _SCALE
        else:
            continue  # connect-style subresources (log, exec, …) take no object body
        paths[f"{scope}/{{name}}/{sub}"] = {
            **_item_operations(tag, f"{op_base}{sub.capitalize()}", sub_gvk, delete=False),
            "parameters": [name_param, *scoped],
        }
    return paths


def _schema(group: str, version: str, kind: str) -> dict[str, Any]:
    """A permissive schema: the server, not kubectl, validates fields."""
    open_object = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "description": f"{kind} of {group or 'core'}/{version}. Fields are validated by the server.",
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema of this "
                                                            "representation of an object."},
            "kind": {"type": "string", "description": "Kind is a string value representing the REST resource "
                                                      "this object represents."},
            "metadata": {**open_object, "description": "Standard object's metadata."},
            "spec": dict(open_object),
            "status": dict(open_object),
        },
        GVK_EXTENSION: [_gvk(group, version, kind)],
    }


# --- documents -----------------------------------------------------------------------------------

def _document(title: str, paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Kubernetes", "version": "v1.32.4-jetkube", "description": title},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _group_version_doc(kinds: tuple[Kind, ...], group: str, version: str) -> dict[str, Any] | None:
    selected = [k for k in kinds if k.group == group and k.version == version]
    if not selected:
        return None
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for kind in sorted(selected, key=lambda k: k.resource):
        paths.update(_kind_paths(kind))
        schemas[schema_name(group, version, kind.kind)] = _schema(group, version, kind.kind)
        if "scale" in kind.subresources:
            schemas[schema_name(*_SCALE)] = _schema(*_SCALE)
    gv = f"{group}/{version}" if group else version
    return _document(f"API documents for {gv}", paths, dict(sorted(schemas.items())))


def _discovery_doc(path: str, op_id: str, kind: str) -> dict[str, Any]:
    """The document of a discovery endpoint (/api/, /apis/, /apis/<group>/): one GET."""
    schema = f"io.k8s.apimachinery.pkg.apis.meta.v1.{kind}"
    get = {"description": f"get {kind}", "operationId": op_id, "responses": _ok(schema)}
    return _document(f"API document for {path}", {path: {"get": get}},
                     {schema: {"type": "object", "description": kind,
                               GVK_EXTENSION: [_gvk("", "v1", kind)]}})


@lru_cache(maxsize=8)
def _all_documents(kinds: tuple[Kind, ...]) -> dict[str, dict[str, Any]]:
    """Every document, keyed by its index path (`api/v1`, `apis/apps/v1`, `apis/apps`, `api`, `apis`)."""
    docs: dict[str, dict[str, Any]] = {
        "api": _discovery_doc("/api/", "getCoreAPIVersions", "APIVersions"),
        "apis": _discovery_doc("/apis/", "getAPIVersions", "APIGroupList"),
    }
    for group, version in dict.fromkeys((k.group, k.version) for k in kinds):
        doc = _group_version_doc(kinds, group, version)
        assert doc is not None
        if group:
            docs[f"apis/{group}/{version}"] = doc
            docs.setdefault(f"apis/{group}", _discovery_doc(
                f"/apis/{group}/", f"get{group.split('.')[0].capitalize()}APIGroup", "APIGroup"))
        else:
            docs[f"api/{version}"] = doc
    return docs


def document_hash(doc: dict[str, Any]) -> str:
    """The stable hash in a document's URL: SHA-512 of its canonical JSON, upper-case hex like Kubernetes'."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha512(canonical).hexdigest().upper()


@lru_cache(maxsize=8)
def _index(kinds: tuple[Kind, ...]) -> dict[str, Any]:
    docs = _all_documents(kinds)
    return {"paths": {path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={document_hash(doc)}"}
                      for path, doc in sorted(docs.items())}}


def openapi_index(registry: Registry) -> dict[str, Any]:
    """/openapi/v3: `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=…"}, …}}`."""
    return copy.deepcopy(_index(tuple(registry.kinds)))


def openapi_document(registry: Registry, path: str) -> dict[str, Any] | None:
    """The document at /openapi/v3/<path> (`api/v1`, `apis/apps/v1`, `apis/apps`, `api`, `apis`), or None."""
    doc = _all_documents(tuple(registry.kinds)).get(path.strip("/"))
    return copy.deepcopy(doc) if doc is not None else None


def openapi_group_version(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """The document of one group-version (`""`, `"v1"` for core), or None if the registry has none."""
    path = f"apis/{group}/{version}" if group else f"api/{version}"
    return openapi_document(registry, path)
