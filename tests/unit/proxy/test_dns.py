"""Cluster DNS records and answers, following Kubernetes' DNS spec (no sockets)."""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

import proxy.dns
from proxy.dns import DnsServer, Forwarder, answer, parse_address
from proxy.dnsacl import ClientAcl
from proxy.dnsrecords import Srv, build_zone

DOMAIN = "cluster.local"


def svc(name: str, ns: str = "default", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


WEB = svc(
    "web",
    clusterIP="10.96.3.4",
    ports=[{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 9999, "protocol": "TCP"}],
)
DB = svc("db", ns="data", clusterIP="None", ports=[{"name": "pg", "port": 5432}])
DB_EPS = {
    "metadata": {"name": "db", "namespace": "data"},
    "subsets": [
        {
            "addresses": [{"ip": "172.18.0.7", "hostname": "db-0"}, {"ip": "172.18.0.8"}],
            "notReadyAddresses": [{"ip": "172.18.0.9"}],
            "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}],
        }
    ],
}
EXT = svc("ext", type="ExternalName", externalName="db.example.org")
ZONE = build_zone([WEB, DB, EXT], [DB_EPS], DOMAIN)


def ask(name: str, rdtype: str = "A") -> dns.message.Message | None:
    return answer(dns.message.make_query(name, rdtype), ZONE, DOMAIN)


def values(response: dns.message.Message, rdtype: str) -> list[str]:
    kind = dns.rdatatype.from_text(rdtype)
    return sorted(rd.to_text() for rrset in response.answer if rrset.rdtype == kind for rd in rrset)


def test_cluster_ip_service_has_an_a_record():
    r = ask("web.default.svc.cluster.local.")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert values(r, "A") == ["10.96.3.4"]
    assert r.answer[0].ttl == 5


def test_names_are_case_insensitive():
    assert values(ask("WEB.Default.SVC.cluster.local."), "A") == ["10.96.3.4"]


def test_named_ports_have_srv_records_with_the_target_address_as_additional():
    r = ask("_http._tcp.web.default.svc.cluster.local.", "SRV")
    assert values(r, "SRV") == ["0 100 80 web.default.svc.cluster.local."]
    extra = {rrset.name.to_text(): [rd.to_text() for rd in rrset] for rrset in r.additional}
    assert extra["web.default.svc.cluster.local."] == ["10.96.3.4"]


def test_unnamed_ports_have_no_srv_record():
    assert not any(name.startswith("_9999") for name in ZONE.srv)


def test_headless_service_answers_its_ready_endpoints():
    r = ask("db.data.svc.cluster.local.")
    assert values(r, "A") == ["172.18.0.7", "172.18.0.8"]
    assert values(ask("db-0.db.data.svc.cluster.local."), "A") == ["172.18.0.7"]
    assert values(ask("172-18-0-8.db.data.svc.cluster.local."), "A") == ["172.18.0.8"]


def test_headless_srv_points_at_each_endpoint():
    r = ask("_pg._tcp.db.data.svc.cluster.local.", "SRV")
    assert values(r, "SRV") == [
        "0 50 5432 172-18-0-8.db.data.svc.cluster.local.",
        "0 50 5432 db-0.db.data.svc.cluster.local.",
    ]
    assert ZONE.srv["_pg._tcp.db.data.svc.cluster.local"][0] == Srv(
        5432, "db-0.db.data.svc.cluster.local"
    )


def test_unknown_names_in_the_domain_are_nxdomain_with_an_soa():
    r = ask("nope.default.svc.cluster.local.")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.authority and r.authority[0].rdtype == dns.rdatatype.SOA


def test_existing_name_without_that_type_is_nodata():
    r = ask("web.default.svc.cluster.local.", "AAAA")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    r = ask("default.svc.cluster.local.")  # a parent of real names
    assert r.rcode() == dns.rcode.NOERROR and not r.answer


def test_headless_service_without_ready_endpoints_still_exists():
    zone = build_zone([DB], [], DOMAIN)
    r = answer(dns.message.make_query("db.data.svc.cluster.local.", "A"), zone, DOMAIN)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer


def test_external_name_is_a_cname():
    assert values(ask("ext.default.svc.cluster.local."), "CNAME") == ["db.example.org."]


def test_cluster_ips_have_ptr_records():
    r = ask("4.3.96.10.in-addr.arpa.", "PTR")
    assert values(r, "PTR") == ["web.default.svc.cluster.local."]


def test_other_names_are_forwarded():
    assert ask("example.org.") is None
    assert ask("1.2.0.192.in-addr.arpa.", "PTR") is None


def test_before_the_first_sync_cluster_names_fail_softly():
    query = dns.message.make_query("web.default.svc.cluster.local.", "A")
    assert answer(query, None, DOMAIN).rcode() == dns.rcode.SERVFAIL
    assert answer(dns.message.make_query("example.org.", "A"), None, DOMAIN) is None


def test_upstream_address_parsing():
    assert parse_address("192.0.2.53") == ("192.0.2.53", 53)
    assert parse_address("127.0.0.1:5300") == ("127.0.0.1", 5300)


def no_acl() -> ClientAcl:
    """Loopback only, without reading the host's networks."""
    return ClientAcl(["127.0.0.1/32"], read_host=None)


def test_port_zero_picks_another_port_when_tcp_finds_its_udp_port_taken(run, monkeypatch):
    """The UDP port the kernel picked may be held for TCP (a client's ephemeral port):
    the server closes that UDP socket and picks again, and ends up on one port for both."""
    real = proxy.dns.listening_socket
    udp_ports: list[int] = []
    refused = []

    def taken_once(ip: str, port: int, kind: int = socket.SOCK_STREAM) -> socket.socket:
        if kind == socket.SOCK_STREAM and not refused:
            refused.append(port)
            raise OSError(errno.EADDRINUSE, "Address already in use")
        sock = real(ip, port, kind)
        if kind == socket.SOCK_DGRAM:
            udp_ports.append(sock.getsockname()[1])
        return sock

    monkeypatch.setattr(proxy.dns, "listening_socket", taken_once)

    async def go() -> None:
        server = DnsServer("127.0.0.1", 0, "cluster.local", Forwarder(None), no_acl())
        await server.start()
        try:
            # (a busy machine's own clients may hold the next port too: more tries)
            assert len(udp_ports) >= 2 and refused == [udp_ports[0]], (udp_ports, refused)
            assert server.port == udp_ports[-1]
            with socket.create_connection(("127.0.0.1", server.port), timeout=5):
                pass  # TCP listens on the UDP port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", udp_ports[0]))  # the first UDP socket was closed
        finally:
            server.close()

    run(go())


def test_a_given_port_that_is_taken_is_an_error_at_once(run):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]

        async def go() -> None:
            server = DnsServer("127.0.0.1", port, "cluster.local", Forwarder(None), no_acl())
            with pytest.raises(OSError) as err:
                await server.start()
            assert err.value.errno == errno.EADDRINUSE

        run(go())


def test_close_ends_open_tcp_connections(run):
    """Closing the listener leaves accepted connections open; close() ends them, so no
    handler is left pending when the loop stops."""

    async def go() -> None:
        server = DnsServer("127.0.0.1", 0, "cluster.local", Forwarder(None), no_acl())
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            for _ in range(100):  # the handler runs once the loop has accepted
                if server._tasks:
                    break
                await asyncio.sleep(0.01)
            assert server._tasks, "the connection's handler is tracked"
            server.close()
            async with asyncio.timeout(5):
                assert await reader.read() == b""  # the server closed its side
            await asyncio.sleep(0)
            assert not server._tasks
        finally:
            writer.close()

    run(go())
