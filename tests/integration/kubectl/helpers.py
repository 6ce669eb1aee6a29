"""Small helpers for the kubectl suite: manifests, subset comparison, kubectl's names for objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.integration.kubectl.cluster import EXAMPLES


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def examples() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, doc) for p in sorted(EXAMPLES.glob("*.yaml")) for doc in load_all(p)]


def ref(manifest: dict[str, Any]) -> str:
    """How kubectl names an object in its messages: `deployment.apps/web`, `pod/x`."""
    group = manifest["apiVersion"].split("/")[0] if "/" in manifest["apiVersion"] else ""
    kind = manifest["kind"].lower() + (f".{group}" if group else "")
    return f"{kind}/{manifest['metadata']['name']}"


def assert_subset(expected: Any, actual: Any, path: str = "") -> None:
    """Everything in `expected` is in `actual` (the server may add defaults, never change or drop)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for k, v in expected.items():
            assert k in actual, f"{path}.{k} is missing in {actual!r}"
            assert_subset(v, actual[k], f"{path}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {expected!r} vs {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_subset(e, a, f"{path}[{i}]")
    else:
        assert expected == actual, f"{path}: expected {expected!r}, got {actual!r}"


def table(out: str) -> tuple[list[str], list[list[str]]]:
    """kubectl's plain output as (header, rows); columns split on runs of spaces."""
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert lines, "no output"
    split = [ln.split() for ln in lines]
    return split[0], split[1:]


def configmaps(names_labels: dict[str, dict[str, str]], data: dict[str, str] | None = None) -> str:
    """A multi-document YAML of ConfigMaps, for `kubectl apply -f -`."""
    docs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "labels": labels},
             "data": data or {"k": n}} for n, labels in names_labels.items()]
    return yaml.safe_dump_all(docs)


def deployment(name: str, *, replicas: int = 2, image: str = "nginx:1.25") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image,
                                                           "ports": [{"containerPort": 80}]}]}}}}


def pod(name: str, *, image: str = "nginx:1.25", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": {"containers": [{"name": "main", "image": image}]}}
