"""The balancer's data path: accept, dial a backend, copy bytes both ways.

A new connection tries the pool's candidates in order (one short dial each); the
first that accepts gets the connection for its whole life: TLS runs end to end
between the client and that apiserver. When a backend is found unhealthy, its open
connections are closed, so long-lived watches end and their clients re-watch, now
through a healthy apiserver (client-go and minik's informers resume from their last
resourceVersion)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl

from apilb.backends import Backend, Pool
from apilb.health import check

log = logging.getLogger(__name__)

DIAL_TIMEOUT = 1.0
CHUNK = 64 * 1024


class Balancer:
    """The pool, its health checks every `interval`, and the accepted connections."""

    def __init__(self, pool: Pool, context: ssl.SSLContext | None, interval: float = 0.5) -> None:
        self.pool = pool
        self.context = context
        self.interval = interval

    # ---- health ---------------------------------------------------------------

    async def check_forever(self) -> None:
        while True:
            await self.check_all()
            await asyncio.sleep(self.interval)

    async def check_all(self) -> None:
        backends = self.pool.backends
        results = await asyncio.gather(*(check(b, self.context) for b in backends))
        for backend, ok in zip(backends, results, strict=True):
            self._report(backend, ok, "health check")

    def _report(self, backend: Backend, ok: bool, what: str) -> None:
        was = backend.healthy
        if self.pool.mark(backend, ok):
            log.warning(
                "%s: %s failed; closing its %d connection(s)",
                backend.url,
                what,
                len(backend.connections),
            )
            for client_w, server_w in list(backend.connections):
                _abort(client_w)
                _abort(server_w)  # a hung server would never end its side
        elif ok and not was:
            log.info("%s: healthy again", backend.url)

    # ---- connections ----------------------------------------------------------

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            dialled = await self._dial()
            if dialled is None:
                log.warning("no apiserver accepted a connection; closing the client's")
                _abort(client_w)
                return
            backend, server_r, server_w = dialled
            pair = (client_w, server_w)
            backend.connections.add(pair)
            try:
                await _join(client_r, client_w, server_r, server_w)
            finally:
                backend.connections.discard(pair)
        except Exception:  # one connection's trouble is never the balancer's
            log.exception("forwarding failed")
            _abort(client_w)

    async def _dial(self) -> tuple[Backend, asyncio.StreamReader, asyncio.StreamWriter] | None:
        for backend in self.pool.candidates():
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(backend.host, backend.port), DIAL_TIMEOUT
                )
            except (OSError, TimeoutError):
                self._report(backend, False, "dial")
                continue
            _nodelay(writer)
            return backend, reader, writer
        return None


async def _join(
    client_r: asyncio.StreamReader,
    client_w: asyncio.StreamWriter,
    server_r: asyncio.StreamReader,
    server_w: asyncio.StreamWriter,
) -> None:
    """Copy both ways until both directions end; a half-close is passed on (EOF)."""
    _nodelay(client_w)
    up = asyncio.create_task(_pipe(client_r, server_w))
    down = asyncio.create_task(_pipe(server_r, client_w))
    try:
        done, pending = await asyncio.wait({up, down}, return_when=asyncio.FIRST_EXCEPTION)
        if any(t.exception() for t in done if not t.cancelled()):
            for task in pending:
                task.cancel()
        else:
            await asyncio.gather(*pending, return_exceptions=True)
    finally:
        for task in (up, down):
            task.cancel()
        for writer in (client_w, server_w):
            _abort(writer)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        with contextlib.suppress(OSError):
            writer.write_eof()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close at once, unsent data dropped: the peer sees the end immediately."""
    transport = writer.transport
    if not transport.is_closing():
        transport.abort()


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def serve(balancer: Balancer, host: str, port: int) -> None:
    """Listen on host:port and balance every connection until cancelled."""
    server = await asyncio.start_server(balancer.handle, host, port, reuse_address=True)
    checks = asyncio.create_task(balancer.check_forever())
    names = ", ".join(b.url for b in balancer.pool.backends)
    log.info("listening on %s:%d for %s", host, port, names)
    try:
        async with server:
            await server.serve_forever()
    finally:
        checks.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checks
