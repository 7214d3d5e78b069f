"""Serving ASGI apps with uvicorn: a server that does not wake ten times a second
while idle (every component's), a listening socket bound before uvicorn starts, so
`--port 0` gets a free port whose number is known, and a server for inside a
component's own event loop (the metrics server, the dashboard, the kubelet) that leaves
SIGTERM/SIGINT to the component."""

from __future__ import annotations

import asyncio
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


class QuietServer(uvicorn.Server):
    """uvicorn's Server minus its polling: uvicorn's main loop wakes every 0.1 s to read
    `should_exit`, about 0.2% of a core per idle server (bench/footprint.py). This one
    ticks once a second, uvicorn's own period for the Date header and the request limit,
    and wakes at once when `should_exit` is set (a signal, a component stopping)."""

    _loop: asyncio.AbstractEventLoop | None = None
    _exit_event: asyncio.Event | None = None

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value and self._loop is not None and self._exit_event is not None:
            # from the loop, a signal handler or another thread alike
            self._loop.call_soon_threadsafe(self._exit_event.set)

    async def main_loop(self) -> None:
        self._exit_event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        while not await self.on_tick(0):  # 0: uvicorn's once-a-second work, each tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit_event.wait(), 1.0)


class EmbeddedServer(QuietServer):
    """uvicorn inside our own loop: the component (componentbase.run, the kubelet)
    handles the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield
