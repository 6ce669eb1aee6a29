"""core.objdiff: the exact changes between two JSON values, their paths, and how they read."""

from __future__ import annotations

from core.objdiff import Change, ChangeKind, diff, field_path, render, render_change, show

A, R, C = ChangeKind.ADDED, ChangeKind.REMOVED, ChangeKind.CHANGED


def deployment(replicas: int = 3, image: str = "nginx:1.25", **labels: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web", **labels}},
            "spec": {"replicas": replicas,
                     "template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}


def test_equal_values_have_no_changes() -> None:
    assert diff(deployment(), deployment()) == []
    assert diff(None, None) == [] and diff([], []) == [] and diff({}, {}) == []


def test_a_changed_scalar_names_its_path_and_both_values() -> None:
    assert diff(deployment(3), deployment(5)) == [Change("spec.replicas", C, 3, 5)]


def test_nested_list_item_paths_use_the_index() -> None:
    changes = diff(deployment(image="nginx:1.25"), deployment(image="nginx:1.27"))
    assert changes == [Change("spec.template.spec.containers[0].image", C, "nginx:1.25", "nginx:1.27")]


def test_added_and_removed_keys() -> None:
    old = {"metadata": {"labels": {"app": "web", "old": "x"}}}
    new = {"metadata": {"labels": {"app": "web", "tier": "web"}}}
    assert diff(old, new) == [Change("metadata.labels.tier", A, None, "web"),
                              Change("metadata.labels.old", R, "x", None)]


def test_keys_that_are_not_identifiers_are_quoted_in_brackets() -> None:
    old: dict = {"metadata": {"labels": {}}}
    new = {"metadata": {"labels": {"app.kubernetes.io/name": "web", "plain-key": "v"}}}
    assert [c.path for c in diff(old, new)] == ['metadata.labels["app.kubernetes.io/name"]',
                                                "metadata.labels.plain-key"]
    assert field_path("", "a b") == '["a b"]'
    assert field_path("x", 2) == "x[2]"
    assert field_path("", "spec") == "spec"


def test_a_whole_subtree_added_is_one_change() -> None:
    assert diff({"spec": {}}, {"spec": {"strategy": {"type": "Recreate"}}}) == \
        [Change("spec.strategy", A, None, {"type": "Recreate"})]


def test_a_type_change_is_a_change_of_the_whole_value() -> None:
    assert diff({"a": {"b": 1}}, {"a": [1]}) == [Change("a", C, {"b": 1}, [1])]
    assert diff({"a": "3"}, {"a": 3}) == [Change("a", C, "3", 3)]
    assert diff({"a": None}, {"a": 0}) == [Change("a", C, None, 0)]


def test_true_is_not_one_but_one_is_one_point_zero() -> None:
    assert diff({"a": 1}, {"a": True}) == [Change("a", C, 1, True)]
    assert diff({"a": False}, {"a": 0}) == [Change("a", C, False, 0)]
    assert diff({"a": 1}, {"a": 1.0}) == []


def test_plain_lists_compare_by_position_and_length() -> None:
    assert diff({"args": ["a", "b"]}, {"args": ["a", "c", "d"]}) == [
        Change("args[1]", C, "b", "c"), Change("args[2]", A, None, "d")]
    assert diff({"args": ["a", "b", "c"]}, {"args": ["a"]}) == [
        Change("args[1]", R, "b", None), Change("args[2]", R, "c", None)]


def test_named_items_are_matched_by_name_not_position() -> None:
    old = {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}
    new = {"containers": [{"name": "sidecar", "image": "s"}, {"name": "a", "image": "x"},
                          {"name": "b", "image": "z"}]}
    assert diff(old, new) == [Change("containers[0]", A, None, {"name": "sidecar", "image": "s"}),
                              Change("containers[2].image", C, "y", "z")]


def test_conditions_are_matched_by_type_and_a_removed_one_keeps_its_old_index() -> None:
    old = {"status": {"conditions": [{"type": "Available", "status": "True"},
                                     {"type": "Progressing", "status": "True"}]}}
    new = {"status": {"conditions": [{"type": "Available", "status": "False"}]}}
    assert diff(old, new) == [
        Change("status.conditions[0].status", C, "True", "False"),
        Change("status.conditions[1]", R, {"type": "Progressing", "status": "True"}, None)]


def test_duplicate_names_fall_back_to_positions() -> None:
    old = {"l": [{"name": "a", "v": 1}, {"name": "a", "v": 2}]}
    new = {"l": [{"name": "a", "v": 1}, {"name": "a", "v": 3}]}
    assert diff(old, new) == [Change("l[1].v", C, 2, 3)]


def test_skip_drops_a_path_and_everything_under_it() -> None:
    old = {"metadata": {"managedFields": [{"manager": "a"}], "generation": 1}}
    new = {"metadata": {"managedFields": [{"manager": "b"}, {"manager": "c"}], "generation": 2}}
    assert diff(old, new, skip={"metadata.managedFields"}) == [Change("metadata.generation", C, 1, 2)]
    assert diff({"metadata": {}}, {"metadata": {"managedFields": []}}, skip={"metadata.managedFields"}) == []
    assert diff({"metadata": {"managedFields": []}}, {"metadata": {}}, skip={"metadata.managedFields"}) == []
    labels = {"metadata": {"labels": {"app.kubernetes.io/name": "x"}}}
    assert diff(labels, {"metadata": {"labels": {}}}, skip={'metadata.labels["app.kubernetes.io/name"]'}) == []


def test_nothing_is_skipped_by_default() -> None:
    old = {"metadata": {"managedFields": [{"manager": "a"}]}}
    new = {"metadata": {"managedFields": [{"manager": "b"}]}}
    assert diff(old, new) == [Change("metadata.managedFields[0].manager", C, "a", "b")]


def test_rendered_lines() -> None:
    assert render(diff(deployment(3), deployment(5))) == ["~ spec.replicas: 3 → 5"]
    assert render([Change("metadata.labels.tier", A, None, "web")]) == ["+ metadata.labels.tier: web"]
    assert render([Change("status.conditions[1]", R, {"type": "Ready"}, None)]) == ["- status.conditions[1]"]
    assert render_change(Change("data.k", R, "v", None)) == "- data.k: v"
    assert render_change(Change("spec.strategy", A, None, {"type": "Recreate"})) == \
        '+ spec.strategy: {"type":"Recreate"}'
    assert render_change(Change("", C, 1, 2)) == "~ .: 1 → 2"


def test_values_that_would_read_as_another_type_are_quoted() -> None:
    assert show("web") == "web"
    assert show("3") == '"3"' and show("true") == '"true"' and show("null") == '"null"'
    assert show("") == '""' and show(" padded") == '" padded"' and show("a\nb") == '"a\\nb"'
    assert show(None) == "null" and show(True) == "true" and show(2.5) == "2.5"
    assert show("[x]") == '"[x]"'


def test_long_values_are_cut_to_the_width() -> None:
    text = show("x" * 100, width=20)
    assert len(text) == 20 and text.endswith("…")


def test_changes_as_json_carry_only_the_sides_that_exist() -> None:
    assert Change("a", A, None, 1).as_json() == {"path": "a", "kind": "added", "new": 1}
    assert Change("a", R, 1, None).as_json() == {"path": "a", "kind": "removed", "old": 1}
    assert Change("a", C, None, 1).as_json() == {"path": "a", "kind": "changed", "old": None, "new": 1}
