"""apiserver.eviction's decisions without storage: which pods skip the budget, and
how a budget is spent (the HTTP flow is in tests/integration/test_disruption.py)."""

import pytest

from api import errors
from apiserver import eviction

READY = {"type": "Ready", "status": "True"}
UNREADY = {"type": "Ready", "status": "False"}


def pod(phase="Running", ready=True, deleting=False):
    md = {"name": "web-1", "namespace": "d", "resourceVersion": "7"}
    if deleting:
        md["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": md, "status": {"phase": phase, "conditions": [READY if ready else UNREADY]}}


def budget(allowed=1, current=3, desired=2, generation=1, observed=1, **spec):
    return {
        "metadata": {"name": "web", "namespace": "d", "generation": generation,
                     "resourceVersion": "9"},
        "spec": spec,
        "status": {"disruptionsAllowed": allowed, "currentHealthy": current,
                   "desiredHealthy": desired, "observedGeneration": observed},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("phase", "deleting", "ignored"),
    [("Pending", False, True), ("Succeeded", False, True), ("Failed", False, True),
     ("Running", True, True), ("Running", False, False), ("Unknown", False, False)],
)  # fmt: skip
def test_pods_that_ignore_budgets(phase, deleting, ignored):
    assert eviction._can_ignore_budget(pod(phase, deleting=deleting)) is ignored


def test_unready_pods_may_skip_a_healthy_budget():
    assert not eviction._may_skip_budget(pod(), budget())
    assert eviction._may_skip_budget(pod(ready=False), budget())
    assert not eviction._may_skip_budget(pod(ready=False), budget(current=1))
    assert not eviction._may_skip_budget(pod(ready=False), budget(desired=0))
    always = budget(current=0, unhealthyPodEvictionPolicy="AlwaysAllow")
    assert eviction._may_skip_budget(pod(ready=False), always)


def test_spending_a_disruption():
    updated = eviction._decremented(pod(), budget(allowed=1), dry_run=False)
    assert updated is not None
    status = updated["status"]
    assert status["disruptionsAllowed"] == 0
    assert list(status["disruptedPods"]) == ["web-1"]
    assert status["conditions"][0]["reason"] == "InsufficientPods"
    assert updated["metadata"]["resourceVersion"] == "9"  # the guard of the write
    two = eviction._decremented(pod(), budget(allowed=2), dry_run=False)
    assert two is not None and "conditions" not in two["status"]
    assert eviction._decremented(pod(), budget(allowed=2), dry_run=True) is None


def test_refusals():
    with pytest.raises(errors.ApiError) as caught:
        eviction._decremented(pod(), budget(allowed=0, current=2, desired=2), dry_run=False)
    assert caught.value.code == 429
    assert caught.value.causes == [
        {"reason": "DisruptionBudget",
         "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}
    ]  # fmt: skip
    with pytest.raises(errors.ApiError) as caught:
        eviction._decremented(pod(), budget(generation=2, observed=1), dry_run=False)
    assert caught.value.code == 429
    assert caught.value.causes[0]["message"] == (
        "The disruption budget web is still being processed by the server."
    )
    with pytest.raises(errors.ApiError) as caught:
        eviction._decremented(pod(), budget(allowed=-1), dry_run=False)
    assert caught.value.code == 403
    assert caught.value.message == (
        'poddisruptionbudgets.policy "web" is forbidden: pdb disruptions allowed is negative'
    )
