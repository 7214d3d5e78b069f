"""Informer: cache and handlers through list, watch, lost connections and a 410 relist."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from api.errors import Unauthorized
from client.informer import Informer, key_of, split_key
from client.rest import AsyncClient
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


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def on_add(self, obj: dict[str, Any]) -> None:
        self.calls.append(("add", key_of(obj)))

    async def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.calls.append(("update", key_of(new), _rv(old), _rv(new)))

    def on_delete(self, obj: dict[str, Any]) -> None:
        self.calls.append(("delete", key_of(obj)))


def _rv(obj: dict[str, Any]) -> str:
    return obj["metadata"]["resourceVersion"]


async def until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.005)


def test_cache_and_handlers_across_drop_and_relist():
    server = FakeServer(
        [
            listing(10, pod("a", 5), pod("b", 6)),
            (
                [
                    event("ADDED", pod("c", 11)),
                    event("MODIFIED", pod("a", 12)),
                    event("DELETED", pod("b", 13)),
                ],
                True,
            ),
            ([event("ERROR", GONE)], False),
            # while we were away: a changed, c deleted, d created
            listing(30, pod("a", 25), pod("d", 26)),
            ([event("MODIFIED", pod("d", 31))], False),
        ]
    )
    rec = Recorder()

    async def go() -> Informer:
        async with AsyncClient(CONFIG, transport=server.transport()) as client:
            inf = Informer(
                client,
                PODS,
                on_add=rec.on_add,
                on_update=rec.on_update,
                on_delete=rec.on_delete,
                backoff=fast(),
            )
            inf.start()
            assert await inf.wait_for_sync(5)
            await until(lambda: inf.resource_version == "31")
            await inf.stop()
            return inf

    inf = asyncio.run(go())
    assert rec.calls == [
        ("add", "ns/a"),
        ("add", "ns/b"),
        ("add", "ns/c"),
        ("update", "ns/a", "5", "12"),
        ("delete", "ns/b"),
        # relist diffed against the cache
        ("delete", "ns/c"),
        ("update", "ns/a", "12", "25"),
        ("add", "ns/d"),
        ("update", "ns/d", "26", "31"),
    ]
    assert sorted(inf.keys()) == ["ns/a", "ns/d"]
    assert inf.get("ns/d")["metadata"]["resourceVersion"] == "31"
    assert inf.get_by_name("a", "ns") is inf.get("ns/a")
    assert len(inf) == 2 and inf.has_synced


def test_late_handler_is_replayed_the_cache_and_bad_handlers_do_not_stop_it():
    server = FakeServer([listing(10, pod("a", 5)), ([event("ADDED", pod("b", 11))], False)])
    late = Recorder()

    def broken(obj: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    async def go() -> None:
        async with AsyncClient(CONFIG, transport=server.transport()) as client:
            inf = Informer(client, PODS, on_add=broken, backoff=fast())
            inf.start()
            await inf.wait_for_sync(5)
            inf.add_handler(on_add=late.on_add)
            await until(lambda: ("add", "ns/b") in late.calls)
            await inf.stop()

    asyncio.run(go())
    assert late.calls[:2] == [("add", "ns/a"), ("add", "ns/b")]


def test_wait_for_sync_raises_the_informers_fatal_error():
    server = FakeServer([unauthorized()])

    async def go() -> None:
        async with AsyncClient(CONFIG, transport=server.transport()) as client:
            inf = Informer(client, PODS, backoff=fast())
            inf.start()
            await inf.wait_for_sync(5)

    with pytest.raises(Unauthorized):
        asyncio.run(go())


def test_wait_for_sync_times_out():
    async def go() -> bool:
        async with AsyncClient(CONFIG) as client:
            return await Informer(client, PODS).wait_for_sync(0.01)

    assert asyncio.run(go()) is False


def test_keys():
    assert key_of({"metadata": {"name": "n1"}}) == "n1"
    assert key_of({"metadata": {"name": "p", "namespace": "ns"}}) == "ns/p"
    assert split_key("ns/p") == ("ns", "p")
    assert split_key("n1") == (None, "n1")
