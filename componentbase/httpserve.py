"""Serving a small ASGI app from inside a component's own event loop (the metrics
server, the dashboard): a listening socket bound before uvicorn starts, so `--port 0`
gets a free port whose number is known, and a uvicorn server that leaves SIGTERM/SIGINT
to `componentbase.run`."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Generator

import uvicorn


def bind(host: str, port: int) -> socket.socket:
    """A non-blocking listening TCP socket on host:port (IPv6 when host has a colon)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside our own loop: componentbase.run handles the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield
