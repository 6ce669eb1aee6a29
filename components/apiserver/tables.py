"""meta.k8s.io Table and PartialObjectMetadata responses, and the Accept negotiation that asks for them.

`kubectl get` sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,…,application/json` and
prints the server's Table: `columnDefinitions` (priority-1 columns only with `-o wide`) and one row
per object with its cells and, by default, the object's metadata as PartialObjectMetadata. This
module builds those bodies from stored objects (which already carry `metadata.resourceVersion`);
the columns come from `printers`. Pure: dicts in, dicts out; the API server does the I/O.

Accept parsing lives here too (`parse_accept`), shared with discovery: clients list protobuf first
and we only ever answer JSON, so non-JSON ranges are skipped rather than refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from core.errors import BadRequest
from core.kinds import Kind

from .printers import printer_for

META_V1 = "meta.k8s.io/v1"
META_V1BETA1 = "meta.k8s.io/v1beta1"
INCLUDE_OBJECT_VALUES = ("None", "Metadata", "Object")


# --- Accept negotiation --------------------------------------------------------------------------

@dataclass(frozen=True)
class MediaRange:
    """One entry of an Accept header: `application/json;as=Table;g=meta.k8s.io;v=v1`."""

    type: str
    params: Mapping[str, str] = field(default_factory=dict)
    q: float = 1.0

    @property
    def is_json(self) -> bool:
        """JSON or a wildcard that JSON satisfies (we never answer anything else)."""
        return self.type in ("application/json", "application/*", "*/*")


def parse_accept(accept: str | None) -> list[MediaRange]:
    """Accept header → media ranges, most preferred first (by q, then by position); q=0 dropped."""
    ranges: list[MediaRange] = []
    for part in (accept or "").split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        params: dict[str, str] = {}
        q = 1.0
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            key, value = key.strip().lower(), value.strip().strip('"')
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            elif key:
                params[key] = value
        if q > 0:
            ranges.append(MediaRange(pieces[0].lower(), params, q))
    ranges.sort(key=lambda r: -r.q)  # stable: equal q keeps the client's order
    return ranges


# What an endpoint can answer besides a plain object: (as, group) → versions.
Servable = Mapping[tuple[str, str], tuple[str, ...]]

LIST_TRANSFORMS: Servable = {
    ("Table", "meta.k8s.io"): ("v1", "v1beta1"),
    ("PartialObjectMetadata", "meta.k8s.io"): ("v1", "v1beta1"),
    ("PartialObjectMetadataList", "meta.k8s.io"): ("v1", "v1beta1"),
}


def negotiate(accept: str | None, servable: Servable) -> tuple[str, str, str] | None:
    """The `(as, group, version)` the client prefers among `servable`, or None for a plain object.

    The first range we can answer decides: a plain JSON range (or a wildcard) means a plain object;
    a JSON range with `as=` counts only if `servable` has it. Non-JSON ranges (protobuf, even one
    asking for a Table) are skipped, because we always answer JSON and never 406.
    """
    for media in parse_accept(accept):
        if not media.is_json:
            continue
        as_kind = media.params.get("as")
        if as_kind is None:
            return None
        group, version = media.params.get("g", ""), media.params.get("v", "")
        if media.type == "application/json" and version in servable.get((as_kind, group), ()):
            return as_kind, group, version
    return None


def _meta_transform(accept: str | None, as_kind: str) -> str | None:
    chosen = negotiate(accept, LIST_TRANSFORMS)
    if chosen is None or chosen[0] != as_kind:
        return None
    return f"{chosen[1]}/{chosen[2]}"


def wants_table(accept: str | None) -> bool:
    """True when the client's preferred answer is a meta.k8s.io Table (v1 or v1beta1)."""
    return _meta_transform(accept, "Table") is not None


def table_api_version(accept: str | None) -> str:
    """`meta.k8s.io/v1` or `meta.k8s.io/v1beta1`, whichever the client asked for (v1 by default)."""
    return _meta_transform(accept, "Table") or META_V1


def wants_partial_metadata(accept: str | None, *, list_: bool = True) -> str | None:
    """The meta.k8s.io apiVersion when the client prefers PartialObjectMetadata(List), else None."""
    return _meta_transform(accept, "PartialObjectMetadataList" if list_ else "PartialObjectMetadata")


# --- bodies --------------------------------------------------------------------------------------

def partial_object_metadata(obj: Mapping[str, Any], *, api_version: str = META_V1) -> dict[str, Any]:
    """The object reduced to its metadata, as `PartialObjectMetadata`."""
    return {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": dict(obj.get("metadata") or {})}


def _list_meta(resource_version: str, continue_token: str) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        out["continue"] = continue_token
    return out


def partial_object_metadata_list(kind: Kind, objects: Iterable[Mapping[str, Any]], resource_version: str,
                                 continue_token: str = "", *, api_version: str = META_V1) -> dict[str, Any]:
    """A `PartialObjectMetadataList` for `as=PartialObjectMetadataList` (the garbage collector's and
    `kubectl get -o name`'s cheap list). `kind` is the listed kind; the body does not depend on it."""
    del kind  # every kind reduces to the same shape
    return {
        "kind": "PartialObjectMetadataList",
        "apiVersion": api_version,
        "metadata": _list_meta(resource_version, continue_token),
        "items": [partial_object_metadata(o, api_version=api_version) for o in objects],
    }


def _row_object(kind: Kind, obj: Mapping[str, Any], include_object: str, api_version: str) -> dict[str, Any] | None:
    if include_object == "Object":
        return {"kind": kind.kind, "apiVersion": kind.api_version, **obj}
    if include_object == "None":
        return None
    return partial_object_metadata(obj, api_version=api_version)


def table(kind: Kind, objects: Iterable[Mapping[str, Any]], *, resource_version: str, continue_token: str = "",
          include_object: str = "Metadata", column_definitions: bool = True, now: datetime | None = None,
          api_version: str = META_V1) -> dict[str, Any]:
    """A meta.k8s.io Table of `objects` with the columns of `kind`.

    `include_object` is the `includeObject` query parameter: `Metadata` (default, rows carry
    PartialObjectMetadata), `Object` (the full object, with kind/apiVersion) or `None` (no object).
    `api_version` is the Table's (from `table_api_version(accept)`); row metadata objects share it. `column_definitions`
    False gives `columnDefinitions: []`: in a watch only the first event's Table carries them.
    `now` is the instant ages are measured from (the current time by default). Cells always include
    the wide (priority 1) columns; kubectl hides them without `-o wide`.

    Raises `BadRequest` for an unknown `include_object`.
    """
    include_object = include_object or "Metadata"
    if include_object not in INCLUDE_OBJECT_VALUES:
        raise BadRequest(f'includeObject: Unsupported value: "{include_object}": supported values: '
                         + ", ".join(f'"{v}"' for v in INCLUDE_OBJECT_VALUES))
    at = now or datetime.now(timezone.utc)
    printer = printer_for(kind.group, kind.resource)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        row: dict[str, Any] = {"cells": printer.cells(obj, at)}
        if printer.conditions is not None:
            conditions = printer.conditions(obj)
            if conditions:
                row["conditions"] = conditions
        row_object = _row_object(kind, obj, include_object, api_version)
        if row_object is not None:
            row["object"] = row_object
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": _list_meta(resource_version, continue_token),
        "columnDefinitions": printer.column_definitions() if column_definitions else [],
        "rows": rows,
    }
