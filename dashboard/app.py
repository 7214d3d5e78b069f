"""The dashboard's HTTP side: the page and its assets, and two Server-Sent Event streams.

- `GET /` and `/static/...`: plain HTML, CSS and JS shipped in the package (no CDN).
- `GET /api/stream`: a snapshot of every view, then each change as it happens (hub.py).
- `GET /api/logs/{namespace}/{pod}?container=C`: the pod's log, followed, line by line
  through the apiserver's `pods/log` (client.rest.AsyncClient.stream_text).
Read-only: nothing here writes to the cluster.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from api.errors import ApiError
from client.rest import AsyncClient
from dashboard.hub import Hub

STATIC = Path(__file__).parent / "static"
KEEPALIVE = 15.0  # seconds between SSE comments, so proxies keep an idle stream open
LOG_TAIL = 500
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(data: Any, event: str | None = None) -> str:
    """One Server-Sent Event whose data is JSON (JSON has no raw newlines)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n"


def create_app(hub: Hub, api: AsyncClient) -> Starlette:
    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok" if hub.synced else "syncing", 200 if hub.synced else 503)

    async def stream(request: Request) -> Response:
        queue = hub.subscribe()

        async def events() -> AsyncIterator[str]:
            try:
                yield sse(hub.snapshot())
                while True:
                    try:
                        message = await asyncio.wait_for(queue.get(), KEEPALIVE)
                    except TimeoutError:
                        yield ": keepalive\n\n"
                        continue
                    if message is None:
                        return
                    yield sse(message)
            finally:
                hub.unsubscribe(queue)

        return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)

    async def logs(request: Request) -> Response:
        ns, pod = request.path_params["namespace"], request.path_params["pod"]
        params = {"follow": "true", "tailLines": str(LOG_TAIL)}
        if request.query_params.get("container"):
            params["container"] = request.query_params["container"]
        lines = api.stream_text(f"/api/v1/namespaces/{ns}/pods/{pod}/log", params)

        async def events() -> AsyncIterator[str]:
            try:
                async for line in lines:
                    yield sse(line.rstrip("\n"))
                yield sse("the log stream ended (the container stopped?)", "end")
            except ApiError as err:
                yield sse(str(err), "failure")
            finally:
                await lines.aclose()  # type: ignore[attr-defined]

        return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/api/stream", stream),
            Route("/api/logs/{namespace}/{pod}", logs),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )
