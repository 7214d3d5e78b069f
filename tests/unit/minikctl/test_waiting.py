"""The deadline that bounds a blocking watch."""

from __future__ import annotations

import time

import pytest

from minikctl.context import CLIError
from minikctl.waiting import WaitTimeout, until_deadline


def test_until_deadline_bounds_a_blocking_stream():
    def slow():
        yield 1
        time.sleep(30)
        yield 2

    seen = []
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="timed out waiting for the condition"):
        for item in until_deadline(slow(), 0.3):
            seen.append(item)
    assert seen == [1] and time.monotonic() - started < 2
    assert list(until_deadline(iter([1, 2, 3]), 5)) == [1, 2, 3]

    def broken():
        yield 1
        raise CLIError("boom")

    with pytest.raises(CLIError, match="boom"):
        list(until_deadline(broken(), 5))
