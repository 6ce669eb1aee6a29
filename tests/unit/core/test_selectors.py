"""Label and field selectors: the Kubernetes string grammar, the spec form, matching, errors."""

from __future__ import annotations

import pytest

from core.errors import BadRequest
from core.selectors import (
    FieldRequirement,
    FieldSelector,
    LabelSelector,
    Operator,
    Requirement,
    field_value,
    parse_field_selector,
    parse_label_selector,
)

# --- parsing label selector strings ---


@pytest.mark.parametrize(("text", "expected"), [
    ("app=demo", [Requirement("app", Operator.EQUALS, ("demo",))]),
    ("app==demo", [Requirement("app", Operator.DOUBLE_EQUALS, ("demo",))]),
    ("app!=demo", [Requirement("app", Operator.NOT_EQUALS, ("demo",))]),
    ("tier in (web,db)", [Requirement("tier", Operator.IN, ("db", "web"))]),
    ("tier notin (x)", [Requirement("tier", Operator.NOT_IN, ("x",))]),
    ("canary", [Requirement("canary", Operator.EXISTS)]),
    ("!canary", [Requirement("canary", Operator.DOES_NOT_EXIST)]),
    ("replicas>2", [Requirement("replicas", Operator.GREATER_THAN, ("2",))]),
    ("replicas<10", [Requirement("replicas", Operator.LESS_THAN, ("10",))]),
    ("app.kubernetes.io/name=web", [Requirement("app.kubernetes.io/name", Operator.EQUALS, ("web",))]),
    ("example.com/My_Key-1.x=V.1_a-b", [Requirement("example.com/My_Key-1.x", Operator.EQUALS, ("V.1_a-b",))]),
    ("app=", [Requirement("app", Operator.EQUALS, ("",))]),
    ("app=,tier", [Requirement("app", Operator.EQUALS, ("",)), Requirement("tier", Operator.EXISTS)]),
    ("k=in", [Requirement("k", Operator.EQUALS, ("in",))]),
    ("k in (in,notin)", [Requirement("k", Operator.IN, ("in", "notin"))]),
    ("k in (a,)", [Requirement("k", Operator.IN, ("", "a"))]),
    ("k in (,a)", [Requirement("k", Operator.IN, ("", "a"))]),
    ("k in (a,,b)", [Requirement("k", Operator.IN, ("", "a", "b"))]),
    ("k in (b,a,b)", [Requirement("k", Operator.IN, ("a", "b"))]),
])
def test_parse_label_selector_reads_each_operator(text: str, expected: list[Requirement]) -> None:
    assert parse_label_selector(text).requirements == tuple(expected)


def test_parse_label_selector_sorts_requirements_by_key() -> None:
    sel = parse_label_selector("tier notin (x),app=demo,!canary")
    assert [r.key for r in sel.requirements] == ["app", "canary", "tier"]


@pytest.mark.parametrize("text", [
    "app=demo,tier notin (x)",
    "  app = demo ,  tier   notin   ( x )  ",
    "app=demo,\ttier notin (x)\n",
    "tier notin (x),app=demo",
    "tier notin(x),app=demo",
])
def test_parse_label_selector_tolerates_whitespace_and_order(text: str) -> None:
    assert str(parse_label_selector(text)) == "app=demo,tier notin (x)"


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_label_selector_string_selects_everything(text: str | None) -> None:
    sel = parse_label_selector(text)
    assert sel.empty
    assert sel.requirements == ()
    assert sel.matches({}) and sel.matches(None) and sel.matches({"a": "b"})
    assert str(sel) == ""


