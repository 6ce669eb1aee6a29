"""core.taints: toleration matching as Kubernetes' ToleratesTaint, and eviction delays."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.taints import (
    matching_toleration,
    parse_time,
    same_taint,
    time_added,
    toleration_matches,
    toleration_seconds,
    tolerates,
    untolerated,
)

UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
GPU = {"key": "gpu", "value": "a100", "effect": "NoSchedule"}


@pytest.mark.parametrize(("toleration", "taint", "expected"), [
    ({"key": "gpu", "operator": "Equal", "value": "a100", "effect": "NoSchedule"}, GPU, True),
    ({"key": "gpu", "value": "a100", "effect": "NoSchedule"}, GPU, True),  # no operator means Equal
    ({"key": "gpu", "operator": "Equal", "value": "h100", "effect": "NoSchedule"}, GPU, False),
    ({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}, GPU, True),
    ({"key": "gpu", "operator": "Exists"}, GPU, True),  # empty effect: every effect
    ({"key": "gpu", "operator": "Exists", "effect": "NoExecute"}, GPU, False),
    ({"key": "cpu", "operator": "Exists"}, GPU, False),
    ({"operator": "Exists"}, GPU, True),  # empty key and Exists: every taint
    ({"operator": "Exists", "effect": "NoExecute"}, UNREACHABLE, True),
    ({"operator": "Exists", "effect": "NoSchedule"}, UNREACHABLE, False),
    ({"key": "gpu", "operator": "Lt", "value": "a100"}, GPU, False),  # unknown operator
    ({"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
      "tolerationSeconds": 300}, UNREACHABLE, True),
    ({"key": "node.kubernetes.io/unreachable", "operator": "Equal", "effect": "NoExecute"}, UNREACHABLE, True),
    ({"key": "node.kubernetes.io/unreachable", "operator": "Equal", "value": "x"}, UNREACHABLE, False),
])
def test_toleration_matches(toleration: dict, taint: dict, expected: bool) -> None:
    assert toleration_matches(toleration, taint) is expected


def test_first_matching_toleration_wins() -> None:
    first = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
    forever = {"operator": "Exists"}
    assert matching_toleration([{"key": "other", "operator": "Exists"}, first, forever], UNREACHABLE) is first
    assert toleration_seconds([first, forever], UNREACHABLE) == 5.0
    assert toleration_seconds([forever, first], UNREACHABLE) is None
    assert matching_toleration(None, UNREACHABLE) is None
    assert tolerates([forever], UNREACHABLE) and not tolerates([], UNREACHABLE)


@pytest.mark.parametrize(("tolerations", "expected"), [
    ([], 0.0),
    (None, 0.0),
    ([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}], None),
    ([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
       "tolerationSeconds": 2}], 2.0),
    ([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
       "tolerationSeconds": 0}], 0.0),
    ([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
       "tolerationSeconds": -7}], 0.0),
    ([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
       "tolerationSeconds": 300}], 0.0),
])
def test_toleration_seconds(tolerations: list | None, expected: float | None) -> None:
    assert toleration_seconds(tolerations, UNREACHABLE) == expected


def test_untolerated_filters_by_effect() -> None:
    prefer = {"key": "soft", "effect": "PreferNoSchedule"}
    taints = [GPU, UNREACHABLE, prefer]
    assert untolerated(taints, []) == [GPU, UNREACHABLE]
    assert untolerated(taints, [{"key": "gpu", "operator": "Exists"}]) == [UNREACHABLE]
    assert untolerated(taints, [{"operator": "Exists"}]) == []
    assert untolerated(taints, [], effects=("PreferNoSchedule",)) == [prefer]
    assert untolerated(None, None) == []


def test_times_and_identity() -> None:
    utc = timezone.utc
    assert time_added({"timeAdded": "2024-01-01T00:00:05Z"}) == datetime(2024, 1, 1, 0, 0, 5, tzinfo=utc)
    assert time_added({}) is None
    assert time_added({"timeAdded": "yesterday"}) is None
    assert parse_time("2024-01-01T00:00:05") == datetime(2024, 1, 1, 0, 0, 5, tzinfo=utc)
    assert parse_time("2024-01-01T00:00:05.123456Z") == datetime(2024, 1, 1, 0, 0, 5, 123456, tzinfo=utc)
    assert parse_time(None) is None
    assert same_taint({"key": "a", "value": "1", "effect": "NoSchedule"}, {"key": "a", "value": "2", "effect": "NoSchedule"})
    assert not same_taint({"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoExecute"})
