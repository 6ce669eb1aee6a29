"""The building blocks: Kubernetes string formats, quantities, cron schedules, Go value printing."""

from __future__ import annotations

from fractions import Fraction

import pytest

from core.schema import formats
from core.schema.causes import go_label_selector, go_quote, go_repr, go_string_map, invalid, not_supported, required
from core.schema.cron import schedule_error
from core.schema.quantity import QuantityError, canonical, parse_quantity


@pytest.mark.parametrize(("value", "ok"), [
    ("web", True), ("a" * 63, True), ("a" * 64, False), ("1abc", True), ("Web", False), ("-a", False),
    ("a-", False), ("a.b", False), ("", False),
])
def test_dns1123_label(value: str, ok: bool) -> None:
    assert (formats.is_dns1123_label(value) == []) is ok


def test_dns1035_and_subdomain() -> None:
    assert formats.is_dns1035_label("web-1") == []
    assert formats.is_dns1035_label("1web") == [formats.DNS1035_LABEL_ERROR]
    assert formats.is_dns1123_subdomain("a.b-c.d") == []
    assert formats.is_dns1123_subdomain("a..b") == [formats.DNS1123_SUBDOMAIN_ERROR]
    assert formats.is_dns1123_subdomain("a\n") == [formats.DNS1123_SUBDOMAIN_ERROR]
    assert formats.name_is_dns_subdomain("web-", True) == []  # generateName prefix
    assert formats.name_is_dns_subdomain("web-", False) != []


def test_qualified_names() -> None:
    assert formats.is_qualified_name("example.com/My_Name.1") == []
    assert formats.is_qualified_name("a/b/c")[0].startswith("a qualified name must consist of")
    assert formats.is_qualified_name("Example.com/x") == ["prefix part " + formats.DNS1123_SUBDOMAIN_ERROR]
    assert formats.is_qualified_name("x" * 64) == ["name part must be no more than 63 characters"]


def test_port_names_percent_config_keys_ips() -> None:
    assert formats.is_valid_port_name("http") == []
    assert formats.is_valid_port_name("-a--b") == ["must not contain consecutive hyphens",
                                                   "must not begin or end with a hyphen"]
    assert formats.is_valid_percent("25%") == []
    assert formats.is_valid_percent("25") != []
    assert formats.is_config_map_key("..x") == ["must not start with '..'"]
    assert formats.is_valid_ip("10.0.0.1") == [] and formats.is_valid_ip("010.0.0.1") != []
    assert formats.is_valid_cidr("10.0.0.0/8") == [] and formats.is_valid_cidr("10.0.0.0") != []


@pytest.mark.parametrize(("text", "value", "rendered"), [
    ("0", Fraction(0), "0"), ("500m", Fraction(1, 2), "500m"), ("0.5", Fraction(1, 2), "500m"),
    ("1", Fraction(1), "1"), ("1000m", Fraction(1), "1"), ("1.5", Fraction(3, 2), "1500m"),
    ("1Gi", Fraction(2**30), "1Gi"), ("1024Ki", Fraction(2**20), "1Mi"), ("1536Ki", Fraction(1536 * 1024), "1536Ki"),
    ("100Mi", Fraction(100 * 2**20), "100Mi"), ("1e3", Fraction(1000), "1e3"), ("2k", Fraction(2000), "2k"),
    ("128974848", Fraction(128974848), "128974848"), ("-1", Fraction(-1), "-1"), ("+2", Fraction(2), "2"),
    ("0.1n", Fraction(1, 10**10), "1n"), ("12E", Fraction(12 * 10**18), "12E"), ("1.", Fraction(1), "1"),
    (3, Fraction(3), "3"), (0.25, Fraction(1, 4), "250m"),
])
def test_quantities(text: str | int | float, value: Fraction, rendered: str) -> None:
    q = parse_quantity(text)
    assert q.value == value
    assert canonical(q) == rendered


@pytest.mark.parametrize("text", ["", "abc", "1Gx", "1.2.3", "--1", "1 Gi", True])
def test_bad_quantities(text: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(("spec", "error"), [
    ("*/5 * * * *", None), ("0 0 1 jan,jul *", None), ("0 9-17 * * MON-FRI", None), ("@daily", None),
    ("@every 1h30m", None), ("15 2 ? * sun", None), ("CRON_TZ=UTC 0 * * * *", None),
    ("", "empty spec string"), ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("60 * * * *", "end of range (60) above maximum (59): 60"),
    ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("a * * * *", 'failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax'),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"), ("1/2/3 * * * *", "too many slashes: 1/2/3"),
    ("@fortnightly", "unrecognized descriptor: @fortnightly"),
    ("@every soon", 'failed to parse duration @every soon: time: invalid duration "soon"'),
])
def test_cron_schedules(spec: str, error: str | None) -> None:
    assert schedule_error(spec) == error


def test_go_printing() -> None:
    assert go_quote('a"b\\c\n\x01é') == '"a\\"b\\\\c\\n\\x01é"'
    assert go_repr(None) == "null" and go_repr(True) == "true" and go_repr(3) == "3" and go_repr(1.5) == "1.5"
    assert go_repr(["a", "b"]) == '[]string{"a", "b"}'
    assert go_string_map({"b": "2", "a": "1"}) == 'map[string]string{"a":"1", "b":"2"}'
    assert go_string_map(None) == "map[string]string(nil)"
    assert go_label_selector({"matchExpressions": [{"key": "k", "operator": "In", "values": ["v"]}]}) == (
        "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{"
        'v1.LabelSelectorRequirement{Key:"k", Operator:"In", Values:[]string{"v"}}}}')


def test_cause_builders() -> None:
    assert required("spec.x").message == "Required value"
    assert required("spec.x", "why").message == "Required value: why"
    assert invalid("a", "v", "bad").reason == "FieldValueInvalid"
    assert not_supported("a", "x", ("A", "B")).message == 'Unsupported value: "x": supported values: "A", "B"'
