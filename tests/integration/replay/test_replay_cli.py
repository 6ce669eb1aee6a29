"""`jetkube replay` against a live cluster's log: the incident of `tests.replay.incident` runs on a
real nats-server with the real API server, scheduler, controllers and a simulated kubelet; then
the command reads the window from the log (`--nats`, `--prefix`) and replays it in its sandbox.
Run in-process through `ops.cli.main` in a thread (the command calls asyncio.run)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from bus.server import NatsServer
from ops import cli, cmdline
from replay import archive
from tests.replay.incident import USER, record

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cmdline.console, "_width", 250)
    monkeypatch.setattr(cmdline.err, "_width", 250)


async def jetkube(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_replay_of_the_live_log(nats_server: NatsServer, prefix: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    recorded = tmp_path / "incident.jkar"
    await record(recorded, nats_url=nats_server.url, prefix=prefix, root=tmp_path / "kubelet")
    bus = ("--nats", nats_server.url, "--prefix", prefix)

    code, out, err = await jetkube(capsys, "replay", *bus, "-o", "json", "--save", str(tmp_path / "saved.jkar"))
    assert code == 0, err
    live = orjson.loads(out)
    assert live["differences"] == [], live["differences"]
    assert live["window"]["from"] == 0 and live["window"]["to"] == archive.read(recorded).revision
    # the window read from the log is the one the recording saved: the same report, byte for byte
    code, out2, err = await jetkube(capsys, "replay", "--file", str(recorded), "-o", "json")
    assert code == 0, err
    assert out2 == out
    assert archive.read(tmp_path / "saved.jkar").end["streams"] == archive.read(recorded).end["streams"]

    # a window that starts in the middle: the sandbox starts from the state at that revision
    tail = archive.read(recorded).sections["objects"].tail
    scale = next(e.revision for e in tail if e.meta.actor == USER and e.key.resource == "deployments"
                 and orjson.loads(e.data)["spec"]["replicas"] == 6)
    code, out, err = await jetkube(capsys, "replay", *bus, "--from", str(scale - 1), "-o", "json")
    assert code == 0, err
    mid = orjson.loads(out)
    assert mid["window"]["from"] == scale - 1 and mid["differences"] == [], mid["differences"]
    assert 0 < sum(t["recorded"] for t in mid["totals"]) < sum(t["recorded"] for t in live["totals"])

    code, out, err = await jetkube(capsys, "replay", *bus, "--from", str(scale), "--to", str(scale + 40))
    assert code == 0, err
    assert f"replay of revisions {scale} → {scale + 40}" in out

    code, _, err = await jetkube(capsys, "replay", *bus, "--to", "99999")
    assert code == 1 and "beyond the last revision" in err and len(err.strip().splitlines()) == 1, err
