"""Label and field selectors: parsing Kubernetes' string grammar and matching objects.

Selector strings arrive from list/watch query parameters (`labelSelector=`, `fieldSelector=`)
and from workload specs (`spec.selector` as `matchLabels`/`matchExpressions`); the API server
filters lists and watches with them, controllers use them to find the pods they own, and the
canonical `str()` form goes out again in `Scale.status.selector`. Pure: strings and dicts in,
booleans out. Bad syntax raises `BadRequest` with the same wording as the Kubernetes parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from core.errors import BadRequest


class Operator(str, Enum):
    """A label requirement's operator, valued as Kubernetes spells it in `selection.Operator`."""

    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"


_SPEC_OPERATORS = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}
_SET_OPS = (Operator.IN, Operator.NOT_IN)
_NUMERIC_OPS = (Operator.GREATER_THAN, Operator.LESS_THAN)
_PRESENCE_OPS = (Operator.EXISTS, Operator.DOES_NOT_EXIST)

# --- validation of keys and values (apimachinery's IsQualifiedName / IsValidLabelValue) ---

_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_RE = re.compile(f"^{_NAME_FMT}$")
_VALUE_RE = re.compile(f"^({_NAME_FMT})?$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    f"validation is '{_NAME_FMT}')"
)
_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
    f"'12345', regex used for validation is '({_NAME_FMT})?')"
)


def _invalid(path: str, value: str, why: str) -> str:
    return f'{path}: Invalid value: "{value}": {why}'


def _key_problem(key: str) -> str | None:
    """Why `key` is not a qualified name (`[prefix/]name`), or None when it is one."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return "prefix part must be non-empty"
    if prefix:
        if "/" in prefix:
            return ("a qualified name" + _NAME_MSG.removeprefix("name part") +
                    " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")
        if len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix):
            return ("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                    "characters, '-' or '.', and must start and end with an alphanumeric character")
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _NAME_RE.match(name):
        return _NAME_MSG
    return None


def _check_key(key: str) -> None:
    problem = _key_problem(key)
    if problem:
        raise BadRequest("unable to parse requirement: " + _invalid("key", key, problem))


def _check_value(key: str, index: int, value: str) -> None:
    if len(value) > 63:
        problem = "must be no more than 63 characters"
    elif not _VALUE_RE.match(value):
        problem = _VALUE_MSG
    else:
        return
    raise BadRequest("unable to parse requirement: " + _invalid(f"values[{index}][{key}]", value, problem))


# --- label requirements and selectors ---


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector: `key <operator> values`. Values are kept sorted."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    @classmethod
    def build(cls, key: str, operator: Operator, values: Iterable[str] = ()) -> Requirement:
        """Validate like apimachinery's `NewRequirement` and normalise the value set."""
        _check_key(key)
        vals = tuple(sorted(set(values)))
        if operator in _SET_OPS and not vals:
            raise BadRequest("unable to parse requirement: values: Invalid value: []: "
                             "for 'in', 'notin' operators, values set can't be empty")
        if operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS) and len(vals) != 1:
            raise BadRequest("unable to parse requirement: values: Invalid value: "
                             f"{list(vals)}: exact-match compatibility requires one single value")
        if operator in _PRESENCE_OPS and vals:
            raise BadRequest("unable to parse requirement: values: Invalid value: "
                             f"{list(vals)}: values set must be empty for exists and does not exist")
        if operator in _NUMERIC_OPS:
            if len(vals) != 1:
                raise BadRequest("unable to parse requirement: values: Invalid value: "
                                 f"{list(vals)}: for 'Gt', 'Lt' operators, exactly one value is required")
            if _as_int(vals[0]) is None:
                raise BadRequest("unable to parse requirement: values[0]: Invalid value: "
                                 f'"{vals[0]}": for \'Gt\', \'Lt\' operators, the value must be an integer')
        else:
            for i, v in enumerate(vals):
                _check_value(key, i, v)
        return cls(key, operator, vals)

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key in labels
        if op is Operator.DOES_NOT_EXIST:
            return self.key not in labels
        if op in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN):
            return self.key in labels and labels[self.key] in self.values
        if op in (Operator.NOT_EQUALS, Operator.NOT_IN):
            return self.key not in labels or labels[self.key] not in self.values
        # Gt / Lt: the label must exist and parse as an integer
        have = _as_int(labels[self.key]) if self.key in labels else None
        want = _as_int(self.values[0])
        if have is None or want is None:
            return False
        return have > want if op is Operator.GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key
        if op is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        joined = ",".join(self.values)
        if op in _SET_OPS:
            return f"{self.key} {op.value} ({joined})"
        symbol = {Operator.GREATER_THAN: ">", Operator.LESS_THAN: "<"}.get(op, op.value)
        return f"{self.key}{symbol}{joined}"


