"""`/metrics` for every component: Prometheus' text format from one registry.

Each component defines its metrics at module level with `prometheus_client`, under
Kubernetes' names and labels, in prometheus_client's default registry (which also
carries the process_* and python_* collectors, as Go components carry process_* and
go_*). The add-ons, which may share one process, keep their own families in a
registry of their own and serve it with the default one (`with_process_metrics`).
How the text is served depends on the component:

- the apiserver and the kubelet already run an HTTP server that authenticates its
  callers: they answer `GET /metrics` with `exposition()` behind that check;
- the scheduler, the controller manager, the proxy, the ingress controller and the
  metrics server run no HTTP server for it, so `MetricsListener` is a small one:
  `GET /metrics` and `GET /healthz`, bound to 127.0.0.1 by default. The proxy's, the
  ingress controller's and the metrics server's are plain HTTP and unauthenticated,
  as kube-proxy's (127.0.0.1:10249) and ingress-nginx's (10254) are. The scheduler
  and the controller manager serve theirs as Kubernetes' do since 1.23: HTTPS on
  the secure port (10259, 10257), each request authenticated and authorized by the
  apiserver (componentbase/delegatedauth.py), /healthz, /readyz and /livez always
  allowed. Their old insecure ports (10251, 10252) are off unless `--port` asks.

The listener runs on the component's event loop (no thread: collectors read the
component's state between two of its steps, never in the middle of one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import ssl
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from api.privatefile import write_private
from client.rest import AsyncClient
from componentbase.delegatedauth import ALWAYS_ALLOW_PATHS, DelegatedAuth, Verdict
from componentbase.flags import add_tls_flags, tls_policy
from componentbase.metricsaddress import HostPort as HostPort
from componentbase.metricsaddress import (
    add_metrics_bind_address_flag as add_metrics_bind_address_flag,
)
from componentbase.metricsaddress import parse_host_port as parse_host_port
from componentbase.selfsigned import self_signed_pem
from componentbase.serving import DEFAULT_TLS_POLICY, TLSPolicy, server_context

log = logging.getLogger(__name__)

# What generate_latest writes, labelled as Kubernetes' components label it (newer
# prometheus_client versions call the same text "version=1.0.0").
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_REQUEST_HEAD = 16 * 1024
READ_TIMEOUT = 10.0


def with_process_metrics(own: CollectorRegistry) -> CollectorRegistry:
    """What a component's /metrics serves when it shares its process (`python -m
    addons`): its own families, then the process-wide ones of the default registry
    (process_*, python_*, the API client's, the event loop's), but not the families
    of the other components beside it."""
    both = CollectorRegistry()
    both.register(own)
    both.register(REGISTRY)
    return both


def exposition(registry: CollectorRegistry = REGISTRY) -> bytes:
    """The registry's metrics in Prometheus' text format (version 0.0.4)."""
    return generate_latest(registry)


class MetricsListener:
    """GET /metrics (the registry's text) and /healthz (`ok`) over HTTP/1.1, one
    request per connection; over TLS and behind `auth` when given. Everything else
    is a 404."""

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry = REGISTRY,
        healthy: Callable[[], bool] | None = None,
        tls: ssl.SSLContext | None = None,
        auth: DelegatedAuth | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.registry = registry
        self.healthy = healthy
        self.tls = tls
        self.auth = auth
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; returns the port (the real one when asked for 0). OSError when the
        address is taken."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.tls)
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
            verdict = await self._check(head)
            if verdict.allowed:
                status, content_type, body = self.answer(head)
            else:
                status, content_type, body = refusal(verdict)
            method = head.split(b" ", 1)[0]
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            )
            if method != b"HEAD":
                writer.write(body)
            await writer.drain()
        except (
            OSError,
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ssl.SSLError,
        ):
            pass
        finally:
            writer.close()

    async def _check(self, head: bytes) -> Verdict:
        """The caller's right to this request (always, without `auth`)."""
        if self.auth is None:
            return Verdict(200)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return Verdict(200)  # answer() says 400
        authorization = next(
            (
                value.strip()
                for name, sep, value in (line.partition(":") for line in lines[1:])
                if sep and name.strip().lower() == "authorization"
            ),
            None,
        )
        return await self.auth.check_path(authorization, parts[0], parts[1].split("?", 1)[0])

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


def refusal(verdict: Verdict) -> tuple[str, str, bytes]:
    """A 401 or 403 as Kubernetes' filters write it: a Status object."""
    reason, phrase = (
        ("Unauthorized", "401 Unauthorized")
        if verdict.code == 401
        else ("Forbidden", "403 Forbidden")
    )
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": verdict.reason or reason,
        "reason": reason,
        "details": {},
        "code": verdict.code,
    }
    return phrase, "application/json", json.dumps(status).encode() + b"\n"


def self_signed_context(
    common_name: str, host: str, policy: TLSPolicy = DEFAULT_TLS_POLICY
) -> ssl.SSLContext:
    """A server context with a self-signed certificate made now, as Kubernetes'
    components make one when given no --tls-cert-file and no --cert-dir (the files
    exist only for the moment ssl needs them to load). A child process makes it
    (componentbase/selfsigned.py: cryptography stays out of the component)."""
    hosts = tuple(dict.fromkeys((host, "localhost", "127.0.0.1")))
    cert_pem, key_pem = self_signed_pem(common_name, hosts)
    with tempfile.TemporaryDirectory(prefix="minik-serving-") as directory:
        cert, key = Path(directory) / "tls.crt", Path(directory) / "tls.key"
        write_private(key, key_pem)
        cert.write_bytes(cert_pem)
        return server_context(cert, key, policy=policy)


def serving_context(args: argparse.Namespace, component: str) -> ssl.SSLContext:
    """The secure port's TLS context: --tls-cert-file/--tls-private-key-file, or a
    self-signed certificate; --tls-min-version and --tls-cipher-suites apply."""
    policy = TLSPolicy(args.tls_min_version, tuple(args.tls_cipher_suites))
    if args.tls_cert_file:
        return server_context(args.tls_cert_file, args.tls_private_key_file, policy=policy)
    host = args.bind_address if args.bind_address not in ("0.0.0.0", "::") else "localhost"
    return self_signed_context(component, host, policy)


def add_secure_serving_flags(parser: argparse.ArgumentParser, component: str, port: int) -> None:
    """kube-scheduler's and kube-controller-manager's secure serving flags:
    `--secure-port` (HTTPS, delegated authentication and authorization),
    `--tls-cert-file`, `--tls-private-key-file`, `--authorization-always-allow-paths`."""
    parser.add_argument(
        "--secure-port",
        type=int,
        default=port,
        help=f"HTTPS port of {component}'s /metrics and /healthz (default {port}, "
        "Kubernetes'; 0: none); callers are checked with the apiserver",
    )
    parser.add_argument("--tls-cert-file", help="serving certificate (default: self-signed)")
    parser.add_argument("--tls-private-key-file", help="the serving certificate's key")
    add_tls_flags(parser)
    parser.add_argument(
        "--authorization-always-allow-paths",
        default=",".join(ALWAYS_ALLOW_PATHS),
        help="paths served to anyone, comma-separated",
    )


def check_secure_serving_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if bool(args.tls_cert_file) != bool(args.tls_private_key_file):
        parser.error("--tls-cert-file and --tls-private-key-file go together")
    tls_policy(parser, args)


def always_allow_paths(args: argparse.Namespace) -> list[str]:
    return [p.strip() for p in args.authorization_always_allow_paths.split(",") if p.strip()]


def add_metrics_flags(
    parser: argparse.ArgumentParser, component: str, secure_port: int, insecure_port: int
) -> None:
    """The scheduler's and the controller manager's listeners: `--bind-address`, the
    secure port's flags, and `--port`, the plain-HTTP listener Kubernetes removed in
    1.23 (off by default; the port it had is `insecure_port`)."""
    parser.add_argument(
        "--bind-address",
        default="127.0.0.1",
        help=f"address of {component}'s /metrics and /healthz listeners (kubeadm's 127.0.0.1)",
    )
    add_secure_serving_flags(parser, component, secure_port)
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help=f"port of a plain-HTTP listener that authenticates nobody (0, the default: "
        f"none; {component}'s was {insecure_port} before Kubernetes 1.23)",
    )


@contextlib.asynccontextmanager
async def serving(
    component: str,
    address: HostPort,
    registry: CollectorRegistry = REGISTRY,
    *,
    tls: ssl.SSLContext | None = None,
    auth: DelegatedAuth | None = None,
) -> AsyncIterator[MetricsListener | None]:
    """Serve /metrics at `address` while the block runs (nothing for port 0). A taken
    address is logged and the component runs on without metrics: a second scheduler
    on one host (a standby, a test's) must not die of its metrics port."""
    if not address.enabled:
        yield None
        return
    listener = MetricsListener(address.host, address.port, registry, tls=tls, auth=auth)
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


@contextlib.asynccontextmanager
async def secure_serving(
    component: str, args: argparse.Namespace, api: AsyncClient
) -> AsyncIterator[None]:
    """The scheduler's and the controller manager's listeners (add_metrics_flags)
    while the block runs: HTTPS with delegated authentication and authorization on
    `--secure-port`, and the plain one on `--port` when asked for."""
    secure = HostPort(args.bind_address, args.secure_port)
    tls = serving_context(args, component) if secure.enabled else None
    auth = DelegatedAuth(api, always_allow_paths=always_allow_paths(args))
    async with (
        serving(component, secure, tls=tls, auth=auth),
        serving(component, HostPort(args.bind_address, args.port)),
    ):
        yield
