"""Back-off, probe thresholds and the start limiter: the kubelet's timing rules,
with fake clocks."""

from __future__ import annotations

import asyncio

import pytest

from kubelet.backoff import Backoff
from kubelet.prober.manager import ThresholdTracker, probe_settings
from kubelet.startlimiter import CONTAINER, SANDBOX, PriorityLimiter


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


@pytest.mark.parametrize(
    ("successes", "failures", "initial", "outcomes", "results"),
    [
        # readiness: starts failed, one success flips it
        (1, 3, False, [True], [True]),
        # liveness: starts healthy, needs 3 failures in a row
        (
            1,
            3,
            True,
            [False, False, True, False, False, False],
            [True, True, True, True, True, False],
        ),
        # successThreshold 2 after failure
        (2, 1, False, [True, False, True, True], [False, False, False, True]),
        # startup: unknown until the first decisive outcome
        (1, 2, None, [False, False], [None, False]),
    ],
)
def test_probe_thresholds(
    successes: int,
    failures: int,
    initial: bool | None,
    outcomes: list[bool],
    results: list[bool | None],
) -> None:
    tracker = ThresholdTracker(successes, failures, initial)
    seen = []
    for ok in outcomes:
        tracker.observe(ok)
        seen.append(tracker.result)
    assert seen == results


def test_threshold_reports_changes_only() -> None:
    tracker = ThresholdTracker(1, 1, False)
    assert tracker.observe(True) is True
    assert tracker.observe(True) is False
    assert tracker.observe(False) is True


def test_probe_defaults() -> None:
    assert probe_settings({}) == (0, 10, 1, 3)
    assert probe_settings(
        {"initialDelaySeconds": 2, "periodSeconds": 1, "successThreshold": 1, "failureThreshold": 5}
    ) == (2, 1, 1, 5)


def test_priority_limiter_lets_containers_overtake_sandboxes() -> None:
    async def scenario() -> list[str]:
        limiter = PriorityLimiter(1)
        order: list[str] = []
        gate = asyncio.Event()

        async def job(name: str, priority: int) -> None:
            async with limiter.slot(priority):
                order.append(name)
                if name == "first":
                    await gate.wait()

        first = asyncio.create_task(job("first", SANDBOX))
        await asyncio.sleep(0)
        waiting = [asyncio.create_task(job(f"sandbox-{i}", SANDBOX)) for i in range(3)]
        await asyncio.sleep(0)
        waiting.append(asyncio.create_task(job("container", CONTAINER)))
        await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(first, *waiting)
        assert limiter.in_use == 0
        return order

    assert asyncio.run(scenario()) == ["first", "container", "sandbox-0", "sandbox-1", "sandbox-2"]


def test_priority_limiter_survives_cancellation() -> None:
    async def scenario() -> int:
        limiter = PriorityLimiter(1)
        await limiter.acquire(SANDBOX)
        waiter = asyncio.create_task(limiter.acquire(SANDBOX))
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.sleep(0)
        limiter.release()
        await limiter.acquire(CONTAINER)  # the cancelled waiter did not keep the slot
        return limiter.in_use

    assert asyncio.run(scenario()) == 1
