"""The kubelet's own HTTP endpoint (`--port`): container logs and exec.

The apiserver reaches it for `pods/log` (and `pods/exec`), passing on the bearer
token of the request it serves. The kubelet checks that token with the apiserver
itself — `GET /api` with it must succeed — and remembers the answer for a minute.
Plain HTTP: minik's kubelet serves nothing without a valid token.

- `GET /containerLogs/{namespace}/{pod}/{container}` — `follow`, `tailLines`,
  `previous`, `timestamps`, `sinceSeconds`, `sinceTime`, `limitBytes`; text/plain,
  streamed while following.
- `POST /exec/{namespace}/{pod}/{container}?command=a&command=b` — runs a command
  non-interactively and answers its combined output (`X-Exit-Code` header).
- The same path as a WebSocket (`v5.channel.k8s.io`/`v4.channel.k8s.io`, with
  `stdin`, `stdout`, `stderr`, `tty`): `kubectl exec`, interactive (kubelet/execstream.py).
- `GET /metrics/resource` (Prometheus text) and `GET /stats/summary` (Summary JSON):
  the containers' CPU and memory, as the kubelet's resource metrics endpoints
  (kubelet/resourcestats.py); the metrics server scrapes the first.
- `GET /healthz` (no token).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from api import remotecommand as rc
from api.errors import ApiError, Unauthorized
from client.rest import AsyncClient
from kubelet.execstream import serve_exec
from kubelet.logs import LogOptions, LogRequestError, log_container_id
from kubelet.podstatus import container_status_by_name
from kubelet.resourcestats import prometheus_text, summary
from kubelet.runtime import DockerRuntime, RuntimeFailure
from kubelet.statscollector import StatsCollector

log = logging.getLogger(__name__)
TOKEN_CACHE_SECONDS = 60.0
EXEC_TIMEOUT_SECONDS = 300.0

PodLookup = Callable[[str, str], dict[str, Any] | None]  # (namespace, name) → pod
StatusLookup = Callable[[dict[str, Any]], dict[str, Any]]  # pod → its freshest status


class ServeError(Exception):
    """The kubelet's port cannot be listened on."""


def status_body(code: int, message: str, reason: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def error_response(code: int, message: str, reason: str) -> JSONResponse:
    return JSONResponse(status_body(code, message, reason), status_code=code)


class TokenReviewer:
    """Is this bearer token one the apiserver accepts? Answers cached for a minute."""

    def __init__(self, api: AsyncClient, ttl: float = TOKEN_CACHE_SECONDS) -> None:
        self.api = api
        self.ttl = ttl
        self._cache: dict[str, tuple[bool, float]] = {}

    async def valid(self, token: str) -> bool:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            await self.api.request("GET", "/api", headers={"Authorization": f"Bearer {token}"})
            ok = True
        except Unauthorized:
            ok = False
        except ApiError as err:
            if err.code in (401, 403):
                ok = False
            else:
                raise
        if len(self._cache) > 1000:
            self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
        self._cache[key] = (ok, now + self.ttl)
        return ok


class KubeletServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        reviewer: TokenReviewer,
        runtime: DockerRuntime,
        find_pod: PodLookup,
        pod_status: StatusLookup,
        stats: StatsCollector | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.reviewer = reviewer
        self.runtime = runtime
        self.find_pod = find_pod
        self.pod_status = pod_status
        self.stats = stats
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/metrics/resource", self.metrics_resource, methods=["GET"]),
                Route("/stats/summary", self.stats_summary, methods=["GET"]),
                Route(
                    "/containerLogs/{namespace}/{pod}/{container}",
                    self.container_logs,
                    methods=["GET"],
                ),
                Route("/exec/{namespace}/{pod}/{container}", self.exec, methods=["GET", "POST"]),
                WebSocketRoute("/exec/{namespace}/{pod}/{container}", self.exec_stream),
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
        )
        rc.quiet_denied_handshakes()
        self._server = _Server(config)
        await self._server.serve(sockets=[sock])

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True

    # ---- handlers ---------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def metrics_resource(self, request: Request) -> Response:
        denied = await self._authorized(request)
        if denied is not None:
            return denied
        if self.stats is None:
            return error_response(404, "resource metrics are not served", "NotFound")
        text = prometheus_text(await self.stats.snapshot())
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def stats_summary(self, request: Request) -> Response:
        denied = await self._authorized(request)
        if denied is not None:
            return denied
        if self.stats is None:
            return error_response(404, "stats are not served", "NotFound")
        return JSONResponse(summary(await self.stats.snapshot()))

    async def _authorized(self, request: Request | WebSocket) -> JSONResponse | None:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error_response(401, "Unauthorized", "Unauthorized")
        try:
            if await self.reviewer.valid(token.strip()):
                return None
        except ApiError as err:
            return error_response(503, f"cannot check the token: {err}", "ServiceUnavailable")
        return error_response(401, "Unauthorized", "Unauthorized")

    def _pod(self, request: Request | WebSocket) -> tuple[dict[str, Any], str]:
        namespace = request.path_params["namespace"]
        name = request.path_params["pod"]
        pod = self.find_pod(namespace, name)
        if pod is None:
            raise LogRequestError(404, f'pods "{name}" not found', "NotFound")
        return pod, request.path_params["container"]

    async def container_logs(self, request: Request) -> Response:
        denied = await self._authorized(request)
        if denied is not None:
            return denied
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
        denied = await self._authorized(request)
        if denied is not None:
            return denied
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
        """Interactive exec over the remote command WebSocket protocol (kubectl exec)."""
        checked = await self._exec_stream_request(ws)
        if isinstance(checked, Response):
            await ws.send_denial_response(checked)
            return
        cid, protocol, flags = checked
        await ws.accept(subprotocol=protocol)
        await serve_exec(
            ws,
            self.runtime,
            cid,
            ws.query_params.getlist("command"),
            stdin=flags["stdin"],
            tty=flags["tty"],
            stderr=flags["stderr"],
        )

    async def _exec_stream_request(
        self, ws: WebSocket
    ) -> JSONResponse | tuple[str, str, dict[str, bool]]:
        """(container id, subprotocol, stream flags) of an exec upgrade, or its refusal."""
        denied = await self._authorized(ws)
        if denied is not None:
            return denied
        try:
            pod, container = self._pod(ws)
        except LogRequestError as err:
            return error_response(err.code, err.message, err.reason)
        query = ws.query_params
        target = self._exec_target(pod, container, query.getlist("command"))
        if isinstance(target, JSONResponse):
            return target
        flags = {k: query.get(k) in ("true", "1") for k in ("stdin", "stdout", "stderr", "tty")}
        if not (flags["stdin"] or flags["stdout"] or flags["stderr"]):
            return error_response(
                400, "you must specify at least 1 of stdin, stdout, stderr", "BadRequest"
            )
        offered = rc.offered_protocols(ws.headers.get("sec-websocket-protocol"))
        protocol = rc.choose_protocol(offered)
        if protocol is None:
            message = (
                f"none of the offered subprotocols {offered} is supported: {list(rc.SUPPORTED)}"
            )
            return error_response(400, message, "BadRequest")
        return target, protocol, flags


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


class _Server(uvicorn.Server):
    """uvicorn inside the kubelet's own loop: the kubelet handles signals itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield
