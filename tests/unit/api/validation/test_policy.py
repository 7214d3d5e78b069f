"""policy/v1 PodDisruptionBudgets (api.validation.policy)."""

import pytest

from api.validation import validate
from tests.unit.api.validation.objects import fields, only


def budget(**spec):
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec},
    }


@pytest.mark.parametrize(
    "spec",
    [{"minAvailable": 2}, {"minAvailable": "50%"}, {"maxUnavailable": 0}, {}, {"selector": {}}],
)
def test_valid(spec):
    assert validate("PodDisruptionBudget", budget(**spec)) == []


def test_not_both():
    cause = only(validate("PodDisruptionBudget", budget(minAvailable=1, maxUnavailable=1)), "spec")
    assert cause["reason"] == "FieldValueInvalid"
    assert cause["message"].endswith(": minAvailable and maxUnavailable cannot be both set")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "Invalid value: -1: must be greater than or equal to 0"),
        ("150%", 'Invalid value: "150%": must not be greater than 100%'),
        ("x", 'Invalid value: "x": a valid percent string must be a numeric string followed by'),
    ],
)
@pytest.mark.parametrize("field", ["minAvailable", "maxUnavailable"])
def test_int_or_percent(field, value, message):
    cause = only(validate("PodDisruptionBudget", budget(**{field: value})), f"spec.{field}")
    assert cause["message"].startswith(message)


def test_selector_and_policy():
    bad = budget(
        selector={"matchExpressions": [{"key": "app", "operator": "In"}]},
        unhealthyPodEvictionPolicy="Sometimes",
    )
    causes = validate("PodDisruptionBudget", bad)
    assert fields(causes) == [
        "spec.selector.matchExpressions[0].values",
        "spec.unhealthyPodEvictionPolicy",
    ]
    assert causes[1]["message"] == (
        'Unsupported value: "Sometimes": supported values: "AlwaysAllow", "IfHealthyBudget"'
    )
