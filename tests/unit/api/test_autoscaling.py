"""kubectl's TARGETS text and the v1 <-> v2 conversion."""

from __future__ import annotations

from api.autoscaling import targets_text
from api.conversion.autoscaling import to_v1, to_v2


def _cpu(target: dict, current: dict | None = None) -> dict:
    hpa: dict = {
        "spec": {"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]}
    }
    if current is not None:
        hpa["status"] = {
            "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": current}}
            ]
        }
    return hpa


def test_targets_text() -> None:
    assert targets_text(_cpu({"type": "Utilization", "averageUtilization": 50})) == (
        "cpu: <unknown>/50%"
    )
    assert (
        targets_text(
            _cpu({"type": "Utilization", "averageUtilization": 50}, {"averageUtilization": 73})
        )
        == "cpu: 73%/50%"
    )
    assert (
        targets_text(
            _cpu({"type": "AverageValue", "averageValue": "200m"}, {"averageValue": "150m"})
        )
        == "cpu: 150m/200m"
    )
    assert targets_text({"spec": {}}) == "<none>"
    three = _cpu({"type": "Utilization", "averageUtilization": 50})
    three["spec"]["metrics"] *= 3
    assert targets_text(three).endswith(" + 1 more...")


def test_v1_round_trip_keeps_other_metrics_and_conditions() -> None:
    v2 = {
        "metadata": {"name": "h"},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "d"},
            "minReplicas": 1,
            "maxReplicas": 5,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 60},
                    },
                },
                {
                    "type": "Resource",
                    "resource": {
                        "name": "memory",
                        "target": {"type": "AverageValue", "averageValue": "100Mi"},
                    },
                },
            ],
        },
        "status": {
            "currentReplicas": 2,
            "desiredReplicas": 2,
            "conditions": [{"type": "AbleToScale", "status": "True"}],
        },
    }
    v1 = to_v1(v2)
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 60
    assert "memory" in v1["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/metrics"]
    back = to_v2(v1)
    assert back["spec"]["metrics"] == v2["spec"]["metrics"]
    assert back["status"]["conditions"] == v2["status"]["conditions"]
    assert "annotations" not in back["metadata"]
