"""Service cluster-IP and node-port allocation: pure choice of the next free value.

The API server keeps the set of addresses (ports) in use — from its watch cache of Services — and
asks for the next free one when a Service needs it; the compare-and-swap append of the Service is
what makes the choice stick, so two API servers racing for one address cannot both win. The
network address, the first host address (reserved for the `kubernetes` Service) and the last
address (broadcast) are never handed out. `hint` spreads concurrent allocators over the range.
"""

from __future__ import annotations

import ipaddress

from core.errors import InternalError

NODE_PORT_RANGE = (30000, 32767)


def in_cidr(ip: str, cidr: str) -> bool:
    """Whether `ip` lies in `cidr` (False for anything unparsable or of the other family)."""
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def reserved_ip(cidr: str) -> str:
    """The first host address: the `kubernetes` Service's cluster IP."""
    net = ipaddress.ip_network(cidr, strict=False)
    return str(net.network_address + 1)


def allocatable_count(cidr: str) -> int:
    net = ipaddress.ip_network(cidr, strict=False)
    return max(net.num_addresses - 3, 0)


def allocate_ip(cidr: str, used: set[str], *, hint: int | None = None) -> str:
    """The next free address of `cidr`, scanning from offset `hint` (wrapping); InternalError when full."""
    net = ipaddress.ip_network(cidr, strict=False)
    size = allocatable_count(cidr)
    first = int(net.network_address) + 2
    taken = {int(a) for a in (_parse(u) for u in used) if a is not None and a.version == net.version}
    start = (hint or 0) % size if size else 0
    for i in range(size):
        candidate = first + (start + i) % size
        if candidate not in taken:
            return str(ipaddress.ip_address(candidate))
    raise InternalError("Internal error occurred: failed to allocate a serviceIP: range is full")


def check_requested_ip(ip: str, cidr: str, used: set[str]) -> str | None:
    """Why a user-chosen clusterIP cannot be had (Kubernetes' wording), or None when it can."""
    addr = _parse(ip)
    if addr is None:
        return f"failed to allocate IP {ip}: must be a valid IP address"
    net = ipaddress.ip_network(cidr, strict=False)
    offset = int(addr) - int(net.network_address) if addr.version == net.version else -1
    if not 0 < offset < net.num_addresses - 1:
        return (f"failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. "
                f"The range of valid IPs is {cidr}")
    if ip in used or str(addr) in used:
        return f"failed to allocate IP {ip}: provided IP is already allocated"
    return None


def allocate_node_port(used: set[int], *, lo: int = NODE_PORT_RANGE[0], hi: int = NODE_PORT_RANGE[1],
                       hint: int | None = None) -> int:
    """The next free node port in [lo, hi], scanning from offset `hint`; InternalError when full."""
    size = hi - lo + 1
    start = (hint or 0) % size
    for i in range(size):
        port = lo + (start + i) % size
        if port not in used:
            return port
    raise InternalError("Internal error occurred: failed to allocate a nodePort: range is full")


def _parse(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None