@pytest.mark.parametrize(("text", "canonical"), [
    ("app=demo", "app=demo"),
    ("app==demo", "app==demo"),
    ("app!=demo", "app!=demo"),
    ("tier in (web, db)", "tier in (db,web)"),
    ("tier notin (x)", "tier notin (x)"),
    ("canary", "canary"),
    ("! canary", "!canary"),
    ("n > 5", "n>5"),
    ("n<5", "n<5"),
    ("b=2,a=1,c", "a=1,b=2,c"),
    ("k in (a,)", "k in (,a)"),
])
def test_label_selector_str_is_canonical(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical
    assert str(parse_label_selector(canonical)) == canonical  # round-trips


# --- matching ---

LABELS = {"app": "demo", "tier": "web", "n": "7", "empty": ""}


@pytest.mark.parametrize(("text", "selected"), [
    ("app=demo", True),
    ("app==demo", True),
    ("app=other", False),
    ("missing=x", False),
    ("app!=demo", False),
    ("app!=other", True),
    ("missing!=x", True),  # != selects objects without the label
    ("tier in (web,db)", True),
    ("tier in (db)", False),
    ("missing in (x)", False),
    ("tier notin (web)", False),
    ("tier notin (db)", True),
    ("missing notin (x)", True),  # notin selects objects without the label
    ("app", True),
    ("missing", False),
    ("!app", False),
    ("!missing", True),
    ("empty=", True),
    ("empty", True),
    ("app=", False),
    ("n>5", True),
    ("n>7", False),
    ("n<8", True),
    ("n<7", False),
    ("app>1", False),  # non-integer label values never satisfy gt/lt
    ("missing>1", False),
    ("app=demo,tier=web", True),
    ("app=demo,tier=db", False),
    ("app=demo,!canary,tier notin (x)", True),
])
def test_label_selector_matches(text: str, selected: bool) -> None:
    assert parse_label_selector(text).matches(LABELS) is selected


def test_label_selector_treats_missing_labels_as_empty_map() -> None:
    assert parse_label_selector("!a,b!=c,d notin (e)").matches(None)
    assert not parse_label_selector("a").matches(None)


# --- errors ---


@pytest.mark.parametrize(("text", "message"), [
    ("a in b", "unable to parse requirement: found 'b', expected: '('"),
    ("a in (x", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a in (x y)", "unable to parse requirement: found 'y', expected: ',' or ')'"),
    ("a in ()", "unable to parse requirement: values: Invalid value: []: "
                "for 'in', 'notin' operators, values set can't be empty"),
    ("a notin ()", "unable to parse requirement: values: Invalid value: []: "
                   "for 'in', 'notin' operators, values set can't be empty"),
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("a=b=c", "found '=', expected: ',' or 'end of string'"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("a,", "found '', expected: identifier after ','"),
    ("a,,b", "found ',', expected: identifier after ','"),
    ("=a", "found '=', expected: !, identifier, or 'end of string'"),
    (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("in=x", "unable to parse requirement: found 'in', expected: identifier"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("a=(", "unable to parse requirement: found '(', expected: identifier"),
    ("a>b", "unable to parse requirement: values[0]: Invalid value: \"b\": "
            "for 'Gt', 'Lt' operators, the value must be an integer"),
    ("/a=1", 'unable to parse requirement: key: Invalid value: "/a": prefix part must be non-empty'),
    ("a/=1", 'unable to parse requirement: key: Invalid value: "a/": name part must be non-empty'),
])
def test_bad_label_selector_syntax_is_a_bad_request(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_label_selector(text)
    assert info.value.message == message
    assert info.value.code == 400


@pytest.mark.parametrize(("text", "fragment"), [
    ("-a=1", 'key: Invalid value: "-a": name part must consist of alphanumeric characters'),
    ("a" * 64 + "=1", "name part must be no more than 63 characters"),
    ("A.com/b=1", "prefix part a lowercase RFC 1123 subdomain"),
    ("a/b/c=1", "a qualified name must consist of alphanumeric characters"),
    ("a=-x", 'values[0][a]: Invalid value: "-x": a valid label must be an empty string'),
    ("a=" + "v" * 64, "must be no more than 63 characters"),
    ("a in (ok,bad!)", "found '!', expected: ',' or ')'"),
    ("a in (ok,-bad)", 'Invalid value: "-bad"'),
])
def test_invalid_label_keys_and_values_are_rejected(text: str, fragment: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_label_selector(text)
    assert info.value.message.startswith("unable to parse requirement: ")
    assert fragment in info.value.message


# --- the spec form (metav1.LabelSelector) ---


def test_from_spec_match_labels_gives_equality_requirements_sorted_by_key() -> None:
    sel = LabelSelector.from_spec({"matchLabels": {"tier": "web", "app": "demo"}})
    assert sel.requirements == (
        Requirement("app", Operator.EQUALS, ("demo",)),
        Requirement("tier", Operator.EQUALS, ("web",)),
    )
    assert str(sel) == "app=demo,tier=web"
    assert not sel.empty


def test_from_spec_match_expressions_support_all_four_operators() -> None:
    sel = LabelSelector.from_spec({
        "matchLabels": {"app": "demo"},
        "matchExpressions": [
            {"key": "tier", "operator": "NotIn", "values": ["x"]},
            {"key": "env", "operator": "In", "values": ["prod", "dev"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "owner", "operator": "Exists", "values": []},
        ],
    })
    assert str(sel) == "app=demo,!canary,env in (dev,prod),owner,tier notin (x)"
    assert sel.matches({"app": "demo", "env": "dev", "owner": "me"})
    assert not sel.matches({"app": "demo", "env": "dev", "owner": "me", "canary": "1"})
    assert not sel.matches({"app": "demo", "env": "qa", "owner": "me"})
    assert not sel.matches({"app": "demo", "env": "dev", "owner": "me", "tier": "x"})
    assert not sel.matches({"app": "demo", "env": "dev"})


def test_scale_status_selector_string_comes_from_the_spec() -> None:
    spec = {"matchLabels": {"app": "demo"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["x"]}]}
    assert str(LabelSelector.from_spec(spec)) == "app=demo,tier notin (x)"
    assert parse_label_selector(str(LabelSelector.from_spec(spec))) == LabelSelector.from_spec(spec)


@pytest.mark.parametrize("spec", [None, {}, {"matchLabels": {}}, {"matchLabels": None, "matchExpressions": []}])
def test_from_spec_none_or_empty_selects_everything_and_says_so(spec: dict[str, object] | None) -> None:
    sel = LabelSelector.from_spec(spec)
    assert sel.empty
    assert sel.matches({"anything": "at-all"})
    assert sel.matches(None)
    assert str(sel) == ""


def test_from_labels_builds_a_map_style_selector() -> None:
    sel = LabelSelector.from_labels({"app": "demo"})
    assert sel == parse_label_selector("app=demo")
    assert LabelSelector.from_labels(None).empty


@pytest.mark.parametrize(("spec", "fragment"), [
    ({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]},
     'matchExpressions[0].operator: Unsupported value: "Equals"'),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, "values set can't be empty"),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn"}]}, "values set can't be empty"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
     "values set must be empty for exists and does not exist"),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": "x"}]}, "must be a list of strings"),
    ({"matchExpressions": ["a"]}, "matchExpressions[0]: must be an object"),
    ({"matchExpressions": [{"key": "bad key", "operator": "Exists"}]}, 'key: Invalid value: "bad key"'),
    ({"matchLabels": {"app": 3}}, "label values must be strings"),
    ({"matchLabels": {"app": "bad value"}}, 'Invalid value: "bad value"'),
])
def test_from_spec_rejects_invalid_selectors(spec: dict[str, object], fragment: str) -> None:
    with pytest.raises(BadRequest) as info:
        LabelSelector.from_spec(spec)
    assert fragment in info.value.message


# --- field selectors ---

POD = {
    "metadata": {"name": "web-1", "namespace": "default", "uid": "u-1"},
    "spec": {"nodeName": "node-a", "schedulerName": "default-scheduler", "priority": 0},
    "status": {"phase": "Running", "podIP": "10.0.0.7"},
}
NODE = {"metadata": {"name": "node-a"}, "spec": {"unschedulable": True}}
EVENT = {
    "metadata": {"name": "web-1.17f", "namespace": "default"},
    "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default", "uid": "u-1"},
    "type": "Warning",
    "reason": "BackOff",
}


@pytest.mark.parametrize(("text", "expected"), [
    ("metadata.name=web", (FieldRequirement("metadata.name", Operator.EQUALS, "web"),)),
    ("metadata.name==web", (FieldRequirement("metadata.name", Operator.EQUALS, "web"),)),
    ("status.phase!=Running", (FieldRequirement("status.phase", Operator.NOT_EQUALS, "Running"),)),
    ("spec.nodeName=", (FieldRequirement("spec.nodeName", Operator.EQUALS, ""),)),
    (" metadata.name = web ", (FieldRequirement("metadata.name", Operator.EQUALS, "web"),)),
    ("b=2,a=1", (FieldRequirement("a", Operator.EQUALS, "1"), FieldRequirement("b", Operator.EQUALS, "2"))),
    ("a=1,", (FieldRequirement("a", Operator.EQUALS, "1"),)),
    (r"a=x\,y\=z\\w", (FieldRequirement("a", Operator.EQUALS, "x,y=z\\w"),)),
])
def test_parse_field_selector(text: str, expected: tuple[FieldRequirement, ...]) -> None:
    assert parse_field_selector(text).requirements == expected


@pytest.mark.parametrize("text", ["", None, " , "])
def test_empty_field_selector_selects_everything(text: str | None) -> None:
    sel = parse_field_selector(text)
    assert sel.empty
    assert sel.matches(POD)
    assert str(sel) == ""


@pytest.mark.parametrize(("obj", "text", "selected"), [
    (POD, "metadata.name=web-1", True),
    (POD, "metadata.name=web-2", False),
    (POD, "metadata.name=web-1,metadata.namespace=default", True),
    (POD, "metadata.name=web-1,metadata.namespace=kube-system", False),
    (POD, "spec.nodeName=node-a", True),
    (POD, "spec.nodeName!=node-a", False),
    (POD, "spec.nodeName!=", True),  # scheduled pods
    (POD, "status.phase!=Succeeded,status.phase!=Failed", True),
    (POD, "status.podIP=10.0.0.7", True),
    (POD, "spec.schedulerName=default-scheduler", True),
    (POD, "spec.priority=0", True),  # numbers compare by their string form
    (POD, "spec.missing=", True),  # a missing field reads as ""
    (POD, "spec.missing!=", False),
    (POD, "metadata.name.deeper=", True),  # a path through a string is missing too
    (POD, "spec=", True),  # objects are not selectable: they read as ""
    ({"metadata": {"name": "pending"}, "spec": {}}, "spec.nodeName=", True),  # unscheduled pods
    (NODE, "spec.unschedulable=true", True),
    (NODE, "spec.unschedulable=True", False),
    (NODE, "spec.unschedulable!=true", False),
    ({"metadata": {"name": "n"}, "spec": {"unschedulable": False}}, "spec.unschedulable=false", True),
    ({"metadata": {"name": "n"}}, "spec.unschedulable=false", False),
    ({"metadata": {"name": "ns"}}, "metadata.namespace=", True),  # cluster-scoped
    (EVENT, "involvedObject.name=web-1,involvedObject.namespace=default,involvedObject.uid=u-1", True),
    (EVENT, "involvedObject.kind=Deployment", False),
    (EVENT, "involvedObject.kind=Pod,type=Warning,reason=BackOff", True),
    (EVENT, "type!=Normal", True),
])
def test_field_selector_matches(obj: dict[str, object], text: str, selected: bool) -> None:
    assert parse_field_selector(text).matches(obj) is selected


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (True, "true"), (False, "false"), (3, "3"), (3.0, "3"), (2.5, "2.5"), ("x", "x"),
    ({"a": 1}, ""), ([1], ""),
])
def test_field_value_uses_kubernetes_string_forms(value: object, text: str) -> None:
    assert field_value({"f": value}, "f") == text


def test_exact_returns_the_equality_value_for_narrowing_lookups() -> None:
    sel = parse_field_selector("metadata.namespace=default,metadata.name==web-1,status.phase!=Failed")
    assert sel.exact("metadata.name") == "web-1"
    assert sel.exact("metadata.namespace") == "default"
    assert sel.exact("status.phase") is None  # only `!=`
    assert sel.exact("spec.nodeName") is None
    assert parse_field_selector("").exact("metadata.name") is None


def test_field_selector_reports_the_fields_it_names() -> None:
    sel = parse_field_selector("metadata.name=a,status.phase!=b,metadata.name!=c")
    assert sel.fields == frozenset({"metadata.name", "status.phase"})


def test_field_selector_str_sorts_terms_and_escapes_values() -> None:
    sel = parse_field_selector(r"status.phase!=Failed,metadata.name=a\,b")
    assert str(sel) == r"metadata.name=a\,b,status.phase!=Failed"
    assert parse_field_selector(str(sel)) == sel


@pytest.mark.parametrize(("text", "message"), [
    ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    ("a=1,b", "invalid selector: 'a=1,b'; can't understand 'b'"),
    ("=web", "invalid selector: '=web'; can't understand '=web': missing field name"),
    ("metadata name=x", "invalid selector: 'metadata name=x'; 'metadata name' is not a field path like metadata.name"),
    ("a!!=x", "invalid selector: 'a!!=x'; 'a!' is not a field path like metadata.name"),
    (r"a=b\x", "invalid field selector: invalid escape sequence: \\x"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
    ("a=b=c", "invalid field selector: unescaped character in value: = (in 'b=c'; write it as \\=)"),
])
def test_bad_field_selector_is_a_bad_request(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_field_selector(text)
    assert info.value.message == message


def test_selectors_are_values() -> None:
    assert parse_label_selector("a=1,b") == parse_label_selector("b, a=1")
    assert hash(parse_label_selector("a=1")) == hash(parse_label_selector("a=1"))
    assert parse_field_selector("a=1") == FieldSelector((FieldRequirement("a", Operator.EQUALS, "1"),))


@pytest.mark.parametrize(("operator", "values", "fragment"), [
    (Operator.EQUALS, [], "exact-match compatibility requires one single value"),
    (Operator.NOT_EQUALS, ["a", "b"], "exact-match compatibility requires one single value"),
    (Operator.GREATER_THAN, ["1", "2"], "for 'Gt', 'Lt' operators, exactly one value is required"),
    (Operator.LESS_THAN, [], "for 'Gt', 'Lt' operators, exactly one value is required"),
    (Operator.DOES_NOT_EXIST, ["x"], "values set must be empty for exists and does not exist"),
])
def test_requirement_build_checks_value_counts(operator: Operator, values: list[str], fragment: str) -> None:
    with pytest.raises(BadRequest) as info:
        Requirement.build("a", operator, values)
    assert fragment in info.value.message


def test_from_spec_rejects_a_non_object() -> None:
    with pytest.raises(BadRequest) as info:
        LabelSelector.from_spec("app=demo")  # type: ignore[arg-type]
    assert info.value.message == "label selector must be an object, got str"
