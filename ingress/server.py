"""The data path: HTTP and HTTPS listeners that read each request, route it by host
and path (`RouteTable`), and relay it to a backend endpoint.

- Keep-alive on both sides: a client connection serves requests until it says
  `close` or idles out; backend connections return to the pool after a complete
  response.
- Retries: a refused (or unreachable) endpoint is skipped for the next one; a pooled
  connection the backend closed meanwhile is replaced once by a fresh one. Request
  bodies up to 1 MiB are held in memory so a retry can resend them; longer or chunked
  bodies stream and are not retried.
- `Upgrade` requests (WebSocket) go on a fresh backend connection; after a `101` the
  two sockets are spliced until either side closes.
- The backend sees `X-Forwarded-For` (the client's address), `X-Forwarded-Proto`,
  `X-Forwarded-Host`, `X-Forwarded-Port` and `X-Real-IP`, set by the proxy as
  ingress-nginx does by default (what a client sent in them is replaced, not trusted).
- Answers of its own: 404 when no route matches, 503 when the backend has no ready
  endpoints, 502 when none of them answers, 400 on a malformed request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

from ingress import http1
from ingress.fastpath import BackendPool, ClientConn
from ingress.http1 import BadMessage, Request
from ingress.metrics import RequestCounts
from ingress.routing import Backend, RouteTable
from ingress.upstream import Connection, Upstreams

log = logging.getLogger(__name__)

MAX_BUFFERED_BODY = 1 << 20
SMALL_BODY = 64 * 1024  # response bodies up to this size are sent with their head
CLIENT_IDLE_TIMEOUT = 60.0
RESPONSE_TIMEOUT = 60.0
SERVER_NAME = "minik-ingress"
_STATUS_TEXT = {
    400: "Bad Request",
    404: "Not Found",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class ProxyServer:
    def __init__(self, table: Callable[[], RouteTable], upstreams: Upstreams | None = None) -> None:
        self.table = table
        self.upstreams = upstreams or Upstreams()  # the streams path's connections
        self.pool = BackendPool()  # the fast path's connections
        self.requests = RequestCounts()  # answered requests, for /metrics
        self.max_buffered_body = MAX_BUFFERED_BODY
        self.servers: list[asyncio.AbstractServer] = []
        self.conns: set[ClientConn] = set()
        self._clients: set[asyncio.Task[None]] = set()

    async def listen(
        self, host: str, port: int, tls: ssl.SSLContext | None = None
    ) -> asyncio.AbstractServer:
        """Serve on host:port: every connection starts on the fast path (fastpath.py)
        and moves to the streams code below for what the fast path does not take."""
        scheme = "https" if tls else "http"
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: ClientConn(self, scheme, port),
            host,
            port,
            ssl=tls,
            backlog=1024,
            reuse_address=True,
        )
        self.servers.append(server)
        return server

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._clients.add(task)
        task.add_done_callback(self._clients.discard)

    def prune(self, backends: list[Backend]) -> None:
        """Forget connections to endpoints no backend has any more."""
        self.upstreams.prune(backends)
        self.pool.prune({address for b in backends for address in b.endpoints})

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for conn in list(self.conns):
            conn.close()
        for task in list(self._clients):
            task.cancel()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self.upstreams.close()
        self.pool.close()

    async def continue_client(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        scheme: str,
        port: int,
    ) -> None:
        """A connection the fast path handed over, its request head already read."""
        peer = writer.get_extra_info("peername")
        client_ip = peer[0] if isinstance(peer, tuple) else ""
        try:
            keep = await self.serve_request(request, reader, writer, scheme, port, client_ip)
        except BadMessage:
            self.requests.add(None, "", 400)
            await self.answer(writer, 400, close=True)
            keep = False
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            keep = False
        if keep:
            await self.serve_client(reader, writer, scheme, port)
        else:
            writer.close()

    # ---- one client connection ---------------------------------------------------------
    async def serve_client(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        scheme: str,
        port: int,
    ) -> None:
        peer = writer.get_extra_info("peername")
        client_ip = peer[0] if isinstance(peer, tuple) else ""
        try:
            while True:
                try:
                    async with asyncio.timeout(CLIENT_IDLE_TIMEOUT):
                        head = await http1.read_head(reader)
                except TimeoutError:
                    return
                if head is None:
                    return
                try:
                    request = http1.parse_request(head)
                    keep = await self.serve_request(
                        request, reader, writer, scheme, port, client_ip
                    )
                except BadMessage as err:
                    log.debug("bad request from %s: %s", client_ip, err)
                    self.requests.add(None, "", 400)
                    await self.answer(writer, 400, close=True)
                    return
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            return
        finally:
            writer.close()

    async def serve_request(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        scheme: str,
        port: int,
        client_ip: str,
    ) -> bool:
        """Answer one request; True when the client connection may serve another."""
        keep = http1.wants_keep_alive(request.version, request.headers)
        host = http1.header(request.headers, "host") or ""
        backend = self.table().match(host, request.path)
        framing = http1.request_framing(request.headers)
        upgrade = "upgrade" in http1.tokens(request.headers, "connection") and http1.header(
            request.headers, "upgrade"
        )
        if "100-continue" in http1.tokens(request.headers, "expect") and framing != ("length", 0):
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # the proxy takes the body
        body: bytes | None = None
        if framing[0] == "length" and framing[1] <= MAX_BUFFERED_BODY:
            body = await http1.read_body(framing, reader)
        if backend is None or not backend.endpoints:
            if body is None:  # an unread streaming body: the connection cannot go on
                keep = False
            status = 404 if backend is None else 503
            self.requests.add(backend, request.method, status)
            await self.answer(writer, status, close=not keep)
            return keep
        headers = http1.forwarded_headers(request, host, scheme, port, client_ip)
        if upgrade:
            headers += [("Connection", "Upgrade"), ("Upgrade", str(upgrade))]
            await self.tunnel(request, headers, body or b"", backend, reader, writer)
            return False
        if framing[0] == "chunked":
            headers.append(("Transfer-Encoding", "chunked"))
        elif framing[1] or request.method in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(framing[1])))
        head = http1.render(f"{request.method} {request.target} HTTP/1.1", headers)
        return await self.forward(request, head, body, framing, backend, reader, writer, keep)

    async def forward(
        self,
        request: Request,
        head: bytes,
        body: bytes | None,
        framing: http1.Framing,
        backend: Backend,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keep: bool,
    ) -> bool:
        exchanged = await self._exchange(head, body, framing, backend, reader)
        if exchanged is None:
            self.requests.add(backend, request.method, 502)
            await self.answer(writer, 502, close=not keep or body is None)
            return keep and body is not None
        conn, response = exchanged
        self.requests.add(backend, request.method, response.status)
        response_framing = http1.response_framing(request.method, response)
        backend_keep = http1.wants_keep_alive(response.version, response.headers)
        keep = keep and response_framing[0] != "close"
        headers = http1.end_to_end(response.headers)
        if not keep:
            headers.append(("Connection", "close"))
        elif request.version == "HTTP/1.0":
            headers.append(("Connection", "keep-alive"))
        first = f"HTTP/1.1 {response.status} {response.reason}".rstrip()
        head = http1.render(first, headers)
        try:
            if response_framing[0] == "length" and response_framing[1] <= SMALL_BODY:
                # head and body in one write: a syscall less per request
                body = await conn.reader.readexactly(response_framing[1])
                writer.write(head + body)
            else:
                writer.write(head)
                await http1.relay_body(response_framing, conn.reader, writer)
            await writer.drain()
        except asyncio.IncompleteReadError:
            conn.close()
            return False
        except BadMessage:
            conn.close()
            return False
        except BaseException:
            conn.close()
            raise
        if backend_keep and response_framing[0] != "close":
            self.upstreams.release(conn)
        else:
            conn.close()
        return keep

    async def _exchange(
        self,
        head: bytes,
        body: bytes | None,
        framing: http1.Framing,
        backend: Backend,
        reader: asyncio.StreamReader,
    ) -> tuple[Connection, http1.Response] | None:
        """Send the request and read the answer's head. A refused endpoint is skipped
        for the next; a pooled connection the backend closed meanwhile (EOF or a reset
        before any answer) is replaced once by a fresh one. Only a buffered request
        (`body` not None) can be sent twice: a streamed one fails once sent."""
        for address in self.upstreams.order(backend):
            fresh = body is None  # a streamed body cannot be resent: no stale pooled conn
            for _ in range(2):
                try:
                    conn = await self.upstreams.connect(address, fresh=fresh)
                except (OSError, TimeoutError) as err:
                    log.info("%s: endpoint %s:%d failed: %s", backend.key, *address, err)
                    break  # the next endpoint
                try:
                    conn.writer.write(head + body if body is not None else head)
                    if body is None:
                        await http1.relay_body(framing, reader, conn.writer)
                    await conn.writer.drain()
                    async with asyncio.timeout(RESPONSE_TIMEOUT):
                        response = await _read_response(conn)
                except (OSError, BadMessage, TimeoutError) as err:
                    conn.close()
                    if conn.reused and body is not None and not isinstance(err, TimeoutError):
                        fresh = True
                        continue
                    log.info("%s: no answer from %s:%d: %s", backend.key, *address, err)
                    return None
                if response is None:
                    conn.close()
                    if conn.reused and body is not None:
                        fresh = True
                        continue
                    return None
                return conn, response
        return None

    async def tunnel(
        self,
        request: Request,
        headers: http1.Headers,
        body: bytes,
        backend: Backend,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """An Upgrade request: send it on a fresh connection; on 101, splice."""
        head = http1.render(f"{request.method} {request.target} HTTP/1.1", headers)
        conn = None
        for address in self.upstreams.order(backend):
            try:
                conn = await self.upstreams.connect(address, fresh=True)
                break
            except (OSError, TimeoutError) as err:
                log.info("%s: endpoint %s:%d failed: %s", backend.key, *address, err)
        if conn is None:
            self.requests.add(backend, request.method, 502)
            await self.answer(writer, 502, close=True)
            return
        try:
            conn.writer.write(head + body)
            await conn.writer.drain()
            await asyncio.gather(_pipe(reader, conn.writer), _pipe(conn.reader, writer))
        finally:
            conn.close()

    async def answer(self, writer: asyncio.StreamWriter, status: int, close: bool) -> None:
        text = f"{status} {_STATUS_TEXT[status]}\n".encode()
        headers = [
            ("Server", SERVER_NAME),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(text))),
        ]
        if close:
            headers.append(("Connection", "close"))
        writer.write(http1.render(f"HTTP/1.1 {status} {_STATUS_TEXT[status]}", headers) + text)
        with contextlib.suppress(ConnectionError):
            await writer.drain()


async def _read_response(conn: Connection) -> http1.Response | None:
    """The final answer's head (interim 1xx answers other than 101 are skipped: the
    proxy already told the client to go on); None on EOF before any byte."""
    while True:
        head = await http1.read_head(conn.reader)
        if head is None:
            return None
        response = http1.parse_response(head)
        if response.status >= 200 or response.status == 101:
            return response


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(http1.CHUNK):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
