"""Node affinity: `spec.nodeSelector` and `spec.affinity.nodeAffinity`, parsed once per pod (the scheduler
filters and scores with it; the DaemonSet controller decides which nodes should run a pod).

Semantics are Kubernetes' (component-helpers `nodeaffinity`): node selector terms are ORed, the
requirements inside one term are ANDed; a term with no requirement, or with one that does not
parse, matches no node (the other terms still count). Label operators: In, NotIn (true when the
label is absent), Exists, DoesNotExist, Gt and Lt (the label and the single value both integers).
`matchFields` knows one field, `metadata.name`, with In or NotIn and exactly one value.
Preferred terms carry a weight; a node scores the sum of the weights of the terms it matches.
Pure: dicts in, booleans and integers out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

NAME_FIELD = "metadata.name"
_LABEL_OPS = frozenset({"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"})


class Requirement(NamedTuple):
    key: str
    operator: str
    values: frozenset[str]
    number: int  # the single value of Gt/Lt

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op == "In":
            return self.key in labels and labels[self.key] in self.values
        if op == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if op == "Exists":
            return self.key in labels
        if op == "DoesNotExist":
            return self.key not in labels
        if self.key not in labels:
            return False
        found = _int(labels[self.key])
        if found is None:
            return False
        return found > self.number if op == "Gt" else found < self.number


class Term(NamedTuple):
    """One NodeSelectorTerm; `valid` False (or no requirement at all) means it matches nothing."""

    labels: tuple[Requirement, ...]
    fields: tuple[Requirement, ...]
    valid: bool

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        if not self.valid or not (self.labels or self.fields):
            return False
        for r in self.labels:
            if not r.matches(labels):
                return False
        for r in self.fields:
            if not r.matches({NAME_FIELD: name}):
                return False
        return True


class Preferred(NamedTuple):
    weight: int
    term: Term


def _int(s: str) -> int | None:
    try:
        return int(s, 10)
    except ValueError:
        return None


def _label_requirement(raw: Any) -> Requirement | None:
    if not isinstance(raw, Mapping):
        return None
    key, op, values = raw.get("key"), raw.get("operator"), raw.get("values") or []
    if not isinstance(key, str) or op not in _LABEL_OPS or not isinstance(values, list):
        return None
    vals = [str(v) for v in values]
    if op in ("In", "NotIn"):
        if not vals:
            return None
        return Requirement(key, op, frozenset(vals), 0)
    if op in ("Exists", "DoesNotExist"):
        return None if vals else Requirement(key, op, frozenset(), 0)
    if len(vals) != 1 or _int(vals[0]) is None:
        return None
    return Requirement(key, op, frozenset(vals), _int(vals[0]) or 0)


def _field_requirement(raw: Any) -> Requirement | None:
    if not isinstance(raw, Mapping):
        return None
    key, op, values = raw.get("key"), raw.get("operator"), raw.get("values") or []
    if key != NAME_FIELD or op not in ("In", "NotIn") or not isinstance(values, list) or len(values) != 1:
        return None
    return Requirement(NAME_FIELD, op, frozenset(str(v) for v in values), 0)


def parse_term(raw: Any) -> Term:
    if not isinstance(raw, Mapping):
        return Term((), (), False)
    labels, fields, valid = [], [], True
    for r in raw.get("matchExpressions") or []:
        req = _label_requirement(r)
        if req is None:
            valid = False
        else:
            labels.append(req)
    for r in raw.get("matchFields") or []:
        req = _field_requirement(r)
        if req is None:
            valid = False
        else:
            fields.append(req)
    return Term(tuple(labels), tuple(fields), valid)


class NodeAffinity(NamedTuple):
    """What a pod requires of a node's labels and name, and what it prefers."""

    selector: tuple[tuple[str, str], ...]  # spec.nodeSelector, every pair must match
    required: tuple[Term, ...] | None  # None: no required node affinity
    preferred: tuple[Preferred, ...]
    names: frozenset[str] | None  # PreFilter: the only node names the required terms can match

    @property
    def filters(self) -> bool:
        return bool(self.selector) or self.required is not None

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        """The NodeAffinity filter: nodeSelector and required terms."""
        for k, v in self.selector:
            if labels.get(k) != v:
                return False
        if self.required is not None:
            return any(t.matches(labels, name) for t in self.required)
        return True

    def preference(self, labels: Mapping[str, str], name: str) -> int:
        """The NodeAffinity score before normalising: sum of matching preferred weights."""
        return sum(p.weight for p in self.preferred if p.term.matches(labels, name))


NO_AFFINITY = NodeAffinity((), None, (), None)


def parse_node_affinity(spec: Mapping[str, Any]) -> NodeAffinity:
    sel = spec.get("nodeSelector")
    selector = tuple(sorted((str(k), str(v)) for k, v in sel.items())) if isinstance(sel, Mapping) else ()
    na = ((spec.get("affinity") or {}).get("nodeAffinity") or {}) if isinstance(spec.get("affinity"), Mapping) else {}
    required: tuple[Term, ...] | None = None
    names: frozenset[str] | None = None
    req_raw = na.get("requiredDuringSchedulingIgnoredDuringExecution") if isinstance(na, Mapping) else None
    if isinstance(req_raw, Mapping):
        raw_terms = req_raw.get("nodeSelectorTerms") or []
        required = tuple(parse_term(t) for t in raw_terms)
        names = _prefilter_names(raw_terms)
    preferred: list[Preferred] = []
    pref_raw = na.get("preferredDuringSchedulingIgnoredDuringExecution") if isinstance(na, Mapping) else None
    for p in pref_raw or []:
        if isinstance(p, Mapping) and isinstance(p.get("weight"), int) and p["weight"]:
            preferred.append(Preferred(int(p["weight"]), parse_term(p.get("preference"))))
    if not selector and required is None and not preferred:
        return NO_AFFINITY
    return NodeAffinity(selector, required, tuple(preferred), names)


def _prefilter_names(raw_terms: list[Any]) -> frozenset[str] | None:
    """NodeAffinity's PreFilter: when every term pins `metadata.name In [...]`, only those nodes
    can match (the union over terms of each term's intersection). None: any node may match; an
    empty set: the terms conflict and no node can."""
    if not raw_terms:
        return None
    union: set[str] = set()
    for t in raw_terms:
        if not isinstance(t, Mapping):
            return None
        term_names: set[str] | None = None
        for r in t.get("matchFields") or []:
            if isinstance(r, Mapping) and r.get("key") == NAME_FIELD and r.get("operator") == "In":
                s = {str(v) for v in r.get("values") or []}
                term_names = s if term_names is None else term_names & s
        if term_names is None:
            return None
        union |= term_names
    return frozenset(union)
