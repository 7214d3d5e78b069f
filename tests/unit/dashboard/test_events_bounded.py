"""The dashboard keeps of Events what it shows: the newest MAX_EVENTS views, not every
Event the apiserver holds (an hour of them by default). An apiserver (httpx's
MockTransport) lists 1000 Events and then watches 200 more, each with 8 KB the page never
shows; the hub's memory after that is measured with tracemalloc. (With an Informer
caching the Events, it held all 1200 objects: ~10 MB.)"""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import httpx

from client.rest import AsyncClient
from dashboard.hub import MAX_EVENTS, Hub

LISTED, WATCHED = 1000, 200
PADDING = 8192


def an_event(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"web-{i}.{i:08x}",
            "namespace": "default",
            "resourceVersion": str(10 + i),
            "managedFields": [{"manager": "kubelet", "note": "x" * PADDING}],
        },
        "involvedObject": {"kind": "Pod", "name": f"web-{i}", "namespace": "default"},
        "reason": "Pulled",
        "message": f"pulled image {i}",
        "type": "Normal",
        "count": 1,
        "lastTimestamp": f"2026-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
    }


async def forever() -> AsyncIterator[bytes]:
    await asyncio.Event().wait()
    yield b""  # (never reached)


def apiserver(request: httpx.Request) -> httpx.Response:
    path, watching = request.url.path, request.url.params.get("watch") == "true"
    if not path.endswith("/events"):  # every other resource: empty, and a quiet watch
        if watching:
            return httpx.Response(200, content=forever())
        return httpx.Response(200, json={"metadata": {"resourceVersion": "5"}, "items": []})
    if not watching:
        items = [an_event(i) for i in range(LISTED)]
        return httpx.Response(200, json={"metadata": {"resourceVersion": "5"}, "items": items})

    async def added() -> AsyncIterator[bytes]:
        for i in range(LISTED, LISTED + WATCHED):
            yield json.dumps({"type": "ADDED", "object": an_event(i)}).encode() + b"\n"
        await asyncio.Event().wait()

    return httpx.Response(200, content=added())


async def run_hub() -> tuple[Hub, int]:
    """The hub's memory (bytes) once it has seen every Event, and the hub."""
    api = AsyncClient(server="http://apiserver.test", transport=httpx.MockTransport(apiserver))
    hub = Hub(api, metrics_interval=3600)
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    await hub.start()
    try:
        assert await hub.wait_for_sync(10)
        newest = f"default/web-{LISTED + WATCHED - 1}.{LISTED + WATCHED - 1:08x}"
        for _ in range(1000):
            if newest in hub.views["events"]:
                break
            await asyncio.sleep(0.01)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        await hub.stop()
        await api.aclose()
    return hub, held


def test_the_hub_keeps_the_newest_events_it_shows_and_not_the_rest() -> None:
    tracemalloc.start()
    try:
        hub, held = asyncio.run(run_hub())
    finally:
        tracemalloc.stop()
    shown = hub.views["events"]
    assert len(shown) == MAX_EVENTS
    assert {v["message"] for v in shown.values()} == {
        f"pulled image {i}" for i in range(LISTED + WATCHED - MAX_EVENTS, LISTED + WATCHED)
    }
    assert held < 2 * 1024 * 1024, f"the hub holds {held / 2**20:.1f} MiB after 1200 Events"


def test_an_event_older_than_every_one_shown_is_not_shown() -> None:
    hub = Hub(AsyncClient(server="http://apiserver.test", transport=httpx.MockTransport(apiserver)))
    hub._events_listed([an_event(i) for i in range(100, 100 + MAX_EVENTS)])
    queue = hub.subscribe()
    hub._event(an_event(5))  # e.g. a late write of an old Event: nothing changes
    hub._event(an_event(500))  # a new one takes the oldest one's place
    got = [queue.get_nowait() for _ in range(queue.qsize())]
    assert [(m["op"], m["key"]) for m in got if m] == [
        ("delete", "default/web-100.00000064"),
        ("put", "default/web-500.000001f4"),
    ]
