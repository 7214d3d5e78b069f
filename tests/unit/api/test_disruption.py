"""api.disruption: budgets' selectors, the DisruptionAllowed condition, the 429."""

import pytest

from api.disruption import (
    EVICTION_REFUSED,
    budget_selector,
    conditions_up_to_date,
    is_pod_ready,
    scaled_value,
    set_status_condition,
    too_many_requests,
    update_disruption_allowed_condition,
)

NOW = 1_700_000_000.0


def test_selector_none_matches_nothing_empty_everything():
    assert not budget_selector({"spec": {}}).matches({"app": "web"})
    assert budget_selector({"spec": {"selector": {}}}).matches({"app": "web"})
    sel = budget_selector({"spec": {"selector": {"matchLabels": {"app": "web"}}}})
    assert sel.matches({"app": "web"}) and not sel.matches({"app": "db"})


def test_ready():
    assert is_pod_ready({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert not is_pod_ready({"status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    assert not is_pod_ready({})


def test_condition_follows_disruptions_allowed_and_keeps_its_transition_time():
    status = {"disruptionsAllowed": 1, "observedGeneration": 2}
    update_disruption_allowed_condition(status, NOW)
    [cond] = status["conditions"]
    assert cond == {
        "type": "DisruptionAllowed",
        "status": "True",
        "reason": "SufficientPods",
        "message": "",
        "observedGeneration": 2,
        "lastTransitionTime": "2023-11-14T22:13:20Z",
    }
    pdb = {"metadata": {"generation": 2}, "status": status}
    assert conditions_up_to_date(pdb)
    status["disruptionsAllowed"] = 0
    assert not conditions_up_to_date(pdb)
    update_disruption_allowed_condition(status, NOW + 60)
    assert (cond["status"], cond["reason"]) == ("False", "InsufficientPods")
    assert cond["lastTransitionTime"] == "2023-11-14T22:14:20Z"
    set_status_condition(
        status["conditions"],
        {"type": "DisruptionAllowed", "status": "False", "reason": "SyncFailed", "message": "x"},
        NOW + 120,
    )
    assert cond["lastTransitionTime"] == "2023-11-14T22:14:20Z"  # same status: kept
    assert (cond["reason"], cond["message"]) == ("SyncFailed", "x")
    assert not conditions_up_to_date(pdb)


def test_too_many_requests_status():
    err = too_many_requests("The disruption budget web needs 2 healthy pods and has 2 currently")
    assert err.status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": EVICTION_REFUSED,
        "reason": "TooManyRequests",
        "code": 429,
        "details": {
            "causes": [
                {
                    "reason": "DisruptionBudget",
                    "message": "The disruption budget web needs 2 healthy pods and has 2 currently",
                }
            ]
        },
    }
    assert EVICTION_REFUSED == "Cannot evict pod as it would violate the pod's disruption budget."


def test_scaled_value_rounds_up_like_intstr():
    assert scaled_value(3, 10, True) == 3
    assert scaled_value("50%", 3, True) == 2
    assert scaled_value("50%", 3, False) == 1
    assert scaled_value("0%", 7, True) == 0
    with pytest.raises(ValueError):
        scaled_value("x", 3, True)
