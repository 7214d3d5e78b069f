"""api.validation.batch: Jobs (and the JobSpec rules a CronJob's template reuses)."""

from __future__ import annotations

import copy

from api.validation import validate
from api.validation.batch import validate_job_spec
from apiserver.strategies import for_kind
from tests.unit.api.validation.objects import defaulted, fields, only

UID = "0b6a6c4e-0000-4000-8000-000000000001"


def make_job(**spec) -> dict:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default", "uid": UID},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "pi", "image": "minik/busybox:1"}],
                }
            },
            **spec,
        },
    }
    for_kind("Job").prepare_create(job)
    return defaulted("Job", job)


def test_a_defaulted_job_with_a_generated_selector_is_valid():
    job = make_job()
    assert validate("Job", job) == []
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": UID}}
    assert job["metadata"]["labels"]["job-name"] == "pi"


def test_restart_policy_must_be_on_failure_or_never():
    job = make_job()
    job["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    assert only(validate("Job", job), "spec.template.spec.restartPolicy")["message"] == (
        'Unsupported value: "Always": supported values: "OnFailure", "Never"'
    )


def test_counts_and_completion_mode():
    job = make_job(parallelism=-1, backoffLimit=-2, completionMode="Sometimes")
    causes = validate("Job", job)
    assert only(causes, "spec.parallelism")["message"] == (
        "Invalid value: -1: must be greater than or equal to 0"
    )
    assert "spec.backoffLimit" in fields(causes)
    assert only(causes, "spec.completionMode")["message"] == (
        'Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"'
    )
    indexed = make_job(parallelism=2, completionMode="Indexed")
    assert only(validate("Job", indexed), "spec.completions")["message"] == (
        "Required value: when completion mode is Indexed"
    )


def test_generated_labels_must_not_be_changed():
    job = make_job()
    job["spec"]["template"]["metadata"]["labels"]["job-name"] = "other"
    assert (
        only(validate("Job", job), "spec.template.metadata.labels[job-name]")["message"]
        == "Invalid value: \"other\": must be 'pi'"
    )
    manual = make_job(manualSelector=True, selector={"matchLabels": {"app": "x"}})
    assert "spec.template.metadata.labels" in fields(validate("Job", manual))


def test_pod_failure_policy_rules():
    rules = [
        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [0, 3, 3]}},
        {"action": "Explode", "onPodConditions": [{"type": "DisruptionTarget"}]},
        {"action": "Ignore"},
        {
            "action": "Count",
            "onExitCodes": {"containerName": "nope", "operator": "NotIn", "values": [2, 1]},
        },
    ]
    job = make_job(podFailurePolicy={"rules": rules})
    assert job["spec"]["podReplacementPolicy"] == "Failed"
    cond = job["spec"]["podFailurePolicy"]["rules"][1]["onPodConditions"][0]
    assert cond["status"] == "True"
    causes = validate("Job", job)
    path = "spec.podFailurePolicy.rules"
    assert only(causes, f"{path}[0].onExitCodes.values[0]")["message"] == (
        "Invalid value: 0: must not be 0 for the In operator"
    )
    assert only(causes, f"{path}[0].onExitCodes.values[2]")["reason"] == "FieldValueDuplicate"
    assert only(causes, f"{path}[1].action")["reason"] == "FieldValueNotSupported"
    assert only(causes, f"{path}[2]")["message"] == (
        "Required value: specifying one of OnExitCodes and OnPodConditions is required"
    )
    assert (
        "must be one of the container"
        in only(causes, f"{path}[3].onExitCodes.containerName")["message"]
    )
    assert only(causes, f"{path}[3].onExitCodes.values[1]")["message"] == (
        "Invalid value: 1: must be ordered"
    )
    on_failure = make_job(podFailurePolicy={"rules": []})
    on_failure["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    assert (
        only(validate("Job", on_failure), "spec.template.spec.restartPolicy")["message"]
        == 'Invalid value: "OnFailure": '
        'only "Never" is supported when podFailurePolicy is specified'
    )


def test_job_spec_rules_take_the_path_of_their_spec():
    job = make_job()
    spec = copy.deepcopy(job["spec"])
    spec["template"]["spec"]["restartPolicy"] = "Always"
    paths = fields(validate_job_spec(spec, "spec.jobTemplate.spec"))
    assert paths == ["spec.jobTemplate.spec.template.spec.restartPolicy"]


def test_updates_keep_selector_completions_and_template():
    old = make_job()
    new = copy.deepcopy(old)
    new["spec"]["completions"] = 4
    new["spec"]["selector"]["matchLabels"]["x"] = "y"
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "minik/busybox:2"
    causes = validate("Job", new, old)
    assert only(causes, "spec.completions")["message"] == "Invalid value: 4: field is immutable"
    assert "spec.selector" in fields(causes) and "spec.template" in fields(causes)
    new = copy.deepcopy(old)
    new["spec"]["parallelism"] = 5
    new["spec"]["suspend"] = True
    assert validate("Job", new, old) == []


def test_max_failed_indexes_needs_a_per_index_limit_and_fits_completions():
    alone = make_job(completions=3, completionMode="Indexed", maxFailedIndexes=1)
    assert only(validate("Job", alone), "spec.backoffLimitPerIndex")["message"] == (
        "Required value: when maxFailedIndexes is specified"
    )
    big = make_job(
        completions=3, completionMode="Indexed", backoffLimitPerIndex=1, maxFailedIndexes=4
    )
    assert only(validate("Job", big), "spec.maxFailedIndexes")["message"] == (
        "Invalid value: 4: must be less than or equal to completions"
    )


