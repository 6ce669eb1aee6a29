"""CronJob schedule syntax, checked the way Kubernetes does (robfig/cron's standard parser).

`schedule_error(spec)` returns None for a valid five-field schedule or descriptor (`@hourly`,
`@every 1h30m`) and otherwise the parser's own error text, which Kubernetes puts in the
`spec.schedule` cause. Only syntax: computing run times is the CronJob controller's business.
"""

from __future__ import annotations

import re

_BOUNDS = {  # name → (min, max, names)
    "minute": (0, 59, None),
    "hour": (0, 23, None),
    "dom": (1, 31, None),
    "month": (1, 12, {m: i + 1 for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}),
    "dow": (0, 6, {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}),
}
_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_DURATION = re.compile(r"[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+|[-+]?0")


class _CronError(ValueError):
    pass


def schedule_error(spec: str) -> str | None:
    try:
        _parse(spec)
    except _CronError as exc:
        return str(exc)
    return None


def _parse(spec: str) -> None:
    if not spec:
        raise _CronError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        i = spec.find(" ")
        if i < 0:
            raise _CronError(f"provided bad location {spec[spec.index('=') + 1:]}: unknown time zone")
        spec = spec[i:].strip()
    if spec.startswith("@"):
        _descriptor(spec)
        return
    fields = spec.split()
    if len(fields) != 5:
        raise _CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    for text, bound in zip(fields, ("minute", "hour", "dom", "month", "dow")):
        for expr in text.split(","):
            _range(expr, *_BOUNDS[bound])


def _descriptor(spec: str) -> None:
    if spec in _DESCRIPTORS:
        return
    every = "@every "
    if spec.startswith(every):
        dur = spec[len(every):]
        if not _DURATION.fullmatch(dur):
            raise _CronError(f'failed to parse duration {spec}: time: invalid duration "{dur}"')
        return
    raise _CronError(f"unrecognized descriptor: {spec}")


def _range(expr: str, lo: int, hi: int, names: dict[str, int] | None) -> None:
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    single = len(low_high) == 1
    if low_high[0] in ("*", "?"):
        start, end = lo, hi
    else:
        start = _int_or_name(low_high[0], names)
        if len(low_high) == 1:
            end = start
        elif len(low_high) == 2:
            end = _int_or_name(low_high[1], names)
        else:
            raise _CronError(f"too many hyphens: {expr}")
    step = 1
    if len(range_and_step) == 2:
        step = _must_int(range_and_step[1])
        if single:
            end = hi
    elif len(range_and_step) > 2:
        raise _CronError(f"too many slashes: {expr}")
    if start < lo:
        raise _CronError(f"beginning of range ({start}) below minimum ({lo}): {expr}")
    if end > hi:
        raise _CronError(f"end of range ({end}) above maximum ({hi}): {expr}")
    if start > end:
        raise _CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise _CronError(f"step of range should be a positive number: {expr}")


def _int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names and expr.lower() in names:
        return names[expr.lower()]
    return _must_int(expr)


def _must_int(expr: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", expr):
        raise _CronError(f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": invalid syntax')
    num = int(expr)
    if num < 0:
        raise _CronError(f"negative number ({num}) not allowed: {expr}")
    return num
