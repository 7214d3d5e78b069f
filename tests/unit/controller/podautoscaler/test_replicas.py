"""The replica calculation of one resource metric (replica_calculator.go's cases)."""

from __future__ import annotations

from typing import Any

import pytest

from api.timefmt import parse_time, rfc3339
from controller.podautoscaler.replicas import MetricsError, PodSample, resource_replicas

LONG_AGO = "2026-01-01T00:00:00Z"  # older than the CPU initialization period
NOW = parse_time("2026-06-01T00:00:00Z") or 0.0


def _pod(name: str, request: str = "100m", phase: str = "Running", ready: bool = True) -> Any:
    return {
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": request}}}]},
        "status": {
            "phase": phase,
            "startTime": LONG_AGO,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "lastTransitionTime": LONG_AGO,
                }
            ],
        },
    }


def _samples(**milli: int) -> dict[str, PodSample]:
    return {name: PodSample(value, NOW - 1, 1.0) for name, value in milli.items()}


def _replicas(current: int, pods: list[Any], samples: dict[str, PodSample], **target: int) -> Any:
    goal: dict[str, int | None] = {"utilization": None, "average": None, **target}
    return resource_replicas(current, goal, samples, pods, "cpu", 0.1, NOW)


def test_scale_up_by_utilization() -> None:
    pods = [_pod("a"), _pod("b")]
    proposal = _replicas(2, pods, _samples(a=150, b=150), utilization=50)
    assert (proposal.replicas, proposal.utilization, proposal.average_milli) == (6, 150, 150)


def test_within_tolerance_nothing_changes() -> None:
    pods = [_pod("a"), _pod("b")]
    assert _replicas(2, pods, _samples(a=54, b=54), utilization=50).replicas == 2


def test_scale_down_by_average_value() -> None:
    pods = [_pod(n) for n in "abcd"]
    proposal = _replicas(4, pods, _samples(a=50, b=50, c=50, d=50), average=100)
    assert proposal.replicas == 2


def test_missing_pods_count_as_full_when_scaling_down() -> None:
    pods = [_pod("a"), _pod("b"), _pod("c")]
    # a and b at 10% of request; c unmeasured counts as 100%: (10+10+100)/3 = 40% of 50%
    proposal = _replicas(3, pods, _samples(a=10, b=10), utilization=50)
    assert proposal.replicas == 3  # ceil(0.8 * 3) = 3: no change


def test_missing_pods_count_as_zero_when_scaling_up() -> None:
    pods = [_pod("a"), _pod("b")]
    proposal = _replicas(2, pods, _samples(a=200), utilization=50)
    assert proposal.replicas == 4  # (200+0)/2 = 100% of 50% → 2 × 2


def test_unready_pods_count_as_zero_when_scaling_up() -> None:
    pods = [_pod("a"), _pod("b", phase="Pending")]
    assert _replicas(2, pods, _samples(a=200, b=500), utilization=50).replicas == 4


def test_a_recently_ready_pod_without_a_full_window_is_unready() -> None:
    pod = _pod("a")
    pod["status"]["startTime"] = rfc3339(NOW - 100)  # still initializing
    pod["status"]["conditions"][0]["lastTransitionTime"] = rfc3339(NOW)  # after the sample
    with pytest.raises(MetricsError, match="did not receive metrics"):
        _replicas(1, [pod], _samples(a=500), utilization=50)


def test_deleted_and_failed_pods_are_ignored() -> None:
    gone = _pod("g")
    gone["metadata"]["deletionTimestamp"] = LONG_AGO
    pods = [_pod("a"), gone, _pod("f", phase="Failed")]
    assert _replicas(1, pods, _samples(a=100, g=900, f=900), utilization=50).replicas == 2


def test_a_container_without_a_request_is_an_error() -> None:
    pod = _pod("a")
    pod["spec"]["containers"][0]["resources"] = {}
    with pytest.raises(MetricsError, match="missing request for cpu in container c of Pod a"):
        _replicas(1, [pod], _samples(a=100), utilization=50)


def test_no_pods_is_an_error() -> None:
    with pytest.raises(MetricsError, match="no pods returned by selector"):
        _replicas(1, [], {}, utilization=50)
