"""Namespace labels to a policy, which checks a level and version run (with the
server's version as the cap for `latest`), and the PodSecurityConfiguration."""

from __future__ import annotations

import copy
import re

import pytest

from api.podsecurity import pod_template
from api.podsecurity.configuration import (
    ConfigurationError,
    parse_pod_security_configuration,
    plugin_entry,
)
from api.podsecurity.evaluator import Evaluator
from api.podsecurity.levels import (
    BASELINE,
    LATEST,
    PRIVILEGED,
    RESTRICTED,
    LevelVersion,
    Policy,
    parse_version,
    policy_to_evaluate,
    v1,
)

P = "pod-security.kubernetes.io/"


def test_versions_parse_and_order() -> None:
    assert parse_version("latest") == LATEST and str(LATEST) == "latest"
    assert parse_version("v1.25") == v1(25) and str(v1(25)) == "v1.25"
    for bad in ("v1.025", "1.25", "v2.0", "v1.x", ""):
        with pytest.raises(ValueError, match=re.escape('must be "latest" or "v1.x"')):
            parse_version(bad)
    assert v1(9).older(v1(10)) and v1(40).older(LATEST) and not LATEST.older(v1(99))


def test_labels_over_defaults() -> None:
    defaults = Policy(LevelVersion(BASELINE), LevelVersion(RESTRICTED), LevelVersion(RESTRICTED))
    assert policy_to_evaluate({}, defaults) == (defaults, [])
    policy, errs = policy_to_evaluate(
        {P + "enforce": "privileged", P + "audit-version": "v1.24"}, defaults
    )
    assert not errs
    assert policy.enforce == LevelVersion(PRIVILEGED)
    assert policy.audit == LevelVersion(RESTRICTED, v1(24))


def test_an_enforce_label_stricter_than_warn_also_warns() -> None:
    policy, _ = policy_to_evaluate(
        {P + "enforce": "restricted", P + "enforce-version": "v1.30"}, Policy()
    )
    assert policy.warn == LevelVersion(RESTRICTED, v1(30))
    policy, _ = policy_to_evaluate(
        {P + "enforce": "restricted", P + "warn": "privileged"}, Policy()
    )
    assert policy.warn.level == PRIVILEGED  # an explicit warn label wins


def test_bad_labels_fail_closed_for_enforce_open_for_audit_and_warn() -> None:
    policy, errs = policy_to_evaluate(
        {P + "enforce": "strict", P + "warn": "loud", P + "audit-version": "v2"}, Policy()
    )
    assert policy.enforce.level == RESTRICTED
    assert policy.warn.level == PRIVILEGED
    assert [e["field"] for e in errs] == [
        f"metadata.labels[{P}enforce]",
        f"metadata.labels[{P}audit-version]",
        f"metadata.labels[{P}warn]",
    ]
    assert errs[0]["message"] == (
        'Invalid value: "strict": must be one of privileged, baseline, restricted'
    )


def test_exemption_equivalence_and_full_privilege() -> None:
    assert Policy().fully_privileged()
    assert LevelVersion(PRIVILEGED, v1(3)).equivalent(LevelVersion(PRIVILEGED))
    assert not LevelVersion(BASELINE, v1(3)).equivalent(LevelVersion(BASELINE))


EVALUATOR = Evaluator(v1(32))
ROOTLESS = {
    "containers": [
        {
            "name": "a",
            "image": "i",
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "runAsNonRoot": True,
                "runAsUser": 0,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        }
    ]
}


def test_privileged_runs_nothing_baseline_its_checks_restricted_both() -> None:
    host = {"hostNetwork": True, "containers": [{"name": "a", "image": "i"}]}
    assert EVALUATOR.evaluate(LevelVersion(PRIVILEGED), {}, host).allowed
    baseline = EVALUATOR.evaluate(LevelVersion(BASELINE), {}, host)
    assert baseline.detail() == "host namespaces (hostNetwork=true)"
    restricted = EVALUATOR.evaluate(LevelVersion(RESTRICTED), {}, host)
    assert restricted.reason() == (
        "host namespaces, allowPrivilegeEscalation != false, unrestricted capabilities, "
        "runAsNonRoot != true, seccompProfile"
    )


