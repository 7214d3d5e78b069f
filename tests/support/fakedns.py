"""A fake upstream resolver for the cluster DNS in tests: on loopback, over UDP and
TCP on one port, it answers every A query with a TEST-NET address and remembers the
names it was asked, so a test's DNS traffic never leaves this machine. A TXT query
gets `BIG_TXT_BYTES` of records: the kind of answer an amplification attack asks
for (issue 11 measured a 4.5 KB one for a 40-byte query)."""

from __future__ import annotations

import contextlib
import socket
import threading

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

UPSTREAM_ANSWER = "192.0.2.123"  # TEST-NET-1: the fake upstream's answer, never dialled
BIG_TXT_BYTES = 4500
_TXT_CHUNK = 250  # one character-string holds at most 255


def bind_udp_and_tcp_on_one_port() -> tuple[socket.socket, socket.socket]:
    """A resolver listens on both; a port free for UDP may be taken for TCP by
    someone else (CI met it), so try others until one is free for both."""
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        tcp = socket.socket()
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind(("127.0.0.1", udp.getsockname()[1]))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen()
        return udp, tcp
    raise RuntimeError("no loopback port is free for both UDP and TCP")


class FakeUpstreamDns:
    """The cluster DNS's only "outside" resolver."""

    ANSWER = UPSTREAM_ANSWER

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.udp, self.tcp = bind_udp_and_tcp_on_one_port()
        self.port: int = self.udp.getsockname()[1]
        for sock in (self.udp, self.tcp):
            sock.settimeout(0.1)
        self.running = True
        self.threads = [
            threading.Thread(target=self._serve_udp, daemon=True),
            threading.Thread(target=self._serve_tcp, daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _reply(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        self.asked.append(question.name.to_text())
        response = dns.message.make_response(query)
        if question.rdtype == dns.rdatatype.A:
            response.answer.append(
                dns.rrset.from_text(question.name, 30, "IN", "A", UPSTREAM_ANSWER)
            )
        elif question.rdtype == dns.rdatatype.TXT:
            texts = [
                f'"{i:03d}' + "a" * (_TXT_CHUNK - 3) + '"'
                for i in range(BIG_TXT_BYTES // _TXT_CHUNK)
            ]
            response.answer.append(dns.rrset.from_text_list(question.name, 30, "IN", "TXT", texts))
        response.set_rcode(dns.rcode.NOERROR)
        return response.to_wire(max_size=65535)  # whatever size the query asked for

    def _serve_udp(self) -> None:
        while self.running:
            try:
                wire, addr = self.udp.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with contextlib.suppress(Exception):
                self.udp.sendto(self._reply(wire), addr)

    def _serve_tcp(self) -> None:
        while self.running:
            try:
                conn, _ = self.tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(Exception):
                    size = int.from_bytes(conn.recv(2), "big")
                    reply = self._reply(conn.recv(size))
                    conn.sendall(len(reply).to_bytes(2, "big") + reply)

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(2)
        self.udp.close()
        self.tcp.close()