def _as_int(s: str) -> int | None:
    return int(s) if re.fullmatch(r"[+-]?[0-9]+", s) else None


@dataclass(frozen=True)
class LabelSelector:
    """An AND of requirements, sorted by key. No requirements selects everything."""

    requirements: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the selector has no requirements and therefore selects everything."""
        return not self.requirements

    @classmethod
    def of(cls, requirements: Iterable[Requirement]) -> LabelSelector:
        return cls(tuple(sorted(requirements, key=lambda r: r.key)))

    @classmethod
    def from_labels(cls, labels: Mapping[str, str] | None) -> LabelSelector:
        """A map-style selector (Service `spec.selector`, RC `spec.selector`): every pair must match."""
        reqs = []
        for k, v in (labels or {}).items():
            if not isinstance(v, str):
                raise BadRequest(f'unable to parse requirement: values[0][{k}]: Invalid value: {v!r}: '
                                 "label values must be strings")
            reqs.append(Requirement.build(k, Operator.EQUALS, [v]))
        return cls.of(reqs)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> LabelSelector:
        """A `metav1.LabelSelector` (`matchLabels` + `matchExpressions`). None or {} selects everything."""
        if not spec:
            return cls()
        if not isinstance(spec, Mapping):
            raise BadRequest(f"label selector must be an object, got {type(spec).__name__}")
        reqs = list(cls.from_labels(spec.get("matchLabels")).requirements)
        for i, expr in enumerate(spec.get("matchExpressions") or []):
            if not isinstance(expr, Mapping):
                raise BadRequest(f"matchExpressions[{i}]: must be an object")
            raw_op = expr.get("operator")
            op = _SPEC_OPERATORS.get(raw_op) if isinstance(raw_op, str) else None
            if op is None:
                raise BadRequest(f'matchExpressions[{i}].operator: Unsupported value: "{raw_op}": supported '
                                 'values: "In", "NotIn", "Exists", "DoesNotExist"')
            values = expr.get("values") or []
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise BadRequest(f"matchExpressions[{i}].values: must be a list of strings")
            reqs.append(Requirement.build(str(expr.get("key", "")), op, values))
        return cls.of(reqs)

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


# --- the label selector string grammar ---

_TOKEN_RE = re.compile(r"\s*(?:(==|!=|[=!(),<>])|([^\s=!(),<>]+))")
_END = ""  # literal of the end-of-string token, as the Kubernetes parser reports it
_OPERATOR_TOKENS = {"=": Operator.EQUALS, "==": Operator.DOUBLE_EQUALS, "!=": Operator.NOT_EQUALS,
                    "in": Operator.IN, "notin": Operator.NOT_IN,
                    ">": Operator.GREATER_THAN, "<": Operator.LESS_THAN}


@dataclass
class _Token:
    literal: str
    symbol: bool  # an operator/punctuation token rather than an identifier

    def is_(self, symbol: str) -> bool:
        return self.symbol and self.literal == symbol

    @property
    def identifier(self) -> bool:
        return not self.symbol and self.literal != _END


def _lex(s: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while True:
        m = _TOKEN_RE.match(s, pos)
        if not m:
            break
        pos = m.end()
        sym, ident = m.group(1), m.group(2)
        tokens.append(_Token(sym, True) if sym else _Token(ident, False))
    tokens.append(_Token(_END, True))
    return tokens


class _LabelParser:
    def __init__(self, s: str) -> None:
        self.tokens = _lex(s)
        self.pos = 0

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        tok = self.tokens[self.pos]
        if tok.literal != _END:
            self.pos += 1
        return tok

    def at_term_end(self) -> bool:
        tok = self.peek()
        return tok.literal == _END or tok.is_(",")

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        if self.peek().literal == _END:
            return reqs
        while True:
            tok = self.peek()
            if not (tok.identifier or tok.is_("!")):
                raise BadRequest(f"found '{tok.literal}', expected: !, identifier, or 'end of string'")
            reqs.append(self.requirement())
            tok = self.take()
            if tok.literal == _END:
                return reqs
            if not tok.is_(","):
                raise BadRequest(f"found '{tok.literal}', expected: ',' or 'end of string'")
            nxt = self.peek()
            if not (nxt.identifier or nxt.is_("!")) or nxt.literal in ("in", "notin"):
                raise BadRequest(f"found '{nxt.literal}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        negated = self.peek().is_("!")
        if negated:
            self.take()
        tok = self.take()
        if not tok.identifier or tok.literal in ("in", "notin"):
            raise BadRequest(f"unable to parse requirement: found '{tok.literal}', expected: identifier")
        key = tok.literal
        if negated or self.at_term_end():
            return Requirement.build(key, Operator.DOES_NOT_EXIST if negated else Operator.EXISTS)
        op_tok = self.take()
        op = _OPERATOR_TOKENS.get(op_tok.literal)
        if op is None:
            raise BadRequest(f"unable to parse requirement: found '{op_tok.literal}', "
                             "expected: in, notin, =, ==, !=, gt, lt")
        values = self.value_set() if op in _SET_OPS else [self.exact_value()]
        return Requirement.build(key, op, values)

    def exact_value(self) -> str:
        if self.at_term_end():
            return ""  # `key=` selects the empty value, as in Kubernetes
        tok = self.take()
        if not tok.identifier:
            raise BadRequest(f"unable to parse requirement: found '{tok.literal}', expected: identifier")
        return tok.literal

    def value_set(self) -> list[str]:
        tok = self.take()
        if not tok.is_("("):
            raise BadRequest(f"unable to parse requirement: found '{tok.literal}', expected: '('")
        values: list[str] = []
        if self.peek().is_(")"):
            self.take()
            return values
        while True:
            tok = self.peek()
            values.append(self.take().literal if tok.identifier else "")  # `(a,)` holds ""
            tok = self.take()
            if tok.is_(")"):
                return values
            if not tok.is_(","):
                raise BadRequest(f"unable to parse requirement: found '{tok.literal}', expected: ',' or ')'")


def parse_label_selector(s: str | None) -> LabelSelector:
    """Parse `app=demo,tier notin (x),!canary`; "" and None select everything."""
    return LabelSelector.of(_LabelParser(s or "").parse())


# --- field selectors ---


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: Operator  # EQUALS or NOT_EQUALS (`==` is read as `=`)
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        equal = field_value(obj, self.field) == self.value
        return equal if self.operator is Operator.EQUALS else not equal

    def __str__(self) -> str:
        return f"{self.field}{self.operator.value}{_escape_field_value(self.value)}"


@dataclass(frozen=True)
class FieldSelector:
    """An AND of `field=value` / `field!=value` terms over dotted paths into an object."""

    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    @property
    def fields(self) -> frozenset[str]:
        """The field paths named, so the API server can reject fields a kind does not support."""
        return frozenset(r.field for r in self.requirements)

    def exact(self, field: str) -> str | None:
        """The value of the first `field=value` term, for narrowing a lookup; None if absent.

        Only a hint: callers must still filter with `matches`, since other terms may apply."""
        for r in self.requirements:
            if r.field == field and r.operator is Operator.EQUALS:
                return r.value
        return None

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(r.matches(obj) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string form of the value at dotted `path`: "" when missing, `true`/`false` for bools."""
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return ""
        cur = cur[part]
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, float) and cur.is_integer():
        return str(int(cur))
    if isinstance(cur, (str, int, float)):
        return str(cur)
    return ""  # objects and lists are not selectable


