"""httpcore's connections over asyncio's own transports instead of anyio's streams.

HTTP stays httpx's and httpcore's (h11); only the byte pipe changes. With anyio, every
read and write enters a cancel scope (and asks sniffio which library runs), TLS is
pumped through a MemoryBIO in Python, and the pool's check of each idle connection
("has the server closed it?", on every request) builds anyio's attribute dict and
polls the socket. The scheduler's profile at 500 hollow nodes had ~40% of its CPU
under httpx's POSTs, a quarter of that in these layers. Here a connection is an
asyncio Protocol (uvloop's transports and TLS, both native): reads wait on a future,
writes go to the transport, and "readable" is what the protocol has already seen
(data or EOF), with no system call.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from client import pool

# Reading pauses while this much is buffered and unread (a large LIST, a fast watch).
HIGH_WATER = 1 << 20


class _Connection(asyncio.Protocol):
    """The state of one socket: bytes received and not yet read, EOF, flow control."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self._reading_paused = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake_reader()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_reader(self) -> None:
        waiter, self._readable = self._readable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self._reading_paused and len(self.buffer) <= HIGH_WATER // 2:
            self._reading_paused = False
            if self.transport is not None and not self.transport.is_closing():
                self.transport.resume_reading()
        return data

    async def wait_readable(self) -> None:
        self._readable = asyncio.get_running_loop().create_future()
        await self._readable

    async def wait_writable(self) -> None:
        if self._writable is not None:
            await self._writable


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, conn: _Connection) -> None:
        self._conn = conn

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        conn = self._conn
        if not conn.buffer and not conn.eof:
            try:
                async with asyncio.timeout(timeout):
                    while not conn.buffer and not conn.eof:
                        await conn.wait_readable()
            except TimeoutError:
                raise httpcore.ReadTimeout("timed out reading") from None
        if conn.buffer:
            return conn.take(max_bytes)
        if conn.error is not None:
            raise httpcore.ReadError(str(conn.error)) from conn.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        transport = self._conn.transport
        if transport is None or transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        transport.write(buffer)
        try:
            async with asyncio.timeout(timeout):
                await self._conn.wait_writable()
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out writing") from None

    async def aclose(self) -> None:
        if self._conn.transport is not None:
            self._conn.transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        conn = self._conn
        assert conn.transport is not None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                tls = await loop.start_tls(
                    conn.transport, conn, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            conn.transport.close()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError) as err:
            conn.transport.close()
            raise httpcore.ConnectError(str(err)) from err
        if tls is None:
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        conn.transport = tls
        return self

    def get_extra_info(self, info: str) -> Any:
        conn = self._conn
        if info == "is_readable":  # an idle connection with data or EOF: not reusable
            return bool(conn.buffer) or conn.eof
        transport = conn.transport
        if transport is None:
            return None
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                transport, conn = await loop.create_connection(
                    _Connection, host, port, local_addr=local
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as err:
            raise httpcore.ConnectError(str(err)) from err
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(conn)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_unix_connection(_Connection, path)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {path}") from None
        except OSError as err:
            raise httpcore.ConnectError(str(err)) from err
        return AsyncioStream(conn)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def asyncio_transport(
    verify: ssl.SSLContext | bool, limits: httpx.Limits
) -> httpx.AsyncHTTPTransport:
    """httpx's own transport (request and response mapping, errors) over a pool of
    AsyncioBackend connections."""
    context = httpx.create_ssl_context(verify=verify)  # `verify` itself when a context
    transport = httpx.AsyncHTTPTransport(verify=context, limits=limits)
    if not isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
        return transport  # an httpx without the pool we replace: keep its own
    pool_class = pool.LinearPool if pool.supported() else httpcore.AsyncConnectionPool
    transport._pool = pool_class(
        ssl_context=context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=AsyncioBackend(),
    )
    return transport
