"""Probe thresholds and defaults: a result flips only after enough identical outcomes in a row."""

from __future__ import annotations

import pytest

from kubelet.prober.manager import ThresholdTracker, probe_settings


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