def _split_unescaped(s: str, sep: str) -> list[str]:
    parts, buf, escaped = [], [], False
    for ch in s:
        if escaped:
            buf.append(ch)
            escaped = False
        elif ch == "\\":
            buf.append(ch)
            escaped = True
        elif ch == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def _unescape_field_value(raw: str) -> str:
    out, escaped = [], False
    for ch in raw:
        if escaped:
            if ch not in "\\,=":
                raise BadRequest(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            raise BadRequest(f"invalid field selector: unescaped character in value: {ch} "
                             f"(in {raw!r}; write it as \\{ch})")
        else:
            out.append(ch)
    if escaped:
        raise BadRequest("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _escape_field_value(v: str) -> str:
    return v.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


_FIELD_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")


def parse_field_selector(s: str | None) -> FieldSelector:
    """Parse `metadata.name=web,status.phase!=Running`; "" and None select everything."""
    reqs: list[FieldRequirement] = []
    for term in sorted(_split_unescaped(s or "", ",")):
        if not term.strip():
            continue
        m = re.search(r"!=|==|=", term)
        if m is None:
            raise BadRequest(f"invalid selector: '{s}'; can't understand '{term}'")
        field, raw = term[: m.start()].strip(), term[m.end():].strip()
        if not field:
            raise BadRequest(f"invalid selector: '{s}'; can't understand '{term}': missing field name")
        if not _FIELD_RE.match(field):
            raise BadRequest(f"invalid selector: '{s}'; '{field}' is not a field path like metadata.name")
        op = Operator.NOT_EQUALS if m.group() == "!=" else Operator.EQUALS
        reqs.append(FieldRequirement(field, op, _unescape_field_value(raw)))
    return FieldSelector(tuple(reqs))
