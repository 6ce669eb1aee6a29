"""Template hashes and ControllerRevision bodies."""

from __future__ import annotations

from core.history import fnv32a, next_revision, revision_body, safe_encode, template_hash, template_of


def test_fnv32a_known_values() -> None:
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C
    assert fnv32a(b"foobar") == 0xBF9CF968


def test_hash_is_stable_independent_of_key_order_and_changes_with_collisions() -> None:
    a = {"metadata": {"labels": {"app": "web", "tier": "fe"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    b = {"spec": {"containers": [{"image": "x", "name": "c"}]}, "metadata": {"labels": {"tier": "fe", "app": "web"}}}
    assert template_hash(a) == template_hash(b)
    assert template_hash(a, 1) != template_hash(a)
    assert template_hash(a, 0) == template_hash(a)
    c = {"metadata": a["metadata"], "spec": {"containers": [{"name": "c", "image": "y"}]}}
    assert template_hash(c) != template_hash(a)
    assert set(template_hash(a)) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert safe_encode(0) == "b"


def test_revision_round_trip() -> None:
    owner = {"metadata": {"name": "ds", "namespace": "ns", "uid": "u"}}
    ref = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "uid": "u", "controller": True}
    tpl = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    body = revision_body(owner, ref, tpl, 3, "abc", selector_labels={"app": "a"})
    assert body["metadata"]["name"] == "ds-abc" and body["metadata"]["labels"] == {"app": "a",
                                                                                 "controller-revision-hash": "abc"}
    assert body["data"]["spec"]["template"]["$patch"] == "replace"
    assert template_of(body) == tpl
    assert next_revision([body, {"revision": 7}]) == 8 and next_revision([]) == 1
