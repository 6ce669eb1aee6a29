"""Reading "when" from the command line: a revision, a wall-clock time, or a while ago. Pure.

The time-machine commands (`jetkube history`, `log`, `at`) take points in the log's history as
text. `parse_when(text, now)` gives an `int` for a revision (`1234`) and a `float` (seconds since
the epoch) for a time: RFC 3339 / ISO 8601 (`2025-05-01T10:03:00Z`, `2025-05-01 10:03+02:00`; no
zone means local time), a clock time today in local time (`10:03`, `10:03:30`), `now`, or a
duration ago (`90s`, `10m`, `2h`, `1d`, `1h30m`, `500ms`). A time becomes a revision through
`EventLog.revision_at`; that step is the caller's, so this module stays free of I/O.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from core.meta import rfc3339

_REVISION = re.compile(r"^\d+$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$")
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

WHEN_HELP = "a revision (1234), an RFC 3339 time, HH:MM[:SS] today, or a duration ago (10m, 90s, 2h)"


def when_text(t: float) -> str:
    """A moment as RFC 3339 in UTC, for messages."""
    return rfc3339(datetime.fromtimestamp(t, timezone.utc))


def parse_when(text: str, now: float) -> int | float:
    """A revision (int) or a moment in seconds since the epoch (float); ValueError if neither."""
    s = text.strip()
    if not s:
        raise ValueError("an empty time; give " + WHEN_HELP)
    if _REVISION.match(s):
        return int(s)
    low = s.lower()
    if low == "now":
        return float(now)
    if _DURATION.match(low):
        return float(now) - sum(float(n) * _UNIT[u] for n, u in _DURATION_PART.findall(low))
    clock = _CLOCK.match(s)
    if clock:
        hh, mm, ss, frac = clock.groups()
        if int(hh) > 23 or int(mm) > 59 or int(ss or 0) > 59:
            raise ValueError(f"{text!r} is not a time of day")
        micro = int((frac or "0").ljust(6, "0")[:6])
        today = datetime.fromtimestamp(now).replace(hour=int(hh), minute=int(mm), second=int(ss or 0),
                                                    microsecond=micro)
        return today.timestamp()
    try:
        moment = datetime.fromisoformat(s.replace("z", "Z").replace("t", "T"))
    except ValueError:
        raise ValueError(f"cannot read {text!r} as {WHEN_HELP}") from None
    return moment.timestamp()  # a naive datetime is local time, as the docstring says
