"""A log-backed stand-in for the bus API, for controller shells' unit tests: objects are read
from and written to a MemoryLog by compare-and-swap, as the API server would; each test's fake
adds the verbs its controller calls."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from bus.apiclient import ApiReplyError
from bus.log import Op
from bus.memory import MemoryLog
from core.keys import ObjectKey


def key_of(resource: str, namespace: str, name: str) -> ObjectKey:
    """The log key of `resource` ("replicasets.apps" style, as ApiClient takes it)."""
    plural, _, group = resource.partition(".")
    return ObjectKey(group, plural, namespace, name)


class LogApi:
    def __init__(self, log: MemoryLog) -> None:
        self.log = log
        self.calls: list[tuple[Any, ...]] = []

    async def _current(self, key: ObjectKey) -> dict[str, Any]:
        entry = await self.log.latest(key)
        if entry is None or entry.op is Op.DELETED:
            raise ApiReplyError(404, {"reason": "NotFound", "message": "not found"})
        obj: dict[str, Any] = orjson.loads(entry.data)
        obj["metadata"]["resourceVersion"] = str(entry.revision)
        return obj

    async def _write(self, key: ObjectKey, obj: dict[str, Any], expected: int, op: Op = Op.MODIFIED) -> dict[str, Any]:
        body = copy.deepcopy(obj)
        body["metadata"].pop("resourceVersion", None)
        entry = await self.log.append(key, op, orjson.dumps(body), expected=expected)
        body["metadata"]["resourceVersion"] = str(entry.revision)
        return body
