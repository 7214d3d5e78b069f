"""Stabilization windows, scaling policies and bounds (horizontal.go's normalization)."""

from __future__ import annotations

from api.autoscaling import SCALE_DOWN_DEFAULTS, SCALE_UP_DEFAULTS, default_rules
from controller.podautoscaler.normalize import (
    History,
    Recommendation,
    normalize,
    normalize_with_behavior,
    record_scale,
)


def test_without_behavior_scale_down_waits_for_the_window() -> None:
    history = History([Recommendation(5, 100.0)])
    out = normalize(history, 5, 2, 1, 10, window=300, now=200.0)
    assert out.replicas == 5 and out.able_reason == "ScaleDownStabilized"
    out = normalize(history, 5, 2, 1, 10, window=300, now=500.0)
    assert out.replicas == 2 and out.able_reason == "ReadyForNewScale"
    assert not out.limited and out.limited_reason == "DesiredWithinRange"


def test_without_behavior_bounds_and_the_scale_up_limit() -> None:
    out = normalize(History(), 1, 20, 1, 10, window=0, now=0.0)
    assert (out.replicas, out.limited, out.limited_reason) == (4, True, "ScaleUpLimit")
    out = normalize(History(), 6, 20, 1, 10, window=0, now=0.0)
    assert (out.replicas, out.limited_reason) == (10, "TooManyReplicas")
    out = normalize(History(), 3, 1, 2, 10, window=0, now=0.0)
    assert (out.replicas, out.limited_reason) == (2, "TooFewReplicas")


def _behavior(**down: object) -> dict:
    return {
        "scaleUp": default_rules(None, SCALE_UP_DEFAULTS),
        "scaleDown": default_rules(down or None, SCALE_DOWN_DEFAULTS),
    }


def test_default_scale_up_policies_allow_max_of_4_pods_or_double() -> None:
    out = normalize_with_behavior(History(), 1, 50, 1, 100, _behavior(), 300, now=0.0)
    assert (out.replicas, out.limited_reason) == (5, "ScaleUpLimit")
    out = normalize_with_behavior(History(), 10, 50, 1, 100, _behavior(), 300, now=0.0)
    assert out.replicas == 20


def test_scale_events_in_the_period_count_against_the_policy() -> None:
    history = History()
    behavior = _behavior()
    record_scale(history, 10, 20, behavior, now=0.0)
    out = normalize_with_behavior(history, 20, 50, 1, 100, behavior, 300, now=5.0)
    assert out.replicas == 20  # the period started at 10: at most 20 by Percent, 14 by Pods
    out = normalize_with_behavior(history, 20, 50, 1, 100, behavior, 300, now=20.0)
    assert out.replicas == 40  # the period has passed


def test_scale_down_window_and_percent_policy() -> None:
    behavior = _behavior(
        stabilizationWindowSeconds=0,
        policies=[{"type": "Percent", "value": 50, "periodSeconds": 60}],
    )
    out = normalize_with_behavior(History(), 10, 1, 1, 20, behavior, 300, now=0.0)
    assert (out.replicas, out.limited_reason) == (5, "ScaleDownLimit")
    held = History([Recommendation(8, 0.0)])
    out = normalize_with_behavior(held, 10, 1, 1, 20, _behavior(), 300, now=10.0)
    assert out.replicas == 8 and out.able_reason == "ScaleDownStabilized"


def test_disabled_scale_down() -> None:
    behavior = _behavior(selectPolicy="Disabled", stabilizationWindowSeconds=0)
    out = normalize_with_behavior(History(), 10, 1, 1, 20, behavior, 0, now=0.0)
    assert out.replicas == 10
