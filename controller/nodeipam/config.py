"""The node IPAM flags, checked as kube-controller-manager checks them
(cmd/kube-controller-manager's validateCIDRs and setNodeCIDRMaskSizes), pure logic:
one cluster CIDR, or two of different IP families (dual stack); the node subnet size
per family from `--node-cidr-mask-size` (single stack only) or
`--node-cidr-mask-size-ipv4`/`-ipv6` (defaults 24 and 64). A bad value is a
`ConfigError` with one line of text."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from controller.nodeipam.cidrset import CIDRSet, CIDRSetError, Network

DEFAULT_CLUSTER_CIDR = "10.244.0.0/16"
DEFAULT_MASK_IPV4 = 24
DEFAULT_MASK_IPV6 = 64


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class NodeIpamConfig:
    cluster_cidrs: tuple[Network, ...]
    mask_sizes: tuple[int, ...]  # one per cluster CIDR
    service_cidrs: tuple[Network, ...] = ()  # kept out of the node subnets

    def new_sets(self) -> list[CIDRSet]:
        """Empty allocators, one per cluster CIDR, with the Service range taken."""
        sets = [CIDRSet(c, m) for c, m in zip(self.cluster_cidrs, self.mask_sizes, strict=True)]
        for cidr_set in sets:
            for service in self.service_cidrs:
                if service.version == cidr_set.cluster_cidr.version and service.overlaps(
                    cidr_set.cluster_cidr
                ):
                    cidr_set.occupy(service)
        return sets


def parse_cidrs(flag: str, text: str) -> tuple[Network, ...]:
    """Comma-separated CIDRs (Go's ParseCIDR: host bits may be set, they are masked)."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"{flag}: invalid CIDR address: {part}") from None
    return tuple(out)


def node_ipam_config(
    cluster_cidr: str,
    mask_size: int | None = None,
    mask_size_ipv4: int | None = None,
    mask_size_ipv6: int | None = None,
    service_cluster_ip_range: str | None = None,
) -> NodeIpamConfig:
    cidrs = parse_cidrs("--cluster-cidr", cluster_cidr)
    families = {c.version for c in cidrs}
    if len(cidrs) > 2:
        raise ConfigError(f"--cluster-cidr: {len(cidrs)} CIDRs, at most 2 (one per IP family)")
    if len(cidrs) == 2 and len(families) != 2:
        raise ConfigError("--cluster-cidr: two CIDRs must be dual stack (one IPv4 and one IPv6)")
    masks = _mask_sizes(cidrs, mask_size, mask_size_ipv4, mask_size_ipv6)
    services = (
        parse_cidrs("--service-cluster-ip-range", service_cluster_ip_range)
        if service_cluster_ip_range
        else ()
    )
    config = NodeIpamConfig(cidrs, masks, services)
    for cidr, mask in zip(cidrs, masks, strict=True):
        if cidr.prefixlen > mask:
            raise ConfigError(
                f"invalid --cluster-cidr {cidr}: its mask size must be less than or equal "
                f"to the node CIDR mask size /{mask} (--node-cidr-mask-size) of its IP family"
            )
    try:
        config.new_sets()
    except CIDRSetError as err:
        raise ConfigError(str(err)) from None
    return config


def _mask_sizes(
    cidrs: tuple[Network, ...], mask: int | None, ipv4: int | None, ipv6: int | None
) -> tuple[int, ...]:
    def per_family(v4: int, v6: int) -> tuple[int, ...]:
        return tuple(v6 if c.version == 6 else v4 for c in cidrs)

    if len(cidrs) > 1:
        if mask is not None:
            raise ConfigError(
                "usage of --node-cidr-mask-size is not allowed with dual-stack clusters"
            )
        return per_family(ipv4 or DEFAULT_MASK_IPV4, ipv6 or DEFAULT_MASK_IPV6)
    if mask is not None:
        if ipv4 is not None or ipv6 is not None:
            raise ConfigError(
                "usage of --node-cidr-mask-size-ipv4 and --node-cidr-mask-size-ipv6 is not "
                "allowed if --node-cidr-mask-size is set"
            )
        return per_family(mask, mask)
    single_ipv6 = cidrs[0].version == 6
    if ipv4 is not None and single_ipv6:
        raise ConfigError(
            "usage of --node-cidr-mask-size-ipv4 is not allowed for a single-stack IPv6 cluster"
        )
    if ipv6 is not None and not single_ipv6:
        raise ConfigError(
            "usage of --node-cidr-mask-size-ipv6 is not allowed for a single-stack IPv4 cluster"
        )
    return per_family(ipv4 or DEFAULT_MASK_IPV4, ipv6 or DEFAULT_MASK_IPV6)
