"""RFC 6902 JSON patch (`application/json-patch+json`), applied with the `jsonpatch` library.

`kubectl rollout undo` sends these (replacing `/spec/template` and `/metadata/annotations`), as
does `kubectl patch --type=json`. Errors are answered as the Kubernetes API server does: a body
that is not a list of operation objects is a 400; an operation that cannot be applied (a failed
`test`, a missing path, an unknown `op`) is a 422 Invalid whose message starts with Kubernetes'
"the server rejected our request due to an error in our request" and then says what failed;
more than 10000 operations is a 413.
"""

from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer

from core.errors import BadRequest, Invalid, RequestEntityTooLarge

MAX_OPERATIONS = 10000  # apiserver's maxJSONPatchOperations
REJECTED = "the server rejected our request due to an error in our request"


def apply_json_patch(original: dict[str, Any], operations: Any) -> dict[str, Any]:
    """Apply the operations to a copy of `original` and return the patched object."""
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise BadRequest("a JSON patch must be a JSON array of operation objects, "
                         'e.g. [{"op":"replace","path":"/spec/replicas","value":3}]')
    if len(operations) > MAX_OPERATIONS:
        raise RequestEntityTooLarge(f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, "
                                    f"got {len(operations)}")
    try:
        result = jsonpatch.apply_patch(original, operations)  # works on a deep copy
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as e:
        raise Invalid(f"{REJECTED}: {e}") from e
    if not isinstance(result, dict):
        raise Invalid(f"{REJECTED}: the patched document must be a JSON object")
    return result
