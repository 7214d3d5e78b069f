"""PriorityClass validation (api.validation.scheduling) with Kubernetes' wording, and
the pod spec's preemptionPolicy."""

from __future__ import annotations

import copy

from api.validation import validate
from tests.unit.api.validation.objects import defaulted, make_pod


def make_pc(name: str = "high", **fields_: object) -> dict:
    return defaulted("PriorityClass", {"metadata": {"name": name}, "value": 1000, **fields_})


def test_defaults_and_a_valid_class() -> None:
    pc = defaulted("PriorityClass", {"metadata": {"name": "zero"}})
    assert pc["value"] == 0 and pc["preemptionPolicy"] == "PreemptLowerPriority"
    assert validate("PriorityClass", pc) == []
    assert validate("PriorityClass", make_pc(value=1_000_000_000, preemptionPolicy="Never")) == []


def test_user_value_above_one_billion_is_forbidden() -> None:
    [cause] = validate("PriorityClass", make_pc(value=1_000_000_001))
    assert cause == {
        "field": "value",
        "message": "Forbidden: maximum allowed value of a user defined priority is 1000000000",
        "reason": "FieldValueForbidden",
    }


def test_system_prefix_is_reserved() -> None:
    [cause] = validate("PriorityClass", make_pc("system-mine", value=5))
    assert cause["field"] == "metadata.name"
    assert cause["message"] == (
        "Forbidden: priority class names with 'system-' prefix are reserved for system use "
        "only. error: system-mine is not a known system priority class"
    )
    [wrong] = validate("PriorityClass", make_pc("system-node-critical", value=5))
    assert wrong["message"].endswith(
        "value of system-node-critical PriorityClass must be 2000001000"
    )
    ok = make_pc("system-cluster-critical", value=2_000_000_000)
    assert validate("PriorityClass", ok) == []
    ok["globalDefault"] = True
    [default] = validate("PriorityClass", ok)
    assert default["message"].endswith(
        "globalDefault of system-cluster-critical PriorityClass must be false"
    )


def test_preemption_policy_values() -> None:
    [cause] = validate("PriorityClass", make_pc(preemptionPolicy="Sometimes"))
    assert cause["field"] == "preemptionPolicy"
    assert cause["message"] == (
        'Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"'
    )
    pod = make_pod(preemptionPolicy="Sometimes")
    assert [c["field"] for c in validate("Pod", pod)] == ["spec.preemptionPolicy"]


def test_value_and_policy_are_immutable_description_is_not() -> None:
    old = make_pc()
    old["metadata"]["resourceVersion"] = "5"
    new = copy.deepcopy(old)
    new["description"] = "changed"
    assert validate("PriorityClass", new, old) == []
    new["value"] = 2000
    new["preemptionPolicy"] = "Never"
    causes = validate("PriorityClass", new, old)
    assert [(c["field"], c["message"]) for c in causes] == [
        ("value", "Forbidden: may not be changed in an update."),
        ("preemptionPolicy", 'Invalid value: "Never": field is immutable'),
    ]
