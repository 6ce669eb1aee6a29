"""Golden logs: recorded incidents checked in under tests/replay/golden/ (made by
`python -m tests.replay.incident`, on a real nats-server, API server, scheduler, controllers and
simulated kubelet), replayed through `jetkube replay --file` with the sandbox in a child process.

- the log rebuilds exactly the state hash recorded in it;
- the sandbox makes every recorded decision and no other (a change to the scheduler or a
  controller that alters decisions fails here, with the differing decisions in the message);
- two replays print byte-identical reports; a changed scoring strategy changes placements;
- a log with a gap or a damaged byte is refused with one line saying so.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from ops import cli, cmdline
from replay import archive
from replay.state import StreamState, replayed

GOLDEN = Path(__file__).parent / "golden"
LOGS = sorted(GOLDEN.glob("*.jkar"))


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cmdline.console, "_width", 250)
    monkeypatch.setattr(cmdline.err, "_width", 250)


def jetkube(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = jetkube(capsys, "replay", *argv, "-o", "json")
    assert code == 0, err
    return orjson.loads(out)


def test_there_are_golden_logs() -> None:
    assert LOGS, f"no recorded logs under {GOLDEN}"


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem)
def test_the_log_rebuilds_the_recorded_state_hash(path: Path) -> None:
    arc = archive.read(path)
    assert arc.kind == "log"
    sec = arc.sections["objects"]
    assert [e.revision for e in sec.tail] == list(range(sec.base + 1, sec.until + 1))
    rebuilt = replayed(sec.tail, StreamState(sec.base, {e.key: e for e in sec.state}))
    assert rebuilt.digest() == arc.end["streams"]["objects"]["digest"]
    assert len(rebuilt) == arc.end["streams"]["objects"]["objects"]


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem)
def test_the_sandbox_makes_the_recorded_decisions(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = report(capsys, "--file", str(path))
    assert r["differences"] == [], "\n".join(
        f"{d['by']} {d['verb']} {d['target']} {d['detail']}: recorded {d['recorded']}, replayed {d['replayed']}"
        for d in r["differences"])
    verbs = {(t["by"], t["verb"]) for t in r["totals"]}
    assert {("scheduler", "bind"), ("controller:replicaset", "create"), ("controller:deployment", "set")} <= verbs
    assert r["skipped"] == [] and r["inputs"] > 10


def test_the_same_replay_twice_prints_the_same_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    first = jetkube(capsys, "replay", "--file", str(LOGS[0]))
    second = jetkube(capsys, "replay", "--file", str(LOGS[0]))
    assert first[0] == 0, first[2]
    assert first == second
    assert "no differences" in first[1]
    assert report(capsys, "--file", str(LOGS[0])) == report(capsys, "--file", str(LOGS[0]))


def test_a_changed_scoring_strategy_shows_as_changed_placements(capsys: pytest.CaptureFixture[str]) -> None:
    r = report(capsys, "--file", str(LOGS[0]), "--scoring-strategy", "MostAllocated")
    diffs = r["differences"]
    assert diffs and all((d["by"], d["verb"]) == ("scheduler", "bind") for d in diffs), diffs
    # the bare pods, spread onto the empty node when recorded, are packed onto the fullest one
    moved = {d["target"]: d["detail"] for d in diffs if d["target"].startswith("Pod default/batch-") and d["replayed"]}
    assert moved == {"Pod default/batch-0": "sim-0", "Pod default/batch-1": "sim-0", "Pod default/batch-2": "sim-1"}
    code, out, _ = jetkube(capsys, "replay", "--file", str(LOGS[0]), "--scoring-strategy", "MostAllocated", "--check")
    assert code == 3 and "decisions differ" in out


def test_a_log_with_a_gap_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arc = archive.read(LOGS[0])
    sec = arc.sections["objects"]
    holed = archive.Section("objects", sec.base, sec.until, sec.state, sec.tail[:20] + sec.tail[21:])
    bad = tmp_path / "gap.jkar"
    archive.write(bad, kind="log", prefix=arc.prefix, created=arc.created, info=arc.info, sections=[holed])
    code, out, err = jetkube(capsys, "replay", "--file", str(bad))
    assert code == 1 and out == ""
    assert err.startswith("jetkube: ") and "gap" in err and len(err.strip().splitlines()) == 1, err


def test_a_damaged_log_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "damaged.jkar"
    shutil.copy(LOGS[0], bad)
    raw = bytearray(bad.read_bytes())
    raw[len(raw) // 2] ^= 0x20
    bad.write_bytes(bytes(raw))
    code, out, err = jetkube(capsys, "replay", "--file", str(bad))
    assert code == 1 and out == ""
    assert err.startswith("jetkube: ") and "damaged" in err and len(err.strip().splitlines()) == 1, err


def test_a_window_outside_the_log_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = jetkube(capsys, "replay", "--file", str(LOGS[0]), "--to", "999999")
    assert code == 1 and "beyond the last revision" in err and len(err.strip().splitlines()) == 1, err
    code, _, err = jetkube(capsys, "replay", "--file", str(LOGS[0]), "--from", "50", "--to", "40")
    assert code == 1 and "must be after" in err, err
