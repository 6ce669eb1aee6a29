"""`jetkube history` and `jetkube log` against a real nats-server and API server: run in-process
through `ops.cli.main` (in a thread: the commands call asyncio.run), output captured."""

from __future__ import annotations

import asyncio
import re

import orjson
import pytest

from bus.apiclient import CAUSE, ApiClient
from ops import cli, cmdline
from tests.integration.conftest import Plane

pytestmark = pytest.mark.integration

_SERVER_LOG = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


def configmap(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": "web"}},
            "data": data}


async def jetkube(plane: Plane, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, [*argv, "--nats", plane.nats_url, "--prefix", plane.prefix])
    out, err = capsys.readouterr()
    # The API server in this process logs to stdout too: keep only what the command printed.
    out = "\n".join(line for line in out.splitlines() if not _SERVER_LOG.match(line))
    return code, out, err


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tables and error lines unwrapped, whatever the terminal (rich wraps at 80 when not a tty).
    monkeypatch.setattr(cmdline.console, "_width", 250)
    monkeypatch.setattr(cmdline.err, "_width", 250)


async def story(plane: Plane) -> dict[str, int]:
    """settings: created by test, changed by alice, changed by bob, deleted by alice; a second
    ConfigMap written by a controller with a cause. Returns the revisions by name."""
    assert plane.bus.nc is not None
    alice = ApiClient(plane.bus.nc, plane.prefix, "alice")
    bob = ApiClient(plane.bus.nc, plane.prefix, "bob")
    controller = ApiClient(plane.bus.nc, plane.prefix, "system:settings-controller")
    revs: dict[str, int] = {}
    await plane.api.create("namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    obj = await plane.api.create("configmaps", "default", configmap("settings", mode="a"))
    revs["created"] = int(obj["metadata"]["resourceVersion"])
    obj["data"] = {"mode": "b"}
    obj = await alice.update("configmaps", "default", "settings", obj)
    revs["alice"] = int(obj["metadata"]["resourceVersion"])
    obj["data"]["extra"] = "1"
    obj["metadata"]["labels"]["tier"] = "web"
    obj = await bob.update("configmaps", "default", "settings", obj)
    revs["bob"] = int(obj["metadata"]["resourceVersion"])
    token = CAUSE.set(str(revs["bob"]))
    try:
        derived = await controller.create("configmaps", "other", configmap("derived", source="settings"))
    finally:
        CAUSE.reset(token)
    revs["derived"] = int(derived["metadata"]["resourceVersion"])
    await alice.delete("configmaps", "default", "settings")
    revs["deleted"] = revs["derived"] + 1
    return revs


async def test_history_lists_every_version_with_actor_and_diff(plane: Plane,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    revs = await story(plane)
    code, out, err = await jetkube(plane, capsys, "history", "configmap/settings")
    assert code == 0, err
    assert "history of configmaps/default/settings" in out
    lines = out.splitlines()
    row = {name: next(i for i, line in enumerate(lines) if line.strip("│ ").startswith(str(rev)))
           for name, rev in revs.items() if name != "derived"}
    assert row["created"] < row["alice"] < row["bob"] < row["deleted"]
    assert "ADDED" in lines[row["created"]] and "test" in lines[row["created"]] and "created" in out
    assert "labels: app=web" in out and "data: mode" in out
    assert "alice" in lines[row["alice"]] and "~ data.mode: a → b" in lines[row["alice"]]
    bob_rows = "\n".join(lines[row["bob"]:row["deleted"]])
    assert "bob" in lines[row["bob"]]
    assert "+ data.extra: \"1\"" in bob_rows and "+ metadata.labels.tier: web" in bob_rows
    assert "DELETED" in lines[row["deleted"]] and "deleted" in lines[row["deleted"]]
    assert "alice" in lines[row["deleted"]]
    assert "derived" not in out


async def test_history_as_json_lines(plane: Plane, capsys: pytest.CaptureFixture[str]) -> None:
    revs = await story(plane)
    code, out, err = await jetkube(plane, capsys, "history", "cm", "settings", "-n", "default", "-o", "json")
    assert code == 0, err
    rows = [orjson.loads(line) for line in out.splitlines()]
    assert [r["revision"] for r in rows] == [revs["created"], revs["alice"], revs["bob"], revs["deleted"]]
    assert [r["op"] for r in rows] == ["ADDED", "MODIFIED", "MODIFIED", "DELETED"]
    assert [r["actor"] for r in rows] == ["test", "alice", "bob", "alice"]
    assert [r["what"] for r in rows] == ["created", "changed", "changed", "deleted"]
    assert rows[1]["changes"] == [{"path": "data.mode", "kind": "changed", "old": "a", "new": "b"}]
    assert {c["path"] for c in rows[2]["changes"]} == {"data.extra", "metadata.labels.tier"}
    assert rows[0]["body"]["data"] == {"mode": "a"} and rows[0]["object"] == "configmaps/default/settings"
    assert rows[0]["time"] and rows[0]["timestamp"] > 0


async def test_log_filters_by_actor_and_kind_and_shows_causes(plane: Plane,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    revs = await story(plane)
    code, out, err = await jetkube(plane, capsys, "log", "--actor", "ali", "--kind", "cm", "-o", "json")
    assert code == 0, err
    rows = [orjson.loads(line) for line in out.splitlines()]
    assert [(r["revision"], r["op"]) for r in rows] == [(revs["alice"], "MODIFIED"), (revs["deleted"], "DELETED")]

    code, out, err = await jetkube(plane, capsys, "log", "--kind", "configmaps", "-n", "other")
    assert code == 0, err
    assert "1 change" in out and "configmaps/other/derived" in out
    assert f"← {revs['bob']} MODIFIED configmaps/default/settings" in out
    assert "system:settings-controller" in out

    code, out, err = await jetkube(plane, capsys, "log", "--since", str(revs["alice"]), "--until", str(revs["bob"]))
    assert code == 0, err
    assert "2 changes" in out and "alice" in out and "bob" in out and "derived" not in out

    code, out, err = await jetkube(plane, capsys, "log", "--since", "1h", "--limit", "2", "-o", "json")
    assert code == 0, err
    assert [orjson.loads(line)["revision"] for line in out.splitlines()] == [revs["derived"], revs["deleted"]]


async def test_bad_input_is_one_line_and_a_failure(plane: Plane, capsys: pytest.CaptureFixture[str]) -> None:
    await plane.api.create("configmaps", "default", configmap("present", a="1"))
    for argv, message in [
        (("history", "gizmo/x"), "unknown kind 'gizmo'"),
        (("history", "cm/absent"), "no retained versions of configmaps/default/absent"),
        (("history", "cm/present", "-n", "elsewhere"), "no retained versions of configmaps/elsewhere/present"),
        (("log", "--kind", "gizmo"), "unknown kind"),
        (("log", "--since", "yesterday"), "--since: cannot read 'yesterday'"),
        (("log", "--until", "25:00"), "--until:"),
        (("log", "--limit", "0"), "--limit must be at least 1"),
    ]:
        code, out, err = await jetkube(plane, capsys, *argv)
        assert code != 0, argv
        assert message in err, (argv, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
