"""PATCH bodies applied to stored objects: one entry point over the three patch formats.

The API server's PATCH handler calls `apply_patch` with the request's Content-Type, the current
object and the raw body; it gets back a new object to validate and store. Server-side apply
(`application/apply-patch+yaml`) is not handled here. Pure: nothing is mutated, nothing read.
"""

from __future__ import annotations

import json
from typing import Any

from core.errors import BadRequest, UnsupportedMediaType
from core.patches.jsonpatch_ops import apply_json_patch
from core.patches.merge import merge_patch
from core.patches.strategic import strategic_merge

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

__all__ = [
    "APPLY_PATCH", "JSON_PATCH", "MERGE_PATCH", "STRATEGIC_MERGE_PATCH",
    "apply_json_patch", "apply_patch", "decode_patch", "merge_patch", "strategic_merge", "supported_patch_types",
]


def supported_patch_types(strategic: bool = True) -> list[str]:
    """The media types a PATCH may use, in the order Kubernetes lists them in its 415 message.

    Built-in kinds take all four; custom resources (`strategic=False`) no strategic merge."""
    if strategic:
        return [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH]
    return [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]


def decode_patch(patch: bytes | str | dict[str, Any] | list[Any]) -> Any:
    """The JSON value of a PATCH body; already-decoded dicts and lists pass through."""
    if isinstance(patch, (dict, list)):
        return patch
    if isinstance(patch, bytes):
        try:
            patch = patch.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadRequest(f"the patch body is not valid UTF-8: {e}") from e
    if not isinstance(patch, str):
        raise BadRequest(f"the patch body must be JSON, got {type(patch).__name__}")
    if not patch.strip():
        raise BadRequest("the patch body is empty; send a JSON document")
    try:
        return json.loads(patch, parse_constant=_reject_constant)
    except ValueError as e:
        raise BadRequest(f"the patch body is not valid JSON: {e}") from e


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def apply_patch(content_type: str, original: dict[str, Any], patch: bytes | str | dict[str, Any] | list[Any],
                *, kind: str, strategic: bool = True) -> dict[str, Any]:
    """Apply a PATCH body of `content_type` to `original` (an object of Kind `kind`); return a new dict.

    Errors, as Kubernetes answers them:
    - a media type outside `supported_patch_types(strategic)` (strategic merge on a kind that
      has no strategic schema, `strategic=False`, included): 415 UnsupportedMediaType,
      "the body of the request was in an unknown format - accepted media types include: …";
    - a body that is not JSON, or not the shape its format needs (an object for the merge
      patches, an array of operation objects for JSON patch), or a malformed directive:
      400 BadRequest;
    - a JSON patch operation that cannot be applied (failed `test`, missing path): 422 Invalid,
      "the server rejected our request due to an error in our request: …";
    - more than 10000 JSON patch operations: 413.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    accepted = supported_patch_types(strategic)
    if media not in accepted:
        raise UnsupportedMediaType("the body of the request was in an unknown format - "
                                   "accepted media types include: " + ", ".join(accepted))
    if media == APPLY_PATCH:
        raise UnsupportedMediaType(f"{APPLY_PATCH} is server-side apply, which apply_patch does not handle")
    body = decode_patch(patch)
    if media == JSON_PATCH:
        return apply_json_patch(original, body)
    if not isinstance(body, dict):
        raise BadRequest(f"a {media} body must be a JSON object, got {json.dumps(body)[:100]}")
    if media == MERGE_PATCH:
        result: dict[str, Any] = merge_patch(original, body)
        return result
    return strategic_merge(original, body, kind=kind)
