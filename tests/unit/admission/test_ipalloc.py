"""Cluster IP and node port allocation."""

from __future__ import annotations

import pytest

from core.errors import InternalError
from core.ipalloc import (
    allocatable_count, allocate_ip, allocate_node_port, check_requested_ip, in_cidr, reserved_ip,
)


def test_first_allocation_skips_network_and_kubernetes_service_address() -> None:
    assert reserved_ip("10.96.0.0/12") == "10.96.0.1"
    assert allocate_ip("10.96.0.0/12", set()) == "10.96.0.2"
    assert allocate_ip("10.96.0.0/12", {"10.96.0.2", "10.96.0.3"}) == "10.96.0.4"


def test_broadcast_is_never_handed_out_and_full_range_raises() -> None:
    cidr = "192.168.10.0/29"  # .0 network, .1 kubernetes, .7 broadcast: .2-.6 usable
    assert allocatable_count(cidr) == 5
    used: set[str] = set()
    for _ in range(5):
        used.add(allocate_ip(cidr, used))
    assert used == {f"192.168.10.{i}" for i in range(2, 7)}
    with pytest.raises(InternalError) as exc:
        allocate_ip(cidr, used)
    assert exc.value.code == 500
    assert "range is full" in exc.value.message


def test_hint_spreads_allocators_and_wraps() -> None:
    cidr = "10.0.0.0/29"
    assert allocate_ip(cidr, set(), hint=3) == "10.0.0.5"
    assert allocate_ip(cidr, {"10.0.0.6"}, hint=4) == "10.0.0.2"  # wrapped past the end
    assert allocate_ip(cidr, set(), hint=5) == "10.0.0.2"


def test_used_set_may_hold_junk_and_other_families() -> None:
    assert allocate_ip("10.0.0.0/24", {"None", "", "fd00::2", "10.0.0.2"}) == "10.0.0.3"


def test_ipv6_ranges() -> None:
    assert allocate_ip("fd00:10:96::/112", set()) == "fd00:10:96::2"


def test_tiny_ranges_are_full() -> None:
    with pytest.raises(InternalError):
        allocate_ip("10.0.0.0/31", set())


def test_in_cidr() -> None:
    assert in_cidr("10.96.5.4", "10.96.0.0/12")
    assert not in_cidr("10.112.0.1", "10.96.0.0/12")
    assert not in_cidr("fd00::1", "10.96.0.0/12")
    assert not in_cidr("garbage", "10.96.0.0/12")


def test_requested_ips() -> None:
    assert check_requested_ip("10.96.0.1", "10.96.0.0/12", set()) is None  # the kubernetes Service asks for it
    assert check_requested_ip("10.96.0.10", "10.96.0.0/12", {"10.96.0.10"}) == (
        "failed to allocate IP 10.96.0.10: provided IP is already allocated")
    assert check_requested_ip("10.0.0.1", "10.96.0.0/12", set()) == (
        "failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. "
        "The range of valid IPs is 10.96.0.0/12")
    assert check_requested_ip("10.111.255.255", "10.96.0.0/12", set()) is not None  # broadcast
    assert check_requested_ip("nope", "10.96.0.0/12", set()) is not None


def test_node_ports() -> None:
    assert allocate_node_port(set()) == 30000
    assert allocate_node_port({30000, 30001}) == 30002
    assert allocate_node_port(set(), hint=2767) == 32767
    assert allocate_node_port({32767}, hint=2767) == 30000
    with pytest.raises(InternalError):
        allocate_node_port(set(range(30000, 30003)), lo=30000, hi=30002)