def test_restricted_overrides_the_baseline_checks_it_tightens() -> None:
    """hostPath is reported once, as a restricted volume type, not also as baseline's."""
    s = {**copy.deepcopy(ROOTLESS), "volumes": [{"name": "h", "hostPath": {"path": "/"}}]}
    s["containers"][0]["securityContext"]["runAsUser"] = 1000
    result = EVALUATOR.evaluate(LevelVersion(RESTRICTED), {}, s)
    assert result.detail() == (
        'restricted volume types (volume "h" uses restricted volume type "hostPath")'
    )


def test_a_version_pins_the_checks_and_latest_is_the_servers_version() -> None:
    assert EVALUATOR.evaluate(LevelVersion(RESTRICTED, v1(22)), {}, ROOTLESS).allowed
    latest = EVALUATOR.evaluate(LevelVersion(RESTRICTED), {}, ROOTLESS)
    assert latest.reason() == "runAsUser=0"
    probe = {"containers": [{"name": "a", "livenessProbe": {"httpGet": {"host": "x"}}}]}
    # the probe-host check came in v1.34: a v1.32 server does not run it, even for v1.40
    assert EVALUATOR.evaluate(LevelVersion(BASELINE, v1(40)), {}, probe).allowed
    newer = Evaluator(v1(34))
    assert not newer.evaluate(LevelVersion(BASELINE), {}, probe).allowed
    assert newer.evaluate(LevelVersion(BASELINE, v1(33)), {}, probe).allowed


def test_pod_templates_of_every_workload_kind() -> None:
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}}
    assert pod_template("Deployment", {"spec": {"template": template}}) == (
        template["metadata"],
        template["spec"],
    )
    cron = {"spec": {"jobTemplate": {"spec": {"template": template}}}}
    assert pod_template("CronJob", cron) == (template["metadata"], template["spec"])
    assert pod_template("ReplicationController", {"spec": {}}) is None


def config(**fields: object) -> dict:
    return {
        "apiVersion": "pod-security.admission.config.k8s.io/v1",
        "kind": "PodSecurityConfiguration",
        **fields,
    }


def test_configuration_defaults_to_privileged_latest() -> None:
    parsed = parse_pod_security_configuration(config())
    assert parsed.defaults == Policy()
    assert not parsed.exemptions.namespaces


def test_configuration_parses_defaults_and_exemptions() -> None:
    parsed = parse_pod_security_configuration(
        config(
            defaults={"enforce": "baseline", "warn": "restricted", "warn-version": "v1.30"},
            exemptions={
                "namespaces": ["kube-system"],
                "usernames": ["ci"],
                "runtimeClasses": ["kata"],
            },
        )
    )
    assert parsed.defaults.enforce == LevelVersion(BASELINE)
    assert parsed.defaults.warn == LevelVersion(RESTRICTED, v1(30))
    assert parsed.exemptions.usernames == {"ci"}
    assert parsed.exemptions.runtime_classes == {"kata"}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (config(defaults={"enforce": "strict"}), 'defaults.enforce: Invalid value: "strict"'),
        (config(defaults={"audit-version": "2"}), 'defaults.audit-version: Invalid value: "2"'),
        (config(exemptions={"namespaces": ["Bad_NS"]}), "exemptions.namespaces[0]"),
        (config(exemptions={"usernames": ["a", "a"]}), 'Duplicate value: "a"'),
        (config(exemptions={"usernames": [""]}), "username must not be empty"),
        ({"kind": "Other"}, "want kind PodSecurityConfiguration"),
    ],
)
def test_configuration_errors(doc: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        parse_pod_security_configuration(doc)


def test_the_admission_configuration_names_the_plugin() -> None:
    entry = {"name": "PodSecurity", "path": "podsecurity.yaml"}
    doc = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AdmissionConfiguration",
        "plugins": [{"name": "EventRateLimit", "path": "x"}, entry],
    }
    assert plugin_entry(doc) == entry
    assert plugin_entry({**doc, "plugins": []}) is None
    with pytest.raises(ConfigurationError):
        plugin_entry({"kind": "AdmissionConfiguration", "apiVersion": "v1"})
