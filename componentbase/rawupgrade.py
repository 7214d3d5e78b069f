"""HTTP/1.1 upgrades to SPDY/3.1 in uvicorn, for the apiserver and the kubelet.

uvicorn upgrades only to WebSocket; any other `Upgrade:` reaches the app as a plain
request, which cannot answer `101 Switching Protocols` and then speak raw bytes. So
`UpgradingHttpProtocol` (pass it as uvicorn's `http=`) hands a `Connection: Upgrade`
+ `Upgrade: SPDY/3.1` request to `RawUpgradeProtocol`, which presents it to the app
as an ASGI *websocket* scope marked with the extension `minik.raw-upgrade`:

- `websocket.accept` writes `101 Switching Protocols` with `Upgrade: SPDY/3.1` and
  the accept message's headers (`X-Stream-Protocol-Version`);
- `websocket.send` (bytes) writes raw bytes; `websocket.receive` yields raw bytes as
  they arrive; `websocket.disconnect` when the peer closes;
- `websocket.http.response.*` (Starlette's `send_denial_response`) answers plain HTTP,
  so refusals are ordinary Kubernetes Status responses.

So the same Starlette route, authentication middleware and `WebSocket` object serve
both kinds of upgrade; a handler tells them apart with `is_raw_upgrade(scope)`.

WebSocket upgrades pass too, with one repair: kubectl ≥ 1.31 offers the subprotocol
`SPDY/3.1+portforward.k8s.io`, which is not an RFC 6455 token, and the websockets
library refuses the whole handshake for it. Such values are moved out of
`Sec-WebSocket-Protocol` into `X-Minik-WebSocket-Protocols` before the handshake;
`websocket_protocols(headers)` gives the app every offered value, in order.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import unquote

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.utils import get_local_addr, get_remote_addr, is_ssl

from componentbase.serving import READ_HEADER_TIMEOUT_SECONDS

log = logging.getLogger(__name__)
EXTENSION = "minik.raw-upgrade"
_RAW_UPGRADES = (b"spdy/3.1",)
_HIGH_WATER = 64
_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}


def is_raw_upgrade(scope: Any) -> bool:
    return EXTENSION in (scope.get("extensions") or {})


ORIGINAL_PROTOCOLS = b"x-minik-websocket-protocols"
_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def websocket_protocols(headers: Any) -> list[str]:
    """The subprotocols a WebSocket upgrade offered, in order (Starlette headers)."""
    raw = headers.get(ORIGINAL_PROTOCOLS.decode()) or headers.get("sec-websocket-protocol")
    return [p.strip() for p in (raw or "").split(",") if p.strip()]


def _repair_protocols(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Keep only token subprotocols where the websockets library looks; all of them
    in ORIGINAL_PROTOCOLS when one was not a token."""
    kept = [(n, v) for n, v in headers if n != ORIGINAL_PROTOCOLS]
    offered = [p.strip() for n, v in kept if n == b"sec-websocket-protocol" for p in v.split(b",")]
    offered = [p for p in offered if p]
    if all(_TOKEN.match(p) for p in offered):
        return kept
    tokens = b", ".join(p for p in offered if _TOKEN.match(p))
    out = [(n, v) for n, v in kept if n != b"sec-websocket-protocol"]
    if tokens:
        out.append((b"sec-websocket-protocol", tokens))
    out.append((ORIGINAL_PROTOCOLS, b", ".join(offered)))
    return out


PEER_CERT = "minik.peercert"  # scope key: the verified client certificate, if any


def peer_cert(transport: Any) -> Any:
    """The client certificate TLS verified (ssl's getpeercert() dict), or None."""
    return transport.get_extra_info("peercert") if transport is not None else None


_PEER_CERT_CLASSES: dict[type, type] = {}
_UNREAD = object()


def _with_peer_cert(cls: Any) -> Any:
    """uvicorn's WebSocket protocol class, also putting the peer certificate in the
    scope (each of uvicorn's implementations builds its scope, then calls run_asgi)."""
    if cls not in _PEER_CERT_CLASSES:

        class PeerCertWebSocket(cls):
            async def run_asgi(self) -> None:
                self.scope[PEER_CERT] = peer_cert(self.transport)
                await super().run_asgi()

        _PEER_CERT_CLASSES[cls] = PeerCertWebSocket
    return _PEER_CERT_CLASSES[cls]


class UpgradingHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, also upgrading to SPDY/3.1 (raw bytes), and
    putting the verified client certificate in each scope (PEER_CERT) for X.509
    client authentication: uvicorn gives apps no way to reach the TLS connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.ws_protocol_class is not None:
            self.ws_protocol_class = _with_peer_cert(self.ws_protocol_class)
        self._header_deadline: asyncio.TimerHandle | None = None
        # the connection's client certificate, read once: it cannot change on a
        # connection (no renegotiation), and reading it parses it again each time
        self._peer_cert: Any = _UNREAD

    # Go's http.Server.ReadHeaderTimeout, which uvicorn lacks: a request's headers must
    # arrive within READ_HEADER_TIMEOUT_SECONDS of the connection's start or of the
    # request's first byte (between requests, the idle timeout applies). Without it a
    # connection that sends nothing, or a header a byte at a time, is held forever.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(
                READ_HEADER_TIMEOUT_SECONDS, self._header_timeout
            )

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_timeout(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            log.debug("closing a connection whose request headers did not arrive in time")
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_deadline()
        if self._peer_cert is _UNREAD:
            self._peer_cert = peer_cert(self.transport)
        self.scope[PEER_CERT] = self._peer_cert  # type: ignore[literal-required]

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def _should_upgrade(self) -> bool:
        upgrade = self._get_upgrade()
        if upgrade in _RAW_UPGRADES:
            return True
        return super()._should_upgrade()

    def handle_websocket_upgrade(self) -> None:
        if self._get_upgrade() not in _RAW_UPGRADES:
            self.scope["headers"] = _repair_protocols(list(self.scope["headers"]))
            super().handle_websocket_upgrade()
            return
        self.connections.discard(self)
        protocol = RawUpgradeProtocol(self.config, self.server_state, self.app_state)
        protocol.connection_made(self.transport)
        self.transport.set_protocol(protocol)
        protocol.start(self.scope["method"], self.url, list(self.scope["headers"]))


class RawUpgradeProtocol(asyncio.Protocol):
    """One upgraded connection: an ASGI websocket conversation over raw bytes."""

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any]) -> None:
        self.config = config
        self.app = config.loaded_app
        self.app_state = app_state
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.connected_sent = False
        self.accepted = False
        self.responded = False
        self.closed = False
        self.read_paused = False
        self.writable = asyncio.Event()
        self.writable.set()

    # ---- asyncio.Protocol -------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.connections.discard(self)
        self.writable.set()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": 1006})

    def eof_received(self) -> bool | None:
        self.queue.put_nowait({"type": "websocket.disconnect", "code": 1000})
        return None

    def data_received(self, data: bytes) -> None:
        if not self.accepted:
            return  # a client must wait for 101 before it speaks
        self.queue.put_nowait({"type": "websocket.receive", "bytes": data})
        if self.queue.qsize() > _HIGH_WATER and not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def shutdown(self) -> None:
        """uvicorn's graceful exit: close the connection."""
        if not self.closed:
            self.transport.close()

    # ---- the ASGI side ----------------------------------------------------------
    def start(self, method: str, url: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        path, _, query = url.partition(b"?")
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": method,
            "scheme": "wss" if is_ssl(self.transport) else "ws",
            "server": get_local_addr(self.transport),
            "client": get_remote_addr(self.transport),
            "root_path": self.config.root_path,
            "path": unquote(path.decode("latin-1")),
            "raw_path": path,
            "query_string": query,
            "headers": headers,
            "subprotocols": [],
            "state": self.app_state.copy(),
            "extensions": {"websocket.http.response": {}, EXTENSION: {}},
            PEER_CERT: peer_cert(self.transport),
        }
        task = asyncio.get_running_loop().create_task(self._run(scope))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, scope: dict[str, Any]) -> None:
        try:
            await self.app(scope, self.receive, self.send)
        except Exception:
            log.exception("raw upgrade %s failed", scope["path"])
            if not self.accepted and not self.responded:
                self._write_response(500, [], b"Internal Server Error")
        if not self.closed:
            self.transport.close()

    async def receive(self) -> dict[str, Any]:
        if not self.connected_sent:
            self.connected_sent = True
            return {"type": "websocket.connect"}
        message = await self.queue.get()
        if self.read_paused and self.queue.qsize() < _HIGH_WATER // 2:
            self.read_paused = False
            self.transport.resume_reading()
        return message

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            head = [b"HTTP/1.1 101 Switching Protocols", b"Connection: Upgrade"]
            head.append(b"Upgrade: SPDY/3.1")
            for name, value in message.get("headers") or []:
                head.append(bytes(name) + b": " + bytes(value))
            self.accepted = True
            self.transport.write(b"\r\n".join(head) + b"\r\n\r\n")
        elif kind == "websocket.send":
            data = message.get("bytes")
            if data is None:
                data = (message.get("text") or "").encode()
            await self.writable.wait()
            if not self.closed:
                self.transport.write(data)
        elif kind == "websocket.close":
            if not self.accepted and not self.responded:
                self._write_response(403, [], b"")
            if not self.closed:
                self.transport.close()
        elif kind == "websocket.http.response.start":
            self._status = int(message["status"])
            self._headers = list(message.get("headers") or [])
            self._body = b""
        elif kind == "websocket.http.response.body":
            self._body += message.get("body", b"")
            if not message.get("more_body"):
                self._write_response(self._status, self._headers, self._body)

    def _write_response(self, status: int, headers: list[Any], body: bytes) -> None:
        self.responded = True
        reason = _REASONS.get(status, "Error")
        lines = [f"HTTP/1.1 {status} {reason}".encode()]
        for name, value in headers:
            if bytes(name).lower() not in (b"content-length", b"connection"):
                lines.append(bytes(name) + b": " + bytes(value))
        lines += [b"Content-Length: %d" % len(body), b"Connection: close"]
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        self.transport.close()
