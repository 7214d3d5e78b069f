"""UDP forwarding with real sockets on 127.0.0.1, in one process, under both the
standard asyncio loop and uvloop."""

from __future__ import annotations

import asyncio
import socket

from proxy.balancer import Balancer, Target
from proxy.servicemap import Backend
from proxy.udp import UdpListener


class _UdpEcho(asyncio.DatagramProtocol):
    def __init__(self, name: bytes) -> None:
        self.name = name

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(self.name + b":" + data, addr)


async def udp_backend(name: bytes) -> tuple[asyncio.DatagramTransport, Backend]:
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _UdpEcho(name), local_addr=("127.0.0.1", 0)
    )
    return transport, Backend("127.0.0.1", transport.get_extra_info("sockname")[1])


def udp_ask(port: int, data: bytes, sock: socket.socket | None = None) -> bytes:
    own = sock is None
    sock = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(True)
        sock.settimeout(2)
        sock.sendto(data, ("127.0.0.1", port))
        return sock.recv(2048)
    finally:
        if own:
            sock.close()


def test_udp_datagrams_are_relayed_and_answered_from_the_service_address(run):
    async def go() -> None:
        backends = [await udp_backend(n) for n in (b"a", b"b")]
        target = Target("udp", Balancer([b for _, b in backends]))
        listener = UdpListener("127.0.0.1", 0, target)
        await listener.start()
        loop = asyncio.get_running_loop()
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # One client address is one session: the same backend answers each time.
        first = await loop.run_in_executor(None, udp_ask, listener.port, b"1", client)
        again = await loop.run_in_executor(None, udp_ask, listener.port, b"2", client)
        assert first[:2] == again[:2] and first.endswith(b":1") and again.endswith(b":2")
        # New client addresses rotate over the backends.
        names = {
            (await loop.run_in_executor(None, udp_ask, listener.port, b"x"))[:1] for _ in range(4)
        }
        assert names == {b"a", b"b"}
        # A backend leaving the Endpoints loses its sessions.
        target.balancer.update(
            [b for n, (_, b) in zip("ab", backends, strict=True) if n == "b"], None
        )
        listener.backends_changed()
        moved = await loop.run_in_executor(None, udp_ask, listener.port, b"3", client)
        assert moved == b"b:3"
        client.close()
        listener.close()

    run(go())
