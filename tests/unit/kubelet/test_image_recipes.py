"""The kubelet names `jetkube image build <name>` for images ops/images.py can build; components
cannot import ops, so this keeps the two lists (and the pause image) the same."""

from __future__ import annotations

from components.kubelet import docker_runtime, images
from ops import images as recipes


def test_kubelet_knows_exactly_the_recipes_ops_builds() -> None:
    assert sorted(images.RECIPES.values()) == sorted(recipes.RECIPES)
    for repo, name in images.RECIPES.items():
        tag = recipes.PAUSE_IMAGE if name == "pause" else f"{name}:latest"
        assert images.repository(tag) == repo


def test_the_sandbox_image_is_the_one_ops_builds() -> None:
    assert docker_runtime.PAUSE_IMAGE == recipes.PAUSE_IMAGE
