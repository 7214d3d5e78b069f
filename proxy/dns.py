"""Cluster DNS, served by the proxy on the cluster DNS address (UDP and TCP, port 53).

Names in the cluster domain are answered from the `Zone` (rebuilt by the proxier
on every Service/Endpoints change); every other name is forwarded unchanged to
the upstream resolver (`--upstream-dns`). The wire format is dnspython's.

Against amplification (issue 11: a 40-byte query returned a 4.5 KB forwarded
answer): only the clients `proxy.dnsacl` allows are answered, and no UDP answer,
ours or forwarded, is bigger than the client can take: 512 bytes, or its EDNS0
size capped at 1232 (CoreDNS' `bufsize` default). A bigger one is truncated with
the TC bit set, so the client asks again over TCP, as RFC 1035 and 7766 say.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import struct
from collections.abc import Coroutine
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from proxy.dnsacl import ClientAcl, cluster_acl
from proxy.dnsaddress import Address as Address
from proxy.dnsaddress import parse_address as parse_address
from proxy.dnsrecords import Zone, normalize
from proxy.sockets import listening_socket

# port 0: how many ports to try for UDP and TCP together (DnsServer.start)
_ANY_PORT_ATTEMPTS = 10

log = logging.getLogger(__name__)

TTL = 5  # seconds, CoreDNS' kubernetes plugin default: services change often
UPSTREAM_TIMEOUT = 2.0
TCP_IDLE_SECONDS = 10.0
UDP_DEFAULT_SIZE = 512  # RFC 1035's limit for clients without EDNS0
UDP_MAX_SIZE = 1232  # CoreDNS' bufsize default (DNS Flag Day 2020): no fragmentation

# ---- answering from the zone (no I/O) ---------------------------------------------------


def udp_size(query: dns.message.Message) -> int:
    """How big a UDP answer to `query` may be: its EDNS0 size within [512, 1232]."""
    if query.edns < 0:
        return UDP_DEFAULT_SIZE
    return max(UDP_DEFAULT_SIZE, min(query.payload, UDP_MAX_SIZE))


def _make_response(query: dns.message.Message) -> dns.message.Message:
    return dns.message.make_response(query, our_payload=UDP_MAX_SIZE)


def fit_udp(query: dns.message.Message, wire: bytes | None, size: int) -> bytes | None:
    """An answer (a forwarded one's wire) cut to `size` bytes: sections that do not
    fit are dropped and TC is set; one that cannot be re-rendered becomes an empty
    truncated answer, never one bigger than `size`."""
    if wire is None or len(wire) <= size:
        return wire
    try:
        out = dns.message.from_wire(wire).to_wire(max_size=size, prefer_truncation=True)
    except dns.exception.DNSException:
        out = b""
    if not out or len(out) > size:
        response = _make_response(query)
        response.flags |= dns.flags.TC
        out = response.to_wire(max_size=size, prefer_truncation=True)
    return out


def _rrset(owner: dns.name.Name, rdtype: str, values: list[str]) -> dns.rrset.RRset:
    return dns.rrset.from_text_list(owner, TTL, "IN", rdtype, values)


def _soa(zone: Zone) -> dns.rrset.RRset:
    origin = zone.domain + "."
    return dns.rrset.from_text(
        origin, TTL, "IN", "SOA", f"ns.dns.{origin} hostmaster.{origin} 1 7200 1800 86400 {TTL}"
    )


def _srv_values(records: list) -> list[str]:
    weight = max(1, 100 // len(records))
    return [f"0 {weight} {r.port} {r.target}." for r in records]


def answer(
    query: dns.message.Message, zone: Zone | None, domain: str
) -> dns.message.Message | None:
    """The response for a cluster name, or None when the query is to be forwarded.
    A zone of None (not synced yet) gives SERVFAIL for cluster names."""
    if query.opcode() != dns.opcode.QUERY or len(query.question) != 1:
        response = _make_response(query)
        not_query = query.opcode() != dns.opcode.QUERY
        response.set_rcode(dns.rcode.NOTIMP if not_query else dns.rcode.FORMERR)
        return response
    question = query.question[0]
    name = normalize(question.name.to_text())
    in_domain = name == domain or name.endswith("." + domain)
    if not in_domain:
        if zone is not None and question.rdtype == dns.rdatatype.PTR and name in zone.ptr:
            response = _make_response(query)
            response.flags |= dns.flags.AA
            response.answer.append(_rrset(question.name, "PTR", [zone.ptr[name] + "."]))
            return response
        return None
    response = _make_response(query)
    if zone is None:
        response.set_rcode(dns.rcode.SERVFAIL)
        return response
    response.flags |= dns.flags.AA
    if question.rdclass != dns.rdataclass.IN:
        return response
    rdtype = question.rdtype
    any_type = rdtype == dns.rdatatype.ANY
    if name in zone.cname:
        response.answer.append(_rrset(question.name, "CNAME", [zone.cname[name] + "."]))
        return response
    if (rdtype == dns.rdatatype.A or any_type) and name in zone.a:
        response.answer.append(_rrset(question.name, "A", zone.a[name]))
    if (rdtype == dns.rdatatype.SRV or any_type) and name in zone.srv:
        records = zone.srv[name]
        response.answer.append(_rrset(question.name, "SRV", _srv_values(records)))
        for target in dict.fromkeys(r.target for r in records):
            if target in zone.a:
                response.additional.append(_rrset(dns.name.from_text(target), "A", zone.a[target]))
    if not response.answer:
        if not zone.exists(name):
            response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(_soa(zone))
    return response


def error_response(wire: bytes, rcode: dns.rcode.Rcode) -> bytes | None:
    """A bare error answer to whatever query `wire` holds (None if unparseable)."""
    try:
        query = dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return None
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    return response.to_wire()


# ---- forwarding ---------------------------------------------------------------------


class _OneShot(asyncio.DatagramProtocol):
    def __init__(self, query_id: bytes) -> None:
        self.query_id = query_id
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if data[:2] == self.query_id and not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


class Forwarder:
    """Sends queries for names outside the cluster to the upstream resolver."""

    def __init__(self, upstream: Address | None) -> None:
        self.upstream = upstream

    async def udp(self, wire: bytes) -> bytes | None:
        if self.upstream is None:
            return error_response(wire, dns.rcode.SERVFAIL)
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            lambda: _OneShot(wire[:2]), remote_addr=self.upstream
        )
        try:
            transport.sendto(wire)
            async with asyncio.timeout(UPSTREAM_TIMEOUT):
                return await proto.reply
        except (OSError, TimeoutError) as err:
            log.debug("upstream %s: %s", self.upstream, err)
            return error_response(wire, dns.rcode.SERVFAIL)
        finally:
            transport.close()

    async def tcp(self, wire: bytes) -> bytes | None:
        if self.upstream is None:
            return error_response(wire, dns.rcode.SERVFAIL)
        writer = None
        try:
            async with asyncio.timeout(UPSTREAM_TIMEOUT):
                reader, writer = await asyncio.open_connection(*self.upstream)
                writer.write(struct.pack("!H", len(wire)) + wire)
                (size,) = struct.unpack("!H", await reader.readexactly(2))
                return await reader.readexactly(size)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as err:
            log.debug("upstream %s over TCP: %s", self.upstream, err)
            return error_response(wire, dns.rcode.SERVFAIL)
        finally:
            if writer is not None:
                writer.close()


# ---- the server ---------------------------------------------------------------------


class DnsServer(asyncio.DatagramProtocol):
    """Answers on (ip, port) over UDP and TCP; `zone` is replaced as Services change."""

    def __init__(
        self,
        ip: str,
        port: int,
        domain: str,
        forwarder: Forwarder,
        acl: ClientAcl | None = None,
    ) -> None:
        self.ip, self.port = ip, port
        self.domain = normalize(domain)
        self.forwarder = forwarder
        self.acl = acl if acl is not None else cluster_acl()
        self.zone: Zone | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Serve UDP and TCP on one port. With port 0 the kernel picks the UDP port and
        TCP takes the same one, which a TCP socket (a client's ephemeral port) may
        already hold: then another port is picked, a few times."""
        wanted = self.port
        for attempt in range(1 if wanted else _ANY_PORT_ATTEMPTS):
            try:
                await self._start_on(wanted)
                return
            except OSError as err:
                if wanted or err.errno != errno.EADDRINUSE or attempt == _ANY_PORT_ATTEMPTS - 1:
                    raise

    async def _start_on(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        udp_sock = listening_socket(self.ip, port, socket.SOCK_DGRAM)
        self.port = udp_sock.getsockname()[1]  # port 0: TCP takes the same one
        try:
            await loop.create_datagram_endpoint(lambda: self, sock=udp_sock)
        except OSError:
            udp_sock.close()
            raise
        try:
            tcp_sock = listening_socket(self.ip, self.port)
        except OSError:
            self.close()
            raise
        try:
            self._tcp = await asyncio.start_server(self._serve_tcp, sock=tcp_sock)
        except OSError:
            tcp_sock.close()
            self.close()
            raise

    def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            self._tcp = None
        for task in list(self._tasks):
            task.cancel()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._udp = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if not self.acl.allows(addr[0]):
            # REFUSED, never bigger than the query: a spoofed source gains nothing
            reply = error_response(data, dns.rcode.REFUSED)
            self._send_udp(reply if reply and len(reply) <= len(data) else None, addr)
            return
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            reply = error_response(data[:12], dns.rcode.FORMERR) if len(data) >= 12 else None
            self._send_udp(reply, addr)
            return
        size = udp_size(query)
        response = answer(query, self.zone, self.domain)
        if response is not None:
            self._send_udp(response.to_wire(max_size=size, prefer_truncation=True), addr)
            return
        self._spawn(self._forward_udp(query, data, addr, size))

    def _send_udp(self, wire: bytes | None, addr: Address) -> None:
        if wire is not None and self._udp is not None:
            self._udp.sendto(wire, addr)

    async def _forward_udp(
        self, query: dns.message.Message, data: bytes, addr: Address, size: int
    ) -> None:
        self._send_udp(fit_udp(query, await self.forwarder.udp(data), size), addr)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # tracked as the UDP answers are, so close() ends open connections too (closing
        # the listener does not, and a task left pending dies with the loop)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        peer = writer.get_extra_info("peername")
        allowed = bool(peer) and self.acl.allows(peer[0])
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE_SECONDS):
                    (size,) = struct.unpack("!H", await reader.readexactly(2))
                    data = await reader.readexactly(size)
                reply = (
                    await self._answer_tcp(data)
                    if allowed
                    else error_response(data, dns.rcode.REFUSED)
                )
                if reply is None:
                    return
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _answer_tcp(self, data: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        response = answer(query, self.zone, self.domain)
        if response is not None:
            return response.to_wire(max_size=65535, prefer_truncation=True)
        return await self.forwarder.tcp(data)
