"""`jetkube at`: the cluster as it was, served read-only, looked at through the real kubectl.

A Deployment is created, scaled to 5 and deleted through the API server (no controllers run, so
nothing else writes); the point in time before the delete shows it with 5 replicas, writes answer
405 naming the revision, and revisions that cannot be served are refused with one line — in
process and through the `jetkube at` command run as a process and stopped with SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from core.keys import ObjectKey
from core.kinds import Stream
from ops import kubeconfig
from replay.pointintime import PointInTimeError, PointInTimeServer, build, revision_for
from replay.snapshots import SnapshotStore
from tests.integration.conftest import Plane

pytestmark = pytest.mark.integration

KUBECTL = "/usr/bin/kubectl"
REPO = Path(__file__).resolve().parents[3]


@dataclass
class Result:
    rc: int
    out: str
    err: str


@dataclass
class History:
    created: int  # revisions in the objects stream
    scaled: int
    deleted: int
    scaled_at: float  # when the scale was written


def deployment(name: str) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}


async def kubectl(config: Path, *args: str, stdin: str | None = None) -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env["KUBECACHEDIR"] = str(config.parent / "kubectl-cache")
    proc = await asyncio.create_subprocess_exec(
        KUBECTL, "--kubeconfig", str(config), "--request-timeout=20s", *args, env=env,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin is not None else None), 60)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


async def make_history(plane: Plane, name: str = "web", *, pause: float = 0.0) -> History:
    created = await plane.api.create("deployments.apps", "default", deployment(name))
    await asyncio.sleep(pause)
    scaled = await plane.api.patch("deployments.apps", "default", name, {"spec": {"replicas": 5}})
    await asyncio.sleep(pause)
    await plane.api.delete("deployments.apps", "default", name)
    objects = plane.bus.logs[Stream.OBJECTS]
    tomb = await objects.latest(ObjectKey("apps", "deployments", "default", name))
    assert tomb is not None and tomb.op.value == "DELETED"
    entry = await objects.entry(int(scaled["metadata"]["resourceVersion"]))
    assert entry is not None
    return History(int(created["metadata"]["resourceVersion"]), int(scaled["metadata"]["resourceVersion"]),
                   tomb.revision, entry.timestamp)


async def test_the_revision_before_the_delete_shows_five_replicas_through_kubectl(plane: Plane,
                                                                                tmp_path: Path) -> None:
    h = await make_history(plane)
    objects = plane.bus.logs[Stream.OBJECTS]
    last = await objects.last_revision()
    view = await build(plane.bus.logs, h.deleted - 1, snapshots=SnapshotStore(plane.bus))
    assert view.revision == h.deleted - 1 and view.counts().get("Deployment") == 1
    async with PointInTimeServer(view) as server:
        config = kubeconfig.write(tmp_path / "at.kubeconfig", server.url)
        got = await kubectl(config, "get", "deployment", "web", "-o", "json")
        assert got.rc == 0, got.err
        obj = orjson.loads(got.out)
        assert obj["spec"]["replicas"] == 5
        assert obj["metadata"]["resourceVersion"] == str(h.scaled)
        listed = await kubectl(config, "get", "deployments")
        assert listed.rc == 0 and "web" in listed.out, listed
        described = await kubectl(config, "describe", "deployment", "web")
        assert described.rc == 0 and "Replicas:" in described.out and "5 desired" in described.out, described
        yaml_out = await kubectl(config, "get", "deployment", "web", "-o", "yaml")
        assert yaml_out.rc == 0 and "replicas: 5" in yaml_out.out

        for args, stdin in ((("scale", "deployment", "web", "--replicas=2"), None),
                            (("delete", "deployment", "web"), None),
                            (("apply", "-f", "-"), orjson.dumps(deployment("other")).decode()),
                            (("apply", "-f", "-"), orjson.dumps(deployment("web")).decode())):
            refused = await kubectl(config, *args, stdin=stdin)
            assert refused.rc != 0, (args, refused)
            assert "read-only" in refused.err and f"revision {view.revision}" in refused.err, (args, refused)
    assert await objects.last_revision() == last  # looking at the past wrote nothing

    after = await build(plane.bus.logs, h.deleted)
    async with PointInTimeServer(after) as server:
        config = kubeconfig.write(tmp_path / "after.kubeconfig", server.url)
        listed = await kubectl(config, "get", "deployments")
        assert listed.rc == 0 and "web" not in listed.out
        assert "No resources found" in listed.err
        gone = await kubectl(config, "get", "deployment", "web")
        assert gone.rc != 0 and "NotFound" in gone.err or "not found" in gone.err

    before = await build(plane.bus.logs, h.created)
    async with PointInTimeServer(before) as server:
        config = kubeconfig.write(tmp_path / "before.kubeconfig", server.url)
        got = await kubectl(config, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}")
        assert got.rc == 0 and got.out == "1"


async def test_a_snapshot_plus_the_log_after_it_is_the_same_state_as_the_whole_log(plane: Plane) -> None:
    await plane.api.create("configmaps", "default", {"apiVersion": "v1", "kind": "ConfigMap",
                                                     "metadata": {"name": "before"}})
    store = SnapshotStore(plane.bus)
    snap = await store.create()
    h = await make_history(plane)
    fast = await build(plane.bus.logs, h.scaled, snapshots=store)
    slow = await build(plane.bus.logs, h.scaled)
    assert fast.snapshot == snap.revision and slow.snapshot is None
    assert fast.streams[Stream.OBJECTS].digest() == slow.streams[Stream.OBJECTS].digest()
    assert fast.counts() == slow.counts() and fast.counts()["Deployment"] == 1 and fast.counts()["ConfigMap"] == 1
    assert fast.time == slow.time == h.scaled_at


async def test_a_time_becomes_the_last_revision_written_by_then(plane: Plane) -> None:
    h = await make_history(plane, pause=0.3)
    objects = plane.bus.logs[Stream.OBJECTS]
    assert await revision_for(objects, h.scaled_at + 0.1) == h.scaled  # after the scale, before the delete
    assert await revision_for(objects, h.scaled_at - 0.1) == h.created
    with pytest.raises(PointInTimeError, match="is in the future"):
        await revision_for(objects, h.scaled_at + 3600)


async def test_revisions_that_cannot_be_served_are_refused(plane: Plane) -> None:
    h = await make_history(plane)
    objects = plane.bus.logs[Stream.OBJECTS]
    last = await objects.last_revision()
    with pytest.raises(PointInTimeError, match=f"^revision {last + 1} is in the future: the cluster's last "
                                               f"revision is {last}$"):
        await build(plane.bus.logs, last + 1)
    with pytest.raises(PointInTimeError, match="^revision 0 does not exist: revisions start at 1$"):
        await build(plane.bus.logs, 0)

    store = SnapshotStore(plane.bus)
    snap = await store.create()
    assert snap.revision == last
    await objects.raise_floor(h.scaled)
    with pytest.raises(PointInTimeError, match=f"^revision {h.created} has been compacted away; the oldest "
                                               f"revision still available is {h.scaled + 1}$"):
        await build(plane.bus.logs, h.created, snapshots=store)
    with pytest.raises(PointInTimeError, match=f"oldest revision still available is {h.scaled + 1}"):
        await build(plane.bus.logs, h.scaled, snapshots=store)
    assert (await build(plane.bus.logs, h.deleted, snapshots=store)).counts().get("Deployment") is None

    # a snapshot stored at exactly a revision serves it, however far compaction went
    await objects.raise_floor(last)
    view = await build(plane.bus.logs, last, snapshots=store)
    assert view.snapshot == last and view.time > 0
    with pytest.raises(PointInTimeError, match=f"oldest revision still available is {last + 1}"):
        await build(plane.bus.logs, last - 1, snapshots=store)
    assert await objects.last_revision() == last


# -- the command -------------------------------------------------------------------------------
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "JETKUBE"))}
    env["JETKUBE_HOME"] = str(tmp_path / "home")
    return env


async def run_cli(tmp_path: Path, *args: str) -> Result:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ops.cli", *args, cwd=REPO,
                                                env=cli_env(tmp_path), stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


async def test_jetkube_at_serves_until_sigterm_and_exits_zero(plane: Plane, tmp_path: Path) -> None:
    h = await make_history(plane)
    ready = tmp_path / "ready"
    config = tmp_path / "cli.kubeconfig"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ops.cli", "at", str(h.deleted - 1), "--nats", plane.nats_url, "--prefix", plane.prefix,
        "--port", "0", "--ready-file", str(ready), "--kubeconfig", str(config), cwd=REPO, env=cli_env(tmp_path),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not ready.exists():
            assert proc.returncode is None, (await proc.stderr.read()).decode()  # type: ignore[union-attr]
            assert loop.time() < deadline, "jetkube at did not become ready"
            await asyncio.sleep(0.1)
        url = ready.read_text().strip()
        assert url.startswith("http://127.0.0.1:")
        assert f"server: {url}" in config.read_text()
        got = await kubectl(config, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}")
        assert got.rc == 0 and got.out == "5", got
        refused = await kubectl(config, "delete", "deployment", "web")
        assert refused.rc != 0 and "read-only" in refused.err
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert f"export KUBECONFIG={config}" in text and f"revision {h.deleted - 1}" in text and "Deployment" in text
    assert "Traceback" not in err.decode()


async def test_jetkube_at_refuses_with_one_line(plane: Plane, tmp_path: Path) -> None:
    h = await make_history(plane)
    last = await plane.bus.logs[Stream.OBJECTS].last_revision()
    common = ("--nats", plane.nats_url, "--prefix", plane.prefix)

    def said(r: Result) -> str:
        # rich wraps stderr at the terminal's width (80 when piped): one message, maybe two lines
        return " ".join(r.err.split())

    future = await run_cli(tmp_path, "at", str(last + 100), *common)
    assert future.rc == 1 and said(future) == (f"jetkube: revision {last + 100} is in the future: the "
                                               f"cluster's last revision is {last}"), future
    tomorrow = datetime.fromtimestamp(h.scaled_at + 86400, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = await run_cli(tmp_path, "at", tomorrow, *common)
    assert later.rc == 1 and said(later).startswith(f"jetkube: {tomorrow} is in the future (now is "), later
    await plane.bus.logs[Stream.OBJECTS].raise_floor(h.scaled)
    old = await run_cli(tmp_path, "at", str(h.created), *common)
    assert old.rc == 1 and said(old) == (f"jetkube: revision {h.created} has been compacted away; the oldest "
                                         f"revision still available is {h.scaled + 1}"), old
    bad = await run_cli(tmp_path, "at", "yesterday-ish", *common)
    assert bad.rc == 2 and said(bad).startswith("jetkube: cannot read 'yesterday-ish' as a revision"), bad
    assert not any("Traceback" in r.err + r.out for r in (future, later, old, bad))
    assert await plane.bus.logs[Stream.OBJECTS].last_revision() == last
