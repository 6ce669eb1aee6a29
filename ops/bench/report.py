"""Pure helpers of the bench: percentiles, medians over runs, result rows and the rich table.

No I/O here (the unit test exercises these without servers): a benchmark produces `Row`s, the
bench prints `build_table(rows)`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rich.table import Table


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0 ≤ p ≤ 100) with linear interpolation between closest ranks
    (numpy's default). NaN for no values."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within [0, 100], not {p}")
    if not values:
        return math.nan
    xs = sorted(values)
    pos = (len(xs) - 1) * p / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(values: Iterable[float]) -> float:
    """The median of the finite values (NaN when there are none)."""
    xs = [v for v in values if not math.isnan(v)]
    return percentile(xs, 50) if xs else math.nan


def summarize(latencies: Sequence[float], *, points: Sequence[float] = (50, 90, 99, 100)) -> dict[str, float]:
    """{"p50": …, "p90": …, "p99": …, "max": …} of latencies (same unit as given)."""
    out: dict[str, float] = {}
    for p in points:
        out["max" if p == 100 else f"p{p:g}"] = percentile(latencies, p)
    return out


@dataclass
class Row:
    """One line of the table: a measured value (the median over runs), its unit, and optionally
    the reference it is compared with (ratio = value ÷ reference)."""

    benchmark: str
    runs: list[float]
    unit: str
    reference: float | None = None
    reference_unit: str = ""
    goal: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def value(self) -> float:
        return median(self.runs)

    @property
    def ratio(self) -> float | None:
        if self.reference is None or not self.reference or math.isnan(self.reference) or math.isnan(self.value):
            return None
        return self.value / self.reference


def fmt_number(x: float | None) -> str:
    """Human-sized numbers: 12,345 / 123.4 / 1.23 / 0.0123; '-' for nothing, 'n/a' for NaN."""
    if x is None:
        return "-"
    if math.isnan(x):
        return "n/a"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    if a == 0:
        return "0"
    return f"{x:.3g}"


def fmt_runs(runs: Sequence[float]) -> str:
    return " / ".join(fmt_number(r) for r in runs)


def build_table(rows: Sequence[Row], *, title: str = "jetkube bench", show_runs: bool = True) -> Table:
    """benchmark | value | unit | reference | ratio (+ the goal and every run's value)."""
    t = Table(title=title, title_justify="left")
    t.add_column("benchmark")
    t.add_column("value", justify="right")
    t.add_column("unit")
    t.add_column("reference", justify="right")
    t.add_column("ratio", justify="right")
    t.add_column("goal")
    if show_runs:
        t.add_column("runs", style="dim")
    for r in rows:
        ref = "-" if r.reference is None else f"{fmt_number(r.reference)} {r.reference_unit}".strip()
        ratio = r.ratio
        cells = [r.benchmark, fmt_number(r.value), r.unit, ref, "-" if ratio is None else f"{ratio:.3f}", r.goal]
        if show_runs:
            cells.append(fmt_runs(r.runs))
        t.add_row(*cells)
    return t


def rows_as_dicts(rows: Sequence[Row]) -> list[dict[str, object]]:
    """The table as plain data (for `--json`)."""
    return [{"benchmark": r.benchmark, "value": r.value, "unit": r.unit, "runs": list(r.runs),
             "reference": r.reference, "ratio": r.ratio, "goal": r.goal, "notes": list(r.notes)} for r in rows]
