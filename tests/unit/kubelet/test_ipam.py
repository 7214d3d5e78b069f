"""kubelet.ipam: host-local allocation of pod IPs, as files under the kubelet's root dir."""

from __future__ import annotations

import ipaddress
import os
import time
from pathlib import Path

import pytest

from kubelet.ipam import (
    LAST_RESERVED,
    Exhausted,
    HostLocalStore,
    Pool,
    first_offset,
    pool_from_network,
)


def pool(cidr: str = "10.244.1.0/29", gateway: str | None = "10.244.1.1") -> Pool:
    net = ipaddress.IPv4Network(cidr)
    return Pool(net, ipaddress.IPv4Address(gateway) if gateway else None)


def in_order(p: Pool) -> list[str]:
    return [str(p.address_at(i)) for i in range(p.size)]


def test_the_pool_is_the_subnet_without_network_broadcast_and_gateway() -> None:
    assert in_order(pool()) == [f"10.244.1.{i}" for i in range(2, 7)]
    assert pool().size == 5
    assert pool().index_of(ipaddress.IPv4Address("10.244.1.4")) == 2
    for outside in ("10.244.1.0", "10.244.1.1", "10.244.1.7", "10.244.2.2"):
        assert pool().index_of(ipaddress.IPv4Address(outside)) is None
    with pytest.raises(IndexError):
        pool().address_at(5)


def test_docker_s_own_range_is_used_last() -> None:
    p = Pool(
        ipaddress.IPv4Network("10.0.0.0/28"),
        ipaddress.IPv4Address("10.0.0.1"),
        ipaddress.IPv4Network("10.0.0.0/29"),
    )
    order = in_order(p)
    assert order[:7] == [f"10.0.0.{i}" for i in range(8, 15)]
    assert order[7:] == [f"10.0.0.{i}" for i in range(2, 8)]
    assert [p.index_of(ipaddress.IPv4Address(ip)) for ip in order] == list(range(13))


@pytest.mark.parametrize(
    ("cidr", "gateway", "docker_range"),
    [
        ("10.0.0.0/24", "10.0.0.1", None),
        ("10.0.0.0/24", "10.0.0.77", "10.0.0.64/27"),  # the gateway inside Docker's range
        ("10.0.0.0/24", "10.0.0.200", "10.0.0.0/25"),  # the range at the subnet's start
        ("10.0.0.0/24", None, "10.0.0.128/25"),  # the range at its end
        ("10.0.0.0/24", "10.0.0.254", "10.0.0.0/24"),  # the range is the whole subnet
        ("10.0.0.0/30", "10.0.0.1", None),
    ],
)
def test_the_search_order_is_the_listed_one(
    cidr: str, gateway: str | None, docker_range: str | None
) -> None:
    """The spans give what listing every host and sorting it would (the former way)."""
    subnet = ipaddress.IPv4Network(cidr)
    gw = ipaddress.IPv4Address(gateway) if gateway else None
    rng = ipaddress.IPv4Network(docker_range) if docker_range else None
    hosts = [ip for ip in subnet.hosts() if ip != gw]
    listed = [ip for ip in hosts if rng is None or ip not in rng]
    listed += [ip for ip in hosts if rng is not None and ip in rng]
    p = Pool(subnet, gw, rng)
    assert in_order(p) == [str(ip) for ip in listed]
    assert [p.index_of(ip) for ip in listed] == list(range(len(listed)))


def test_a_16_hands_out_consecutive_addresses_from_its_seeded_start(tmp_path: Path) -> None:
    """Docker's default network size, indexed rather than listed."""
    big = Pool(ipaddress.IPv4Network("172.18.0.0/16"), ipaddress.IPv4Address("172.18.0.1"))
    store = HostLocalStore(tmp_path / "ipam", seed="node-a")
    given = [ipaddress.IPv4Address(store.allocate(f"pod-{i}", big)) for i in range(30)]
    first = big.index_of(given[0])
    assert first == first_offset("node-a", big.size)
    assert given == [big.address_at((first + i) % big.size) for i in range(30)]


def test_pool_from_docker_s_network_inspect() -> None:
    net = {"IPAM": {"Config": [{"Subnet": "172.30.0.0/16", "Gateway": "172.30.0.1"}]}}
    assert pool_from_network(net) == Pool(
        ipaddress.IPv4Network("172.30.0.0/16"), ipaddress.IPv4Address("172.30.0.1")
    )
    # no Gateway given: Docker's default, the subnet's first address
    bare = pool_from_network({"IPAM": {"Config": [{"Subnet": "10.244.3.0/24"}]}})
    assert bare is not None and str(bare.gateway) == "10.244.3.1"
    ranged = {"IPAM": {"Config": [{"Subnet": "10.1.0.0/24", "IPRange": "10.1.0.0/25"}]}}
    found = pool_from_network(ranged)
    assert found is not None and str(found.docker_range) == "10.1.0.0/25"
    v6_first = {"IPAM": {"Config": [{"Subnet": "fd00::/64"}, {"Subnet": "10.9.0.0/24"}]}}
    found = pool_from_network(v6_first)
    assert found is not None and str(found.subnet) == "10.9.0.0/24"
    assert pool_from_network({"IPAM": {"Config": []}}) is None
    assert pool_from_network({}) is None


