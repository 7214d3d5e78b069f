"""Go durations, as kubectl's --timeout and --since take and print them."""

from __future__ import annotations

import argparse

import pytest

from api.timefmt import format_duration
from minikctl.duration import duration_arg


def test_go_durations():
    assert duration_arg("1m30s") == 90
    assert duration_arg("500ms") == 0.5
    assert duration_arg("2h") == 7200
    assert duration_arg("5") == 5  # a bare number: seconds
    with pytest.raises(argparse.ArgumentTypeError):
        duration_arg("5 minutes")
    assert [format_duration(s) for s in (0, 0.5, 1, 20, 60, 90, 3723)] == [
        "0s",
        "500ms",
        "1s",
        "20s",
        "1m0s",
        "1m30s",
        "1h2m3s",
    ]
