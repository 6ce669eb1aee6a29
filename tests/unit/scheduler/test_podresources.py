"""core.podresources: a pod's effective requests and a node's allocatable, as integers."""

from __future__ import annotations

import pytest

from core.podresources import (DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST, Resources, milli_value,
                               node_allocatable, pod_non_zero_requests, pod_requests, resource_list, value)

Mi = 1024 * 1024
Gi = 1024 * Mi


def c(cpu: str | None = None, memory: str | None = None, eph: str | None = None, *, restart: str | None = None) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory), ("ephemeral-storage", eph)) if v is not None}
    out: dict = {"name": "x", "image": "i"}
    if requests:
        out["resources"] = {"requests": requests}
    if restart:
        out["restartPolicy"] = restart
    return out


def p(*containers: dict, init: list[dict] | None = None, overhead: dict | None = None) -> dict:
    spec: dict = {"containers": list(containers)}
    if init is not None:
        spec["initContainers"] = init
    if overhead is not None:
        spec["overhead"] = overhead
    return {"spec": spec}


@pytest.mark.parametrize("raw,milli", [
    ("1", 1000), ("100m", 100), ("0.5", 500), ("1.5m", 2), ("2500u", 3), ("0", 0), (2, 2000), (0.25, 250),
    ("1e3", 1_000_000), ("1e3m", 0), ("1k", 1_000_000), ("-1", -1000), ("bogus", 0), ("", 0),
])
def test_milli_value_rounds_up_like_quantity_milli_value(raw: object, milli: int) -> None:
    assert milli_value(raw) == milli


@pytest.mark.parametrize("raw,val", [
    ("128Mi", 128 * Mi), ("1Gi", Gi), ("1G", 10**9), ("129e6", 129_000_000), ("100", 100), ("0.5", 1),
    ("1500m", 2), (1024, 1024), ("1Ki", 1024), ("nope", 0),
])
def test_value_rounds_up_like_quantity_value(raw: object, val: int) -> None:
    assert value(raw) == val


def test_resource_list_reads_the_four_resources_and_ignores_others() -> None:
    assert resource_list({"cpu": "2", "memory": "1Gi", "ephemeral-storage": "10Gi", "pods": "110",
                          "nvidia.com/gpu": "1"}) == Resources(2000, Gi, 10 * Gi, 110)
    assert resource_list(None) == Resources(0, 0, 0, 0)
    assert resource_list({}) == Resources()


def test_containers_are_summed() -> None:
    assert pod_requests(p(c("100m", "64Mi"), c("250m", "64Mi", "1Gi"))) == Resources(350, 128 * Mi, Gi, 1)


def test_no_requests_is_zero_but_one_pod() -> None:
    assert pod_requests(p(c())) == Resources(0, 0, 0, 1)
    assert pod_requests({}) == Resources(0, 0, 0, 1)


def test_init_containers_raise_to_their_peak_per_resource() -> None:
    # containers: 300m / 100Mi; the init containers run one at a time: peak 500m, 50Mi
    pod = p(c("100m", "50Mi"), c("200m", "50Mi"), init=[c("500m", "10Mi"), c("50m", "50Mi")])
    assert pod_requests(pod) == Resources(500, 100 * Mi, 0, 1)


def test_restartable_init_containers_are_sidecars_that_keep_running() -> None:
    # sidecar 100m runs alongside the later init container (400m) and the app containers (300m)
    pod = p(c("300m"), init=[c("100m", restart="Always"), c("400m")])
    assert pod_requests(pod) == Resources(500, 0, 0, 1)  # max(300 + 100, 400 + 100)
    pod = p(c("1"), init=[c("100m", restart="Always"), c("400m")])
    assert pod_requests(pod) == Resources(1100, 0, 0, 1)
    # an init container before the sidecar does not run alongside it
    pod = p(c("100m"), init=[c("900m"), c("200m", restart="Always")])
    assert pod_requests(pod) == Resources(900, 0, 0, 1)


def test_overhead_is_added_on_top() -> None:
    pod = p(c("100m", "10Mi"), init=[c("1")], overhead={"cpu": "250m", "memory": "120Mi"})
    assert pod_requests(pod) == Resources(1250, 130 * Mi, 0, 1)


def test_non_zero_requests_default_missing_cpu_and_memory_per_container() -> None:
    assert pod_non_zero_requests(p(c())) == Resources(DEFAULT_MILLI_CPU_REQUEST, DEFAULT_MEMORY_REQUEST, 0, 1)
    assert pod_non_zero_requests(p(c("1"), c(memory="1Gi"))) == Resources(
        1000 + DEFAULT_MILLI_CPU_REQUEST, DEFAULT_MEMORY_REQUEST + Gi, 0, 1)
    # an explicit zero stays zero (Kubernetes only fills in what is missing)
    assert pod_non_zero_requests(p(c("0", "0"))) == Resources(0, 0, 0, 1)


def test_node_allocatable() -> None:
    node = {"status": {"allocatable": {"cpu": "3800m", "memory": "7Gi", "pods": "110",
                                       "ephemeral-storage": "50Gi"}}}
    assert node_allocatable(node) == Resources(3800, 7 * Gi, 50 * Gi, 110)
    assert node_allocatable({}) == Resources()