def test_docker_s_default_bridge_takes_no_fixed_addresses() -> None:
    """Docker refuses `--ip` on its default bridge though inspect shows a subnet there:
    on `--pod-network bridge` Docker gives pod IPs."""
    bridge = {
        "Name": "bridge",
        "Options": {"com.docker.network.bridge.default_bridge": "true"},
        "IPAM": {"Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]},
    }
    assert pool_from_network(bridge) is None
    made = {**bridge, "Name": "minik", "Options": {}}
    assert pool_from_network(made) is not None


def test_allocation_is_one_file_per_address_naming_the_pod(tmp_path: Path) -> None:
    store = HostLocalStore(tmp_path / "ipam" / "minik")
    ip = store.allocate("uid-a", pool())
    assert ipaddress.IPv4Address(ip) in pool().subnet and ip != "10.244.1.1"
    assert (tmp_path / "ipam" / "minik" / ip).read_text().strip() == "uid-a"
    assert store.allocations() == {ip: "uid-a"}
    assert store.owned("uid-a") == ip and store.owned("uid-b") is None


def test_a_pod_keeps_its_address_and_a_new_store_reads_it_back(tmp_path: Path) -> None:
    store = HostLocalStore(tmp_path)
    first = store.allocate("uid-a", pool())
    assert store.allocate("uid-a", pool()) == first  # a container restart
    restarted = HostLocalStore(tmp_path)  # a kubelet restart
    assert restarted.allocate("uid-a", pool()) == first
    other = restarted.allocate("uid-b", pool())
    assert other != first  # no double allocation across the restart
    assert restarted.allocations() == {first: "uid-a", other: "uid-b"}


def test_addresses_others_use_are_skipped(tmp_path: Path) -> None:
    store = HostLocalStore(tmp_path)
    taken = {"10.244.1.2", "10.244.1.3", "10.244.1.4", "10.244.1.5"}
    assert store.allocate("uid-a", pool(), taken) == "10.244.1.6"


def test_exhaustion_and_reuse_after_release(tmp_path: Path) -> None:
    store = HostLocalStore(tmp_path)
    given = [store.allocate(f"uid-{i}", pool()) for i in range(5)]
    assert sorted(given) == [f"10.244.1.{i}" for i in range(2, 7)]
    with pytest.raises(Exhausted):
        store.allocate("uid-x", pool())
    assert store.release("uid-2") == [given[2]]
    assert store.release("uid-2") == []  # idempotent
    assert store.allocate("uid-x", pool()) == given[2]
    with pytest.raises(Exhausted):
        store.allocate("uid-y", pool())


def test_round_robin_does_not_hand_out_an_address_just_released(tmp_path: Path) -> None:
    store = HostLocalStore(tmp_path)
    a = store.allocate("uid-a", pool())
    store.release("uid-a")
    b = store.allocate("uid-b", pool())
    assert b != a
    assert (tmp_path / LAST_RESERVED).read_text().strip() == b


def test_stores_with_other_seeds_start_apart(tmp_path: Path) -> None:
    big = pool("10.244.0.0/16", "10.244.0.1")
    one = HostLocalStore(tmp_path / "one", seed="node-1").allocate("a", big)
    two = HostLocalStore(tmp_path / "two", seed="node-2").allocate("b", big)
    assert one != two


def test_an_address_outside_the_pool_is_not_kept(tmp_path: Path) -> None:
    store = HostLocalStore(tmp_path)
    old = store.allocate("uid-a", pool("10.9.0.0/29", "10.9.0.1"))
    new = store.allocate("uid-a", pool())  # the network was made again, elsewhere
    assert new != old and ipaddress.IPv4Address(new) in pool().subnet
    assert sorted(store.release("uid-a")) == sorted([old, new])


def test_release_of_one_address_only_if_the_pod_still_holds_it(tmp_path: Path) -> None:
    store = HostLocalStore(tmp_path)
    ip = store.allocate("uid-a", pool())
    assert not store.release_address(ip, "uid-b")
    assert store.release_address(ip, "uid-a")
    assert store.allocations() == {}


def test_unknown_owners_are_released_but_not_allocations_made_since(tmp_path: Path) -> None:
    store = HostLocalStore(tmp_path)
    gone = store.allocate("uid-gone", pool())
    kept = store.allocate("uid-live", pool())
    past = time.time() - 60
    os.utime(tmp_path / gone, (past, past))
    os.utime(tmp_path / kept, (past, past))
    known_at = time.time()
    fresh = store.allocate("uid-new", pool())  # after `known` was read
    os.utime(tmp_path / fresh, (known_at + 1, known_at + 1))
    assert store.release_unknown({"uid-live"}, before=known_at) == ["uid-gone"]
    assert store.allocations() == {kept: "uid-live", fresh: "uid-new"}
