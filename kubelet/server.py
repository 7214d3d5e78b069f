"""The kubelet's API (`--address`:`--port`, HTTPS): container logs, exec, attach,
port-forward, metrics and stats.

Served over TLS with `--tls-cert-file`, else a self-signed certificate kept in
`--cert-dir`, as Kubernetes' kubelet. Every request and upgrade is authenticated and
authorized first (kubelet/auth.py: client certificates against `--client-ca-file`,
bearer tokens by TokenReview, SubjectAccessReview on `nodes/proxy|log|stats|metrics`);
the apiserver comes with its own client certificate (`--kubelet-client-certificate`).

- `GET /containerLogs/{namespace}/{pod}/{container}` — `follow`, `tailLines`,
  `previous`, `timestamps`, `sinceSeconds`, `sinceTime`, `limitBytes`; text/plain,
  streamed while following.
- `POST /exec/{namespace}/{pod}/{container}?command=a&command=b` — runs a command
  non-interactively and answers its combined output (`X-Exit-Code` header); a plain
  GET runs nothing (405): commands run only on POST or an upgrade.
- The same path as a WebSocket (`v5.channel.k8s.io`/`v4.channel.k8s.io`, with
  `stdin`, `stdout`, `stderr`, `tty`) or as an `Upgrade: SPDY/3.1` (`v4.channel.k8s.io`
  negotiated in `X-Stream-Protocol-Version`): `kubectl exec`, interactive
  (kubelet/execstream.py).
- `/attach/{namespace}/{pod}/{container}`: the same, attached to the container's main
  process (`kubectl attach`, `kubectl run -i`, `kubectl debug -i`).
- `/portForward/{namespace}/{pod}`: SPDY `portforward.k8s.io` (kubectl's; the
  apiserver unwraps the WebSocket-tunneled form) or WebSocket `v4.channel.k8s.io`
  with `ports` (the Python client; kubelet/portforward.py): TCP to the pod's IP.
- `GET /metrics`: the kubelet's own Prometheus metrics (kubelet/metrics.py).
- `GET /metrics/resource` (Prometheus text) and `GET /stats/summary` (Summary JSON):
  the containers' CPU and memory, as the kubelet's resource metrics endpoints
  (kubelet/resourcestats.py); the metrics server scrapes the first.
- `GET /healthz` (`nodes/proxy`, as every path not named above).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from api import remotecommand as rc
from api import spdy
from componentbase.httpserve import EmbeddedServer
from componentbase.metrics import CONTENT_TYPE, exposition
from componentbase.rawupgrade import UpgradingHttpProtocol, is_raw_upgrade
from componentbase.serving import (
    DEFAULT_TLS_POLICY,
    IDLE_TIMEOUT_SECONDS,
    TLSPolicy,
    uvicorn_tls,
)
from kubelet import portforward
from kubelet.auth import AuthMiddleware, KubeletAuth
from kubelet.execstream import Channels, SpdyChannels, WsChannels, serve_attach, serve_exec
from kubelet.logs import LogOptions, LogRequestError, log_container_id
from kubelet.podstatus import container_status_by_name
from kubelet.resourcestats import prometheus_text, summary
from kubelet.runtime import DockerRuntime, RuntimeFailure
from kubelet.spdysession import Session
from kubelet.statscollector import StatsCollector

log = logging.getLogger(__name__)
EXEC_TIMEOUT_SECONDS = 300.0

PodLookup = Callable[[str, str], dict[str, Any] | None]  # (namespace, name) → pod
StatusLookup = Callable[[dict[str, Any]], dict[str, Any]]  # pod → its freshest status


class ServeError(Exception):
    """The kubelet's port cannot be listened on."""


def status_body(code: int, message: str, reason: str) -> dict[str, Any]:
    """A Kubernetes Status; `details` always present, as kubectl debug reads it."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": {},
        "code": code,
    }


def error_response(code: int, message: str, reason: str) -> JSONResponse:
    return JSONResponse(status_body(code, message, reason), status_code=code)


@dataclass(frozen=True)
class ServingTLS:
    """The API's certificate, and the CA client certificates are checked against."""

    cert_file: str
    key_file: str
    client_ca_file: str | None = None
    policy: TLSPolicy = DEFAULT_TLS_POLICY  # --tls-min-version, --tls-cipher-suites


def serving_tls(
    cert_file: str | None,
    key_file: str | None,
    cert_dir: Path,
    hosts: tuple[str, ...],
    client_ca_file: str | None,
    policy: TLSPolicy = DEFAULT_TLS_POLICY,
) -> ServingTLS:
    """`--tls-cert-file`/`--tls-private-key-file`, else the self-signed
    `kubelet.crt`/`kubelet.key` in `cert_dir` (made once for `hosts`), as Kubernetes'
    kubelet does without them."""
    if cert_file and key_file:
        return ServingTLS(cert_file, key_file, client_ca_file, policy)
    from componentbase.pki import ensure_self_signed  # cryptography: only when needed

    hosts = tuple(dict.fromkeys(h for h in (*hosts, "localhost", "127.0.0.1") if h))
    cert, key = ensure_self_signed(cert_dir, "kubelet", hosts[0], hosts)
    return ServingTLS(str(cert), str(key), client_ca_file, policy)


class KubeletServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        auth: KubeletAuth,
        tls: ServingTLS,
        runtime: DockerRuntime,
        find_pod: PodLookup,
        pod_status: StatusLookup,
        stats: StatsCollector | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.auth = auth
        self.tls = tls
        self.runtime = runtime
        self.find_pod = find_pod
        self.pod_status = pod_status
        self.stats = stats
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None

    def app(self) -> Any:
        """The routes, behind authentication and authorization."""
        return AuthMiddleware(self.routes(), self.auth)

    def routes(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/metrics", self.metrics, methods=["GET"]),
                Route("/metrics/resource", self.metrics_resource, methods=["GET"]),
                Route("/stats/summary", self.stats_summary, methods=["GET"]),
                Route(
                    "/containerLogs/{namespace}/{pod}/{container}",
                    self.container_logs,
                    methods=["GET"],
                ),
                Route("/exec/{namespace}/{pod}/{container}", self.exec, methods=["POST"]),
                WebSocketRoute("/exec/{namespace}/{pod}/{container}", self.exec_stream),
                WebSocketRoute("/attach/{namespace}/{pod}/{container}", self.attach_stream),
                WebSocketRoute("/portForward/{namespace}/{pod}", self.port_forward),
            ]
        )

    def bind(self) -> socket.socket:
        """Take the port now, so a port in use fails the kubelet's start-up clearly
        (ServeError) instead of a background task later."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as err:
            sock.close()
            raise ServeError(
                f"cannot serve on {self.host}:{self.port}: {err.strerror or err}"
            ) from err
        sock.listen(128)
        sock.setblocking(False)
        self._socket = sock
        return sock

    async def serve(self) -> None:
        sock = self._socket if self._socket is not None else self.bind()
        config = uvicorn.Config(
            self.app(),
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=IDLE_TIMEOUT_SECONDS,
            http=UpgradingHttpProtocol,
            **uvicorn_tls(
                self.tls.cert_file,
                self.tls.key_file,
                client_ca_file=self.tls.client_ca_file,
                policy=self.tls.policy,
            ),
        )
        rc.quiet_denied_handshakes()
        self._server = EmbeddedServer(config)
        await self._server.serve(sockets=[sock])

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True

    # ---- handlers ---------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def metrics(self, request: Request) -> Response:
        return Response(exposition(), media_type=CONTENT_TYPE)

    async def metrics_resource(self, request: Request) -> Response:
        if self.stats is None:
            return error_response(404, "resource metrics are not served", "NotFound")
        text = prometheus_text(await self.stats.snapshot())
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def stats_summary(self, request: Request) -> Response:
        if self.stats is None:
            return error_response(404, "stats are not served", "NotFound")
        return JSONResponse(summary(await self.stats.snapshot()))

    def _pod(self, request: Request | WebSocket) -> tuple[dict[str, Any], str]:
        namespace = request.path_params["namespace"]
        name = request.path_params["pod"]
        pod = self.find_pod(namespace, name)
        if pod is None:
            raise LogRequestError(404, f'pods "{name}" not found', "NotFound")
        return pod, request.path_params["container"]

    async def container_logs(self, request: Request) -> Response:
        try:
            pod, container = self._pod(request)
            options = LogOptions.parse(dict(request.query_params))
            cid = log_container_id(pod, self.pod_status(pod), container, options.previous)
        except LogRequestError as err:
            return error_response(err.code, err.message, err.reason)
        chunks = self.runtime.logs(
            cid,
            follow=options.follow,
            timestamps=options.timestamps,
            tail=options.tail_lines,
            since=options.since(time.time()),
        )
        try:
            # Read the first chunk before answering, so a missing container is an
            # error status; a follower gets its headers at once instead.
            first = b"" if options.follow else await anext(chunks, b"")
        except RuntimeFailure as err:
            return error_response(500, f"cannot read the logs: {err}", "InternalError")
        return StreamingResponse(
            _limited(first, chunks, options.limit_bytes), media_type="text/plain"
        )

    def _exec_target(
        self, pod: dict[str, Any], container: str, command: list[str]
    ) -> str | JSONResponse:
        """The Docker id of the running container to exec in, or the error answer."""
        if not command:
            return error_response(400, "you must specify at least one command", "BadRequest")
        entry = container_status_by_name(self.pod_status(pod), container)
        if entry is None or "running" not in (entry.get("state") or {}):
            name = (pod.get("metadata") or {}).get("name", "")
            return error_response(
                400, f'container {container} is not running in pod "{name}"', "BadRequest"
            )
        cid = (entry.get("containerID") or "").removeprefix("docker://")
        return cid

    async def exec(self, request: Request) -> Response:
        try:
            pod, container = self._pod(request)
        except LogRequestError as err:
            return error_response(err.code, err.message, err.reason)
        command = request.query_params.getlist("command")
        target = self._exec_target(pod, container, command)
        if isinstance(target, Response):
            return target
        cid = target
        try:
            code, output = await self.runtime.exec(cid, command, EXEC_TIMEOUT_SECONDS)
        except TimeoutError:
            return error_response(504, "command timed out", "Timeout")
        except RuntimeFailure as err:
            return error_response(500, str(err), "InternalError")
        return Response(output, media_type="text/plain", headers={"X-Exit-Code": str(code)})

    async def exec_stream(self, ws: WebSocket) -> None:
        """Interactive exec (kubectl exec) over WebSocket or SPDY."""
        checked = await self._stream_request(ws, exec_=True)
        if isinstance(checked, Response):
            await ws.send_denial_response(checked)
            return
        cid, flags = checked
        command = ws.query_params.getlist("command")
        async with _channels(ws, flags) as channels:
            if channels is not None:
                await serve_exec(
                    channels,
                    self.runtime,
                    cid,
                    command,
                    stdin=flags["stdin"],
                    tty=flags["tty"],
                    stderr=flags["stderr"],
                )

    async def attach_stream(self, ws: WebSocket) -> None:
        """Attach to a container's main process (kubectl attach) over WebSocket or SPDY."""
        checked = await self._stream_request(ws, exec_=False)
        if isinstance(checked, Response):
            await ws.send_denial_response(checked)
            return
        cid, flags = checked
        async with _channels(ws, flags) as channels:
            if channels is not None:
                await serve_attach(
                    channels,
                    self.runtime,
                    cid,
                    stdin=flags["stdin"],
                    stdout=flags["stdout"],
                    tty=flags["tty"],
                    stderr=flags["stderr"],
                    stdin_once=_stdin_once(self.find_pod, ws),
                )

    async def _stream_request(
        self, ws: WebSocket, *, exec_: bool
    ) -> JSONResponse | tuple[str, dict[str, bool]]:
        """(container id, stream flags) of an exec/attach upgrade, or its refusal."""
        try:
            pod, container = self._pod(ws)
        except LogRequestError as err:
            return error_response(err.code, err.message, err.reason)
        query = ws.query_params
        command = query.getlist("command") if exec_ else ["attach"]
        target = self._exec_target(pod, container, command)
        if isinstance(target, JSONResponse):
            return target
        flags = {k: query.get(k) in ("true", "1") for k in ("stdin", "stdout", "stderr", "tty")}
        if not (flags["stdin"] or flags["stdout"] or flags["stderr"]):
            return error_response(
                400, "you must specify at least 1 of stdin, stdout, stderr", "BadRequest"
            )
        refused = _protocol_refusal(ws, SPDY_STREAM_PROTOCOLS)
        return refused if refused is not None else (target, flags)

    async def port_forward(self, ws: WebSocket) -> None:
        """kubectl port-forward: SPDY, or the WebSocket channels."""
        denied = self._port_forward_refusal(ws)
        if denied is not None:
            await ws.send_denial_response(denied)
            return
        pod = self.find_pod(ws.path_params["namespace"], ws.path_params["pod"]) or {}
        ip = self.pod_status(pod).get("podIP") or ""
        dial = portforward.dialer(ip)
        name = f"{ws.path_params['namespace']}/{ws.path_params['pod']}"
        if is_raw_upgrade(ws.scope):
            session = await _open_session(ws, portforward.PROTOCOL)
            runner = asyncio.create_task(session.run())
            try:
                await portforward.serve_spdy(session, dial, name)
            finally:
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)
            return
        ports = portforward.parse_ports(ws.query_params.getlist("ports"))
        await ws.accept(subprotocol=rc.V4)

        async def send(data: bytes) -> None:
            await ws.send_bytes(data)

        await portforward.serve_websocket(send, _ws_reader(ws), ports, dial)
        with contextlib.suppress(Exception):
            await ws.close(1000)

    def _port_forward_refusal(self, ws: WebSocket) -> JSONResponse | None:
        pod = self.find_pod(ws.path_params["namespace"], ws.path_params["pod"])
        name = ws.path_params["pod"]
        if pod is None:
            return error_response(404, f'pods "{name}" not found', "NotFound")
        if not self.pod_status(pod).get("podIP"):
            return error_response(400, f"pod {name} has no IP address yet", "BadRequest")
        if is_raw_upgrade(ws.scope):
            return _protocol_refusal(ws, (portforward.PROTOCOL,))
        offered = rc.offered_protocols(ws.headers.get("sec-websocket-protocol"))
        if rc.V4 not in offered:
            message = f"none of the offered subprotocols {offered} is supported"
            return error_response(400, message, "BadRequest")
        try:
            portforward.parse_ports(ws.query_params.getlist("ports"))
        except ValueError as err:
            return error_response(400, str(err), "BadRequest")
        return None


