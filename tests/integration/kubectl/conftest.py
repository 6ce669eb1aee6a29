"""One jetkube cluster for the whole kubectl suite, started with `jetkube up --detach` in a temp
home and stopped with `jetkube down`. Tests share it but not their objects: each works in a
namespace of its own (`cluster.namespace()`), so they pass in any order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.kubectl.cluster import Cluster, running_cluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("jetkube-kubectl")) as c:
        yield c


@pytest.fixture
def ns(cluster: Cluster) -> str:
    return cluster.namespace()
