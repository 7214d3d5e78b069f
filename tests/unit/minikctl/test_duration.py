"""Go durations, as kubectl's --timeout and --since take them (how they print is
api.timefmt's, tested in tests/unit/api/test_timefmt.py)."""

from __future__ import annotations

import argparse

import pytest

from minikctl.duration import duration_arg


def test_go_durations():
    assert duration_arg("1m30s") == 90
    assert duration_arg("500ms") == 0.5
    assert duration_arg("2h") == 7200
    assert duration_arg("5") == 5  # a bare number: seconds
    with pytest.raises(argparse.ArgumentTypeError):
        duration_arg("5 minutes")
