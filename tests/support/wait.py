"""Waiting in tests: one way to say "this becomes true within N seconds".

`eventually(check)` calls `check` until it returns a truthy value (which it returns) or
the timeout passes. `check` may also fail with an AssertionError (or one of `retry_on`):
that attempt is retried, and when time runs out the last failure is what the test
reports, so a red test says what it last saw rather than just "timed out". Any other
exception is a bug in the test or the code and propagates at once.

`eventually_async` is the same for a test running on an event loop: it awaits between
attempts so the tasks whose effects `check` reads can run. A test that reads a stream
(a watch, a pipe, a terminal) should keep reading it rather than poll; it takes a
`Deadline` so its timeout reads the same way.

The clock and the sleep are parameters so the helpers' own tests run on a fake clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")

Clock = Callable[[], float]


class Deadline:
    """A timeout that starts now; `error(last)` is the AssertionError to raise on expiry."""

    def __init__(self, timeout: float, message: str, clock: Clock = time.monotonic) -> None:
        self.timeout, self.message, self.clock = timeout, message, clock
        self.end = clock() + timeout

    def remaining(self) -> float:
        return max(0.0, self.end - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.end

    def error(self, last: object) -> AssertionError:
        return AssertionError(f"{self.message}: not reached within {self.timeout:g}s; last: {last}")


class _Poll(Generic[T]):
    """The attempts of one wait: each calls `check` once and remembers what it saw."""

    def __init__(
        self,
        check: Callable[[], T],
        deadline: Deadline,
        retry_on: tuple[type[BaseException], ...],
    ) -> None:
        self.check, self.deadline = check, deadline
        self.retry_on: tuple[type[BaseException], ...] = (AssertionError, *retry_on)
        self.failure: BaseException | None = None
        self.value: object = None

    def attempt(self) -> T | None:
        """`check`'s value when truthy; None to try again; raises once time is up."""
        try:
            value = self.check()
        except self.retry_on as failure:
            self.failure = failure
        else:
            if value:
                return value
            self.failure, self.value = None, value
        if self.deadline.expired():
            raise self.deadline.error(self._last()) from self.failure
        return None

    def _last(self) -> str:
        if self.failure is None:
            return f"returned {self.value!r}"
        return f"{type(self.failure).__name__}: {self.failure}"


def eventually(
    check: Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.1,
    message: str = "",
    retry_on: tuple[type[BaseException], ...] = (),
    clock: Clock = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """`check()`'s first truthy value, retrying falsy values and failures every `interval` s
    for `timeout` s; then an AssertionError naming `message` (by default, the check's
    qualified name) and the last attempt."""
    deadline = Deadline(timeout, message or _name(check), clock)
    poll = _Poll(check, deadline, retry_on)
    while (value := poll.attempt()) is None:
        sleep(min(interval, deadline.remaining()))
    return value


async def eventually_async(
    check: Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.1,
    message: str = "",
    retry_on: tuple[type[BaseException], ...] = (),
    clock: Clock = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """`eventually` on an event loop: other tasks run between attempts of `check`, a plain
    function that reads the state those tasks change."""
    deadline = Deadline(timeout, message or _name(check), clock)
    poll = _Poll(check, deadline, retry_on)
    while (value := poll.attempt()) is None:
        await sleep(min(interval, deadline.remaining()))
    return value


def _name(check: Callable[[], object]) -> str:
    """`test_x.<locals>.<lambda>`: at least which test was waiting."""
    return getattr(check, "__qualname__", repr(check))
