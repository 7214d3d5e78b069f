"""controller.job.failurepolicy: the first matching rule decides."""

from controller.job.failurepolicy import match

POLICY = {
    "rules": [
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
        {
            "action": "FailJob",
            "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]},
        },
        {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [1]}},
    ]
}


def failed_pod(code: int, name: str = "main", conditions: list | None = None) -> dict:
    return {
        "metadata": {"name": "p", "namespace": "ns"},
        "status": {
            "phase": "Failed",
            "conditions": conditions or [],
            "containerStatuses": [
                {"name": name, "state": {"terminated": {"exitCode": code}}},
            ],
        },
    }


def test_exit_code_rules():
    found = match(POLICY, failed_pod(42))
    assert found is not None and found.action == "FailJob"
    assert found.message == (
        "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1"
    )
    other = match(POLICY, failed_pod(42, name="side"))
    assert other is not None and other.action == "Count"
    assert match(POLICY, failed_pod(1)) is None
    assert match(POLICY, failed_pod(0)) is None  # exit code 0 never matches
    assert match(None, failed_pod(42)) is None


def test_disruption_target_condition():
    disrupted = failed_pod(137, conditions=[{"type": "DisruptionTarget", "status": "True"}])
    found = match(POLICY, disrupted)
    assert found is not None and found.action == "Ignore"
    assert "condition DisruptionTarget matching Ignore rule at index 0" in found.message
