"""Bounding a blocking stream by a deadline (kubectl's --timeout).

A watch blocks in a socket read that no flag can interrupt, so the stream is consumed
on a daemon thread and handed over through a queue; the command's thread waits on the
queue with the time left and gives up with kubectl's "timed out waiting for the
condition" when it runs out. The daemon thread dies with the process.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from minikctl.context import CLIError

T = TypeVar("T")
TIMED_OUT = "timed out waiting for the condition"


class WaitTimeout(CLIError):
    """The deadline passed before the condition was met."""

    def __init__(self, message: str = TIMED_OUT) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class _Failed:
    """The stream raised: the command's thread re-raises it."""

    error: BaseException


class _Ended:
    """The stream is exhausted."""


_END = _Ended()


def until_deadline(stream: Iterable[T], timeout: float | None) -> Iterator[T]:
    """The stream's items; WaitTimeout once `timeout` seconds have passed (0/None: never)."""
    if not timeout:
        yield from stream
        return
    deadline = time.monotonic() + timeout
    handoff: queue.Queue[T | _Failed | _Ended] = queue.Queue(maxsize=64)

    def pump() -> None:
        try:
            for item in stream:
                handoff.put(item)
        except BaseException as err:  # handed over: the command thread raises it
            handoff.put(_Failed(err))
            return
        handoff.put(_END)

    threading.Thread(target=pump, name="minikctl-stream", daemon=True).start()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeout()
        try:
            item = handoff.get(timeout=left)
        except queue.Empty:
            raise WaitTimeout() from None
        if isinstance(item, _Failed):
            raise item.error
        if isinstance(item, _Ended):
            return
        yield item
