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


# ---- DaemonSets and ControllerRevisions ---------------------------------------------


def test_daemonset_defaults_validate_and_rules_match_kubernetes():
    ds = make_deployment("DaemonSet")
    assert validate("DaemonSet", ds) == []
    ds["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert only(validate("DaemonSet", ds), "spec.template.spec.restartPolicy")["reason"] == (
        "FieldValueNotSupported"
    )
    empty = make_deployment("DaemonSet", selector={})
    assert only(validate("DaemonSet", empty), "spec.selector")["message"].endswith(
        "empty selector is invalid for daemonset"
    )
    missing = make_deployment("DaemonSet")
    del missing["spec"]["selector"]
    assert only(validate("DaemonSet", missing), "spec.selector")["message"] == "Required value"


def test_daemonset_update_strategy_rules():
    def causes(strategy):
        return validate("DaemonSet", make_deployment("DaemonSet", updateStrategy=strategy))

    assert causes({"type": "OnDelete"}) == []
    assert only(causes({"type": "Recreate"}), "spec.updateStrategy")["reason"] == (
        "FieldValueNotSupported"
    )
    both = causes({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}})
    assert only(both, "spec.updateStrategy.rollingUpdate.maxSurge")["message"] == (
        "Invalid value: 1: may not be set when maxUnavailable is non-zero"
    )
    neither = causes(
        {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}}
    )
    assert only(neither, "spec.updateStrategy.rollingUpdate.maxUnavailable")["message"] == (
        "Required value: cannot be 0 when maxSurge is 0"
    )
    surge = causes(
        {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "20%"}}
    )
    assert surge == []
    too_much = causes({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "150%"}})
    assert (
        "must not be greater than 100%"
        in only(too_much, "spec.updateStrategy.rollingUpdate.maxUnavailable")["message"]
    )


def test_daemonset_selector_is_immutable():
    old = make_deployment("DaemonSet")
    old["metadata"]["resourceVersion"] = "1"
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "x"}}
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    assert only(validate("DaemonSet", new, old), "spec.selector")["message"].endswith(
        "field is immutable"
    )


def test_controller_revision_data_is_required_and_immutable():
    revision = {
        "metadata": {"name": "web-1", "namespace": "default"},
        "data": {"spec": {}},
        "revision": 1,
    }
    assert validate("ControllerRevision", revision) == []
    assert only(validate("ControllerRevision", {**revision, "data": None}), "data")["message"] == (
        "Required value: data is mandatory"
    )
    assert "revision" in fields(validate("ControllerRevision", {**revision, "revision": -1}))
    old = {**revision, "metadata": {**revision["metadata"], "resourceVersion": "1"}}
    changed = {**old, "data": {"spec": {"x": 1}}}
    assert only(validate("ControllerRevision", changed, old), "data")["message"].endswith(
        "field is immutable"
    )
    assert validate("ControllerRevision", {**old, "revision": 2}, old) == []
