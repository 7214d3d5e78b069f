"""ResourceQuota and LimitRange validation (api.validation.resourcepolicy), with LimitRange's
defaults, worded as Kubernetes words them."""

from api.validation import validate
from tests.unit.api.validation.objects import defaulted


def quota(**spec):
    return {"metadata": {"name": "q", "namespace": "d"}, "spec": spec}


def causes(kind, obj, old=None):
    return {c["field"]: c["message"] for c in validate(kind, obj, old)}


def test_a_plain_quota_is_valid():
    hard = {"pods": "2", "requests.cpu": "1", "count/deployments.apps": "3"}
    hard["gold.storageclass.storage.k8s.io/requests.storage"] = "10Gi"
    assert validate("ResourceQuota", quota(hard=hard)) == []


def test_quota_resources_and_values():
    got = causes("ResourceQuota", quota(hard={"pods": "1.5", "cpu": "-1", "widgets": "1"}))
    assert got == {
        "spec.hard[pods]": 'Invalid value: "1500m": must be an integer',
        "spec.hard[cpu]": 'Invalid value: "-1": must be greater than or equal to 0',
        "spec.hard[widgets]": 'Invalid value: "widgets": must be a standard resource for quota',
    }


def test_quota_scopes():
    scopes = ["BestEffort", "NotBestEffort"]
    got_list = validate("ResourceQuota", quota(hard={"services": "1"}, scopes=scopes))
    value = 'Invalid value: []core.ResourceQuotaScope{"BestEffort", "NotBestEffort"}: '
    assert [(c["field"], c["message"]) for c in got_list] == [
        ("spec.scopes", value + "unsupported scope applied to resource"),
        ("spec.scopes", value + "conflicting scopes"),
    ]
    got = validate(
        "ResourceQuota", quota(hard={"pods": "1"}, scopes=["BestEffort", "NotBestEffort"])
    )
    assert [c["message"].rsplit(": ", 1)[-1] for c in got] == ["conflicting scopes"]
    selector = {
        "matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In"},
            {"scopeName": "BestEffort", "operator": "In", "values": ["x"]},
        ]
    }
    got = causes("ResourceQuota", quota(hard={"pods": "1"}, scopeSelector=selector))
    assert got["spec.scopeSelector.matchExpressions.values"] == (
        "Required value: must be at least one value when `operator` is 'In' or 'NotIn' for "
        "scope selector"
    )
    assert got["spec.scopeSelector.matchExpressions.operator"].startswith(
        "Invalid value: \"In\": must be 'Exist' when scope is any of"
    )
    old = quota(hard={"pods": "1"}, scopes=["BestEffort"])
    new = quota(hard={"pods": "1"}, scopes=["NotTerminating"])
    assert "field is immutable" in causes("ResourceQuota", new, old)["spec.scopes"]


def limit_range(*items):
    return defaulted(
        "LimitRange",
        {"metadata": {"name": "lr", "namespace": "d"}, "spec": {"limits": list(items)}},
    )


def test_limit_range_defaults_follow_max_default_and_min():
    lr = limit_range({"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "4Mi"}})
    item = lr["spec"]["limits"][0]
    assert item["default"] == {"cpu": "1"}
    assert item["defaultRequest"] == {"cpu": "1", "memory": "4Mi"}
    pod = limit_range({"type": "Pod", "max": {"cpu": "1"}})
    assert "default" not in pod["spec"]["limits"][0]
    assert validate("LimitRange", lr) == []


def test_limit_range_consistency():
    got = causes(
        "LimitRange",
        limit_range(
            {
                "type": "Container",
                "min": {"cpu": "200m"},
                "max": {"cpu": "1"},
                "default": {"cpu": "2"},
                "defaultRequest": {"cpu": "100m"},
                "maxLimitRequestRatio": {"cpu": "10", "memory": "500m"},
            },
            {"type": "Container"},
            {"type": "Pod", "defaultRequest": {"cpu": "1"}},
            {"type": "PersistentVolumeClaim", "min": {"cpu": "1"}},
            {"type": "Bogus"},
        ),
    )
    assert got == {
        "spec.limits[0].defaultRequest[cpu]": 'Invalid value: "100m": min value 200m is greater '
        "than default request value 100m",
        "spec.limits[0].default[cpu]": 'Invalid value: "1": default value 2 is greater than max '
        "value 1",
        "spec.limits[0].maxLimitRequestRatio[cpu]": 'Invalid value: "10": ratio 10 is greater '
        "than max/min = 5.000000",
        "spec.limits[0].maxLimitRequestRatio[memory]": 'Invalid value: "500m": ratio 500m is '
        "less than 1",
        "spec.limits[1].type": 'Duplicate value: "Container"',
        "spec.limits[2].defaultRequest": "Forbidden: may not be specified when `type` is 'Pod'",
        "spec.limits[3].limits": "Required value: either minimum or maximum storage value is "
        "required, but neither was provided",
        "spec.limits[4].type": 'Unsupported value: "Bogus": supported values: "Pod", '
        '"Container", "PersistentVolumeClaim"',
    }


def test_limit_range_pod_resources_must_be_standard_or_qualified():
    got = causes("LimitRange", limit_range({"type": "Pod", "max": {"widgets": "1"}}))
    assert got == {
        "spec.limits[0].max[widgets]": 'Invalid value: "widgets": must be a standard resource '
        "type or fully qualified"
    }
