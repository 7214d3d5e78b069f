"""A fake upstream resolver for the cluster DNS in e2e tests: on loopback, it answers
every A query with a TEST-NET address and remembers the names it was asked, so a
test's DNS traffic never leaves this machine."""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

UPSTREAM_ANSWER = "192.0.2.123"  # TEST-NET-1: the fake upstream's answer, never dialled


class FakeUpstreamDns:
    """The cluster DNS's only "outside" resolver: on loopback, it answers every A
    query with a TEST-NET address and remembers the names it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                wire, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(wire)
            except Exception:
                continue
            response = dns.message.make_response(query)
            question = query.question[0]
            self.asked.append(question.name.to_text())
            if dns.rdatatype.to_text(question.rdtype) == "A":
                response.answer.append(
                    dns.rrset.from_text(question.name, 30, "IN", "A", UPSTREAM_ANSWER)
                )
            response.set_rcode(dns.rcode.NOERROR)
            self.sock.sendto(response.to_wire(), addr)

    def stop(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()
