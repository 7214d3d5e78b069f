"""Socket helpers shared by the TCP, UDP and DNS servers."""

from __future__ import annotations

import asyncio
import socket
import struct

_LINGER_RESET = struct.pack("ii", 1, 0)


def listening_socket(ip: str, port: int, kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A bound socket with SO_REUSEPORT, so a wildcard NodePort/LoadBalancer socket
    and a ClusterIP socket on the same port coexist (the kernel prefers the exact
    address), while a port held by any other program still fails with EADDRINUSE."""
    sock = socket.socket(socket.AF_INET, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((ip, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def reset(transport: asyncio.BaseTransport) -> None:
    """Close with RST: the client learns at once that nobody will answer."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        except OSError:
            pass
    transport.abort()  # type: ignore[attr-defined]
