"""The bench's pure helpers: percentiles, medians, the table, the options, profile folding, the time
machine benchmarks' bodies, event history, rows and goal verdicts.
No servers and no wall-clock assertions: `make bench` itself is the measurement."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from rich.console import Console

from bus.log import Op
from core.keys import ObjectKey
from ops.bench import BENCHMARKS
from ops.bench import timemachine as tm
from ops.bench.options import build_parser, parse
from ops.bench.profile import area, frame_name, top_functions
from ops.bench.report import Row, build_table, fmt_number, median, percentile, rows_as_dicts, summarize


def test_percentile_interpolates_like_numpy() -> None:
    xs = [4.0, 1.0, 3.0, 2.0]
    assert percentile(xs, 0) == 1.0
    assert percentile(xs, 100) == 4.0
    assert percentile(xs, 50) == 2.5
    assert percentile(xs, 90) == pytest.approx(3.7)
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(xs, 101)


def test_median_ignores_nan_and_summary_names() -> None:
    assert median([3.0, math.nan, 1.0, 2.0]) == 2.0
    assert math.isnan(median([math.nan]))
    s = summarize([float(i) for i in range(1, 101)])
    assert list(s) == ["p50", "p90", "p99", "max"]
    assert s["max"] == 100.0 and s["p50"] == pytest.approx(50.5)


def test_row_ratio_and_table() -> None:
    ref = Row("raw", [10_000.0, 12_000.0, 11_000.0], "appends/s")
    creates = Row("creates", [2_000.0, 3_000.0, 2_500.0], "creates/s", reference=ref.value,
                  reference_unit="appends/s", goal="≥ 3,000/s")
    broken = Row("failed", [math.nan], "")
    assert ref.value == 11_000.0
    assert creates.ratio == pytest.approx(2_500 / 11_000)
    assert ref.ratio is None and broken.ratio is None
    console = Console(width=200, record=True)
    console.print(build_table([ref, creates, broken], title="t"))
    text = console.export_text()
    for cell in ("benchmark", "reference", "ratio", "11,000", "2,500", "0.227", "n/a", "≥ 3,000/s"):
        assert cell in text
    data = rows_as_dicts([creates])
    assert data[0]["ratio"] == pytest.approx(2_500 / 11_000) and data[0]["runs"] == [2_000.0, 3_000.0, 2_500.0]


def test_fmt_number() -> None:
    assert fmt_number(None) == "-"
    assert fmt_number(math.nan) == "n/a"
    assert fmt_number(12345.6) == "12,346"
    assert fmt_number(123.45) == "123.5"
    assert fmt_number(1.234) == "1.23"
    assert fmt_number(0.01234) == "0.0123"


def test_options_defaults_quick_and_only() -> None:
    full = parse([])
    assert full.only == BENCHMARKS and full.runs == 3 and full.creates == 10_000 and full.concurrency == 32
    assert full.watchers == 100 and full.profile_dir is None and full.needs_cluster and full.needs_reference
    assert full.deploy_replicas == 1_000 and full.deploy_nodes == 100
    quick = parse(["--quick"])
    assert quick.deploy_replicas < full.deploy_replicas
    assert quick.runs == 1 and quick.creates < full.creates and quick.raw_pipelined < full.raw_pipelined
    assert parse(["--quick", "--runs", "2"]).runs == 2
    only = parse(["--only", "watch", "--only", "jetstream,creates", "--profile", "/tmp/p"])
    assert only.only == ("jetstream", "creates", "watch") and only.profile_dir == Path("/tmp/p")
    w = parse(["--only", "watch"])
    assert w.needs_cluster and not w.needs_reference and not w.selected("creates")
    j = parse(["--only", "jetstream"])
    assert not j.needs_cluster


@pytest.mark.parametrize("argv", [["--only", "nope"], ["--runs", "0"], ["--watch-rate", "-1"]])
def test_options_reject_nonsense(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)


def test_profile_folding() -> None:
    raw = ("<module> (x.py:1);run (asyncio/base_events.py:10);handle (/work/main/components/apiserver/http.py:71);"
           "dumps (orjson:0) 30\n"
           "<module> (x.py:1);run (asyncio/base_events.py:12);handle (/work/main/components/apiserver/http.py:80) 10\n"
           "garbage line\n")
    folded = top_functions(raw + "handle (/work/main/components/apiserver/http.py:90) 10\n")  # a cut-short stack
    assert folded.samples == 50 and folded.complete == 40
    assert folded.self_top[0] == ("dumps (orjson)", 0.6)
    total = dict(folded.total_top)
    assert total["handle (components/apiserver/http.py)"] == 1.0
    assert "<module> (x.py)" in total and "run (asyncio/base_events.py)" not in total  # loop scaffolding left out
    assert dict(folded.areas) == {"orjson": 0.6, "components/apiserver/http.py": 0.4}
    assert area(["select (selectors.py)"]).startswith("event loop")
    assert frame_name("f (/usr/lib/python3.11/asyncio/events.py:80)") == "f (stdlib:asyncio/events.py)"
    assert frame_name("g (/v/lib/python3.11/site-packages/aiohttp/web.py:3)") == "g (aiohttp/web.py)"
    assert top_functions("").samples == 0


# -- the time machine's benchmarks: options and pure helpers ----------------------------------------

def test_time_machine_options() -> None:
    full = parse([])
    assert {"restore", "pointintime", "backup"} <= set(full.only) and full.time_machine
    assert full.restore_objects == 100_000 and full.pit_events == 1_000_000
    assert full.backup_objects == 20_000 and full.backup_seconds == 15.0
    quick = parse(["--quick"])
    assert quick.restore_objects < full.restore_objects and quick.pit_events < full.pit_events
    assert quick.backup_objects < full.backup_objects and quick.backup_seconds < full.backup_seconds
    only = parse(["--only", "restore,backup", "--restore-objects", "500", "--backup-seconds", "2.5"])
    assert only.only == ("restore", "backup") and only.restore_objects == 500 and only.backup_seconds == 2.5
    assert only.time_machine and not only.needs_cluster and not only.needs_reference
    assert not parse(["--only", "creates"]).time_machine
    for argv in (["--pit-events", "0"], ["--backup-seconds", "0"], ["--only", "restores"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(argv)


def test_bodies_are_configmap_sized_and_deterministic() -> None:
    sizes = [len(tm.body("bench-1", f"cm-{i}", v)) for i in range(200) for v in (0, 7)]
    assert 400 <= min(sizes) and max(sizes) <= 800
    assert tm.body("bench-1", "cm-1", 3) == tm.body("bench-1", "cm-1", 3) != tm.body("bench-1", "cm-1", 4)
    items = list(tm.creates(12))
    assert [k.resource for k, _, _ in items[:len(tm.NAMESPACES)]] == ["namespaces"] * len(tm.NAMESPACES)
    cms = [k for k, op, _ in items if k.resource == "configmaps"]
    assert len(cms) == 12 and len(set(cms)) == 12 and {op for _, op, _ in items} == {Op.ADDED}
    assert {k.namespace for k in cms} == set(tm.NAMESPACES)


def test_history_is_a_valid_log_with_deletes() -> None:
    events = list(tm.history(2_000))
    keys = tm.history_keys(2_000)
    assert len(events) == keys * tm.WRITES_PER_KEY == 2_000
    live: dict[ObjectKey, bytes] = {}
    deleted = 0
    for key, op, data in events:
        if op is Op.ADDED:
            assert key not in live
            live[key] = data
        elif op is Op.MODIFIED:
            assert key in live and data != live[key]
            live[key] = data
        else:
            assert live.pop(key) == data  # a delete carries the last version
            deleted += 1
    assert len(live) == tm.live_after(2_000) == keys - len(range(0, keys, 13))
    assert deleted == len(range(0, keys, 7)) + len(range(0, keys, 13))
    assert len(list(tm.history(30))) == 20 and tm.history_keys(5) == 1  # rounded down, never empty


def test_goal_verdicts() -> None:
    goal = (100, 10.0)
    assert tm.verdict("x", 9.5, goal=goal, size=100, unit="objects") == "goal x ≤ 10 s: met (9.50 s)"
    assert "NOT met (12.00 s" in tm.verdict("x", 12.0, goal=goal, size=100, unit="objects")
    small = tm.verdict("x", 1.0, goal=goal, size=10, unit="objects")
    assert "not judged" in small and "met" not in small and "10 objects" in small
    assert tm.verdict("x", math.nan, goal=goal, size=100, unit="objects").endswith("not measured")


def test_time_machine_rows_and_ratios() -> None:
    runs = [tm.RestoreRun(read=1.0, nats=0.5, write=2.0, serve=1.5, list=1.0, listed=100,
                          reference=tm.Published(100, 2.0)) for _ in range(3)]
    rows = {r.benchmark: r for r in tm.restore_rows(tm.RestoreBench(100, runs=runs))}
    total = rows["restore 100 objects to a serving API — end to end"]
    assert total.value == 6.0 and total.ratio == pytest.approx(3.0)
    assert rows["  …replay.restore into it"].ratio == pytest.approx(1.0)

    point = tm.PointBench(1_000, revision=990, snapshot_revision=900,
                          runs=[tm.PointRun(reference=1.0, from_start=4.0, snapshot_load=0.5, snapshot_tail=0.5,
                                            digest_equal=True, objects=46)])
    prow = tm.pointintime_rows(point)
    assert prow[0].ratio == pytest.approx(4.0) and prow[2].value == 1.0
    assert next(r for r in prow if r.benchmark.strip().startswith("digests differ")).value == 0.0
    lines = tm.verdicts(None, point)
    assert len(lines) == 2 and all("not judged" in line for line in lines) and "snapshot" in lines[1]

    b = tm.BackupRun(without={"rate": 2_000.0, "errors": 0}, during={"rate": 1_500.0, "errors": 1},
                     backups=[{"seconds": 2.0, "bytes": 2**20, "streams": {"objects": {"objects": 40}}},
                              {"seconds": 4.0, "bytes": 3 * 2**20, "streams": {"objects": {"objects": 60}}}],
                     idle={"seconds": 1.0, "streams": {"objects": {"objects": 30}}})
    brows = tm.backup_rows(tm.BackupBench(10, 5.0, 32, runs=[b]))
    assert brows[1].ratio == pytest.approx(0.75)
    assert brows[3].value == 3.0 and brows[3].ratio == pytest.approx(3.0) and brows[4].value == 2.0
    assert "~50 objects" in brows[3].benchmark and "(~30)" in brows[3].reference_unit
