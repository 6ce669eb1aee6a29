"""Pod IPs from the node's pod CIDR, and pod CIDRs from the cluster CIDR. Pure.

`PodIPs` hands each pod (by uid) one address of the node's range, skipping the network address,
the first host address (the gateway of a /24 carved from a docker bridge) and the broadcast
address. It hands addresses out round-robin from the last one given, so an address just released
is not reused at once (as the host-local CNI plugin does). It holds no state a restart could not
rebuild: the kubelet `restore`s it from the sandboxes still running.
"""

from __future__ import annotations

import ipaddress
import math


class RangeFull(Exception):
    pass


class PodIPs:
    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        size = self.network.num_addresses
        self._first = int(self.network.network_address) + 2 if size > 4 else int(self.network.network_address)
        self._count = size - 3 if size > 4 else size
        self._cursor = 0
        self.by_uid: dict[str, str] = {}
        self._used: set[int] = set()

    @property
    def capacity(self) -> int:
        return max(self._count, 0)

    def allocate(self, uid: str) -> str:
        """The pod's address: the one it holds, else the next free one."""
        held = self.by_uid.get(uid)
        if held is not None:
            return held
        for i in range(self._count):
            offset = (self._cursor + i) % self._count
            addr = self._first + offset
            if addr not in self._used:
                self._cursor = (offset + 1) % self._count
                self._used.add(addr)
                ip = str(ipaddress.ip_address(addr))
                self.by_uid[uid] = ip
                return ip
        raise RangeFull(f"no free pod IP in {self.network} ({self._count} addresses, all in use)")

    def restore(self, uid: str, ip: str) -> bool:
        """Record an address a running sandbox already has; False if outside the range or taken."""
        try:
            addr = int(ipaddress.ip_address(ip))
        except ValueError:
            return False
        if not self._first <= addr < self._first + self._count or (addr in self._used and self.by_uid.get(uid) != ip):
            return False
        self.release(uid)
        self._used.add(addr)
        self.by_uid[uid] = ip
        self._cursor = max(self._cursor, addr - self._first + 1) % self._count
        return True

    def release(self, uid: str) -> None:
        ip = self.by_uid.pop(uid, None)
        if ip is not None:
            self._used.discard(int(ipaddress.ip_address(ip)))


def node_subnets(cluster_cidr: str, count: int, *, max_prefix: int = 24) -> list[str]:
    """`count` equal subnets of the cluster range, as large as fit but no larger than /`max_prefix`."""
    net = ipaddress.ip_network(cluster_cidr, strict=False)
    bits = max(0, math.ceil(math.log2(max(count, 1))))
    prefix = max(net.prefixlen + bits, max_prefix)
    if prefix > net.max_prefixlen - 2:
        raise ValueError(f"{cluster_cidr} cannot give {count} nodes a pod range each")
    out = []
    for i, sub in enumerate(net.subnets(new_prefix=prefix)):
        if i >= count:
            break
        out.append(str(sub))
    return out


def subnet_at(cluster_cidr: str, index: int, prefix: int = 24) -> str:
    net = ipaddress.ip_network(cluster_cidr, strict=False)
    prefix = max(prefix, net.prefixlen)
    n = 2 ** (prefix - net.prefixlen)
    if index >= n:
        raise ValueError(f"{cluster_cidr} has room for {n} /{prefix} ranges, not {index + 1}")
    size = 2 ** (net.max_prefixlen - prefix)
    return str(ipaddress.ip_network((int(net.network_address) + index * size, prefix)))
