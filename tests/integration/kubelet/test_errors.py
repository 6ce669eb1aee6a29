"""Bad input on a docker kubelet: Kubernetes' reasons and clear messages, other pods untouched."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from typing import Any

import pytest

from tests.integration.kubelet.conftest import Node, pod, sh, until

pytestmark = pytest.mark.integration


async def _status(node: Node, name: str) -> dict[str, Any]:
    return (await node.plane.api.get("pods", "default", name))["status"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_missing_image_is_err_image_pull_then_backoff(node: Node) -> None:
    c = {"name": "c", "image": "jetkube-test/absent:1.0"}
    await node.plane.api.create("pods", "default", pod("noimg", [c]))
    reasons: dict[str, str] = {}

    async def both() -> bool:
        cs = ((await _status(node, "noimg")).get("containerStatuses") or [{}])[0]
        w = cs.get("state", {}).get("waiting", {})
        if w.get("reason"):
            reasons[w["reason"]] = w.get("message", "")
        return {"ErrImagePull", "ImagePullBackOff"} <= set(reasons)
    await until(both, every=0.05)
    assert reasons["ErrImagePull"].startswith('Failed to pull image "jetkube-test/absent:1.0": not present locally')
    assert "docker build" in reasons["ErrImagePull"]
    assert reasons["ImagePullBackOff"].startswith('Back-off pulling image "jetkube-test/absent:1.0"')
    assert (await _status(node, "noimg"))["phase"] == "Pending"


async def test_missing_recipe_image_names_the_build_command(node: Node) -> None:
    c = {"name": "c", "image": "nginx:0.0.1-absent"}
    await node.plane.api.create("pods", "default", pod("nonginx", [c]))

    async def waiting() -> str | None:
        cs = ((await _status(node, "nonginx")).get("containerStatuses") or [{}])[0]
        return cs.get("state", {}).get("waiting", {}).get("message")
    assert "`jetkube image build nginx`" in await until(waiting)


async def test_latest_image_without_registry_runs_with_a_warning(node: Node) -> None:
    c = {"name": "c", "image": "busybox", "command": ["sleep", "3600"]}  # :latest → pull policy Always
    await node.plane.api.create("pods", "default", pod("latest", [c]))

    async def running() -> bool:
        return (await _status(node, "latest")).get("phase") == "Running"
    await until(running)

    async def warned() -> list[dict[str, Any]]:
        items = (await node.plane.api.list("events", "default"))["items"]
        return [e for e in items if e["involvedObject"]["name"] == "latest" and e["reason"] == "Pulled"]
    (ev,) = await until(warned)
    assert ev["type"] == "Warning"
    assert ev["message"] == ('Container image "busybox" already present on machine and can not be pulled '
                             "(no registry configured)")


async def test_missing_command_is_run_container_error(node: Node) -> None:
    await node.plane.api.create("pods", "default", pod("nocmd", [{"name": "c", "image": "busybox:latest",
                                                                  "command": ["nosuch"]}]))

    async def failing() -> dict[str, Any] | None:
        cs = ((await _status(node, "nocmd")).get("containerStatuses") or [{}])[0]
        return cs if cs.get("state", {}).get("waiting", {}).get("reason") == "RunContainerError" else None
    cs = await until(failing, every=0.05)
    assert 'exec: "nosuch": executable file not found in $PATH' in cs["state"]["waiting"]["message"]
    last = cs["lastState"]["terminated"]
    assert last["reason"] == "StartError" and last["exitCode"] == 128

    # With restartPolicy Never the pod fails for good.
    await node.plane.api.create("pods", "default", pod("nocmd-once", [{"name": "c", "image": "busybox:latest",
                                                                       "command": ["nosuch"]}], restartPolicy="Never"))

    async def failed() -> dict[str, Any] | None:
        st = await _status(node, "nocmd-once")
        return st if st.get("phase") == "Failed" else None
    st = await until(failed)
    assert st["containerStatuses"][0]["state"]["terminated"]["reason"] == "StartError"


async def test_host_port_clash_rejects_the_second_pod(node: Node) -> None:
    port = _free_port()
    web = sh("web", "mkdir -p /www && echo served > /www/index.html && httpd -f -p 8080 -h /www",
             ports=[{"containerPort": 8080, "hostPort": port}])
    await node.plane.api.create("pods", "default", pod("first", [web]))

    async def running(name: str) -> bool:
        return (await _status(node, name)).get("phase") == "Running"
    await until(lambda: running("first"))

    def fetch() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:  # the published host port
            return r.read().decode()

    async def served() -> str | None:
        try:
            return await asyncio.to_thread(fetch)
        except OSError:
            return None
    assert (await until(served)).strip() == "served"

    await node.plane.api.create("pods", "default", pod("second", [dict(web)]))

    async def rejected() -> dict[str, Any] | None:
        st = await _status(node, "second")
        return st if st.get("phase") == "Failed" else None
    st = await until(rejected)
    assert st["reason"] == "NodePorts"
    assert st["message"].startswith("Pod was rejected: Predicate NodePorts failed")
    assert f":{port}/TCP is held by pod default/first" in st["message"]
    await asyncio.sleep(0.5)
    assert (await _status(node, "first"))["phase"] == "Running"
