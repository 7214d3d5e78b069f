"""`/metrics` for every component: Prometheus' text format from one registry.

Each component defines its metrics at module level with `prometheus_client`, under
Kubernetes' names and labels, in prometheus_client's default registry (which also
carries the process_* and python_* collectors, as Go components carry process_* and
go_*). How the text is served depends on the component:

- the apiserver and the kubelet already run an HTTP server that authenticates its
  callers: they answer `GET /metrics` with `exposition()` behind that check;
- the scheduler, the controller manager and the proxy run no HTTP server of their
  own, so `MetricsListener` is a small one: `GET /metrics` and `GET /healthz`,
  plain HTTP, bound to 127.0.0.1 by default. Kubernetes' kube-proxy serves its
  metrics the same way (unauthenticated, 127.0.0.1:10249); kube-scheduler and
  kube-controller-manager serve HTTPS with authentication delegated to the
  apiserver's TokenReview, which minik has not got yet, so theirs stays on loopback
  (as Kubernetes' own insecure ports 10251/10252 did until 1.23): whoever can open a
  socket on this host may read the counters, and nothing else is served there.

The listener runs on the component's event loop (no thread: collectors read the
component's state between two of its steps, never in the middle of one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

# What generate_latest writes, labelled as Kubernetes' components label it (newer
# prometheus_client versions call the same text "version=1.0.0").
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_REQUEST_HEAD = 16 * 1024
READ_TIMEOUT = 10.0


def exposition(registry: CollectorRegistry = REGISTRY) -> bytes:
    """The registry's metrics in Prometheus' text format (version 0.0.4)."""
    return generate_latest(registry)


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    @property
    def enabled(self) -> bool:
        return self.port != 0

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_host_port(text: str) -> HostPort:
    """`127.0.0.1:10249`, `[::1]:10249`, `:10249` (all addresses) or "" (off), as
    kube-proxy's --metrics-bind-address; ValueError otherwise."""
    text = text.strip()
    if not text:
        return HostPort("127.0.0.1", 0)
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"want IP:PORT, got {text!r}")
    host = host.strip("[]") or "0.0.0.0"
    return HostPort(host, int(port))


class MetricsListener:
    """GET /metrics (the registry's text) and /healthz (`ok`) over plain HTTP/1.1,
    one request per connection. Everything else is a 404."""

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry = REGISTRY,
        healthy: Callable[[], bool] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.registry = registry
        self.healthy = healthy
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; returns the port (the real one when asked for 0). OSError when the
        address is taken."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            status, content_type, body = self.answer(head)
            method = head.split(b" ", 1)[0]
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            )
            if method != b"HEAD":
                writer.write(body)
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def answer(self, head: bytes) -> tuple[str, str, bytes]:
        """(status line, content type, body) for a request head."""
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) != 3:
            return "400 Bad Request", "text/plain", b"bad request\n"
        method, target, _version = parts
        path = target.split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", "text/plain", b"method not allowed\n"
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE, exposition(self.registry)
        if path == "/healthz":
            if self.healthy is None or self.healthy():
                return "200 OK", "text/plain; charset=utf-8", b"ok"
            return "500 Internal Server Error", "text/plain; charset=utf-8", b"unhealthy"
        return "404 Not Found", "text/plain", b"404 page not found\n"


def add_metrics_bind_address_flag(
    parser: argparse.ArgumentParser, component: str, port: int
) -> None:
    """`--metrics-bind-address IP:PORT` (kube-proxy's flag) of a component's
    plain-HTTP /metrics and /healthz listener; `args.metrics_bind_address` is a
    HostPort."""

    def host_port(text: str) -> HostPort:
        try:
            return parse_host_port(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parser.add_argument(
        "--metrics-bind-address",
        type=host_port,
        default=HostPort("127.0.0.1", port),
        help=f"IP:PORT of {component}'s /metrics and /healthz listener (plain HTTP, no "
        "authentication: keep it on loopback); port 0 or empty: none",
    )


def add_metrics_flags(parser: argparse.ArgumentParser, component: str, port: int) -> None:
    """`--bind-address` and `--port` of the scheduler's and the controller manager's
    plain-HTTP /metrics and /healthz listener (0: none)."""
    parser.add_argument(
        "--bind-address",
        default="127.0.0.1",
        help=f"address of {component}'s /metrics and /healthz listener (plain HTTP: keep "
        "it on loopback, it authenticates nobody)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=port,
        help=f"port of that listener (default {port}, Kubernetes' former insecure port of "
        f"{component}; 0: no listener)",
    )


@contextlib.asynccontextmanager
async def serving(
    component: str, address: HostPort, registry: CollectorRegistry = REGISTRY
) -> AsyncIterator[MetricsListener | None]:
    """Serve /metrics at `address` while the block runs (nothing for port 0). A taken
    address is logged and the component runs on without metrics: a second scheduler
    on one host (a standby, a test's) must not die of its metrics port."""
    if not address.enabled:
        yield None
        return
    listener = MetricsListener(address.host, address.port, registry)
    try:
        port = await listener.start()
    except OSError as err:
        log.error("%s: cannot serve /metrics on %s: %s", component, address, err.strerror or err)
        yield None
        return
    log.info("%s: serving /metrics on %s", component, HostPort(address.host, port))
    try:
        yield listener
    finally:
        listener.close()
