"""Kubernetes' protobuf wire format, decoded into the JSON-shaped dict the API server works with.

kubectl's typed-client commands (`kubectl create deployment|configmap|secret|namespace|service …|
serviceaccount|job|cronjob|ingress`, `kubectl drain`'s evictions) send
`Content-Type: application/vnd.kubernetes.protobuf`: the 4-byte magic `k8s\\x00`, then a
runtime.Unknown {typeMeta{apiVersion=1, kind=2}=1, raw=2, contentEncoding=3, contentType=4} whose
`raw` is the object's message. `decode(body)` returns that object exactly as its JSON would read
(apiVersion, kind, metadata, spec, …): unset fields omitted, maps as dicts, int-or-string as int or
str, Quantity as its string, Time as RFC 3339, bytes (Secret data) as base64, proto2 presence kept
where Go keeps it (`replicas: 0`).

- `decode(body) -> dict`
- `decode_with_unknown(body) -> (dict, [paths])`: also the paths of field numbers the table does not
  know (`spec.template.spec.#99`), to report like unknown JSON fields.
Errors: `UnsupportedMediaType` (415) for a kind or envelope this package does not decode,
`BadRequest` (400) for bytes that are not a well-formed envelope or message.

Pure: no I/O. The wire reader is `wire`, the message table `schema`, the walk `decode`.
"""

from __future__ import annotations

from typing import Any

from core.errors import BadRequest, UnsupportedMediaType
from core.protobuf.decode import Decoder
from core.protobuf.schema import ANY_VERSION, KINDS
from core.protobuf.wire import WireError, iter_fields

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

__all__ = ["PROTOBUF", "MAGIC", "decode", "decode_with_unknown", "is_protobuf", "supported_kinds"]


def is_protobuf(content_type: str) -> bool:
    """Whether a Content-Type header names Kubernetes' protobuf encoding (parameters ignored)."""
    return (content_type or "").split(";")[0].strip().lower() == PROTOBUF


def supported_kinds() -> list[tuple[str, str]]:
    """(apiVersion, kind) pairs whose protobuf bodies decode (DeleteOptions: in any apiVersion, listed as v1)."""
    return sorted({*KINDS, *(("v1", k) for k in ANY_VERSION)})


def decode(body: bytes) -> dict[str, Any]:
    """The object in a protobuf request body, as a JSON-shaped dict. Unknown field numbers are skipped."""
    return decode_with_unknown(body)[0]


def decode_with_unknown(body: bytes) -> tuple[dict[str, Any], list[str]]:
    """The object in a protobuf request body and the paths of the field numbers it skipped."""
    if not body.startswith(MAGIC):
        raise BadRequest("the protobuf body does not start with the Kubernetes magic bytes k8s\\x00")
    try:
        api_version, kind, raw, encoding, content_type = _envelope(body[len(MAGIC):])
    except WireError as e:
        raise BadRequest(f"the protobuf envelope is malformed: {e}") from None
    if encoding:
        raise UnsupportedMediaType(f"protobuf bodies with contentEncoding {encoding!r} are not supported; "
                                   "send them unencoded, or as JSON or YAML")
    if content_type and content_type.split(";")[0].strip().lower() != PROTOBUF:
        raise UnsupportedMediaType(f"protobuf envelopes carrying {content_type!r} are not supported; "
                                   "send JSON or YAML directly")
    if not kind or not api_version:
        missing = "kind" if not kind else "apiVersion"
        raise BadRequest(f"the protobuf envelope names no {missing} (typeMeta.{missing} is empty)")
    root = KINDS.get((api_version, kind)) or ANY_VERSION.get(kind)
    if root is None:
        raise UnsupportedMediaType(f"protobuf bodies for {api_version} {kind} are not supported; "
                                   "send JSON or YAML (kubectl create -f / apply -f)")
    decoder = Decoder()
    try:
        obj = decoder.message(root, raw, "")
    except WireError as e:
        raise BadRequest(f"{kind} in version \"{api_version}\" cannot be decoded from protobuf: {e}") from None
    return {"apiVersion": api_version, "kind": kind, **obj}, decoder.unknown


def _envelope(buf: bytes) -> tuple[str, str, bytes, str, str]:
    """(apiVersion, kind, raw, contentEncoding, contentType) of a runtime.Unknown; other fields are skipped."""
    fields: dict[int, bytes] = {}
    for number, _, value, at in iter_fields(buf):
        if number in (1, 2, 3, 4):
            fields[number] = _payload(value, f"envelope field {number} at byte {at}")
    type_meta: dict[int, str] = {}
    for number, _, value, at in iter_fields(fields.get(1, b"")):
        if number in (1, 2):
            type_meta[number] = _text(_payload(value, f"typeMeta field {number} at byte {at}"))
    return (type_meta.get(1, ""), type_meta.get(2, ""), fields.get(2, b""), _text(fields.get(3, b"")),
            _text(fields.get(4, b"")))


def _payload(value: int | bytes, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise WireError(f"{what} must be length-delimited")
    return value


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise WireError("a typeMeta or envelope string is not valid UTF-8") from None
