"""Taint/toleration matching and node affinity parsing and matching."""

from __future__ import annotations

import pytest

from core.nodeaffinity import NO_AFFINITY, parse_node_affinity, parse_term
from components.scheduler.taints import (Taint, Toleration, count_untolerated, first_untolerated, parse_taints,
                                         parse_tolerations, prefer_tolerations, tolerates)
from tests.unit.scheduler.helpers import expr, required

T = Taint("dedicated", "gpu", "NoSchedule")


@pytest.mark.parametrize("tol,ok", [
    (Toleration("dedicated", "Equal", "gpu", "NoSchedule"), True),
    (Toleration("dedicated", "", "gpu", "NoSchedule"), True),  # empty operator means Equal
    (Toleration("dedicated", "Equal", "cpu", "NoSchedule"), False),
    (Toleration("dedicated", "Exists", "", "NoSchedule"), True),
    (Toleration("dedicated", "Exists", "", ""), True),  # empty effect: every effect
    (Toleration("dedicated", "Exists", "", "NoExecute"), False),
    (Toleration("other", "Exists", "", "NoSchedule"), False),
    (Toleration("", "Exists", "", ""), True),  # empty key with Exists: everything
    (Toleration("", "Exists", "", "NoExecute"), False),
    (Toleration("dedicated", "Gt", "gpu", "NoSchedule"), False),  # unknown operator tolerates nothing
    (Toleration("dedicated", "Equal", "", "NoSchedule"), False),
])
def test_toleration_matches_taint(tol: Toleration, ok: bool) -> None:
    assert tolerates(tol, T) is ok


def test_empty_taint_value_matches_equal_with_empty_value() -> None:
    assert tolerates(Toleration("k", "Equal", "", "NoSchedule"), Taint("k", "", "NoSchedule"))


def test_parsing_taints_and_tolerations() -> None:
    assert parse_taints([{"key": "a", "effect": "NoSchedule"}, {"key": "b", "value": "v", "effect": "NoExecute",
                                                               "timeAdded": "2024-01-01T00:00:00Z"}, "junk"]) == (
        Taint("a", "", "NoSchedule"), Taint("b", "v", "NoExecute"))
    assert parse_taints(None) == ()
    assert parse_tolerations([{"operator": "Exists"}, {"key": "k", "value": "v", "tolerationSeconds": 5}]) == (
        Toleration("", "Exists", "", ""), Toleration("k", "", "v", ""))
    assert parse_tolerations("nope") == ()


def test_first_and_count_untolerated_keep_node_order() -> None:
    taints = (Taint("a", "", "NoSchedule"), Taint("b", "", "NoSchedule"), Taint("c", "", "NoExecute"))
    tols = (Toleration("a", "Exists", "", ""),)
    assert first_untolerated(taints, tols) == Taint("b", "", "NoSchedule")
    assert first_untolerated(taints, (Toleration("", "Exists", "", ""),)) is None
    assert count_untolerated(taints, tols) == 2
    assert first_untolerated((), ()) is None


def test_prefer_tolerations_keep_empty_and_prefer_effects() -> None:
    tols = (Toleration("a", "Exists", "", ""), Toleration("b", "Exists", "", "PreferNoSchedule"),
            Toleration("c", "Exists", "", "NoSchedule"))
    assert prefer_tolerations(tols) == tols[:2]


# -- node affinity -------------------------------------------------------------------------------
LABELS = {"zone": "a", "disk": "ssd", "cores": "8", "weird": "x8"}


@pytest.mark.parametrize("req,ok", [
    (expr("zone", "In", "a", "b"), True),
    (expr("zone", "In", "b"), False),
    (expr("missing", "In", "a"), False),
    (expr("zone", "NotIn", "b"), True),
    (expr("zone", "NotIn", "a"), False),
    (expr("missing", "NotIn", "a"), True),  # NotIn holds when the label is absent
    (expr("disk", "Exists"), True),
    (expr("missing", "Exists"), False),
    (expr("missing", "DoesNotExist"), True),
    (expr("disk", "DoesNotExist"), False),
    (expr("cores", "Gt", "4"), True),
    (expr("cores", "Gt", "8"), False),
    (expr("cores", "Lt", "16"), True),
    (expr("cores", "Lt", "8"), False),
    (expr("weird", "Gt", "1"), False),  # the label is not an integer
    (expr("missing", "Lt", "100"), False),
])
def test_label_operators(req: dict, ok: bool) -> None:
    assert parse_term({"matchExpressions": [req]}).matches(LABELS, "n1") is ok


