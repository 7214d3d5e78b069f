"""The EventRecorder's aggregation entries: a repeat within `cache_seconds` raises the
Event's count, a later one writes a new Event, and entries that old are dropped rather
than kept until 4096 of them (a churn soak's controllers add one per new object)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from client.events import EventRecorder
from client.rest import AsyncClient


def pod(uid: str) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": f"p-{uid}", "namespace": "ns", "uid": uid}}


def test_entries_older_than_the_aggregation_window_are_dropped() -> None:
    requests: list[str] = []
    stored: dict[str, dict[str, Any]] = {}

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request.method)
        if request.method == "POST":
            body = json.loads(request.content)
            stored[body["metadata"]["name"]] = body
            return httpx.Response(201, json=body)
        name = request.url.path.rsplit("/", 1)[-1]
        if request.method == "PATCH":
            stored[name] = {**stored[name], **json.loads(request.content)}
        return httpx.Response(200, json=stored[name])

    now = [0.0]

    async def scenario() -> list[int]:
        api = AsyncClient(server="http://apiserver", transport=httpx.MockTransport(handle))
        recorder = EventRecorder(api, "c", cache_seconds=600, clock=lambda: now[0])
        sizes = []
        for t, uid in ((0, "a"), (100, "b"), (500, "a"), (750, "c"), (1100, "c"), (1300, "a")):
            now[0] = t
            await recorder.record(pod(uid), "Normal", "Created", "created")
            sizes.append(len(recorder))
        await api.aclose()
        return sizes

    sizes = asyncio.run(scenario())
    # a (0), b (100), a again within 600 s: one Event, count 2; at 750 c comes and b
    # (last seen at 100) goes; at 1100 a (last 500) goes; at 1300 a gets a new Event
    assert sizes == [1, 2, 2, 2, 1, 2]
    assert requests == ["POST", "POST", "GET", "PATCH", "POST", "GET", "PATCH", "POST"]
    counts = sorted((e["involvedObject"]["uid"], e.get("count")) for e in stored.values())
    assert counts == [("a", 1), ("a", 2), ("b", 1), ("c", 2)]
