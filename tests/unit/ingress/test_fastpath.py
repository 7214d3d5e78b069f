"""A keep-alive client's repeated exchanges on the fast path (an idle pooled backend
connection; a backend's answer head remembered) keep the general path's outcomes: a
stale pooled connection is replaced by a fresh one to the same endpoint, and an
answer that is not whole in one segment is relayed in pieces and counted once.
Fake transports: this is the protocol objects' logic, not sockets."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from ingress.fastpath import BackendConn, ClientConn
from ingress.routing import Address, Backend, RouteTable
from ingress.server import ProxyServer

ADDRESS: Address = ("127.0.0.1", 9)
REQUEST = b"GET /x HTTP/1.1\r\nHost: a.local\r\n\r\n"
HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"


class FakeTransport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def get_extra_info(self, name: str) -> object:
        return ("127.0.0.1", 40000) if name == "peername" else None

    def close(self) -> None:
        self.closed = True


class OneRoute:
    backend = Backend("default", "web", "80", (ADDRESS,))

    def match(self, host: str, path: str) -> Backend:
        return self.backend


def rig() -> tuple[ProxyServer, ClientConn, FakeTransport, BackendConn, FakeTransport]:
    table = cast(RouteTable, OneRoute())  # match() is all the fast path asks of it
    proxy = ProxyServer(lambda: table)
    client, client_out = ClientConn(proxy, "http", 80), FakeTransport()
    client.connection_made(client_out)  # type: ignore[arg-type]
    backend, backend_out = BackendConn(proxy.pool, ADDRESS), FakeTransport()
    backend.connection_made(backend_out)  # type: ignore[arg-type]
    proxy.pool.give(backend)
    return proxy, client, client_out, backend, backend_out


def test_a_stale_pooled_connection_is_replaced_by_a_fresh_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh: list[tuple[Address, bool]] = []

    async def connect(self: ClientConn, address: Address, backend: Backend) -> None:
        assert self.exchange is not None
        fresh.append((address, self.exchange[4]))

    monkeypatch.setattr(ClientConn, "_connect", connect)

    async def scenario() -> None:
        _, client, _, stale, stale_out = rig()
        stale.reused = True  # it carried an exchange before
        client.data_received(REQUEST)
        assert stale_out.sent and stale_out.sent[0].startswith(b"GET /x HTTP/1.1\r\n")
        stale.connection_lost(None)  # the backend had closed it: no byte came back
        await asyncio.sleep(0)
        assert fresh == [(ADDRESS, True)]
        client.connection_lost(None)

    asyncio.run(scenario())


def test_a_repeated_answer_head_whole_or_in_pieces() -> None:
    async def scenario() -> None:
        proxy, client, client_out, backend, _ = rig()
        for answer in (HEAD + b"abcd", HEAD + b"efgh"):  # parsed, then remembered
            client.data_received(REQUEST)
            backend.data_received(answer)
            assert client_out.sent[-1] == answer
        client.data_received(REQUEST)  # the same head, its body in two segments
        backend.data_received(HEAD + b"ij")
        assert client.busy
        backend.data_received(b"kl")
        assert b"".join(client_out.sent[-2:]) == HEAD + b"ijkl"
        assert not client.busy and proxy.pool.idle[ADDRESS] == [backend]
        assert proxy.requests.counts == {("default", "web", "GET", 200): 3}
        client.connection_lost(None)

    asyncio.run(scenario())
