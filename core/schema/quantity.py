"""Kubernetes resource quantities ("500m", "1Gi", "1e3") as admission needs them.

Parses the way apimachinery's `resource.ParseQuantity` does (same error wording, which the API
server returns on a bad quantity), compares exactly with `Fraction`, and renders the canonical
string Kubernetes prints in messages ("0.5" → "500m", "1024Ki" → "1Mi"). Input comes from object
dicts (strings, or JSON numbers); nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

ERR_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL.items()}
_BINARY_BY_EXP = {0: "", **{v: k for k, v in _BINARY.items()}}
_DIGITS = "0123456789"


class QuantityError(ValueError):
    """A string that is not a quantity; the message is Kubernetes' own."""


@dataclass(frozen=True)
class Quantity:
    value: Fraction
    format: str

    def __str__(self) -> str:
        return canonical(self)


def parse_quantity(raw: str | int | float) -> Quantity:
    """Parse a quantity given as a string or a JSON number; raise QuantityError."""
    if isinstance(raw, bool):
        raise QuantityError(ERR_FORMAT)
    s = str(raw).strip() if isinstance(raw, str) else _number_text(raw)
    if not s:
        raise QuantityError(ERR_FORMAT)
    if s == "0":
        return Quantity(Fraction(0), DECIMAL_SI)
    positive, num, denom, suffix = _split(s)
    fmt, scale = _interpret(suffix)
    try:
        mantissa = Fraction(int(num or "0")) + (Fraction(int(denom), 10 ** len(denom)) if denom else 0)
    except ValueError as exc:
        raise QuantityError(ERR_NUMERIC) from exc
    value = mantissa * scale
    return Quantity(value if positive else -value, fmt)


def is_quantity(raw: object) -> bool:
    if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
        return False
    try:
        parse_quantity(raw)
    except QuantityError:
        return False
    return True


def _number_text(n: int | float) -> str:
    if isinstance(n, int):
        return str(n)
    text = repr(n)
    return text[:-2] if text.endswith(".0") else text


def _split(s: str) -> tuple[bool, str, str, str]:
    """The hand-written scanner of apimachinery's parseQuantityString."""
    pos, end, positive = 0, len(s), True
    if s[0] in "+-":
        positive = s[0] == "+"
        pos = 1
    while pos < end and s[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and s[pos] in _DIGITS:
        pos += 1
    num = s[start:pos] or "0"
    denom = ""
    if pos < end and s[pos] == ".":
        pos += 1
        start = pos
        while pos < end and s[pos] in _DIGITS:
            pos += 1
        denom = s[start:pos]
    suffix_start = pos
    while pos < end and s[pos] in "eEinumkKMGTP":
        pos += 1
    if pos < end and s[pos] in "+-":
        pos += 1
    while pos < end and s[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(ERR_FORMAT)
    return positive, num, denom, s[suffix_start:]


def _interpret(suffix: str) -> tuple[str, Fraction]:
    if suffix in _DECIMAL:
        return DECIMAL_SI, Fraction(10) ** _DECIMAL[suffix]
    if suffix in _BINARY:
        return BINARY_SI, Fraction(2) ** _BINARY[suffix]
    if len(suffix) > 1 and suffix[0] in "eE":
        exp = suffix[1:]
        body = exp[1:] if exp[0] in "+-" else exp
        if body.isdigit():
            return DECIMAL_EXPONENT, Fraction(10) ** int(exp)
    raise QuantityError(ERR_SUFFIX)


def canonical(q: Quantity) -> str:
    """Kubernetes' canonical rendering (Quantity.String()), rounded up to nano units."""
    value = q.value
    if value == 0:
        return "0"
    nanos = -((-value * 10**9).__floor__()) if value > 0 else (value * 10**9).__floor__()
    value = Fraction(nanos, 10**9)
    fmt = q.format
    if fmt == BINARY_SI and (-1024 < value < 1024 or value.denominator != 1):
        fmt = DECIMAL_SI
    sign = "-" if value < 0 else ""
    mag = abs(value)
    if fmt == BINARY_SI:
        n, exp = int(mag), 0
        while n % 1024 == 0 and exp < 60:
            n //= 1024
            exp += 10
        return f"{sign}{n}{_BINARY_BY_EXP[exp]}"
    exp = -9
    n = int(mag * 10**9)
    while n % 10 == 0 and n:
        n //= 10
        exp += 1
    while exp % 3:
        n *= 10
        exp -= 1
    if fmt == DECIMAL_EXPONENT:
        return f"{sign}{n}" + (f"e{exp}" if exp else "")
    if exp in _DECIMAL_BY_EXP:
        return f"{sign}{n}{_DECIMAL_BY_EXP[exp]}"
    return f"{sign}{n}e{exp}"
