"""The client side of the API server's bus API (`<prefix>.api.<verb>` request/reply).

Components call the API server through this, never by importing it: a write from a scheduler
or a kubelet goes through the same admission path as one from kubectl.
"""

from __future__ import annotations

from typing import Any

import orjson
from nats.aio.client import Client


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
