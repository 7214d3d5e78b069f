"""`kubectl exec` through the apiserver: the WebSocket upgrade of `pods/{name}/exec`
relayed to the pod's kubelet, frame by frame, verbatim.

The pod, container and command are checked first (podproxy.kubelet_target), then the
kubelet's WebSocket is opened with the client's subprotocols and token; only when
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

from api import errors
from api import remotecommand as rc
from api.resources import PODS
from apiserver import codec
from apiserver.podproxy import forwarded_headers, kubelet_target
from apiserver.requestinfo import RequestInfo

log = logging.getLogger(__name__)
OPEN_TIMEOUT_SECONDS = 10.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


async def exec_websocket(registry: Any, ws: WebSocket) -> None:
    """`GET /api/v1/namespaces/{namespace}/pods/{name}/exec` as a WebSocket."""
    params = ws.path_params
    info = RequestInfo(PODS, params["namespace"], params["name"], "exec")
    offered = rc.offered_protocols(ws.headers.get("sec-websocket-protocol"))
    try:
        if rc.choose_protocol(offered) is None:
            raise errors.bad_request(
                f"none of the offered subprotocols {offered} is supported: {list(rc.SUPPORTED)}"
            )
        url, query = await kubelet_target(registry, info, ws.query_params, "ws")
        upstream = await _open(f"{url}?{urlencode(query)}", offered, ws)
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


async def _open(url: str, offered: list[str], ws: WebSocket) -> ClientConnection:
    try:
        return await connect(
            url,
            subprotocols=[Subprotocol(p) for p in rc.SUPPORTED if p in offered],
            additional_headers=forwarded_headers(ws.headers),
            open_timeout=OPEN_TIMEOUT_SECONDS,
            max_size=MAX_MESSAGE_BYTES,
            compression=None,
            ping_interval=None,
        )
    except websockets.InvalidStatus as err:
        answer = err.response
        body = answer.body or b""
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