SPDY_STREAM_PROTOCOLS = (rc.V4,)


def _stdin_once(find_pod: PodLookup, ws: WebSocket) -> bool:
    """The attached container's `stdinOnce`."""
    pod = find_pod(ws.path_params["namespace"], ws.path_params["pod"]) or {}
    spec = pod.get("spec") or {}
    name = ws.path_params["container"]
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            if container.get("name") == name:
                return bool(container.get("stdinOnce"))
    return False


def _protocol_refusal(ws: WebSocket, supported: tuple[str, ...]) -> JSONResponse | None:
    """A SPDY upgrade's protocol negotiation (`X-Stream-Protocol-Version`) as
    apimachinery's httpstream.Handshake refuses it; WebSocket upgrades negotiate
    their subprotocol later."""
    if is_raw_upgrade(ws.scope):
        offered = spdy.offered_protocols(ws.headers.getlist(spdy.PROTOCOL_HEADER.lower()))
        if spdy.negotiate(offered, supported) is None:
            message = (
                f"unable to upgrade: unable to negotiate protocol: client supports {offered}, "
                f"server supports {list(supported)}"
            )
            refusal = error_response(403, message, "Forbidden")
            refusal.headers[spdy.ACCEPTED_HEADER] = ", ".join(supported)
            return refusal
        return None
    if not is_raw_upgrade(ws.scope) and ws.url.path.startswith(("/exec", "/attach")):
        offered = rc.offered_protocols(ws.headers.get("sec-websocket-protocol"))
        if rc.choose_protocol(offered) is None:
            message = (
                f"none of the offered subprotocols {offered} is supported: {list(rc.SUPPORTED)}"
            )
            return error_response(400, message, "BadRequest")
    return None


