"""The node IPAM range allocator as pure logic: subnets handed out in order, taken
ones skipped, released ones last, exhaustion, a restart that first takes what the
Nodes already have, and the flags' checks."""

from __future__ import annotations

import ipaddress

import pytest

from controller.nodeipam.allocator import RangeAllocator, pod_cidrs
from controller.nodeipam.cidrset import CIDRRangeFull, CIDRSet, CIDRSetError
from controller.nodeipam.config import ConfigError, node_ipam_config


def net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def test_next_free_in_order_then_exhausted():
    s = CIDRSet(net("10.244.0.0/22"), 24)
    assert s.count == 4
    got = [str(s.allocate_next()) for _ in range(4)]
    assert got == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"]
    with pytest.raises(CIDRRangeFull):
        s.allocate_next()


def test_occupied_subnets_are_skipped_and_release_frees():
    s = CIDRSet(net("10.244.0.0/22"), 24)
    s.occupy(net("10.244.0.0/24"))
    s.occupy(net("10.244.2.0/24"))
    s.occupy(net("10.244.2.0/24"))  # twice: harmless
    assert [str(s.allocate_next()), str(s.allocate_next())] == ["10.244.1.0/24", "10.244.3.0/24"]
    with pytest.raises(CIDRRangeFull):
        s.allocate_next()
    s.release(net("10.244.2.0/24"))
    assert str(s.allocate_next()) == "10.244.2.0/24"
    assert len(s) == 4


def test_a_released_subnet_is_handed_out_last():
    """Kubernetes' cidrset goes on after the last subnet it gave: a deleted Node's
    subnet is not the next Node's while others are free."""
    s = CIDRSet(net("10.244.0.0/22"), 24)
    first = s.allocate_next()
    s.allocate_next()
    s.release(first)
    assert [str(s.allocate_next()), str(s.allocate_next())] == ["10.244.2.0/24", "10.244.3.0/24"]
    assert s.allocate_next() == first


def test_a_larger_cidr_occupies_every_subnet_it_covers():
    s = CIDRSet(net("10.0.0.0/16"), 24)
    s.occupy(net("10.0.0.0/23"))  # a Service range overlapping the cluster's start
    assert str(s.allocate_next()) == "10.0.2.0/24"
    with pytest.raises(CIDRSetError, match="out of the range"):
        s.occupy(net("10.1.0.0/24"))
    with pytest.raises(CIDRSetError):
        s.occupy(net("fd00::/64"))


def test_ipv6_subnets():
    s = CIDRSet(net("fd00:10:244::/56"), 64)
    assert s.count == 256
    assert str(s.allocate_next()) == "fd00:10:244::/64"
    assert str(s.allocate_next()) == "fd00:10:244:1::/64"
    with pytest.raises(CIDRSetError, match="too big"):
        CIDRSet(net("fd00::/48"), 80)
    # IPv4 has no such bound (as Kubernetes): /8 into /28 is 2^20 subnets
    big = CIDRSet(net("10.0.0.0/8"), 28)
    assert big.count == 1 << 20
    big.occupy(net("10.0.0.0/12"))  # the first 2^16 subnets
    assert str(big.allocate_next()) == "10.16.0.0/28"


def test_mask_shorter_than_the_cluster_cidr_is_refused():
    with pytest.raises(CIDRSetError):
        CIDRSet(net("10.244.0.0/16"), 8)


def test_restart_with_existing_nodes_hands_out_no_duplicate():
    config = node_ipam_config("10.244.0.0/16")
    first = RangeAllocator(config)
    given = [first.allocate()[0] for _ in range(3)]
    assert given == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]
    first.release([given[1]])  # the second Node was deleted
    # a new controller: it takes the remaining Nodes' subnets before allocating
    nodes = [
        {"spec": {"podCIDR": given[0], "podCIDRs": [given[0]]}},
        {"spec": {"podCIDR": given[2]}},  # the legacy field alone counts too
        {"spec": {}},
    ]
    second = RangeAllocator(config)
    for node in nodes:
        if pod_cidrs(node):
            second.occupy(pod_cidrs(node))
    fresh = [second.allocate()[0] for _ in range(2)]
    assert not set(fresh) & {given[0], given[2]}
    assert fresh == ["10.244.1.0/24", "10.244.3.0/24"]


def test_allocator_exhaustion_takes_nothing_and_dual_stack():
    config = node_ipam_config("10.244.0.0/23,fd00::/63", mask_size_ipv6=64)
    a = RangeAllocator(config)
    assert a.allocate() == ["10.244.0.0/24", "fd00::/64"]
    a.occupy(["10.244.1.0/24"])
    with pytest.raises(CIDRRangeFull):
        a.allocate()  # the IPv4 set is full: the IPv6 subnet it took is given back
    a.release(["10.244.1.0/24"])
    assert a.allocate() == ["10.244.1.0/24", "fd00:0:0:1::/64"]
    with pytest.raises(CIDRSetError):
        a.occupy(["10.244.0.0/24", "fd00::/64", "10.9.0.0/24"])
    with pytest.raises(CIDRSetError):
        a.occupy(["not-a-cidr"])


def test_occupy_checks_every_cidr_before_marking_any():
    a = RangeAllocator(node_ipam_config("10.244.0.0/23,fd00::/63"))
    with pytest.raises(CIDRSetError):
        a.occupy(["10.244.0.0/24", "fd01::/64"])  # the second is outside
    assert a.allocate()[0] == "10.244.0.0/24"


def test_service_range_is_kept_out():
    config = node_ipam_config("10.96.0.0/15", service_cluster_ip_range="10.96.0.0/16")
    assert RangeAllocator(config).allocate() == ["10.97.0.0/24"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cluster_cidr": "10.244.0.0/33"}, "--cluster-cidr: invalid CIDR address: 10.244.0.0/33"),
        ({"cluster_cidr": "bogus"}, "invalid CIDR address: bogus"),
        ({"cluster_cidr": "10.244.0.0/16", "mask_size": 8}, "mask size must be less than or equal"),
        ({"cluster_cidr": "10.244.0.0/16", "mask_size": 40}, "longer than an address"),
        ({"cluster_cidr": "10.0.0.0/8,10.1.0.0/16"}, "dual stack"),
        ({"cluster_cidr": "10.0.0.0/8,fd00::/48", "mask_size": 24}, "not allowed with dual-stack"),
        (
            {"cluster_cidr": "10.0.0.0/8", "mask_size": 24, "mask_size_ipv4": 24},
            "is not allowed if",
        ),
        ({"cluster_cidr": "10.0.0.0/8", "mask_size_ipv6": 64}, "single-stack IPv4"),
        ({"cluster_cidr": "fd00::/48", "mask_size_ipv4": 24}, "single-stack IPv6"),
    ],
)
def test_flag_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        node_ipam_config(**kwargs)


def test_flag_defaults_and_family_masks():
    assert node_ipam_config("10.244.0.0/16").mask_sizes == (24,)
    assert node_ipam_config("10.244.0.0/16", mask_size_ipv4=26).mask_sizes == (26,)
    assert node_ipam_config("10.244.0.0/16", mask_size=20).mask_sizes == (20,)
    assert node_ipam_config("fd00::/48").mask_sizes == (64,)
    assert node_ipam_config("10.244.1.7/16").cluster_cidrs == (net("10.244.0.0/16"),)
