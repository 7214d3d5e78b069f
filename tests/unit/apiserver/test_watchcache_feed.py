"""A watcher's feed from the shared stream, and the revision its bookmarks may name: a
client skips any change older than a bookmark, so a bookmark must not pass a change
recorded by the shared stream but not yet taken by the watcher."""

from __future__ import annotations

import asyncio
from typing import Any

from apiserver.storage import WatchEvent
from apiserver.watchcache import SharedWatch, WatchCache


def pod(revision: int, node: str) -> WatchEvent:
    obj: dict[str, Any] = {
        "metadata": {"name": f"p{revision}", "namespace": "ns", "resourceVersion": str(revision)},
        "spec": {"nodeName": node},
    }
    return WatchEvent("ADDED", obj, None, revision)


def started_cache() -> tuple[WatchCache, SharedWatch]:
    """A cache whose shared pods stream is fed by hand (no etcd)."""
    cache = WatchCache(None)  # type: ignore[arg-type]
    shared = SharedWatch(None, "pods")  # type: ignore[arg-type]
    shared._task = asyncio.get_running_loop().create_future()  # started: no etcd watch
    shared._started.set()
    cache._shared["pods"] = shared
    return cache, shared


async def _a_change_not_yet_taken_holds_the_progress_back() -> None:
    cache, shared = started_cache()
    feed = cache.events("pods", 0)
    got: list[tuple[WatchEvent, int]] = []

    async def pump() -> None:
        async for item in feed:
            got.append(item)

    task = asyncio.create_task(pump())
    for _ in range(3):
        await asyncio.sleep(0)  # subscribed, waiting
    shared._record(pod(1, "a"))  # in the watcher's queue; the pump has not run yet
    assert shared.progress == 1 and feed.progress() == 0
    await asyncio.sleep(0)
    assert [ev.revision for ev, _ in got] == [1] and feed.progress() == 1
    task.cancel()


def test_a_change_not_yet_taken_holds_the_progress_back() -> None:
    asyncio.run(_a_change_not_yet_taken_holds_the_progress_back())


async def _changes_for_other_watchers_move_an_idle_watchers_progress() -> None:
    cache, shared = started_cache()
    feed = cache.events("pods", 0, trigger="a")  # a kubelet's spec.nodeName=a
    task = asyncio.create_task(anext(aiter(feed)))
    for _ in range(3):
        await asyncio.sleep(0)
    shared._record(pod(1, "b"))  # not for this watcher: nothing queued for it
    assert feed.progress() == 1 and not task.done()
    task.cancel()


def test_changes_for_other_watchers_move_an_idle_watchers_progress() -> None:
    asyncio.run(_changes_for_other_watchers_move_an_idle_watchers_progress())
