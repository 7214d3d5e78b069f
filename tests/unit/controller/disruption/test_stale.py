"""controller.disruption.stale: when an eviction's DisruptionTarget mark is stale."""

from api.timefmt import rfc3339
from controller.disruption.stale import (
    STALE_POD_DISRUPTION_TIMEOUT,
    stale_disruption_wait,
    with_condition_cleared,
)

NOW = 1_700_000_000.0


def marked(ago=10.0, status="True", reason="EvictionByEvictionAPI", phase="Running", **md):
    cond = {"type": "DisruptionTarget", "status": status, "reason": reason,
            "lastTransitionTime": rfc3339(NOW - ago)}  # fmt: skip
    ready = {"type": "Ready", "status": "True"}
    return {"metadata": {"name": "p", **md}, "status": {"phase": phase,
            "conditions": [ready, cond]}}  # fmt: skip


def test_waits_two_minutes_from_the_mark():
    assert STALE_POD_DISRUPTION_TIMEOUT == 120.0
    assert stale_disruption_wait(marked(ago=10), NOW) == 110.0
    assert stale_disruption_wait(marked(ago=300), NOW) == 0.0


def test_not_stale_when_going_finished_false_or_the_kubelets():
    assert stale_disruption_wait(marked(deletionTimestamp=rfc3339(NOW)), NOW) is None
    assert stale_disruption_wait(marked(phase="Failed"), NOW) is None
    assert stale_disruption_wait(marked(status="False"), NOW) is None
    assert stale_disruption_wait(marked(reason="TerminationByKubelet"), NOW) is None
    assert stale_disruption_wait({"metadata": {}, "status": {}}, NOW) is None


def test_cleared_condition_keeps_the_others():
    cleared = with_condition_cleared(marked(), NOW)
    assert cleared["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "DisruptionTarget", "status": "False", "lastTransitionTime": rfc3339(NOW)},
    ]
    assert stale_disruption_wait(cleared, NOW) is None
