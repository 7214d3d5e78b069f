"""Kubernetes' range allocator, the pure part: Nodes' spec.podCIDRs against one
CIDRSet per cluster CIDR (podCIDRs[i] comes from cluster CIDR i, as in
kube-controller-manager's rangeAllocator). No I/O: the controller feeds it the Nodes
it sees and writes what it hands out."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from controller.nodeipam.cidrset import CIDRRangeFull, CIDRSet, CIDRSetError, Network
from controller.nodeipam.config import NodeIpamConfig


def pod_cidrs(node: dict[str, Any]) -> list[str]:
    """A Node's podCIDRs (the legacy podCIDR when the list is empty)."""
    spec = node.get("spec") or {}
    cidrs = [c for c in spec.get("podCIDRs") or [] if isinstance(c, str) and c]
    if not cidrs and isinstance(spec.get("podCIDR"), str) and spec["podCIDR"]:
        cidrs = [spec["podCIDR"]]
    return cidrs


class RangeAllocator:
    def __init__(self, config: NodeIpamConfig) -> None:
        self.sets: list[CIDRSet] = config.new_sets()

    def _parsed(self, cidrs: Iterable[str]) -> list[tuple[CIDRSet, Network]]:
        cidrs = list(cidrs)
        if len(cidrs) > len(self.sets):
            raise CIDRSetError(
                f"{len(cidrs)} podCIDRs, but {len(self.sets)} cluster CIDR(s) are configured"
            )
        out = []
        for cidr_set, text in zip(self.sets, cidrs, strict=False):
            try:
                out.append((cidr_set, ipaddress.ip_network(text, strict=False)))
            except ValueError:
                raise CIDRSetError(f"invalid CIDR {text!r}") from None
        return out

    def occupy(self, cidrs: Iterable[str]) -> None:
        """Mark a Node's podCIDRs as taken (CIDRSetError: unparsable, or outside the
        cluster CIDRs; nothing is marked then)."""
        parsed = self._parsed(cidrs)
        for cidr_set, cidr in parsed:
            cidr_set._indices(cidr)  # check all before marking any
        for cidr_set, cidr in parsed:
            cidr_set.occupy(cidr)

    def release(self, cidrs: Iterable[str]) -> None:
        for cidr_set, cidr in self._parsed(cidrs):
            cidr_set.release(cidr)

    def allocate(self) -> list[str]:
        """One free subnet from each cluster CIDR, now taken; CIDRRangeFull (nothing
        taken) when one of them has none left."""
        taken: list[tuple[CIDRSet, Network]] = []
        try:
            for cidr_set in self.sets:
                taken.append((cidr_set, cidr_set.allocate_next()))
        except CIDRRangeFull:
            for cidr_set, cidr in taken:
                cidr_set.release(cidr)
            raise
        return [str(cidr) for _set, cidr in taken]
