"""The proxy's per-service counters, with real sockets on 127.0.0.1 under both loops:
bytes are taken from the kernel's TCP_INFO when a connection ends, and must equal
what the test sent and received, whichever side closes first."""

from __future__ import annotations

import asyncio
import itertools
import socket

from prometheus_client import REGISTRY

from proxy.balancer import Balancer, Target
from proxy.metrics import acked_so_far, port_labels, received_until_fin
from proxy.servicemap import Backend
from proxy.tcp import TcpListener

_names = itertools.count()


def value(name: str, service: str, **labels: str) -> float:
    found = REGISTRY.get_sample_value(
        name, {"service": service, "port": "p", "protocol": "TCP", **labels}
    )
    return found or 0.0


def fresh_service() -> tuple[str, str]:
    service = f"ns/svc{next(_names)}"
    return service, f"{service}:p/TCP"


def test_port_labels_split_a_service_port_name():
    assert port_labels("default/web:http/TCP") == ("default/web", "http", "TCP")
    assert port_labels("default/web/UDP") == ("default/web", "", "UDP")


def test_kernel_counts_leave_the_syn_and_fins_out():
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    client.sendall(b"x" * 1000)
    assert accepted.recv(2000) == b"x" * 1000
    accepted.sendall(b"y" * 300)
    assert client.recv(2000) == b"y" * 300
    assert acked_so_far(client, active_open=True) == 1000
    assert acked_so_far(accepted, active_open=False) == 300
    client.shutdown(socket.SHUT_WR)
    assert accepted.recv(10) == b""
    assert received_until_fin(accepted) == 1000
    assert acked_so_far(client, active_open=True) == 1000  # FIN_WAIT2: our FIN is acked
    accepted.shutdown(socket.SHUT_WR)
    assert client.recv(10) == b""
    assert received_until_fin(client) == 300  # from TIME_WAIT, which reads as CLOSE
    for s in (client, accepted, server):
        s.close()
    assert received_until_fin(client) is None


async def echo_server(reply: bytes) -> tuple[asyncio.AbstractServer, Backend]:
    """Reads everything until EOF, then answers `reply` and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, Backend("127.0.0.1", server.sockets[0].getsockname()[1])


async def until(check, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def test_connections_and_bytes_are_counted_per_service_port(run):
    service, name = fresh_service()

    async def go() -> None:
        server, backend = await echo_server(b"r" * 70000)
        listener = TcpListener("127.0.0.1", 0, Target(name, Balancer([backend])))
        await listener.start()
        for _ in range(2):
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(b"q" * 50000)
            writer.write_eof()
            assert len(await reader.read()) == 70000
            writer.close()
        await until(lambda: value("minik_proxy_bytes_total", service, direction="out") >= 140000)
        listener.close()
        server.close()

    run(go())
    assert value("minik_proxy_connections_total", service) == 2
    assert value("minik_proxy_bytes_total", service, direction="in") == 100000
    assert value("minik_proxy_bytes_total", service, direction="out") == 140000


def test_a_client_that_resets_is_counted_from_the_backend_socket(run):
    service, name = fresh_service()

    async def go() -> None:
        got = asyncio.get_running_loop().create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            got.set_result(await reader.readexactly(1234))
            writer.write(b"z" * 10)
            await writer.drain()
            await reader.read()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        backend = Backend("127.0.0.1", server.sockets[0].getsockname()[1])
        listener = TcpListener("127.0.0.1", 0, Target(name, Balancer([backend])))
        await listener.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"a" * 1234)
        await got
        assert await reader.readexactly(10) == b"z" * 10
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        writer.transport.abort()  # RST
        await until(lambda: value("minik_proxy_bytes_total", service, direction="in") > 0)
        listener.close()
        server.close()

    run(go())
    assert value("minik_proxy_bytes_total", service, direction="in") == 1234
    assert value("minik_proxy_bytes_total", service, direction="out") == 10


def test_dial_failures_and_rejections(run):
    service, name = fresh_service()
    empty_service, empty_name = fresh_service()

    async def go() -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = Backend("127.0.0.1", s.getsockname()[1])  # nothing listens there
        listener = TcpListener("127.0.0.1", 0, Target(name, Balancer([dead])))
        await listener.start()
        empty = TcpListener("127.0.0.1", 0, Target(empty_name, Balancer([])))
        await empty.start()
        for port in (listener.port, empty.port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                assert await reader.read() == b""
            except ConnectionResetError:
                pass
            writer.close()
        await until(
            lambda: (
                value("minik_proxy_rejected_connections_total", service, reason="dial_failed") == 1
            )
        )
        listener.close()
        empty.close()

    run(go())
    assert value("minik_proxy_dial_failures_total", service) == 4  # one per dial timeout
    assert value("minik_proxy_connections_total", empty_service) == 1
    assert (
        value("minik_proxy_rejected_connections_total", empty_service, reason="no_endpoints") == 1
    )
