"""Logs through the API server and the kubelet's stream server, resolved by the kubelet."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.integration.kubelet.conftest import Node, pod, sh, until

pytestmark = pytest.mark.integration


async def _log(node: Node, name: str, **params: str) -> tuple[int, str]:
    url = f"{node.plane.apiserver.url}/api/v1/namespaces/default/pods/{name}/log"
    async with aiohttp.ClientSession() as s, s.get(url, params=params) as r:
        return r.status, await r.text()


async def test_logs_current_and_previous(node: Node) -> None:
    api = node.plane.api
    script = "n=$(cat /d/n 2>/dev/null || echo 0); echo $((n+1)) > /d/n; echo attempt-$n; sleep 0.3; exit 1"
    await api.create("pods", "default", pod("talker", [sh("c", script, volumeMounts=[{"name": "d", "mountPath": "/d"}])],
                                            volumes=[{"name": "d", "emptyDir": {}}]))

    async def restarted() -> dict[str, Any] | None:
        p = await api.get("pods", "default", "talker")
        cs = (p["status"].get("containerStatuses") or [{}])[0]
        return cs if cs.get("restartCount", 0) >= 1 and cs.get("lastState", {}).get("terminated") else None
    await until(restarted)

    async def both() -> tuple[str, str] | None:
        (p_code, previous), (c_code, current) = await _log(node, "talker", previous="true"), await _log(node, "talker")
        if c_code == p_code == 200 and current.startswith("attempt-") and previous.startswith("attempt-"):
            return current, previous
        return None
    current, previous = await until(both)
    assert int(previous.split("-")[1]) < int(current.split("-")[1])  # asked for first, so always older
    code, body = await _log(node, "talker", container="nope")
    assert code == 400 and "is not valid for pod" in body