def _ws_reader(ws: WebSocket) -> Callable[[], Awaitable[bytes | None]]:
    async def read() -> bytes | None:
        while True:
            try:
                message = await ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return None
            if message["type"] == "websocket.disconnect":
                return None
            data = message.get("bytes")
            if data:
                return bytes(data)

    return read


async def _open_session(ws: WebSocket, spdy_protocol: str) -> Session:
    """Accept a raw upgrade with the negotiated protocol and start SPDY on it."""
    header = (spdy.PROTOCOL_HEADER.lower().encode(), spdy_protocol.encode())
    await ws.accept(headers=[header])

    async def write(data: bytes) -> None:
        await ws.send_bytes(data)

    return Session(_ws_reader(ws), write)


@contextlib.asynccontextmanager
async def _channels(ws: WebSocket, flags: dict[str, bool]) -> AsyncIterator[Channels | None]:
    """Accept an exec/attach upgrade and give its channels (None when a SPDY client
    never opened its streams); the SPDY session runs meanwhile."""
    if not is_raw_upgrade(ws.scope):
        offered = rc.offered_protocols(ws.headers.get("sec-websocket-protocol"))
        await ws.accept(subprotocol=rc.choose_protocol(offered))
        yield WsChannels(ws)
        return
    session = await _open_session(ws, rc.V4)
    runner = asyncio.create_task(session.run())
    try:
        yield await SpdyChannels.open(session, flags)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def _limited(
    first: bytes, rest: AsyncIterator[bytes], limit: int | None
) -> AsyncIterator[bytes]:
    sent = 0
    try:
        chunk = first
        while True:
            if chunk:
                if limit is not None and sent + len(chunk) >= limit:
                    yield chunk[: limit - sent]
                    return
                sent += len(chunk)
                yield chunk
            try:
                chunk = await anext(rest)
            except StopAsyncIteration:
                return
            except RuntimeFailure as err:
                log.info("log stream ended: %s", err)
                return
    finally:
        with contextlib.suppress(Exception):
            await rest.aclose()  # type: ignore[attr-defined]
