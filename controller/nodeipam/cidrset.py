"""One cluster CIDR cut into equal node subnets, and which of them are taken:
kube-controller-manager's cidrset (pkg/controller/nodeipam/ipam/cidrset), pure logic.

Subnets are numbered 0..count-1 from the cluster CIDR's first address. `allocate_next`
goes on from the subnet after the last one it handed out, wrapping around, as
Kubernetes' does: a subnet just released (a deleted Node's) is the last to be given
again, so a new Node does not inherit an address range peers may still route to the
old one."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Kubernetes' clusterSubnetMaxDiff: an IPv6 cluster CIDR may be cut into at most 2^16
# node subnets (IPv4 has no such bound there; only taken subnets are stored here)
MAX_SUBNET_BITS = 16


class CIDRRangeFull(Exception):
    """Every node subnet of the cluster CIDR is taken (Kubernetes' ErrCIDRRangeNoCIDRsRemaining)."""


class CIDRSetError(ValueError):
    """A node subnet size that does not fit the cluster CIDR, or a CIDR outside it."""


class CIDRSet:
    def __init__(self, cluster_cidr: Network, mask_size: int) -> None:
        prefix = cluster_cidr.prefixlen
        if mask_size < prefix:
            raise CIDRSetError(
                f"mask size of cluster CIDR {cluster_cidr} must be less than or equal to "
                f"the node CIDR mask size {mask_size}"
            )
        if mask_size > cluster_cidr.max_prefixlen:
            raise CIDRSetError(f"node CIDR mask size {mask_size} is longer than an address")
        if cluster_cidr.version == 6 and mask_size - prefix > MAX_SUBNET_BITS:
            raise CIDRSetError(
                f"the node CIDR size is too big: /{mask_size} cuts {cluster_cidr} into "
                f"more than 2^{MAX_SUBNET_BITS} subnets"
            )
        self.cluster_cidr = cluster_cidr
        self.mask_size = mask_size
        self.count = 1 << (mask_size - prefix)
        self._step = 1 << (cluster_cidr.max_prefixlen - mask_size)
        self._base = int(cluster_cidr.network_address)
        self._used: set[int] = set()
        self._next = 0

    def __len__(self) -> int:
        """How many node subnets are taken."""
        return len(self._used)

    def subnet(self, index: int) -> Network:
        address = ipaddress.ip_address(self._base + index * self._step)
        return ipaddress.ip_network(f"{address}/{self.mask_size}")

    def allocate_next(self) -> Network:
        """The next free node subnet, now taken; CIDRRangeFull when there is none."""
        if len(self._used) >= self.count:
            raise CIDRRangeFull(
                f"no node CIDR of size /{self.mask_size} left in {self.cluster_cidr}"
            )
        for offset in range(self.count):
            index = (self._next + offset) % self.count
            if index not in self._used:
                self._used.add(index)
                self._next = (index + 1) % self.count
                return self.subnet(index)
        raise CIDRRangeFull(f"no node CIDR left in {self.cluster_cidr}")  # pragma: no cover

    def occupy(self, cidr: Network) -> None:
        """Mark the node subnets `cidr` covers as taken (a Node's podCIDR found at
        start, or the Service range where it overlaps). Occupying twice is harmless."""
        self._used.update(self._indices(cidr))

    def release(self, cidr: Network) -> None:
        """Free the node subnets `cidr` covers (a deleted Node's podCIDR)."""
        self._used.difference_update(self._indices(cidr))

    def is_used(self, cidr: Network) -> bool:
        return all(i in self._used for i in self._indices(cidr))

    def _indices(self, cidr: Network) -> Iterator[int]:
        """The node subnets `cidr` overlaps; CIDRSetError when it lies outside the
        cluster CIDR (Kubernetes' "is out the range of cluster cidr")."""
        if cidr.version != self.cluster_cidr.version or not cidr.overlaps(self.cluster_cidr):
            raise CIDRSetError(
                f"CIDR {cidr} is out of the range of cluster CIDR {self.cluster_cidr}"
            )
        first = max(int(cidr.network_address), self._base)
        last = min(int(cidr.broadcast_address), int(self.cluster_cidr.broadcast_address))
        return iter(
            range((first - self._base) // self._step, (last - self._base) // self._step + 1)
        )