@pytest.mark.parametrize("req", [
    expr("zone", "In"),  # In needs values
    expr("zone", "Exists", "a"),  # Exists takes none
    expr("cores", "Gt", "1", "2"),  # Gt takes exactly one
    expr("cores", "Gt", "x"),  # ... integer
    expr("zone", "Like", "a"),
    {"operator": "In", "values": ["a"]},
])
def test_a_term_with_an_invalid_requirement_matches_nothing(req: dict) -> None:
    term = parse_term({"matchExpressions": [expr("zone", "In", "a"), req]})
    assert not term.valid and not term.matches(LABELS, "n1")


def test_requirements_in_a_term_are_anded_and_an_empty_term_matches_nothing() -> None:
    assert parse_term({"matchExpressions": [expr("zone", "In", "a"), expr("disk", "In", "ssd")]}).matches(LABELS, "n")
    assert not parse_term({"matchExpressions": [expr("zone", "In", "a"), expr("disk", "In", "hdd")]}).matches(
        LABELS, "n")
    assert not parse_term({}).matches(LABELS, "n")
    assert not parse_term({"matchExpressions": []}).matches(LABELS, "n")
    assert not parse_term(None).matches(LABELS, "n")


def test_match_fields_knows_metadata_name() -> None:
    t = parse_term({"matchFields": [expr("metadata.name", "In", "n1")]})
    assert t.matches({}, "n1") and not t.matches({}, "n2")
    t = parse_term({"matchFields": [expr("metadata.name", "NotIn", "n1")]})
    assert not t.matches({}, "n1") and t.matches({}, "n2")
    assert not parse_term({"matchFields": [expr("metadata.uid", "In", "x")]}).valid
    assert not parse_term({"matchFields": [expr("metadata.name", "In", "a", "b")]}).valid
    assert not parse_term({"matchFields": [expr("metadata.name", "Exists")]}).valid
    both = parse_term({"matchExpressions": [expr("zone", "In", "a")], "matchFields": [expr("metadata.name", "In", "n1")]})
    assert both.matches(LABELS, "n1") and not both.matches(LABELS, "n2") and not both.matches({}, "n1")


def test_required_terms_are_ored_and_node_selector_anded() -> None:
    spec = {"nodeSelector": {"disk": "ssd"},
            "affinity": required({"matchExpressions": [expr("zone", "In", "b")]},
                                 {"matchExpressions": [expr("cores", "Gt", "4")]})}
    aff = parse_node_affinity(spec)
    assert aff.filters and aff.matches(LABELS, "n1")
    assert not aff.matches({**LABELS, "disk": "hdd"}, "n1")
    assert not aff.matches({**LABELS, "cores": "2"}, "n1")
    assert aff.matches({**LABELS, "cores": "2", "zone": "b"}, "n1")


def test_node_selector_alone_and_no_affinity() -> None:
    aff = parse_node_affinity({"nodeSelector": {"zone": "a"}})
    assert aff.filters and aff.required is None and aff.matches(LABELS, "x") and not aff.matches({}, "x")
    assert parse_node_affinity({}) is NO_AFFINITY and not NO_AFFINITY.filters
    assert NO_AFFINITY.matches({}, "x")


def test_required_with_no_terms_matches_nothing() -> None:
    aff = parse_node_affinity({"affinity": required()})
    assert aff.filters and not aff.matches(LABELS, "n1")


def test_preferred_terms_sum_matching_weights() -> None:
    spec = {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [expr("zone", "In", "a")]}},
        {"weight": 5, "preference": {"matchExpressions": [expr("disk", "In", "ssd")]}},
        {"weight": 7, "preference": {}},  # an empty preference matches nothing
        {"weight": 0, "preference": {"matchExpressions": [expr("zone", "In", "a")]}},  # weight 0: ignored
    ]}}}
    aff = parse_node_affinity(spec)
    assert not aff.filters
    assert aff.preference(LABELS, "n") == 15
    assert aff.preference({"zone": "a"}, "n") == 10
    assert aff.preference({}, "n") == 0


@pytest.mark.parametrize("terms,names", [
    ([{"matchFields": [expr("metadata.name", "In", "n1")]}], {"n1"}),
    ([{"matchFields": [expr("metadata.name", "In", "n1")]}, {"matchFields": [expr("metadata.name", "In", "n2")]}],
     {"n1", "n2"}),
    ([{"matchFields": [expr("metadata.name", "In", "n1")]}, {"matchExpressions": [expr("zone", "In", "a")]}], None),
    ([{"matchFields": [expr("metadata.name", "In", "n1"), expr("metadata.name", "In", "n2")]}], set()),
    ([{"matchFields": [expr("metadata.name", "NotIn", "n1")]}], None),
    ([], None),
])
def test_prefilter_names_from_match_fields(terms: list, names: set | None) -> None:
    aff = parse_node_affinity({"affinity": required(*terms)})
    assert aff.names == (frozenset(names) if names is not None else None)
