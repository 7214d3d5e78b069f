"""Issue 11, "Cluster DNS answers only clients in the pod/node networks and loopback
and does not amplify (a 40-byte query returned a 4.5 KB upstream answer)".

The proxy's real DNS server (proxy.dns.DnsServer) runs alone on a free loopback
port, forwarding to the fake upstream of tests/support/fakedns.py, whose TXT answer
is 4.5 KB. Its ACL allows 127.0.0.1 only, so a client bound to 127.0.0.2 stands for
one outside the cluster's networks. The proxy's own ACL (loopback, the host's
addresses and connected networks, --cluster-cidr) is checked against this host."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from proxy.dns import UDP_MAX_SIZE, DnsServer, Forwarder, parse_address
from proxy.dnsacl import ClientAcl, cluster_acl, read_host_networks
from proxy.dnsrecords import build_zone
from tests.support.fakedns import BIG_TXT_BYTES, FakeUpstreamDns

ALLOWED, OUTSIDER = "127.0.0.1", "127.0.0.2"
NS = "amp"
HEADLESS_ENDPOINTS = 300  # ~4.8 KB of A records for one name


def headless_zone():
    service = {
        "metadata": {"name": "many", "namespace": NS},
        "spec": {"clusterIP": "None", "ports": [{"name": "p", "port": 80}]},
    }
    addresses = [{"ip": f"10.244.{i // 250}.{i % 250 + 1}"} for i in range(HEADLESS_ENDPOINTS)]
    endpoints = {
        "metadata": {"name": "many", "namespace": NS},
        "subsets": [{"addresses": addresses, "ports": [{"name": "p", "port": 80}]}],
    }
    return build_zone([service], [endpoints])


class RunningDns:
    """A DnsServer on its own event loop in a thread."""

    def __init__(self, upstream: FakeUpstreamDns) -> None:
        self.loop = asyncio.new_event_loop()
        acl = ClientAcl([f"{ALLOWED}/32"], read_host=None)
        self.server = DnsServer(
            ALLOWED, 0, "cluster.local", Forwarder(parse_address(upstream.address)), acl
        )
        self.server.zone = headless_zone()
        started = threading.Event()
        self.error: BaseException | None = None

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self.server.start())
            except BaseException as err:  # reported by the fixture
                self.error = err
                started.set()
                return
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(10), "the DNS server did not start"
        if self.error is not None:
            raise self.error

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstreamDns]:
    fake = FakeUpstreamDns()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def server(upstream: FakeUpstreamDns) -> Iterator[RunningDns]:
    running = RunningDns(upstream)
    yield running
    running.stop()


def ask_udp(server: RunningDns, query: dns.message.Message, source: str = ALLOWED) -> bytes:
    """The raw answer to `query` over UDP from `source` (the wire, to measure it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(3)
        sock.sendto(query.to_wire(), (ALLOWED, server.port))
        data, _ = sock.recvfrom(65535)
        return data


def test_forwarded_answer_is_truncated_to_512_bytes_for_a_client_without_edns(server):
    """The finding: a 40-byte query got the upstream's 4.5 KB answer over UDP."""
    query = dns.message.make_query("big.example.", "TXT", use_edns=False)
    wire = ask_udp(server, query)
    reply = dns.message.from_wire(wire)
    assert len(wire) <= 512, f"{len(query.to_wire())}-byte query got {len(wire)} bytes"
    assert reply.flags & dns.flags.TC, "a cut answer must say so (TC), so the client uses TCP"


def test_forwarded_answer_is_capped_at_1232_bytes_whatever_edns_size_is_claimed(server):
    query = dns.message.make_query("big.example.", "TXT", use_edns=0, payload=65000)
    wire = ask_udp(server, query)
    assert len(wire) <= UDP_MAX_SIZE == 1232
    assert dns.message.from_wire(wire).flags & dns.flags.TC


def test_the_whole_answer_comes_over_tcp(server):
    """Truncation is not loss: the client's retry over TCP gets everything."""
    query = dns.message.make_query("big.example.", "TXT")
    reply = dns.query.tcp(query, ALLOWED, port=server.port, timeout=3)
    assert not reply.flags & dns.flags.TC
    assert len(reply.to_wire()) > BIG_TXT_BYTES


def test_a_large_cluster_answer_is_capped_too(server):
    """The proxy's own answers sized themselves by the client's EDNS claim, unbounded:
    a headless Service with 300 endpoints answered ~5 KB to a query claiming 65000."""
    name = f"many.{NS}.svc.cluster.local."
    query = dns.message.make_query(name, "A", use_edns=0, payload=65000)
    wire = ask_udp(server, query)
    assert len(wire) <= UDP_MAX_SIZE
    assert dns.message.from_wire(wire).flags & dns.flags.TC
    whole = dns.query.tcp(query, ALLOWED, port=server.port, timeout=3)
    assert sum(len(rrset) for rrset in whole.answer) == HEADLESS_ENDPOINTS


def test_a_client_outside_the_allowed_networks_is_refused(server, upstream):
    """The finding: the cluster DNS answered (and forwarded for) anyone."""
    name = "refused-client.example."
    query = dns.message.make_query(name, "TXT", use_edns=0, payload=4096)
    wire = ask_udp(server, query, source=OUTSIDER)
    reply = dns.message.from_wire(wire)
    assert reply.rcode() == dns.rcode.REFUSED
    assert not reply.answer
    assert len(wire) <= len(query.to_wire()), "a refusal is no bigger than the query"
    tcp = dns.query.tcp(query, ALLOWED, port=server.port, timeout=3, source=OUTSIDER)
    assert tcp.rcode() == dns.rcode.REFUSED and not tcp.answer
    assert name not in upstream.asked, "nothing is forwarded for a refused client"
    # the same query from an allowed client is answered (over TCP: it is big)
    allowed = dns.query.tcp(query, ALLOWED, port=server.port, timeout=3)
    assert allowed.rcode() == dns.rcode.NOERROR and allowed.answer


def test_the_proxys_acl_is_loopback_this_hosts_networks_and_the_cluster_cidrs():
    """What `python -m proxy` answers: loopback, this host's own addresses and the
    networks it is connected to (its pod bridges), `--cluster-cidr`, nothing else."""
    acl = cluster_acl(["10.244.0.0/16"], ["198.51.100.7"])
    host = read_host_networks()
    assert host, "this host has no network the ACL could allow"
    assert acl.allows("127.0.0.1") and acl.allows("127.0.0.53")
    assert acl.allows("10.244.3.9")  # --cluster-cidr
    assert acl.allows("198.51.100.7")  # --node-ip
    for network in host:
        assert acl.allows(str(network.network_address + (network.num_addresses > 1)))
    outsider = "203.0.113.77"  # TEST-NET-3: never a network of this host
    assert not any(ipaddress.ip_address(outsider) in n for n in host)
    assert not acl.allows(outsider)
    assert not acl.allows("8.8.8.8") or any(ipaddress.ip_address("8.8.8.8") in n for n in host)
