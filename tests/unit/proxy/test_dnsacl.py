"""The cluster DNS's client ACL (proxy/dnsacl.py): reading the host's tables and the
decision, on a fake clock."""

from __future__ import annotations

import ipaddress

from proxy.dnsacl import ClientAcl, connected_networks, local_addresses

ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
br-1\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
tun0\t0000000A\t0A00000A\t0003\t0\t0\t0\t000000FF\t0\t0\t0
"""

FIB_TRIE = """Local:
  +-- 0.0.0.0/0 3 0 5
     |-- 10.96.0.10
        /32 host LOCAL
     |-- 172.18.0.1
        /32 host LOCAL
     |-- 172.18.255.255
        /32 link BROADCAST
"""


def nets(*cidrs: str) -> list[ipaddress.IPv4Network]:
    return [ipaddress.IPv4Network(c) for c in cidrs]


def test_connected_networks_are_gatewayless_routes_but_not_a_default_route():
    assert connected_networks(ROUTES) == nets("192.0.2.0/24", "172.18.0.0/16")


def test_local_addresses_are_the_host_leaves_of_the_fib():
    assert local_addresses(FIB_TRIE) == nets("10.96.0.10/32", "172.18.0.1/32")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_fixed_networks_and_host_networks_are_allowed_others_refused():
    acl = ClientAcl(["127.0.0.0/8"], read_host=lambda: nets("172.18.0.0/16"))
    assert acl.allows("127.0.0.1") and acl.allows("172.18.3.4")
    assert acl.allows("::ffff:172.18.3.4") and acl.allows("::1")
    assert not acl.allows("203.0.113.9") and not acl.allows("2001:db8::1")
    assert not acl.allows("not an address")


def test_a_new_pod_network_is_learnt_but_the_host_is_read_at_most_once_per_interval():
    clock, reads = Clock(), []
    networks = nets("172.18.0.0/16")

    def read() -> list[ipaddress.IPv4Network]:
        reads.append(clock.now)
        return list(networks)

    acl = ClientAcl([], read_host=read, refresh_seconds=5, clock=clock)
    networks.append(ipaddress.IPv4Network("172.19.0.0/16"))  # the kubelet made a bridge
    assert not acl.allows("172.19.0.2")  # read at 0 s: too recent to read again
    for _ in range(100):
        assert not acl.allows("203.0.113.9")
    assert reads == [0.0]
    clock.now = 5.0
    assert acl.allows("172.19.0.2")
    assert reads == [0.0, 5.0]