def test_success_policy_rules():
    indexed = {"completions": 5, "completionMode": "Indexed"}
    good = {"rules": [{"succeededIndexes": "0,2-4", "succeededCount": 2}, {"succeededCount": 1}]}
    assert validate("Job", make_job(**indexed, successPolicy=good)) == []
    plain = make_job(completions=5, successPolicy=good)
    assert only(validate("Job", plain), "spec.successPolicy")["message"].endswith(
        "requires indexed completion mode"
    )
    empty = make_job(**indexed, successPolicy={"rules": []})
    assert only(validate("Job", empty), "spec.successPolicy.rules")["message"] == (
        "Required value: at least one rules must be specified when the successPolicy is specified"
    )
    bad = {
        "rules": [
            {},
            {"succeededIndexes": "3-1"},
            {"succeededIndexes": "7"},
            {"succeededIndexes": "0-1", "succeededCount": 3},
            {"succeededCount": 6},
        ]
    }
    causes = validate("Job", make_job(**indexed, successPolicy=bad))
    rules = "spec.successPolicy.rules"
    assert only(causes, f"{rules}[0]")["message"] == (
        "Required value: at least one of succeededCount or succeededIndexes must be specified"
    )
    assert only(causes, f"{rules}[1].succeededIndexes")["message"] == (
        'Invalid value: "3-1": error parsing succeededIndexes: '
        "non-increasing order, previous: 3, current: 1"
    )
    assert only(causes, f"{rules}[2].succeededIndexes")["message"] == (
        'Invalid value: "7": error parsing succeededIndexes: too large index: "7"'
    )
    assert only(causes, f"{rules}[3].succeededCount")["message"] == (
        "Invalid value: 3: must be less than or equal to 2 "
        "(the number of indexes in the specified succeededIndexes field)"
    )
    assert only(causes, f"{rules}[4].succeededCount")["message"] == (
        "Invalid value: 6: must be less than or equal to 5 (the number of specified completions)"
    )
    old = make_job(**indexed, successPolicy=good)
    new = copy.deepcopy(old)
    new["spec"]["successPolicy"]["rules"][1]["succeededCount"] = 2
    assert "spec.successPolicy" in fields(validate("Job", new, old))


def test_a_suspended_job_that_never_started_may_change_its_scheduling():
    old = make_job(suspend=True)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    assert validate("Job", new, old) == []
    old["status"] = {"startTime": "2026-01-01T00:00:00Z"}
    assert "spec.template" in fields(validate("Job", new, old))


def make_cronjob(name: str = "tick", **spec) -> dict:
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "containers": [{"name": "c", "image": "minik/busybox:1"}],
                        }
                    }
                }
            },
            **spec,
        },
    }
    return defaulted("CronJob", cronjob)


def test_a_defaulted_cronjob_is_valid():
    assert validate("CronJob", make_cronjob()) == []
    assert validate("CronJob", make_cronjob(schedule="@hourly", timeZone="Europe/Paris")) == []
    assert validate("CronJob", make_cronjob(schedule="@every 1h30m")) == []
    assert validate("CronJob", make_cronjob("x" * 52)) == []


def test_cronjob_schedule_messages_are_robfigs():
    cause = only(validate("CronJob", make_cronjob(schedule="* * * *")), "spec.schedule")
    assert cause["message"] == (
        'Invalid value: "* * * *": expected exactly 5 fields, found 4: [* * * *]'
    )
    cause = only(validate("CronJob", make_cronjob(schedule="0 0 * JANUARY *")), "spec.schedule")
    assert "failed to parse int from JANUARY" in cause["message"]
    assert only(validate("CronJob", make_cronjob(schedule="")), "spec.schedule")["message"] == (
        "Required value"
    )
    causes = validate("CronJob", make_cronjob(schedule="TZ=UTC 0 * * * *", timeZone="UTC"))
    assert only(causes, "spec.schedule")["message"] == (
        'Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, '
        "use timeZone field instead"
    )


def test_cronjob_time_zone():
    def message(zone: str) -> str:
        return only(validate("CronJob", make_cronjob(timeZone=zone)), "spec.timeZone")["message"]

    assert (
        message("Mars/Olympus") == 'Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'
    )
    assert message("") == 'Invalid value: "": timeZone must be nil or non-empty string'
    assert message("../etc") == 'Invalid value: "../etc": unknown time zone ../etc'
    assert message("Local").endswith(  # exactly one cause: Go loads "Local"
        "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
    )


def test_cronjob_policy_limits_name_and_template():
    causes = validate(
        "CronJob",
        make_cronjob(
            "x" * 53,
            concurrencyPolicy="Sometimes",
            startingDeadlineSeconds=-1,
            successfulJobsHistoryLimit=-1,
            failedJobsHistoryLimit=-2,
        ),
    )
    assert only(causes, "spec.concurrencyPolicy")["message"] == (
        'Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"'
    )
    for field in (
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ):
        assert only(causes, f"spec.{field}")["message"].endswith(
            "must be greater than or equal to 0"
        )
    assert only(causes, "metadata.name")["message"].endswith("must be no more than 52 characters")

    bad = make_cronjob()
    job_spec = bad["spec"]["jobTemplate"]["spec"]
    job_spec.update(selector={"matchLabels": {"a": "b"}}, manualSelector=True, parallelism=-1)
    job_spec["template"]["spec"]["restartPolicy"] = "Always"
    causes = validate("CronJob", bad)
    assert fields(causes) == [
        "spec.jobTemplate.spec.parallelism",
        "spec.jobTemplate.spec.template.spec.restartPolicy",
        "spec.jobTemplate.spec.selector",
        "spec.jobTemplate.spec.manualSelector",
    ]
    assert only(causes, "spec.jobTemplate.spec.selector")["message"].endswith(
        "`selector` will be auto-generated"
    )
