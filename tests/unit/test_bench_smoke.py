"""The bench's pure helpers: percentiles, medians, the table, the options, profile folding.
No servers and no wall-clock assertions: `make bench` itself is the measurement."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from rich.console import Console

from ops.bench import BENCHMARKS
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
