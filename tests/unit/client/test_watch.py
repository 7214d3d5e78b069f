"""ResumableWatch: resume after lost connections, relist after 410, no duplicates,
bookmarks tracked — against a scripted fake apiserver, blocking and asyncio."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from api.errors import ApiError, Gone, Unauthorized
from client.rest import AsyncClient, Client
from client.watch import RELIST, Backoff, ResumableWatch, WatchCursor, resource_version_of
from tests.unit.client.fakeserver import (
    CONFIG,
    GONE,
    PODS,
    FakeServer,
    event,
    fast,
    listing,
    pod,
    unauthorized,
)

SCRIPT = [
    listing(10, pod("a", 5)),
    # first watch: two events, then the connection drops
    ([event("ADDED", pod("b", 11)), event("MODIFIED", pod("a", 12))], True),
    # connection refused while reconnecting
    httpx.ConnectError("connection refused"),
    # resumed: a replayed event (dropped), a bookmark, a clean end (timeoutSeconds)
    (
        [
            event("MODIFIED", pod("a", 12)),
            event("BOOKMARK", {"metadata": {"resourceVersion": "15"}}),
        ],
        False,
    ),
    # history compacted: an ERROR event with a 410 Status → relist
    ([event("ERROR", GONE)], False),
    listing(20, pod("a", 18), pod("c", 19)),
    ([event("ADDED", pod("d", 21))], False),
]
EXPECTED = [
    (RELIST, ["a"]),
    ("ADDED", "b"),
    ("MODIFIED", "a"),
    (RELIST, ["a", "c"]),
    ("ADDED", "d"),
]
# the first list at "0" (the server's watch cache may answer), the relist after the
# history was gone at the newest, from etcd
EXPECTED_ASKS = ["list@0", "10", "12", "12", "15", "list", "20"]


def summary(events: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Any]]:
    return [
        (t, [i["metadata"]["name"] for i in o["items"]] if t == RELIST else o["metadata"]["name"])
        for t, o in events
    ]


def test_resumes_dedupes_and_relists_blocking():
    server = FakeServer(SCRIPT)
    client = Client(CONFIG, transport=server.transport())
    watch = ResumableWatch(client, PODS, "ns", backoff=fast())
    events = []
    for ev in watch:
        events.append(ev)
        if len(events) == len(EXPECTED):
            break
    assert summary(events) == EXPECTED
    assert server.asked == EXPECTED_ASKS
    assert watch.resource_version == "21"


def test_resumes_dedupes_and_relists_async():
    server = FakeServer(SCRIPT)

    async def go() -> list[tuple[str, dict[str, Any]]]:
        async with AsyncClient(CONFIG, transport=server.transport()) as client:
            events = []
            async for ev in ResumableWatch(client, PODS, "ns", backoff=fast()):
                events.append(ev)
                if len(events) == len(EXPECTED):
                    break
            return events

    assert summary(asyncio.run(go())) == EXPECTED
    assert server.asked == EXPECTED_ASKS


def test_http_410_on_watch_start_relists():
    server = FakeServer(
        [
            httpx.Response(410, json=GONE),
            listing(30, pod("z", 29)),
            ([event("DELETED", pod("z", 31))], False),
        ]
    )
    client = Client(CONFIG, transport=server.transport())
    events = []
    for ev in ResumableWatch(client, PODS, "ns", resource_version="3", backoff=fast()):
        events.append(ev)
        if len(events) == 2:
            break
    assert summary(events) == [(RELIST, ["z"]), ("DELETED", "z")]
    assert server.asked == ["3", "list", "30"]


def test_fatal_errors_are_raised_not_retried():
    server = FakeServer([unauthorized()])
    client = Client(CONFIG, transport=server.transport())
    with pytest.raises(Unauthorized):
        next(iter(ResumableWatch(client, PODS, resource_version="1", backoff=fast())))


def test_cursor_decisions():
    cursor = WatchCursor("10")
    assert not cursor.needs_relist
    assert cursor.observe("ADDED", pod("a", 11)) == WatchCursor.EMIT
    assert cursor.observe("MODIFIED", pod("a", 11)) == WatchCursor.SKIP  # replay
    assert cursor.observe("MODIFIED", pod("a", 9)) == WatchCursor.SKIP
    assert cursor.observe("BOOKMARK", {"metadata": {"resourceVersion": "40"}}) == WatchCursor.SKIP
    assert cursor.resource_version == "40"
    assert cursor.observe("ERROR", GONE) == WatchCursor.RELIST
    assert cursor.needs_relist and cursor.list_version is None  # history gone: the newest
    cursor.relisted(listing(50))
    assert (cursor.resource_version, cursor.needs_relist) == ("50", False)
    assert cursor.list_version == "0"
    with pytest.raises(ApiError, match="boom"):
        cursor.observe("ERROR", {"kind": "Status", "code": 500, "message": "boom"})
    assert WatchCursor(None).needs_relist and WatchCursor(None).list_version == "0"


def test_cursor_failures():
    cursor, backoff = WatchCursor("5"), Backoff(initial=1, maximum=4, jitter=0)
    assert cursor.failed(Gone(410, "gone"), backoff) == 0 and cursor.needs_relist
    assert [cursor.failed(ApiError(503, "x"), backoff) for _ in range(4)] == [1, 2, 4, 4]
    backoff.reset()
    assert cursor.failed(ApiError(500, "x"), backoff) == 1
    with pytest.raises(ApiError):
        cursor.failed(ApiError(403, "forbidden"), backoff)


def test_table_events_carry_their_resource_version():
    table = {
        "kind": "Table",
        "metadata": {},
        "rows": [{"cells": ["a"], "object": {"metadata": {"resourceVersion": "77"}}}],
    }
    assert resource_version_of(table) == "77"
    assert resource_version_of({"kind": "Table", "metadata": {"resourceVersion": "78"}}) == "78"
