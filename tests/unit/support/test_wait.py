"""tests.support.wait on a fake clock: what `eventually` returns, retries and reports,
and `Deadline` for loops that read a stream; no test sleeps on the wall clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from tests.support.wait import Deadline, eventually, eventually_async


class FakeClock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        """Advances the fake time and lets the other tasks run once."""
        self.sleep(seconds)
        await asyncio.sleep(0)


def answers(*values: object) -> Callable[[], object]:
    """A check giving `values` in turn (an exception instance is raised), then the last."""
    queue: Iterator[object] = iter(values)
    last: list[object] = [None]

    def check() -> object:
        value = next(queue, last[0])
        last[0] = value
        if isinstance(value, BaseException):
            raise value
        return value

    return check


def test_returns_the_first_truthy_value_without_sleeping_when_already_true() -> None:
    clock = FakeClock()
    assert eventually(answers({"ready": True}), clock=clock, sleep=clock.sleep) == {"ready": True}
    assert clock.sleeps == []


def test_retries_falsy_values_and_assertion_errors_every_interval() -> None:
    clock = FakeClock()
    check = answers(None, AssertionError("not yet"), [], "done")
    value = eventually(check, timeout=5, interval=0.5, clock=clock, sleep=clock.sleep)
    assert value == "done"
    assert clock.sleeps == [0.5, 0.5, 0.5]


def test_the_last_sleep_stops_at_the_deadline_and_one_last_attempt_follows() -> None:
    clock = FakeClock()
    calls: list[float] = []

    def check() -> bool:
        calls.append(clock.now)
        return False

    with pytest.raises(AssertionError):
        eventually(check, timeout=1, interval=0.4, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == pytest.approx([0.4, 0.4, 0.2])
    assert calls == pytest.approx([0.0, 0.4, 0.8, 1.0])


def test_a_timeout_reports_the_message_and_the_last_falsy_value() -> None:
    clock = FakeClock()
    with pytest.raises(AssertionError) as failure:
        eventually(answers(0, []), timeout=2, message="3 pods", clock=clock, sleep=clock.sleep)
    assert str(failure.value) == "3 pods: not reached within 2s; last: returned []"
    assert failure.value.__cause__ is None


def test_a_timeout_reraises_the_last_failure_as_its_cause() -> None:
    clock = FakeClock()
    last = AssertionError("2 != 3")
    check = answers(AssertionError("1 != 3"), last)
    with pytest.raises(AssertionError) as failure:
        eventually(check, timeout=1, message="replicas", clock=clock, sleep=clock.sleep)
    assert str(failure.value) == "replicas: not reached within 1s; last: AssertionError: 2 != 3"
    assert failure.value.__cause__ is last


def test_a_success_after_failures_forgets_them() -> None:
    clock = FakeClock()
    check = answers(AssertionError("early"), None)
    with pytest.raises(AssertionError) as failure:
        eventually(check, timeout=1, clock=clock, sleep=clock.sleep)
    assert "last: returned None" in str(failure.value)
    assert failure.value.__cause__ is None


def test_other_exceptions_propagate_at_once_unless_named_in_retry_on() -> None:
    clock = FakeClock()
    with pytest.raises(KeyError):
        eventually(answers(KeyError("status")), clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []
    check = answers(ConnectionRefusedError("port closed"), "up")
    assert eventually(check, retry_on=(OSError,), clock=clock, sleep=clock.sleep) == "up"


def test_the_async_twin_awaits_between_attempts_and_reports_alike() -> None:
    clock = FakeClock()
    seen: list[str] = []

    async def scenario() -> str:
        async def writer() -> None:
            await asyncio.sleep(0)
            seen.append("written")

        task = asyncio.create_task(writer())
        value = await eventually_async(
            lambda: seen[-1] if seen else "", clock=clock, sleep=clock.async_sleep
        )
        await task
        return value

    assert asyncio.run(scenario()) == "written"
    assert clock.sleeps  # the writer ran while the helper awaited

    async def never() -> None:
        await eventually_async(
            answers(AssertionError("no leader")),
            timeout=1,
            message="a leader",
            clock=clock,
            sleep=clock.async_sleep,
        )

    with pytest.raises(AssertionError, match=r"a leader: not reached within 1s; last: .*no leader"):
        asyncio.run(never())


def test_a_deadline_counts_down_and_words_its_error_like_eventually() -> None:
    clock = FakeClock()
    deadline = Deadline(3, "the line NAME", clock)
    assert deadline.remaining() == 3 and not deadline.expired()
    clock.sleep(2.5)
    assert deadline.remaining() == 0.5
    clock.sleep(1)
    assert deadline.remaining() == 0 and deadline.expired()
    error = deadline.error("[]")
    assert str(error) == "the line NAME: not reached within 3s; last: []"


def test_without_a_message_the_error_names_the_check() -> None:
    clock = FakeClock()
    with pytest.raises(AssertionError, match=r"^test_without_a_message.*<lambda>: not reached"):
        eventually(lambda: False, timeout=0, clock=clock, sleep=clock.sleep)
