"""api.validation.apps: StatefulSets (ValidateStatefulSetSpec / ValidateStatefulSetUpdate)."""

import copy

from api.validation import validate
from api.validation.apps import STATEFULSET_SPEC_FORBIDDEN
from tests.unit.api.validation.objects import fields, make_deployment, only


def make_sts(**spec):
    sts = make_deployment(
        "StatefulSet",
        serviceName="web",
        volumeClaimTemplates=[
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        ],
        **spec,
    )
    return sts


def test_a_defaulted_statefulset_is_valid():
    assert validate("StatefulSet", make_sts()) == []


def test_selector_must_match_template_labels():
    sts = make_sts()
    sts["spec"]["template"]["metadata"]["labels"] = {"app": "x"}
    assert only(validate("StatefulSet", sts), "spec.template.metadata.labels")["message"] == (
        'Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`'
    )
    empty = make_sts(selector={})
    assert only(validate("StatefulSet", empty), "spec.selector")["message"].endswith(
        "empty selector is invalid for statefulset"
    )


def test_enums_counts_and_restart_policy():
    sts = make_sts(
        podManagementPolicy="Sometimes",
        replicas=-1,
        minReadySeconds=-2,
        persistentVolumeClaimRetentionPolicy={"whenDeleted": "Keep", "whenScaled": "Delete"},
        updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": -1}},
    )
    sts["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    causes = validate("StatefulSet", sts)
    assert only(causes, "spec.podManagementPolicy")["message"] == (
        "Invalid value: \"Sometimes\": must be 'OrderedReady' or 'Parallel'"
    )
    assert only(causes, "spec.replicas")["message"].startswith("Invalid value: -1")
    assert "spec.minReadySeconds" in fields(causes)
    assert "spec.updateStrategy.rollingUpdate.partition" in fields(causes)
    assert only(causes, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted")["message"] == (
        'Unsupported value: "Keep": supported values: "Retain", "Delete"'
    )
    assert only(causes, "spec.template.spec.restartPolicy")["reason"] == "FieldValueNotSupported"
    on_delete = make_sts(updateStrategy={"type": "OnDelete", "rollingUpdate": {"partition": 1}})
    assert only(validate("StatefulSet", on_delete), "spec.updateStrategy.rollingUpdate")[
        "message"
    ].endswith("only allowed for updateStrategy 'RollingUpdate'")
    bad = make_sts(updateStrategy={"type": "Recreate"})
    assert only(validate("StatefulSet", bad), "spec.updateStrategy")["message"] == (
        "Invalid value: \"Recreate\": must be 'RollingUpdate' or 'OnDelete'"
    )


def test_only_the_mutable_spec_fields_may_change():
    old = make_sts()
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    new["spec"]["updateStrategy"] = {"type": "OnDelete"}
    new["spec"]["minReadySeconds"] = 3
    new["spec"]["revisionHistoryLimit"] = 2
    new["spec"]["persistentVolumeClaimRetentionPolicy"] = {
        "whenDeleted": "Delete",
        "whenScaled": "Delete",
    }
    assert validate("StatefulSet", new, old) == []
    for change in ("serviceName", "volumeClaimTemplates", "podManagementPolicy", "selector"):
        bad = copy.deepcopy(old)
        bad["spec"][change] = {"serviceName": "other", "podManagementPolicy": "Parallel"}.get(
            change, {"matchLabels": {"app": "web", "x": "y"}} if change == "selector" else []
        )
        if change == "selector":
            bad["spec"]["template"]["metadata"]["labels"]["x"] = "y"
        causes = validate("StatefulSet", bad, old)
        assert only(causes, "spec") == {
            "field": "spec",
            "message": f"Forbidden: {STATEFULSET_SPEC_FORBIDDEN}",
            "reason": "FieldValueForbidden",
        }, change


def test_mounts_of_claim_templates_resolve():
    sts = make_sts()
    sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/data"}
    ]
    assert validate("StatefulSet", sts) == []
    sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["name"] = "nope"
    assert "spec.template.spec.containers[0].volumeMounts[0].name" in fields(
        validate("StatefulSet", sts)
    )
