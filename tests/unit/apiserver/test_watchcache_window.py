"""The shared watch's window of recent changes: the last WINDOW always, the last
FRESH_SECONDS of a burst up to MAX_WINDOW, and `since` (the oldest revision a watcher
may start after) moving as changes leave it."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver import watchcache
from apiserver.storage import WatchEvent
from apiserver.watchcache import SharedWatch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(watchcache.time, "monotonic", fake)
    monkeypatch.setattr(watchcache, "WINDOW", 10)
    monkeypatch.setattr(watchcache, "MAX_WINDOW", 50)
    return fake


def change(revision: int) -> WatchEvent:
    obj: dict[str, Any] = {"metadata": {"name": f"p{revision}", "resourceVersion": str(revision)}}
    return WatchEvent("ADDED", obj, None, revision)


def record(shared: SharedWatch, revisions: range) -> None:
    for rev in revisions:
        shared._record(change(rev))


def test_a_burst_is_kept_while_fresh_then_the_window_shrinks_back(clock: Clock) -> None:
    shared = SharedWatch(None, "widgets")  # type: ignore[arg-type]  # no etcd: _record only
    record(shared, range(1, 31))  # 30 changes within a second: all fresh
    assert shared.since == 0 and shared.subscribe(0) is not None
    clock.now += watchcache.FRESH_SECONDS + 1
    record(shared, range(31, 32))  # the burst is stale now: back to the last WINDOW
    assert shared.since == 21
    assert shared.subscribe(20) is None  # before the window: its own etcd watch
    sub = shared.subscribe(21)
    assert sub is not None and sub.queue.qsize() == 10


def test_a_burst_beyond_max_window_keeps_the_newest(clock: Clock) -> None:
    shared = SharedWatch(None, "widgets")  # type: ignore[arg-type]
    record(shared, range(1, 81))
    assert shared.since == 30  # 80 fresh changes, 50 kept
    sub = shared.subscribe(30)
    assert sub is not None and sub.queue.qsize() == 50


def version(name: str, revision: int, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": str(revision)}, "spec": spec}


def test_an_updates_previous_state_is_the_windows_own_object(clock: Clock) -> None:
    shared = SharedWatch(None, "widgets")  # type: ignore[arg-type]
    shared._record(WatchEvent("ADDED", version("a", 1, n=1), None, 1))
    decoded_prev = version("a", 1, n=1)  # what etcd's prev_kv decodes to: a copy
    shared._record(WatchEvent("MODIFIED", version("a", 2, n=2), decoded_prev, 2))
    first, second = shared._window
    assert second.prev is first.obj and second.prev == decoded_prev
    # a previous state the window never saw (here revision 5) stays as decoded
    unseen = version("a", 5, n=5)
    shared._record(WatchEvent("MODIFIED", version("a", 6, n=6), unseen, 6))
    assert shared._window[-1].prev is unseen
    shared._record(WatchEvent("DELETED", version("a", 7, n=6), version("a", 6, n=6), 7))
    assert shared._window[-1].prev is shared._window[-2].obj and not shared._latest


def test_changes_leaving_the_window_leave_no_latest_entry(clock: Clock) -> None:
    shared = SharedWatch(None, "widgets")  # type: ignore[arg-type]
    record(shared, range(1, 31))  # 30 keys, one change each
    clock.now += watchcache.FRESH_SECONDS + 1
    record(shared, range(31, 32))
    assert len(shared._window) == 10 and len(shared._latest) == 10
