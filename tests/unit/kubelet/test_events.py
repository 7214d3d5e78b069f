"""The kubelet's Event sink: the spam filter (with a fake clock), and what becomes of
an Event that cannot be written: one the apiserver refuses is dropped (the recorder
logs it), one that cannot be encoded is a bug and is logged with its traceback."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from client.events import EventRecorder
from client.rest import AsyncClient
from kubelet.events import WARNING, EventSink, SpamFilter

POD = {"kind": "Pod", "metadata": {"name": "web", "namespace": "shop", "uid": "u1"}}


def test_event_spam_filter() -> None:
    spam = SpamFilter(burst=3, refill_seconds=10)
    assert [spam.allow("u", "Unhealthy", now=0) for _ in range(4)] == [True, True, True, False]
    assert spam.allow("u", "Killing", now=0)  # another reason has its own bucket
    assert spam.allow("v", "Unhealthy", now=0)  # another object too
    assert not spam.allow("u", "Unhealthy", now=5)
    assert spam.allow("u", "Unhealthy", now=11)


def test_spam_filter_keeps_the_most_recently_used_buckets_and_forgets_a_pod() -> None:
    spam = SpamFilter(burst=1, refill_seconds=1000, size=3)
    for uid in ("a", "b", "c"):
        assert spam.allow(uid, "Started", now=0)
    assert not spam.allow("a", "Started", now=0)  # "a" is used again: now the newest
    assert spam.allow("d", "Started", now=0)  # a fourth bucket pushes out "b", the oldest
    assert len(spam) == 3
    assert spam.allow("b", "Started", now=0)  # "b" starts over with a full bucket
    assert not spam.allow("a", "Started", now=0)  # "a" was kept, still empty
    spam.forget("a")
    assert spam.allow("a", "Started", now=0)  # forgotten with its pod
    spam.forget("a")
    spam.forget("d")
    assert len(spam) == 1  # "b"


def test_the_sink_forgets_a_pods_spam_buckets_and_aggregation_entries() -> None:
    received: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        received.append(body)
        return httpx.Response(201, json=body)

    async def scenario() -> None:
        api = AsyncClient(server="http://apiserver", transport=httpx.MockTransport(handle))
        recorder = EventRecorder(api, "kubelet", "n1")
        sink = EventSink(recorder, writers=1)
        writer = asyncio.create_task(sink.run())
        other = {"kind": "Pod", "metadata": {"name": "db", "namespace": "shop", "uid": "u2"}}
        sink.emit(POD, WARNING, "Started", "Started container web")
        sink.emit(other, WARNING, "Started", "Started container db")
        for _ in range(500):
            if len(received) == 2:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert (len(sink.spam), len(recorder)) == (2, 2)
        sink.forget("u1")
        assert (len(sink.spam), len(recorder)) == (1, 1)
        writer.cancel()
        await api.aclose()

    asyncio.run(scenario())
    assert len(received) == 2


def write_events(
    emit: list[tuple[str, Any]], arrive: int, status: int = 201
) -> list[dict[str, Any]]:
    """Emit (reason, field path) pairs through one writer to an apiserver answering
    `status`; returns the Events it received once `arrive` of them did."""
    received: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        received.append(body)
        if status >= 400:
            return httpx.Response(status, json={"kind": "Status", "code": status})
        return httpx.Response(status, json=body)

    async def scenario() -> None:
        api = AsyncClient(server="http://apiserver", transport=httpx.MockTransport(handle))
        sink = EventSink(EventRecorder(api, "kubelet", "n1"), writers=1)
        writer = asyncio.create_task(sink.run())
        for reason, field_path in emit:
            sink.emit(POD, WARNING, reason, f"{reason} happened", field_path)
        for _ in range(500):  # up to 5 s on a busy machine
            if len(received) == arrive:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the writer's answer handling
        writer.cancel()
        await api.aclose()

    asyncio.run(scenario())
    return received


def test_an_event_that_cannot_be_encoded_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="kubelet.events"):
        received = write_events([("Broken", Path("/not/a/field/path")), ("Fine", None)], arrive=1)
    [error] = caplog.records
    assert "Broken" in error.getMessage()
    assert error.exc_info is not None and error.exc_info[0] is TypeError
    # the writer carries on with the next Event
    assert [e["reason"] for e in received] == ["Fine"]


def test_an_event_the_apiserver_refuses_is_dropped_without_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        received = write_events([("Refused", "spec.containers{app}")], arrive=1, status=500)
    assert [e["reason"] for e in received] == ["Refused"]
    assert not caplog.records
