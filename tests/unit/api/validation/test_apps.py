"""api.validation.apps: Deployments and ReplicaSets."""

import copy

from api.validation import validate
from tests.unit.api.validation.objects import (
    fields,
    make_deployment,
    only,
)


def test_selector_must_match_template_labels():
    dep = make_deployment()
    dep["spec"]["template"]["metadata"]["labels"] = {"app": "x"}
    assert validate("Deployment", dep) == [
        {
            "field": "spec.template.metadata.labels",
            "message": 'Invalid value: map[string]string{"app":"x"}: '
            "`selector` does not match template `labels`",
            "reason": "FieldValueInvalid",
        }
    ]


def test_selector_required_and_non_empty():
    missing = make_deployment()
    del missing["spec"]["selector"]
    causes = validate("Deployment", missing)
    assert only(causes, "spec.selector")["message"] == "Required value"
    assert "spec.template.metadata.labels" in fields(causes)  # a nil selector matches nothing
    empty = make_deployment(selector={})
    assert only(validate("Deployment", empty), "spec.selector")["message"] == (
        "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: "
        "empty selector is invalid for deployment"
    )
    bad = make_deployment(selector={"matchExpressions": [{"key": "a", "operator": "In"}]})
    assert "spec.selector.matchExpressions[0].values" in fields(validate("Deployment", bad))


def test_match_expressions_selector():
    dep = make_deployment(
        selector={"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "x"]}]}
    )
    assert validate("Deployment", dep) == []


def test_template_is_validated_with_its_prefix():
    dep = make_deployment()
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = ""
    dep["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    causes = validate("Deployment", dep)
    assert only(causes, "spec.template.spec.containers[0].image")["message"] == "Required value"
    assert only(causes, "spec.template.spec.restartPolicy")["message"] == (
        'Unsupported value: "Never": supported values: "Always"'
    )


def test_counts_and_strategy():
    dep = make_deployment(
        replicas=-1,
        strategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"},
        },
        progressDeadlineSeconds=5,
        minReadySeconds=10,
    )
    causes = validate("Deployment", dep)
    assert only(causes, "spec.replicas")["message"] == (
        "Invalid value: -1: must be greater than or equal to 0"
    )
    assert only(causes, "spec.strategy.rollingUpdate.maxUnavailable")["message"] == (
        'Invalid value: "0%": may not be 0 when `maxSurge` is 0'
    )
    assert only(causes, "spec.progressDeadlineSeconds")["message"] == (
        "Invalid value: 5: must be greater than minReadySeconds"
    )


def test_strategy_rules():
    recreate = make_deployment(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})
    assert only(validate("Deployment", recreate), "spec.strategy.rollingUpdate")["message"] == (
        "Forbidden: may not be specified when strategy `type` is 'Recreate'"
    )
    bogus = make_deployment(strategy={"type": "BlueGreen"})
    assert only(validate("Deployment", bogus), "spec.strategy.type")["message"] == (
        'Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"'
    )
    percent = make_deployment(
        strategy={"rollingUpdate": {"maxSurge": "x%", "maxUnavailable": "200%"}}
    )
    causes = validate("Deployment", percent)
    assert (
        "a valid percent string" in only(causes, "spec.strategy.rollingUpdate.maxSurge")["message"]
    )
    assert only(causes, "spec.strategy.rollingUpdate.maxUnavailable")["message"] == (
        'Invalid value: "200%": must not be greater than 100%'
    )


def test_selector_is_immutable():
    old = make_deployment()
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "v": "2"}}
    new["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    assert validate("Deployment", new, old) == [
        {
            "field": "spec.selector",
            "message": 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", '
            '"v":"2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
            "reason": "FieldValueInvalid",
        }
    ]
    scaled = copy.deepcopy(old)
    scaled["spec"]["replicas"] = 5
    assert validate("Deployment", scaled, old) == []
    rs_old = make_deployment("ReplicaSet")
    rs_new = copy.deepcopy(rs_old)
    rs_new["spec"]["selector"]["matchLabels"]["app"] = "other"
    assert "spec.selector" in fields(validate("ReplicaSet", rs_new, rs_old))
