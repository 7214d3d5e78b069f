"""TCP forwarding with real sockets on 127.0.0.1, in one process, under both the
standard asyncio loop and uvloop (the proxy's hot path relies on how each calls
`data_received`)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import threading
import time

import pytest

from proxy.balancer import Balancer, Target
from proxy.servicemap import Backend
from proxy.tcp import TcpListener


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def named_server(name: bytes) -> tuple[asyncio.AbstractServer, Backend]:
    """Answers every line with its own name (one line per request)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readline():
                writer.write(name + b"\n")
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, Backend("127.0.0.1", server.sockets[0].getsockname()[1])


async def proxy_to(*backends: Backend, affinity: int | None = None) -> tuple[TcpListener, Target]:
    target = Target("test", Balancer(backends, affinity))
    listener = TcpListener("127.0.0.1", 0, target)
    await listener.start()
    return listener, target


async def ask(port: int, conn=None) -> bytes:
    reader, writer = conn or await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"who\n")
    line = await reader.readline()
    if conn is None:
        writer.close()
    return line.strip()


def test_requests_are_spread_round_robin(run):
    async def go() -> None:
        servers = [await named_server(n) for n in (b"a", b"b", b"c")]
        listener, _ = await proxy_to(*(b for _, b in servers))
        answers = [await ask(listener.port) for _ in range(6)]
        assert answers == [b"a", b"b", b"c", b"a", b"b", b"c"]
        listener.close()

    run(go())


def test_a_refusing_endpoint_is_skipped(run):
    async def go() -> None:
        _, alive = await named_server(b"alive")
        dead = Backend("127.0.0.1", free_port())
        listener, _ = await proxy_to(dead, alive)
        assert [await ask(listener.port) for _ in range(4)] == [b"alive"] * 4
        listener.close()

    run(go())


def test_a_live_backend_dropping_syns_is_dialled_again(run):
    """A one-endpoint backend whose accept queue is full drops our SYNs; it drains
    after 1.2 s. kube-proxy's dial ladder (0.25, 0.5, 1, 2 s on the same endpoint)
    still connects; a single 1 s dial would have reset the client."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)  # one connection fills the accept queue
    fillers = [socket.create_connection(server.getsockname(), timeout=1)]
    port = server.getsockname()[1]

    def serve_late() -> None:
        time.sleep(1.2)
        server.settimeout(5)
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                threading.Thread(target=answer, args=(conn,), daemon=True).start()

    def answer(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(5)
            if conn.recv(16):
                conn.sendall(b"late\n")

    async def go() -> None:
        listener, _ = await proxy_to(Backend("127.0.0.1", port))
        threading.Thread(target=serve_late, daemon=True).start()
        assert await ask(listener.port) == b"late"
        listener.close()

    try:
        run(go())
    finally:
        server.close()
        for f in fillers:
            f.close()


@pytest.mark.parametrize("backends", [(), ("refusing",)])
def test_no_usable_endpoint_refuses_at_once(run, backends):
    async def go() -> None:
        listener, _ = await proxy_to(*(Backend("127.0.0.1", free_port()) for _ in backends))
        started = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"who\n")
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            await reader.readexactly(1)
        assert time.monotonic() - started < 0.5
        writer.close()
        listener.close()

    run(go())


def test_established_connections_keep_their_backend_when_endpoints_change(run):
    async def go() -> None:
        _, a = await named_server(b"a")
        _, b = await named_server(b"b")
        listener, target = await proxy_to(a)
        conn = await asyncio.open_connection("127.0.0.1", listener.port)
        assert await ask(listener.port, conn) == b"a"
        target.balancer.update([b], None)
        assert await ask(listener.port) == b"b"  # new connections: the new endpoints
        assert await ask(listener.port, conn) == b"a"  # the old one: untouched
        listener.close()
        assert await ask(listener.port, conn) == b"a"  # even with the listener gone
        conn[1].close()

    run(go())


def test_session_affinity_sticks(run):
    async def go() -> None:
        servers = [await named_server(n) for n in (b"a", b"b", b"c")]
        listener, _ = await proxy_to(*(b for _, b in servers), affinity=60)
        answers = {await ask(listener.port) for _ in range(6)}
        assert len(answers) == 1
        listener.close()

    run(go())


def test_half_close_is_passed_on_both_ways(run):
    """The client shuts down its sending side; the backend reads to EOF, answers and
    closes; the client gets the whole answer, then EOF."""

    async def counter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()  # until the client's EOF
        writer.write(b"got %d" % len(data))
        await writer.drain()
        writer.close()

    async def go() -> None:
        server = await asyncio.start_server(counter, "127.0.0.1", 0)
        backend = Backend("127.0.0.1", server.sockets[0].getsockname()[1])
        listener, _ = await proxy_to(backend)
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"x" * 100_000)
        writer.write_eof()
        assert await reader.read() == b"got 100000"
        writer.close()
        listener.close()

    run(go())


def test_a_backend_that_speaks_first_and_closes(run):
    async def greeter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello\n")
        await writer.drain()
        writer.close()

    async def go() -> None:
        server = await asyncio.start_server(greeter, "127.0.0.1", 0)
        listener, _ = await proxy_to(Backend("127.0.0.1", server.sockets[0].getsockname()[1]))
        for _ in range(5):
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            assert await reader.read() == b"hello\n"
            writer.close()
        listener.close()

    run(go())


def test_bulk_transfer_arrives_intact_with_back_pressure(run):
    """8 MB each way at once through an echo backend: nothing lost, reordered or stuck."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def go() -> None:
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        listener, _ = await proxy_to(Backend("127.0.0.1", server.sockets[0].getsockname()[1]))
        payload = os.urandom(8 * 1024 * 1024)
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)

        async def send() -> None:
            for i in range(0, len(payload), 65536):
                writer.write(payload[i : i + 65536])
                await writer.drain()
            writer.write_eof()

        sender = asyncio.ensure_future(send())
        received = await reader.read(-1)
        await sender
        assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
        writer.close()
        listener.close()

    run(go())
