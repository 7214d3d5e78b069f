"""Connections to the backends: round robin over a backend's ready endpoints, and a
pool of idle keep-alive connections per endpoint (as ingress-nginx's upstream
keepalive), so a busy route does not pay a TCP handshake per request."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass

from ingress.routing import Address, Backend

CONNECT_TIMEOUT = 5.0
MAX_IDLE_PER_ENDPOINT = 64


@dataclass
class Connection:
    address: Address
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = False

    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()


class Upstreams:
    def __init__(self, max_idle: int = MAX_IDLE_PER_ENDPOINT) -> None:
        self.max_idle = max_idle
        self._idle: dict[Address, list[Connection]] = {}
        self._next: dict[str, int] = {}

    def order(self, backend: Backend) -> list[Address]:
        """The backend's endpoints, starting at the next one in round-robin order."""
        endpoints = list(backend.endpoints)
        if len(endpoints) < 2:
            return endpoints
        start = self._next.get(backend.key, 0) % len(endpoints)
        self._next[backend.key] = start + 1
        return endpoints[start:] + endpoints[:start]

    async def connect(self, address: Address, *, fresh: bool = False) -> Connection:
        """An idle pooled connection to `address`, else a new one (ConnectionRefused,
        timeouts and other OSErrors propagate: the caller tries the next endpoint)."""
        idle = self._idle.get(address)
        while idle and not fresh:
            conn = idle.pop()
            if conn.usable():
                conn.reused = True
                return conn
            conn.close()
        async with asyncio.timeout(CONNECT_TIMEOUT):
            reader, writer = await asyncio.open_connection(*address, limit=1 << 17)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Connection(address, reader, writer)

    def release(self, conn: Connection) -> None:
        """Give a connection whose response was read completely back to the pool."""
        idle = self._idle.setdefault(conn.address, [])
        if conn.usable() and len(idle) < self.max_idle:
            idle.append(conn)
        else:
            conn.close()

    def prune(self, backends: list[Backend]) -> None:
        """Close idle connections to endpoints no backend has any more."""
        live = {address for b in backends for address in b.endpoints}
        for address in [a for a in self._idle if a not in live]:
            for conn in self._idle.pop(address):
                conn.close()
        keys = {b.key for b in backends}
        self._next = {k: v for k, v in self._next.items() if k in keys}

    def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
