"""TCP forwarding: one listening socket per (address, port), each connection joined
to a backend chosen by the service port's `Balancer`.

The hot path runs no Python. Once both sockets are connected, each end's protocol
has as its `data_received` the *other* transport's `write` — a bound method that
uvloop (and asyncio) call directly for every chunk read, so bytes go from one
socket's read callback into the other socket's send. Back-pressure rides on the
transports' flow control: a peer's write buffer filling up pauses reading here.
Half-closes are passed on, resets are passed on as resets.

Metrics (proxy/metrics.py) cost nothing per chunk: a connection is counted when
accepted, a failed dial when it fails, and each direction's bytes once, from the
kernel's TCP_INFO counters, when that direction ends (or its side resets).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from proxy.balancer import Target
from proxy.metrics import Tally, stats_for
from proxy.sockets import listening_socket, reset

log = logging.getLogger(__name__)

# kube-proxy's userspace proxier's EndpointDialTimeouts: one dial per timeout, each to
# the next endpoint (the same one again when it is the only one). A refused dial fails
# at once; a live backend whose full accept queue drops SYNs (the kernel retries after
# 1 s) still gets 3.75 s in all, as a direct client would.
DIAL_TIMEOUTS = (0.25, 0.5, 1.0, 2.0)
WRITE_HIGH_WATER = 256 * 1024
LISTEN_BACKLOG = 4096


class _End(asyncio.BaseProtocol):
    """One end of an established connection; `other` is the opposite end. A streaming
    protocol whose `data_received` is an attribute (the peer transport's `write`), not
    a method: hence BaseProtocol, which declares no `data_received` to override."""

    __slots__ = ("data_received", "eof", "is_client", "other", "tally", "transport")
    data_received: Callable[[bytes], None]

    def __init__(
        self,
        transport: asyncio.Transport | None,
        peer: asyncio.Transport,
        tally: Tally,
        is_client: bool,
    ) -> None:
        self.transport = transport
        self.other: _End | None = None
        self.eof = False
        self.data_received = peer.write  # see the module docstring
        self.tally = tally
        self.is_client = is_client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.set_write_buffer_limits(WRITE_HIGH_WATER)  # type: ignore[attr-defined]

    def pause_writing(self) -> None:  # our send buffer is full: stop reading the other end
        if self.other is not None:
            self.other.transport.pause_reading()  # type: ignore[union-attr]

    def resume_writing(self) -> None:
        if self.other is not None:
            self.other.transport.resume_reading()  # type: ignore[union-attr]

    def eof_received(self) -> bool:
        self.eof = True
        self.tally.ended(self.is_client, self.transport)
        other = self.other
        if other is None:
            return True  # not joined yet: `_join` passes it on
        if other.eof:  # both directions are finished
            other.transport.close()  # type: ignore[union-attr]
            return False
        other.transport.write_eof()  # type: ignore[union-attr]
        return True  # keep our sending side open for what the other end still says

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        other = self.other
        if other is not None:
            self.tally.lost(self.is_client, other.transport)  # if it sent no FIN
            if exc is not None:
                other.transport.abort()  # type: ignore[union-attr]
            else:
                other.transport.close()  # type: ignore[union-attr]  # flushes first


class _Accepted(asyncio.Protocol):
    """A client connection while its backend is dialled; replaced by an `_End`."""

    __slots__ = ("_dial", "early", "eof", "stats", "target", "transport")

    def __init__(self, target: Target) -> None:
        self.target = target
        self.transport: asyncio.Transport | None = None
        self.early: list[bytes] = []  # what the client sent while we dialled
        self.eof = False
        self._dial: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.stats = stats_for(self.target.name)
        self.stats.connections.inc()
        if not self.target.balancer:
            self.stats.empty.inc()
            reset(transport)  # no ready endpoint: refuse at once
            return
        transport.pause_reading()  # type: ignore[attr-defined]
        transport.set_write_buffer_limits(WRITE_HIGH_WATER)  # type: ignore[attr-defined]
        self._dial = asyncio.get_running_loop().create_task(self._connect())

    def data_received(self, data: bytes) -> None:
        self.early.append(data)  # uvloop may deliver one read despite pause_reading()
        self.transport.pause_reading()  # type: ignore[union-attr]

    def eof_received(self) -> bool:
        self.eof = True
        return True  # passed on once the backend is connected

    def connection_lost(self, exc: Exception | None) -> None:
        if self._dial is not None and not self._dial.done():
            self._dial.cancel()

    async def _connect(self) -> None:
        client = self.transport
        assert client is not None
        peername = client.get_extra_info("peername")
        client_ip = peername[0] if peername else ""
        balancer = self.target.balancer
        loop = asyncio.get_running_loop()
        candidates = list(balancer.candidates(client_ip))
        tally = Tally(self.stats)
        for attempt, timeout in enumerate(DIAL_TIMEOUTS if candidates else ()):
            backend = candidates[attempt % len(candidates)]
            backend_end = _End(None, client, tally, is_client=False)

            def protocol(end: _End = backend_end) -> _End:
                return end

            try:
                async with asyncio.timeout(timeout):
                    await loop.create_connection(protocol, backend.ip, backend.port)
            except (OSError, TimeoutError) as err:
                log.debug("%s: backend %s failed: %s", self.target.name, backend, err)
                self.stats.dial_failures.inc()
                continue
            balancer.connected(client_ip, backend)
            self._join(client, backend_end)
            return
        log.info("%s: no backend accepted a connection from %s", self.target.name, client_ip)
        (self.stats.dial_failed if candidates else self.stats.empty).inc()
        reset(client)

    def _join(self, client: asyncio.Transport, backend_end: _End) -> None:
        server = backend_end.transport
        assert server is not None
        if client.is_closing():  # the client left while we dialled
            server.close()
            return
        client_end = _End(client, server, backend_end.tally, is_client=True)
        client_end.other, backend_end.other = backend_end, client_end
        client_end.eof = self.eof
        client.set_protocol(client_end)
        if self.early:
            server.write(b"".join(self.early))
        if self.eof:
            backend_end.tally.ended(True, client)  # the client finished while we dialled
            server.write_eof()
        else:
            client.resume_reading()
        if backend_end.eof:  # the backend finished before we joined
            if self.eof or server.is_closing():
                client.close()
                server.close()
            else:
                client.write_eof()


class TcpListener:
    """Accepts on one (address, port) for as long as the proxier wants it."""

    def __init__(self, ip: str, port: int, target: Target) -> None:
        self.ip, self.port, self.target = ip, port, target
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Bind and listen; raises OSError (e.g. EADDRINUSE) if the port is taken."""
        sock = listening_socket(self.ip, self.port)
        self.port = sock.getsockname()[1]  # the real one, when asked for port 0
        loop = asyncio.get_running_loop()
        target = self.target
        try:
            self._server = await loop.create_server(
                lambda: _Accepted(target), sock=sock, backlog=LISTEN_BACKLOG
            )
        except OSError:
            sock.close()
            raise

    def close(self) -> None:
        """Stop accepting; connections already established carry on."""
        if self._server is not None:
            self._server.close()
            self._server = None
