"""What a pod asks of a node, and what a node offers: resource lists as plain integers.

The scheduler fits pods onto nodes by comparing integers (millicores of cpu, bytes of memory
and ephemeral storage, a count of pods), never quantity strings. A pod's effective request is
Kubernetes' `PodRequests`: the sum over its containers, raised to the largest init container
(an init container runs alone, but alongside the restartable "sidecar" init containers started
before it), plus the RuntimeClass overhead. `pod_non_zero_requests` is the variant used for
scoring, where a container without a cpu or memory request counts as 100m / 200Mi so that
request-less pods still spread. Input is pod and node dicts as the log holds them; pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from math import ceil
from typing import Any, NamedTuple

from core.schema.quantity import QuantityError, parse_quantity

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"

DEFAULT_MILLI_CPU_REQUEST = 100  # schedutil.DefaultMilliCPURequest
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024  # schedutil.DefaultMemoryRequest


class Resources(NamedTuple):
    """cpu in millicores, memory and ephemeral storage in bytes, pods as a count."""

    cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    pods: int = 0

    def plus(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory + other.memory,
                         self.ephemeral_storage + other.ephemeral_storage, self.pods + other.pods)

    def minus(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.memory - other.memory,
                         self.ephemeral_storage - other.ephemeral_storage, self.pods - other.pods)


ZERO = Resources()

# Quantity strings repeat endlessly ("100m", "128Mi"): parse each once.
_MILLI_CACHE: dict[Any, int] = {}
_VALUE_CACHE: dict[Any, int] = {}
_CACHE_LIMIT = 4096


def milli_value(raw: Any) -> int:
    """A quantity in thousandths, rounded up (Quantity.MilliValue); 0 if it does not parse."""
    hit = _MILLI_CACHE.get(raw)
    if hit is not None:
        return hit
    try:
        out = ceil(parse_quantity(raw).value * 1000)
    except (QuantityError, TypeError):
        out = 0
    if len(_MILLI_CACHE) < _CACHE_LIMIT:
        _MILLI_CACHE[raw] = out
    return out


def value(raw: Any) -> int:
    """A quantity as an integer, rounded up (Quantity.Value); 0 if it does not parse."""
    hit = _VALUE_CACHE.get(raw)
    if hit is not None:
        return hit
    try:
        out = ceil(parse_quantity(raw).value)
    except (QuantityError, TypeError):
        out = 0
    if len(_VALUE_CACHE) < _CACHE_LIMIT:
        _VALUE_CACHE[raw] = out
    return out


def resource_list(raw: Mapping[str, Any] | None) -> Resources:
    """A ResourceList (`requests`, `allocatable`, `overhead`) as integers; unknown names ignored."""
    if not raw:
        return ZERO
    cpu = raw.get(CPU)
    mem = raw.get(MEMORY)
    eph = raw.get(EPHEMERAL_STORAGE)
    pods = raw.get(PODS)
    return Resources(milli_value(cpu) if cpu is not None else 0,
                     value(mem) if mem is not None else 0,
                     value(eph) if eph is not None else 0,
                     value(pods) if pods is not None else 0)


def _container_requests(c: Mapping[str, Any], non_zero: bool) -> Resources:
    requests = (c.get("resources") or {}).get("requests") or {}
    r = resource_list(requests)
    if non_zero:
        cpu = r.cpu if CPU in requests else DEFAULT_MILLI_CPU_REQUEST
        mem = r.memory if MEMORY in requests else DEFAULT_MEMORY_REQUEST
        r = Resources(cpu, mem, r.ephemeral_storage, 0)
    return r


def _max(a: Resources, b: Resources) -> Resources:
    return Resources(max(a.cpu, b.cpu), max(a.memory, b.memory), max(a.ephemeral_storage, b.ephemeral_storage),
                     max(a.pods, b.pods))


def _items(spec: Mapping[str, Any], key: str) -> Iterable[Mapping[str, Any]]:
    return [c for c in (spec.get(key) or []) if isinstance(c, Mapping)]


def _requests(pod: Mapping[str, Any], non_zero: bool) -> Resources:
    spec = pod.get("spec") or {}
    total = ZERO
    for c in _items(spec, "containers"):
        total = total.plus(_container_requests(c, non_zero))
    sidecars = ZERO  # restartable init containers started so far keep running
    init_peak = ZERO
    for c in _items(spec, "initContainers"):
        r = _container_requests(c, non_zero)
        if c.get("restartPolicy") == "Always":
            total = total.plus(r)
            sidecars = sidecars.plus(r)
            init_peak = _max(init_peak, sidecars)
        else:
            init_peak = _max(init_peak, r.plus(sidecars))
    total = _max(total, init_peak)
    overhead = resource_list(spec.get("overhead"))
    return Resources(total.cpu + overhead.cpu, total.memory + overhead.memory,
                     total.ephemeral_storage + overhead.ephemeral_storage, 1)


def pod_requests(pod: Mapping[str, Any]) -> Resources:
    """The pod's effective requests: max(sum of containers, peak of init) + overhead; pods=1."""
    return _requests(pod, False)


def pod_non_zero_requests(pod: Mapping[str, Any]) -> Resources:
    """As `pod_requests`, with 100m cpu / 200Mi memory for containers that request none (scoring)."""
    return _requests(pod, True)


def node_allocatable(node: Mapping[str, Any]) -> Resources:
    """status.allocatable of a node (a node that reports none offers nothing)."""
    return resource_list((node.get("status") or {}).get("allocatable"))
