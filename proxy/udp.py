"""UDP forwarding: a "session" per client address, each with a connected socket to
the backend the balancer chose; replies come back to the client from the service
address it wrote to.

UDP has no connection to keep, so a session lives while datagrams flow and is
swept after `IDLE_SECONDS` of silence; the number of sessions is bounded. When a
backend leaves the Endpoints its sessions are dropped (as kube-proxy clears
conntrack for UDP), so the next datagram goes to a live backend.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time

from proxy.balancer import Target
from proxy.metrics import stats_for
from proxy.servicemap import Backend
from proxy.sockets import listening_socket

log = logging.getLogger(__name__)

IDLE_SECONDS = 10.0
MAX_SESSIONS = 4096
MAX_DATAGRAM = 65535

Address = tuple[str, int]


class _Session:
    __slots__ = ("backend", "client", "last_used", "sock")

    def __init__(self, client: Address, backend: Backend, sock: socket.socket) -> None:
        self.client = client
        self.backend = backend
        self.sock = sock
        self.last_used = time.monotonic()


class UdpListener(asyncio.DatagramProtocol):
    """Receives on one (address, port) and relays to and from backends."""

    def __init__(self, ip: str, port: int, target: Target) -> None:
        self.ip, self.port, self.target = ip, port, target
        self.transport: asyncio.DatagramTransport | None = None
        self._sessions: dict[Address, _Session] = {}
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        sock = listening_socket(self.ip, self.port, socket.SOCK_DGRAM)
        self.port = sock.getsockname()[1]
        try:
            await asyncio.get_running_loop().create_datagram_endpoint(lambda: self, sock=sock)
        except OSError:
            sock.close()
            raise
        self._schedule_sweep()

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for client in list(self._sessions):
            self._drop(client)
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Address) -> None:
        session = self._sessions.get(addr)
        if session is None:
            session = self._open(addr)
            if session is None:
                return  # no backend: the datagram is dropped
        session.last_used = time.monotonic()
        try:
            session.sock.send(data)
        except OSError as err:  # e.g. ECONNREFUSED from an earlier ICMP: pick again
            log.debug("%s: send to %s failed: %s", self.target.name, session.backend, err)
            self._drop(addr)

    def backends_changed(self) -> None:
        """Drop sessions whose backend is gone from the balancer."""
        present = set(self.target.balancer.backends)
        for client, session in list(self._sessions.items()):
            if session.backend not in present:
                self._drop(client)

    def _open(self, client: Address) -> _Session | None:
        """A new session (minik_proxy_connections_total counts it)."""
        balancer = self.target.balancer
        stats = stats_for(self.target.name)
        stats.connections.inc()
        for backend in balancer.candidates(client[0]):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.setblocking(False)
                sock.connect((backend.ip, backend.port))
            except OSError:
                stats.dial_failures.inc()
                sock.close()
                continue
            if len(self._sessions) >= MAX_SESSIONS:
                self._drop(min(self._sessions.values(), key=lambda s: s.last_used).client)
            session = _Session(client, backend, sock)
            self._sessions[client] = session
            asyncio.get_running_loop().add_reader(sock.fileno(), self._reply, session)
            balancer.connected(client[0], backend)
            return session
        (stats.dial_failed if balancer else stats.empty).inc()
        return None

    def _reply(self, session: _Session) -> None:
        for _ in range(64):  # drain what is there, but let others run
            try:
                data = session.sock.recv(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError as err:  # ICMP port unreachable and the like
                log.debug("%s: backend %s: %s", self.target.name, session.backend, err)
                self._drop(session.client)
                return
            session.last_used = time.monotonic()
            if self.transport is not None:
                self.transport.sendto(data, session.client)

    def _drop(self, client: Address) -> None:
        session = self._sessions.pop(client, None)
        if session is not None:
            try:
                asyncio.get_running_loop().remove_reader(session.sock.fileno())
            except RuntimeError:
                pass
            session.sock.close()

    def _schedule_sweep(self) -> None:
        loop = asyncio.get_running_loop()
        self._sweeper = loop.call_later(IDLE_SECONDS / 2, self._sweep)

    def _sweep(self) -> None:
        cutoff = time.monotonic() - IDLE_SECONDS
        for client, session in list(self._sessions.items()):
            if session.last_used < cutoff:
                self._drop(client)
        if self.transport is not None:
            self._schedule_sweep()
