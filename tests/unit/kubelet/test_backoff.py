"""Crash-loop and image-pull back-off (kubelet/backoff.py), with a fake clock."""

from __future__ import annotations

import pytest

from kubelet.backoff import Backoff


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_crash_loop_back_off_doubles_to_five_minutes() -> None:
    clock = Clock()
    backoff = Backoff(clock=clock)
    key = ("uid", "web")
    # first crash: not in back-off, restart at once; the next one will wait 10 s
    assert not backoff.in_backoff_since(key, clock.now)
    delays = []
    for _ in range(7):
        crashed = clock.now
        delays.append(backoff.next(key, crashed))
        clock.now += 1  # the restarted container crashes a second later
        assert backoff.in_backoff_since(key, clock.now)
        clock.now += backoff.delay(key)
    assert delays == [10, 20, 40, 80, 160, 300, 300]


def test_in_backoff_is_measured_from_the_crash() -> None:
    clock = Clock()
    backoff = Backoff(clock=clock)
    key = ("uid", "c")
    backoff.next(key, clock.now)  # first crash, restarted immediately
    crashed = clock.now + 2  # second crash
    clock.now = crashed + 9.5
    assert backoff.in_backoff_since(key, crashed)
    assert backoff.remaining(key, crashed) == pytest.approx(0.5)
    clock.now = crashed + 10.5
    assert not backoff.in_backoff_since(key, crashed)
    assert backoff.remaining(key, crashed) == 0


def test_back_off_resets_after_running_ten_minutes() -> None:
    clock = Clock()
    backoff = Backoff(clock=clock)
    key = ("uid", "c")
    for _ in range(4):
        backoff.next(key, clock.now)
        clock.now += 1
    assert backoff.delay(key) == 80
    clock.now += 601  # the container ran for more than 10 minutes, then crashed
    assert not backoff.in_backoff_since(key, clock.now)
    assert backoff.next(key, clock.now) == 10


def test_image_pull_back_off_counts_from_the_failure() -> None:
    clock = Clock()
    backoff = Backoff(clock=clock)
    key = ("uid", "img")
    assert not backoff.in_backoff_since_update(key)
    backoff.next(key, clock.now)
    clock.now += 5
    assert backoff.in_backoff_since_update(key)
    assert backoff.remaining_since_update(key) == pytest.approx(5)
    clock.now += 6
    assert not backoff.in_backoff_since_update(key)


def test_forget_and_gc() -> None:
    clock = Clock()
    backoff = Backoff(clock=clock)
    backoff.next(("a", "x"), clock.now)
    backoff.next(("b", "x"), clock.now)
    backoff.forget_prefix("a")
    assert backoff.delay(("a", "x")) == 0 and backoff.delay(("b", "x")) == 10
    clock.now += 601
    backoff.gc()
    assert backoff.delay(("b", "x")) == 0


def test_clear_forgets_every_failure() -> None:
    from kubelet.backoff import Backoff

    now = [100.0]
    backoff = Backoff(clock=lambda: now[0])
    backoff.next(("uid", "app"), now[0])
    assert backoff.in_backoff_since_update(("uid", "app"))
    backoff.clear()
    assert not backoff.in_backoff_since_update(("uid", "app"))
