"""`jetkube snapshot|backup` as a user runs them, against `jetkube up --nodes 0`: the happy path, and
every bad input answered with one line while the running cluster stays as it was."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from replay import archive
from tests.integration.kubectl.cluster import Cluster, running_cluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("jetkube-backup-cli"), "--nodes", "0") as c:
        yield c


def one_line_error(done, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert done.returncode != 0, done.stdout
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("jetkube: "), done.stderr
    assert "Traceback" not in done.stderr
    for w in words:
        assert w in lines[0], lines[0]


def revision(c: Cluster) -> str:
    code, body = c.http("GET", "/api/v1/namespaces/default/configmaps")
    assert code == 200
    return str(body["metadata"]["resourceVersion"])


def test_snapshots_and_backups_from_the_command_line(cluster: Cluster, tmp_path: Path) -> None:
    c = cluster
    for i in range(5):
        c.ok("create", "configmap", f"cli-{i}", "--from-literal=i=" + str(i))
    made = c.jetkube("snapshot", "create")
    assert made.returncode == 0 and "snapshot rev-" in made.stdout, made.stdout + made.stderr
    name = made.stdout.split()[1].rstrip(":")
    listed = c.jetkube("snapshot", "ls")
    assert name in listed.stdout and "on demand" in listed.stdout
    file = tmp_path / "b.jkb"
    done = c.jetkube("backup", "create", str(file))
    assert done.returncode == 0, done.stderr
    assert "consistent at revision" in done.stdout
    ok = c.jetkube("backup", "verify", str(file))
    assert ok.returncode == 0 and "ok:" in ok.stdout
    one_line_error(c.jetkube("snapshot", "rm", "no-such"), "no snapshot named no-such")
    assert c.jetkube("snapshot", "rm", name).returncode == 0
    assert name not in c.jetkube("snapshot", "ls").stdout


def test_bad_backups_and_bad_revisions_leave_the_cluster_untouched(cluster: Cluster, tmp_path: Path) -> None:
    c = cluster
    c.ok("create", "configmap", "keep-me", "--from-literal=a=b")
    file = tmp_path / "good.jkb"
    assert c.jetkube("backup", "create", str(file)).returncode == 0
    ar = archive.read(file)
    raw = file.read_bytes()
    before = revision(c)

    (tmp_path / "short.jkb").write_bytes(raw[: len(raw) * 2 // 3])
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0x01
    (tmp_path / "tampered.jkb").write_bytes(bytes(flipped))
    (tmp_path / "newer.jkb").write_bytes(newer_format(raw))
    (tmp_path / "junk.jkb").write_bytes(b"hello, not a backup\n")
    for bad, words in (("short.jkb", ("truncated",)), ("tampered.jkb", ("damaged",)),
                       ("newer.jkb", ("format 2", "newer than this jetkube reads")),
                       ("junk.jkb", ("not a jetkube archive",)), ("missing.jkb", ("no such file",))):
        one_line_error(c.jetkube("backup", "verify", str(tmp_path / bad)), *words)
        one_line_error(c.jetkube("backup", "restore", str(tmp_path / bad)), *words)

    base, end = ar.sections["objects"].base, ar.sections["objects"].until
    one_line_error(c.jetkube("backup", "restore", str(file), "--at", str(end + 1000)), "after the last one")
    one_line_error(c.jetkube("backup", "restore", str(file), "--at", str(base - 1)), "before the oldest")
    one_line_error(c.jetkube("backup", "restore", str(file), "--at", "2999-01-01T00:00:00Z"), "after this backup")
    one_line_error(c.jetkube("backup", "restore", str(file), "--at", "yesterday-ish"), "--at: cannot read 'yesterday-ish'")
    # a good backup, but the cluster is running: a restore only fills a fresh store
    one_line_error(c.jetkube("backup", "restore", str(file)), "is running")
    assert revision(c) == before
    assert c.get_json("configmap", "keep-me")["data"] == {"a": "b"}


def newer_format(raw: bytes) -> bytes:
    """The same archive with its header claiming format 2 (frames and hash rewritten)."""
    import io
    got = archive.parse(raw, "x")
    buf = io.BytesIO()
    w = archive.Writer(buf)
    w.frame(b"H", orjson.dumps({"format": archive.FORMAT + 1, "kind": got.kind, "prefix": got.prefix,
                                "created": got.created, "info": got.info}))
    return buf.getvalue() + raw[len(buf.getvalue()):]  # the rest as it was: the format is read first


def test_restore_into_a_down_cluster_and_refuse_a_second_time(tmp_path: Path) -> None:
    """`backup restore` into the home of a cluster that is down (its store wiped), then `up`; a
    second restore into the now-full store is refused."""
    home = tmp_path / "home"
    c = Cluster(home)
    c.up("--nodes", "0")
    try:
        c.ok("create", "configmap", "one", "--from-literal=x=1")
        uid = c.get_json("configmap", "one")["metadata"]["uid"]
        file = tmp_path / "b.jkb"
        assert c.jetkube("backup", "create", str(file)).returncode == 0
        assert c.down().returncode == 0
        shutil.rmtree(home / "nats")
        done = c.jetkube("backup", "restore", str(file))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "restored" in done.stdout and "410" in done.stdout
        again = c.jetkube("backup", "restore", str(file))
        one_line_error(again, "not fresh")
        c.up(ports=False)
        got = c.get_json("configmap", "one")
        assert got["metadata"]["uid"] == uid and got["data"] == {"x": "1"}
        assert int(got["metadata"]["resourceVersion"]) > 1_000_000_000
        st = json.loads((home / "cluster.json").read_text())
        assert st["prefix"] == archive.read(file).prefix
        time.sleep(0.1)
    finally:
        c.down()
