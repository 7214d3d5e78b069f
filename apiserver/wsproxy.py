"""`kubectl exec`, `attach` and `port-forward` through the apiserver: the upgrade of
`pods/{name}/exec|attach|portforward` relayed to the pod's kubelet, as Kubernetes'
apiserver does.

- WebSocket (`v5`/`v4.channel.k8s.io`): relayed frame by frame, verbatim.
- kubectl ≥ 1.31's port-forward, SPDY tunneled in a WebSocket
  (`SPDY/3.1+portforward.k8s.io`): unwrapped here, as Kubernetes' apiserver does,
  and spoken to the kubelet as SPDY.
- `Upgrade: SPDY/3.1` (kubectl ≤ 1.29, and every client-go port-forward): arrives as a
  raw upgrade (componentbase/rawupgrade.py); the same upgrade is made to the kubelet,
  whose answer (101 with the negotiated `X-Stream-Protocol-Version`, or a refusal) is
  passed on, then bytes are relayed both ways. SPDY itself is spoken by the kubelet.

The pod, container, command and the Node's address are checked first
(podproxy.kubelet_target), then the kubelet's WebSocket is opened over TLS with the
client's subprotocols and the apiserver's own client certificate (never the caller's
token: apiserver/kubeletclient.py); only when
the kubelet has accepted is the client's upgrade accepted, with the protocol the
kubelet chose. Every refusal before that is an HTTP answer carrying a Kubernetes
Status, which kubectl prints (after falling back to SPDY, which is refused with the
same checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlencode

import websockets
from starlette.responses import Response
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from api import errors, spdy
from api import remotecommand as rc
from api.resources import PODS
from apiserver import codec
from apiserver.kubeletclient import KubeletClient
from apiserver.podproxy import KubeletRequest, kubelet_target
from apiserver.requestinfo import RequestInfo
from componentbase.rawupgrade import is_raw_upgrade, websocket_protocols

log = logging.getLogger(__name__)
OPEN_TIMEOUT_SECONDS = 10.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_CHUNK = 64 * 1024


TUNNELED_PORT_FORWARD = "SPDY/3.1+portforward.k8s.io"
PORT_FORWARD = "portforward.k8s.io"
WS_PROTOCOLS = {
    "exec": rc.SUPPORTED,
    "attach": rc.SUPPORTED,
    "portforward": (rc.V4,),
}


async def exec_websocket(registry: Any, kubelets: KubeletClient, ws: WebSocket) -> None:
    """`/api/v1/namespaces/{namespace}/pods/{name}/exec`: WebSocket or SPDY."""
    await stream_upgrade(registry, kubelets, ws, "exec")


async def stream_upgrade(
    registry: Any, kubelets: KubeletClient, ws: WebSocket, subresource: str
) -> None:
    """An upgrade of `pods/{name}/<subresource>` (exec, attach, portforward)."""
    params = ws.path_params
    info = RequestInfo(PODS, params["namespace"], params["name"], subresource)
    if is_raw_upgrade(ws.scope):
        protocols = ws.headers.getlist(spdy.PROTOCOL_HEADER.lower())
        await _spdy_relay(registry, kubelets, ws, info, protocols)
        return
    supported = WS_PROTOCOLS[subresource]
    offered = websocket_protocols(ws.headers)
    if subresource == "portforward" and TUNNELED_PORT_FORWARD in offered:
        # As Kubernetes' apiserver: unwrapped here, SPDY to the kubelet.
        await _spdy_relay(registry, kubelets, ws, info, [PORT_FORWARD], TUNNELED_PORT_FORWARD)
        return
    try:
        if not any(p in offered for p in supported):
            raise errors.bad_request(
                f"none of the offered subprotocols {offered} is supported: {list(supported)}"
            )
        request = await kubelet_target(registry, kubelets, info, ws.query_params)
        upstream = await _open(kubelets, request, offered, supported)
    except errors.ApiError as err:
        await ws.send_denial_response(codec.error_response(err))
        return
    except _Refused as refused:
        await ws.send_denial_response(refused.response)
        return
    except Exception as err:
        log.exception("exec %s/%s failed", info.namespace, info.name)
        await ws.send_denial_response(codec.error_response(errors.internal(str(err))))
        return
    async with upstream:
        await ws.accept(subprotocol=upstream.subprotocol)
        await _relay(ws, upstream)


class _Refused(Exception):
    """The kubelet answered the upgrade with an HTTP response: passed on as it is."""

    def __init__(self, response: Response) -> None:
        self.response = response


async def _open(
    kubelets: KubeletClient,
    request: KubeletRequest,
    offered: list[str],
    supported: tuple[str, ...],
) -> ClientConnection:
    url = f"{request.url('wss')}?{urlencode(request.query)}"
    try:
        return await connect(
            url,
            ssl=kubelets.ssl,
            server_hostname=request.target.server_name,
            subprotocols=[Subprotocol(p) for p in supported if p in offered],
            open_timeout=OPEN_TIMEOUT_SECONDS,
            max_size=MAX_MESSAGE_BYTES,
            compression=None,
            ping_interval=None,
        )
    except websockets.InvalidStatus as err:
        answer = err.response
        body = bytes(answer.body or b"")
        media = answer.headers.get("content-type", "application/json")
        raise _Refused(Response(body, answer.status_code, media_type=media)) from err
    except (OSError, TimeoutError, websockets.InvalidHandshake) as err:
        raise errors.internal(f'error dialing the kubelet "{url}": {err}') from err


async def _relay(ws: WebSocket, upstream: ClientConnection) -> None:
    """Both directions until one side ends; the other is then closed with its code."""
    to_kubelet = asyncio.create_task(_client_to_kubelet(ws, upstream))
    to_client = asyncio.create_task(_kubelet_to_client(ws, upstream))
    try:
        done, _ = await asyncio.wait({to_kubelet, to_client}, return_when=asyncio.FIRST_COMPLETED)
        if to_client not in done and to_kubelet.exception() is None:  # the client left
            await upstream.close()
            return
        # The kubelet's side ended: deliver what it sent last (the Status), then close.
        await asyncio.wait({to_client}, timeout=OPEN_TIMEOUT_SECONDS)
        code = upstream.close_code if upstream.close_code in (1000, 1001) else 1011
        with contextlib.suppress(Exception):
            await ws.close(code)
    finally:
        for task in (to_kubelet, to_client):
            task.cancel()
        await asyncio.gather(to_kubelet, to_client, return_exceptions=True)


async def _client_to_kubelet(ws: WebSocket, upstream: ClientConnection) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        if data is None:
            data = message.get("text")
        if data is not None:
            await upstream.send(data)


async def _kubelet_to_client(ws: WebSocket, upstream: ClientConnection) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for message in upstream:
            if isinstance(message, bytes):
                await ws.send_bytes(message)
            else:
                await ws.send_text(message)


# ---- SPDY: the same upgrade to the kubelet, then bytes ---------------------------------

HEAD_LIMIT = 64 * 1024


async def _spdy_relay(
    registry: Any,
    kubelets: KubeletClient,
    ws: WebSocket,
    info: RequestInfo,
    protocols: list[str],
    subprotocol: str | None = None,
) -> None:
    """SPDY to the kubelet; the client's side is a raw upgrade, or (`subprotocol`) a
    WebSocket whose binary messages carry the SPDY bytes."""
    try:
        request = await kubelet_target(registry, kubelets, info, ws.query_params)
        reader, writer, status, headers = await _upgrade_kubelet(kubelets, request, protocols)
    except errors.ApiError as err:
        await ws.send_denial_response(codec.error_response(err))
        return
    except Exception as err:
        log.exception("%s %s/%s failed", info.subresource, info.namespace, info.name)
        await ws.send_denial_response(codec.error_response(errors.internal(str(err))))
        return
    try:
        if status != 101:
            size = int(headers.get("content-length") or 0)
            body = await reader.readexactly(size) if size else b""
            media = headers.get("content-type", "application/json")
            kept = {k: v for k, v in headers.items() if k == spdy.ACCEPTED_HEADER.lower()}
            await ws.send_denial_response(Response(body, status, kept, media_type=media))
            return
        chosen = headers.get(spdy.PROTOCOL_HEADER.lower(), "")
        if subprotocol is not None:
            await ws.accept(subprotocol=subprotocol)
        else:
            await ws.accept(headers=[(spdy.PROTOCOL_HEADER.lower().encode(), chosen.encode())])
        await _pipe(ws, reader, writer)
    finally:
        writer.close()


async def _upgrade_kubelet(
    kubelets: KubeletClient, request: KubeletRequest, protocols: list[str]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, int, dict[str, str]]:
    """Open the kubelet's SPDY upgrade over TLS: (reader, writer, status, lower-cased
    headers)."""
    target = request.target
    url = request.url("https")
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                target.ip,
                target.port,
                limit=HEAD_LIMIT,
                ssl=kubelets.ssl,
                server_hostname=target.server_name,
            ),
            OPEN_TIMEOUT_SECONDS,
        )
    except (OSError, TimeoutError) as err:
        raise errors.internal(f'error dialing the kubelet "{url}": {err}') from err
    lines = [
        f"POST {request.path}?{urlencode(request.query)} HTTP/1.1",
        f"Host: {target.netloc}",
        "Connection: Upgrade",
        f"Upgrade: {spdy.UPGRADE}",
        "Content-Length: 0",
    ]
    lines += [f"{spdy.PROTOCOL_HEADER}: {p}" for p in protocols]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), OPEN_TIMEOUT_SECONDS)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as err:
        writer.close()
        raise errors.internal(f'error upgrading the kubelet connection "{url}": {err}') from err
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return reader, writer, int(status_line.split()[1]), headers


async def _pipe(ws: WebSocket, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Bytes both ways until either side ends."""

    async def upstream() -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data:
                writer.write(data)
                await writer.drain()

    async def downstream() -> None:
        while True:
            data = await reader.read(MAX_CHUNK)
            if not data:
                return
            await ws.send_bytes(data)

    tasks = {asyncio.create_task(upstream()), asyncio.create_task(downstream())}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await ws.close()
