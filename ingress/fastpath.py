"""The common case without coroutines: asyncio Protocols for client and backend
connections, so a keep-alive request with a small body costs a parse, two writes and
no task switches (the streams version in `server` costs several awaits and a write
more per request; see bench/ingress.py).

A client connection reads request heads from its buffer and sends each request, with
its body (up to 1 MiB, read whole), on a pooled backend connection; the backend's
answer is relayed as it arrives (Content-Length, chunked, or until close), then the
backend connection returns to the pool and the next buffered request goes. Requests
the fast path does not take (Upgrade, chunked or large request bodies, `Expect:
100-continue`) hand the connection over to the streams code in `server`, which
serves it from then on. Retries are the same: a refused endpoint is skipped, a pooled
connection the backend had closed is replaced once by a fresh one.

Keep-alive clients repeat themselves: a client connection remembers its last plain
request (head bytes, the route table, the backend, the bytes sent upstream) and a
backend connection its last plain answer head, so the same bytes again cost one
comparison instead of a parse, a route lookup and a rewrite. A new route table (any
change of Ingresses, Services or Endpoints) makes the memory stale."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, cast

from ingress import http1, quickhead
from ingress.http1 import BadMessage, Request
from ingress.metrics import RequestCounts
from ingress.routing import Address, Backend, RouteTable
from ingress.upstream import Upstreams

log = logging.getLogger(__name__)

MAX_HEAD = http1.MAX_HEAD
MAX_IDLE_PER_ENDPOINT = 64
IDLE_SECONDS = 60.0
_STATUS_TEXT = {
    400: "Bad Request",
    404: "Not Found",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def head_status(head: bytes) -> int:
    """The status code of a response head ("HTTP/1.1 200 OK...")."""
    code = head[9:12]
    return int(code) if code.isdigit() else 200


def error_response(status: int, close: bool) -> bytes:
    text = f"{status} {_STATUS_TEXT[status]}\n".encode()
    headers = [
        ("Server", "minik-ingress"),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(text))),
    ]
    if close:
        headers.append(("Connection", "close"))
    return http1.render(f"HTTP/1.1 {status} {_STATUS_TEXT[status]}", headers) + text


class BackendPool:
    """Idle keep-alive backend connections per endpoint."""

    def __init__(self) -> None:
        self.idle: dict[Address, list[BackendConn]] = {}

    def take(self, address: Address) -> BackendConn | None:
        conns = self.idle.get(address)
        while conns:
            conn = conns.pop()
            if conn.open:
                return conn
        return None

    def give(self, conn: BackendConn) -> None:
        conns = self.idle.setdefault(conn.address, [])
        if conn.open and len(conns) < MAX_IDLE_PER_ENDPOINT:
            conns.append(conn)
        else:
            conn.close()

    def prune(self, live: set[Address]) -> None:
        for address in [a for a in self.idle if a not in live]:
            for conn in self.idle.pop(address):
                conn.close()

    def close(self) -> None:
        for conns in self.idle.values():
            for conn in conns:
                conn.close()
        self.idle.clear()


class BackendConn(asyncio.Protocol):
    """One connection to one endpoint; carries one exchange at a time."""

    def __init__(self, pool: BackendPool, address: Address) -> None:
        self.pool = pool
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.reused = False
        self.client: ClientConn | None = None
        self.method = "GET"
        self.buffer = bytearray()
        self.state = "idle"  # head, length, chunked, close, idle
        self.left = 0
        self.chunk_state = "size"
        self.keep = True
        self.seen_bytes = False
        # The last plain answer's (head, method, body length): a backend mostly repeats
        # its heads, and one comparison then replaces a parse.
        self.memo: tuple[bytes, str, int, int] = (b"", "", 0, 0)  # head, method, length, status

    # ---- asyncio callbacks -------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: typed by shape
        self.transport = cast(asyncio.Transport, transport)
        self.open = True
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        client, self.client = self.client, None
        if client is None:
            return
        if self.state == "close":
            client.response_done(reusable_backend=None)
        elif self.state == "head" and not self.seen_bytes:
            client.backend_failed(self, retry=self.reused)
        else:
            client.abort()

    def data_received(self, data: bytes) -> None:
        if self.client is None:  # nothing asked: a backend speaking out of turn
            self.close()
            return
        self.seen_bytes = True
        if self.state == "head" and not self.buffer and self._whole(data):
            return  # the whole answer: response_done marked the client active
        self.client.last_active = time.monotonic()  # a long answer is not idle
        if self.state == "head":
            self.buffer += data
            self._head()
        else:
            self._body(data)

    def _whole(self, data: bytes) -> bool:
        """The usual answer: a plain 2xx head and its whole body in one segment, sent
        on as the very bytes received. False when it is anything else."""
        client = self.client
        assert client is not None
        if not client.keep or client.http10:
            return False
        head, method, length, status = self.memo
        # The same head as last time (it ends at its first blank line, so a prefix
        # match is a match of the whole head): the same framing.
        if not (head and method == self.method and data.startswith(head)):
            end = data.find(b"\r\n\r\n")
            if end < 0:
                return False
            head = data[: end + 4]
            found = quickhead.response_length(head, self.method)
            if found is None:
                return False
            length = found
            status = head_status(head)
            self.memo = (head, self.method, length, status)
        if len(data) != len(head) + length:
            return False
        self.keep = True
        client.answered(status)
        client.write(data)
        self._finish()
        return True

    # ---- one exchange ------------------------------------------------------------
    def send(self, client: ClientConn, method: str, payload: bytes) -> None:
        assert self.transport is not None
        self.client = client
        self.method = method
        self.state = "head"
        self.seen_bytes = False
        self.buffer.clear()
        self.transport.write(payload)

    def _head(self) -> None:
        client = self.client
        assert client is not None
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self._fail("response head too large")
                return
            head = bytes(self.buffer[: end + 4])
            del self.buffer[: end + 4]
            length = quickhead.response_length(head, self.method)
            if length is not None and client.keep and not client.http10:
                client.answered(head_status(head))
                self._quick_body(client, head, length)
                return
            try:
                response = http1.parse_response(head)
                framing = http1.response_framing(self.method, response)
            except BadMessage as err:
                self._fail(str(err))
                return
            if 100 <= response.status < 200 and response.status != 101:
                continue  # interim answers: the proxy already took the body
            break
        client.answered(response.status)
        self.keep = http1.wants_keep_alive(response.version, response.headers)
        kind, length = framing
        rest = bytes(self.buffer)
        self.buffer.clear()
        if kind != "close" and client.keep and not client.http10 and http1.passes_through(response):
            out = head  # as received: nothing to add or drop
        else:
            out = client.response_head(response, kind)
        if kind == "length" and len(rest) >= length:
            client.write(out + rest[:length])  # the usual case: one write
            self._finish(extra=len(rest) > length)
            return
        client.write(out)
        self.state, self.left, self.chunk_state = kind, length, "size"
        if kind == "length" and length == 0:
            self._finish()
        elif rest:
            self._body(rest)

    def _quick_body(self, client: ClientConn, head: bytes, length: int) -> None:
        """A plain 2xx answer with a Content-Length: its head goes as received."""
        self.keep = True
        rest = bytes(self.buffer)
        self.buffer.clear()
        if len(rest) >= length:
            client.write(head + rest[:length])
            self._finish(extra=len(rest) > length)
            return
        client.write(head + rest)
        self.state, self.left = "length", length - len(rest)

    def _body(self, data: bytes) -> None:
        client = self.client
        assert client is not None
        if self.state == "length":
            take = data[: self.left]
            client.write(take)
            self.left -= len(take)
            if self.left == 0:
                self._finish(extra=len(data) > len(take))
        elif self.state == "chunked":
            self.buffer += data
            done = self._chunks()
            if done:
                self._finish(extra=bool(self.buffer))
        elif self.state == "close":
            client.write(data)

    def _chunks(self) -> bool:
        """Relay whole pieces of a chunked body; True once its last chunk and trailers
        went through."""
        client = self.client
        assert client is not None
        buf = self.buffer
        out = bytearray()
        done = False
        while True:
            if self.chunk_state == "size":
                i = buf.find(b"\r\n")
                if i < 0:
                    break
                line = bytes(buf[: i + 2])
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self._fail("bad chunk size")
                    return False
                out += line
                del buf[: i + 2]
                self.chunk_state, self.left = ("trailer", 0) if size == 0 else ("data", size + 2)
            elif self.chunk_state == "data":
                take = min(self.left, len(buf))
                out += buf[:take]
                del buf[:take]
                self.left -= take
                if self.left:
                    break
                self.chunk_state = "size"
            else:
                i = buf.find(b"\r\n")
                if i < 0:
                    break
                out += buf[: i + 2]
                del buf[: i + 2]
                if i == 0:
                    done = True
                    break
        if out:
            client.write(bytes(out))
        return done

    def _finish(self, extra: bool = False) -> None:
        client, self.client = self.client, None
        self.state = "idle"
        self.reused = True
        reusable = self.keep and not extra and self.open
        if client is not None:
            client.response_done(reusable_backend=self if reusable else None)
        if not reusable:
            self.close()

    def _fail(self, why: str) -> None:
        client, self.client = self.client, None
        log.info("backend %s:%d: %s", *self.address, why)
        self.close()
        if client is not None:
            client.abort()

    def pause(self) -> None:
        if self.transport is not None and self.open:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and self.open:
            self.transport.resume_reading()

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()


class Server(Protocol):
    """What a client connection needs of the server that accepted it (ingress/server's
    ProxyServer): named here, so that the fast path does not import the server."""

    table: Callable[[], RouteTable]
    upstreams: Upstreams
    pool: BackendPool
    requests: RequestCounts
    max_buffered_body: int
    conns: set[ClientConn]

    def spawn(self, work: Coroutine[Any, Any, None]) -> None: ...

    async def continue_client(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        scheme: str,
        port: int,
    ) -> None: ...


class ClientConn(asyncio.Protocol):
    """One client connection on the fast path."""

    def __init__(self, proxy: Server, scheme: str, port: int) -> None:
        self.proxy = proxy
        self.scheme = scheme
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.client_ip = ""
        self.buffer = bytearray()
        self.busy = False
        self.closed = False
        self.handed_off = False
        self.keep = True
        self.http10 = False
        self.backend: BackendConn | None = None
        self.exchange: tuple[str, bytes, Backend, list[Address], bool] | None = None
        self.last_active = time.monotonic()
        self.timer: asyncio.TimerHandle | None = None
        self.writing_paused = False
        self.eof = False
        self._last_address: Address = ("", 0)
        self._forwarded: tuple[str | None, bytes] = (None, b"")
        # The last plain bodiless request routed: (head as received, the route table it
        # was routed by, method, backend, what went upstream). A keep-alive client
        # mostly repeats its heads; the same bytes under the same table go the same
        # way, so one comparison replaces the parse, the route lookup and the rewrite.
        self._memo: tuple[bytes, object, str, Backend, bytes] | None = None

    # ---- asyncio callbacks -------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: typed by shape
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.client_ip = peer[0] if isinstance(peer, tuple) else ""
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proxy.conns.add(self)
        self.timer = asyncio.get_running_loop().call_later(IDLE_SECONDS, self._check_idle)

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        if not self.busy and not self.buffer:
            memo = self._memo
            if memo is not None and data == memo[0] and self.proxy.table() is memo[1]:
                self.keep, self.http10 = True, False  # as _dispatch_quick found it
                self._send(memo[2], memo[4], memo[3])  # the same request again
                return
            # the usual request: one bodiless head, alone in its segment
            if data.endswith(b"\r\n\r\n") and data.find(b"\r\n\r\n") == len(data) - 4:
                quick = quickhead.request(data)
                if quick is not None and not quick.length:
                    self._dispatch_quick(quick, data, b"")
                    return
        self.buffer += data
        if not self.busy:
            self._process()

    def eof_received(self) -> bool:
        self.eof = True
        if not self.busy:
            self.close()
        # half-open: an answer in flight still goes out (TLS transports cannot)
        return self.scheme != "https"

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.proxy.conns.discard(self)
        if self.timer is not None:
            self.timer.cancel()
        backend, self.backend = self.backend, None
        if backend is not None:
            backend.client = None
            backend.close()

    def pause_writing(self) -> None:
        self.writing_paused = True
        if self.backend is not None:
            self.backend.pause()

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.backend is not None:
            self.backend.resume()

    def _check_idle(self) -> None:
        if self.closed or self.handed_off:
            return
        idle = time.monotonic() - self.last_active
        if idle >= IDLE_SECONDS:
            if self.busy and (self.backend is None or self.backend.state == "head"):
                self.write(error_response(504, close=True))  # no answer has begun
            self.close()
            return
        self.timer = asyncio.get_running_loop().call_later(IDLE_SECONDS - idle, self._check_idle)

    # ---- requests ----------------------------------------------------------------
    def _process(self) -> None:
        while not self.busy and not self.closed and not self.handed_off:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self._reject(400)
                return
            if end == 0 or self.buffer.startswith(b"\r\n"):  # stray CRLF between requests
                del self.buffer[:2]
                continue
            head_len = end + 4
            head = bytes(self.buffer[:head_len])
            quick = quickhead.request(head)
            if quick is not None and quick.length <= self.proxy.max_buffered_body:
                if len(self.buffer) < head_len + quick.length:
                    return  # the rest of the body is on its way
                body = bytes(self.buffer[head_len : head_len + quick.length])
                del self.buffer[: head_len + quick.length]
                self._dispatch_quick(quick, head, body)
                continue
            try:
                request = http1.parse_request(head)
                kind, length = http1.request_framing(request.headers)
            except BadMessage:
                self._reject(400)
                return
            if (
                kind != "length"
                or length > self.proxy.max_buffered_body
                or http1.header(request.headers, "upgrade")
                or (length and http1.header(request.headers, "expect"))
            ):
                self._hand_off(request, head_len)
                return
            if len(self.buffer) < head_len + length:
                return  # the rest of the body is on its way
            body = bytes(self.buffer[head_len : head_len + length])
            del self.buffer[: head_len + length]
            self._dispatch(request, head, body, length)

    def _dispatch(self, request: Request, head: bytes, body: bytes, length: int) -> None:
        self.keep = http1.wants_keep_alive(request.version, request.headers)
        self.http10 = request.version == "HTTP/1.0"
        host = http1.header(request.headers, "host") or ""
        backend = self.proxy.table().match(host, request.path)
        if backend is None or not backend.endpoints:
            status = 404 if backend is None else 503
            self.proxy.requests.add(backend, request.method, status)
            self.write(error_response(status, close=not self.keep))
            if not self.keep:
                self.close()
            return
        payload = (
            http1.upstream_head(request, head, host, self.scheme, self.port, self.client_ip, length)
            + body
        )
        self.busy = True
        self.exchange = (
            request.method,
            payload,
            backend,
            self.proxy.upstreams.order(backend),
            False,
        )
        self._next_endpoint()

    def _dispatch_quick(self, quick: quickhead.QuickRequest, head: bytes, body: bytes) -> None:
        """A plain HTTP/1.1 keep-alive request: its head goes as received, plus the
        proxy's X-Forwarded-* lines."""
        self.keep, self.http10 = True, False
        path = quick.target.split("?", 1)[0]
        if "://" in path or not path.startswith("/"):
            path = http1.Request(quick.method, quick.target, "HTTP/1.1", []).path
        table = self.proxy.table()
        backend = table.match(quick.host, path)
        if backend is None or not backend.endpoints:
            status = 404 if backend is None else 503
            self.proxy.requests.add(backend, quick.method, status)
            self.write(error_response(status, close=False))
            return
        if self._forwarded[0] != quick.host:  # a connection mostly keeps its Host
            lines = (
                f"X-Forwarded-For: {self.client_ip}\r\nX-Forwarded-Proto: {self.scheme}\r\n"
                f"X-Forwarded-Host: {quick.host}\r\nX-Forwarded-Port: {self.port}\r\n"
                f"X-Real-IP: {self.client_ip}\r\n\r\n"
            )
            self._forwarded = (quick.host, lines.encode("latin-1"))
        extra = self._forwarded[1]
        if not quick.length and quick.method in ("POST", "PUT", "PATCH"):
            extra = b"Content-Length: 0\r\n" + extra
        payload = head[:-2] + extra + body
        if not body:
            self._memo = (head, table, quick.method, backend, payload)
        self._send(quick.method, payload, backend)

    def _send(self, method: str, payload: bytes, backend: Backend) -> None:
        self.busy = True
        self.exchange = (method, payload, backend, self.proxy.upstreams.order(backend), False)
        self._next_endpoint()

    def _next_endpoint(self, fresh: bool = False) -> None:
        assert self.exchange is not None
        method, payload, backend, order, _ = self.exchange
        if not fresh:
            if not order:
                self._gateway_error(502)
                return
            address = order.pop(0)
        else:
            address = self._last_address
        self._last_address = address
        if fresh != self.exchange[4]:  # `order` is the same list, popped in place
            self.exchange = (method, payload, backend, order, fresh)
        conn = None if fresh else self.proxy.pool.take(address)
        if conn is not None:
            self.backend = conn
            conn.send(self, method, payload)
            return
        asyncio.get_running_loop().create_task(self._connect(address, backend))

    async def _connect(self, address: Address, backend: Backend) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(5):
                _, conn = await loop.create_connection(
                    lambda: BackendConn(self.proxy.pool, address), *address
                )
        except (OSError, TimeoutError) as err:
            log.info("%s: endpoint %s:%d failed: %s", backend.key, *address, err)
            if not self.closed:
                self._next_endpoint()
            return
        if self.closed or self.exchange is None:
            conn.close()
            return
        self.backend = conn
        conn.send(self, self.exchange[0], self.exchange[1])

    # ---- callbacks from the backend ----------------------------------------------
    def response_head(self, response: http1.Response, kind: str) -> bytes:
        if kind == "close":
            self.keep = False
        headers = http1.end_to_end(response.headers)
        if not self.keep:
            headers.append(("Connection", "close"))
        elif self.http10:
            headers.append(("Connection", "keep-alive"))
        return http1.render(f"HTTP/1.1 {response.status} {response.reason}".rstrip(), headers)

    def answered(self, status: int) -> None:
        """The backend's answer is on its way to the client: count it."""
        if self.exchange is not None:
            self.proxy.requests.add(self.exchange[2], self.exchange[0], status)

    def response_done(self, reusable_backend: BackendConn | None) -> None:
        self.backend = None
        self.exchange = None
        self.busy = False
        if reusable_backend is not None:
            self.proxy.pool.give(reusable_backend)
        if self.writing_paused and reusable_backend is not None:
            reusable_backend.resume()
        if not self.keep:
            self.close()
            return
        self.last_active = time.monotonic()
        if self.buffer:
            self._process()
        if self.eof and not self.busy:
            self.close()

    def backend_failed(self, conn: BackendConn, retry: bool) -> None:
        """The backend closed before answering: a stale pooled connection is replaced
        once by a fresh one; otherwise 502."""
        self.backend = None
        if self.closed or self.exchange is None:
            return
        if retry and not self.exchange[4]:
            self._next_endpoint(fresh=True)
            return
        self._gateway_error(502)

    def _gateway_error(self, status: int) -> None:
        if self.exchange is not None:
            self.proxy.requests.add(self.exchange[2], self.exchange[0], status)
        self.busy = False
        self.exchange = None
        self.write(error_response(status, close=not self.keep))
        if not self.keep:
            self.close()
        elif self.buffer:
            self._process()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def abort(self) -> None:
        """A broken answer: the client cannot be told in-band; close."""
        self.backend = None
        self.close()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def _reject(self, status: int) -> None:
        self.proxy.requests.add(None, "", status)
        self.write(error_response(status, close=True))
        self.close()

    # ---- the slow path -----------------------------------------------------------
    def _hand_off(self, request: Request, head_len: int) -> None:
        """Give the connection to the streams code, with this request already read."""
        assert self.transport is not None
        self.handed_off = True
        if self.timer is not None:
            self.timer.cancel()
        self.proxy.conns.discard(self)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 17, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        self.transport.set_protocol(protocol)
        protocol.connection_made(self.transport)
        rest = bytes(self.buffer[head_len:])
        self.buffer.clear()
        if rest:
            reader.feed_data(rest)
        writer = asyncio.StreamWriter(self.transport, protocol, reader, loop)
        self.proxy.spawn(
            self.proxy.continue_client(request, reader, writer, self.scheme, self.port)
        )
