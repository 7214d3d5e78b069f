"""Jobs (pkg/apis/batch/validation): a JobSpec's counts, completion mode, selector and
pod template (restartPolicy OnFailure or Never), the pod failure policy, the labels and
selector the server generated, and which fields an update may not change.

`validate_job_spec(spec, path)` is also what a CronJob's `jobTemplate.spec` is checked
with. CronJobs: the schedule as robfig/cron parses it (api.cron), the time zone, the
concurrency policy, the history limits and the 52-character name limit."""

from __future__ import annotations

import re
from typing import Any

from api import cron
from api import labels as lbl
from api.batch import (
    CONTROLLER_UID_LABEL,
    JOB_NAME_LABEL,
    LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL,
)
from api.errors import ApiError
from api.validation.field import (
    IMMUTABLE,
    Cause,
    GoText,
    as_dict,
    as_int,
    as_list,
    cause,
    duplicate,
    go_string_map,
    invalid,
    nonnegative,
    not_supported,
    one_of,
    required,
)
from api.validation.meta import (
    go_label_selector,
    validate_annotations,
    validate_label_selector,
    validate_labels,
)
from api.validation.pods import comparable, validate_pod_spec

COMPLETION_MODES = ("NonIndexed", "Indexed")
RESTART_POLICIES = ("OnFailure", "Never")
POD_REPLACEMENT_POLICIES = ("TerminatingOrFailed", "Failed")
FAILURE_POLICY_ACTIONS = ("Count", "FailIndex", "FailJob", "Ignore")
EXIT_CODE_OPERATORS = ("In", "NotIn")
CONDITION_STATUSES = ("True", "False", "Unknown")
MAX_INDEXED_COMPLETIONS = 100_000
MAX_FAILURE_POLICY_RULES = 20
MAX_SUCCESS_POLICY_RULES = 20
MAX_EXIT_CODE_VALUES = 255
# What a suspended Job that never started may still change in its template
# (Kubernetes' mutable scheduling directives).
MUTABLE_SCHEDULING_DIRECTIVES = ("nodeSelector", "affinity", "tolerations", "schedulingGates")


def too_many(path: str, count: int, limit: int) -> Cause:
    return cause("FieldValueTooMany", path, f"Too many: {count}: must have at most {limit} items")


def _template_labels_match(spec: dict, path: str) -> list[Cause]:
    selector = spec.get("selector")
    if selector is None:
        return [required(f"{path}.selector")]
    causes = validate_label_selector(selector, f"{path}.selector")
    try:
        matcher = lbl.from_label_selector(selector)
    except ApiError:
        return causes
    template_labels = as_dict(as_dict(spec.get("template")).get("metadata")).get("labels")
    if not matcher.empty and not matcher.matches(as_dict(template_labels)):
        shown = GoText(
            go_string_map(template_labels if isinstance(template_labels, dict) else None)
        )
        causes.append(
            invalid(
                f"{path}.template.metadata.labels",
                shown,
                "`selector` does not match template `labels`",
            )
        )
    return causes


def _counts(spec: dict, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for name in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
    ):
        causes += nonnegative(f"{path}.{name}", spec.get(name))
    deadline = as_int(spec.get("activeDeadlineSeconds"))
    if deadline is not None and deadline == 0:
        causes.append(invalid(f"{path}.activeDeadlineSeconds", deadline, "must be greater than 0"))
    return causes


def _completion_mode(spec: dict, path: str) -> list[Cause]:
    mode = spec.get("completionMode")
    if mode is None:
        return []
    if mode not in COMPLETION_MODES:
        return [not_supported(f"{path}.completionMode", mode, COMPLETION_MODES)]
    causes: list[Cause] = []
    completions, parallelism = as_int(spec.get("completions")), as_int(spec.get("parallelism"))
    if mode == "Indexed":
        if completions is None:
            causes.append(required(f"{path}.completions", "when completion mode is Indexed"))
        elif completions > MAX_INDEXED_COMPLETIONS:
            causes.append(
                invalid(
                    f"{path}.completions",
                    completions,
                    f"must be less than or equal to {MAX_INDEXED_COMPLETIONS} "
                    "when completion mode is Indexed",
                )
            )
        if parallelism is not None and parallelism > MAX_INDEXED_COMPLETIONS:
            causes.append(
                invalid(
                    f"{path}.parallelism",
                    parallelism,
                    f"must be less than or equal to {MAX_INDEXED_COMPLETIONS} "
                    "when completion mode is Indexed",
                )
            )
    else:
        for name in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if spec.get(name) is not None:
                causes.append(
                    invalid(
                        f"{path}.{name}",
                        spec.get(name),
                        "requires indexed completion mode",
                    )
                )
    return causes


def _per_index_limits(spec: dict, path: str) -> list[Cause]:
    """maxFailedIndexes needs backoffLimitPerIndex and is at most `completions`."""
    limit = as_int(spec.get("maxFailedIndexes"))
    if limit is None:
        return []
    causes: list[Cause] = []
    if spec.get("backoffLimitPerIndex") is None:
        causes.append(
            required(f"{path}.backoffLimitPerIndex", "when maxFailedIndexes is specified")
        )
    completions = as_int(spec.get("completions"))
    if spec.get("completionMode") == "Indexed" and completions is not None and limit > completions:
        causes.append(
            invalid(f"{path}.maxFailedIndexes", limit, "must be less than or equal to completions")
        )
    return causes


def indexes_format(text: str, completions: int) -> tuple[int, str | None]:
    """validateIndexesFormat: how many indexes an interval string ("1,3-5") holds, or
    why it does not parse (increasing, below `completions`)."""
    total, previous = 0, -1
    if not text:
        return 0, None
    for part in text.split(","):
        bounds = part.split("-")
        if len(bounds) > 2:
            return 0, (
                f'the fragment "{part}" violates the requirement that an index interval '
                "can have at most two parts"
            )
        numbers: list[int] = []
        for bound in bounds:
            if not bound.isdigit():
                return 0, f'cannot convert string to integer for index: "{bound}"'
            number = int(bound)
            if number >= completions:
                return 0, f'too large index: "{bound}"'
            numbers.append(number)
        if numbers[0] <= previous:
            return 0, f"non-increasing order, previous: {previous}, current: {numbers[0]}"
        if len(numbers) == 2 and numbers[1] <= numbers[0]:
            return 0, f"non-increasing order, previous: {numbers[0]}, current: {numbers[1]}"
        total += numbers[-1] - numbers[0] + 1
        previous = numbers[-1]
    return total, None


def _success_policy(spec: dict, path: str) -> list[Cause]:
    """validateSuccessPolicy: Indexed Jobs only; 1-20 rules, each with succeededIndexes
    (a valid interval string) and/or a succeededCount that fits."""
    policy = spec.get("successPolicy")
    if policy is None:
        return []
    path = f"{path}.successPolicy"
    if spec.get("completionMode") != "Indexed":
        return [invalid(path, GoText("{...}"), "requires indexed completion mode")]
    rules = as_list(as_dict(policy).get("rules"))
    rules_path = f"{path}.rules"
    causes: list[Cause] = []
    if not rules:
        causes.append(
            required(
                rules_path,
                "at least one rules must be specified when the successPolicy is specified",
            )
        )
    if len(rules) > MAX_SUCCESS_POLICY_RULES:
        causes.append(too_many(rules_path, len(rules), MAX_SUCCESS_POLICY_RULES))
    completions = as_int(spec.get("completions")) or 0
    for i, rule in enumerate(rules):
        rule = as_dict(rule)
        rule_path = f"{rules_path}[{i}]"
        indexes, count = rule.get("succeededIndexes"), as_int(rule.get("succeededCount"))
        if indexes is None and count is None:
            causes.append(
                required(
                    rule_path,
                    "at least one of succeededCount or succeededIndexes must be specified",
                )
            )
        total = 0
        if indexes is not None:
            total, error = indexes_format(str(indexes), completions)
            if error is not None:
                causes.append(
                    invalid(
                        f"{rule_path}.succeededIndexes",
                        indexes,
                        f"error parsing succeededIndexes: {error}",
                    )
                )
        if count is not None:
            count_path = f"{rule_path}.succeededCount"
            causes += nonnegative(count_path, count)
            if count > completions:
                causes.append(
                    invalid(
                        count_path,
                        count,
                        f"must be less than or equal to {completions} "
                        "(the number of specified completions)",
                    )
                )
            if indexes is not None and count > total:
                causes.append(
                    invalid(
                        count_path,
                        count,
                        f"must be less than or equal to {total} "
                        "(the number of indexes in the specified succeededIndexes field)",
                    )
                )
    return causes


def _exit_codes(rule_path: str, requirement: dict, containers: set[Any]) -> list[Cause]:
    causes: list[Cause] = []
    path = f"{rule_path}.onExitCodes"
    name = requirement.get("containerName")
    if name is not None and name not in containers:
        causes.append(
            invalid(
                f"{path}.containerName",
                name,
                "must be one of the container or initContainer names in the pod template",
            )
        )
    operator = requirement.get("operator")
    if operator not in EXIT_CODE_OPERATORS:
        causes.append(not_supported(f"{path}.operator", operator, EXIT_CODE_OPERATORS))
    values = as_list(requirement.get("values"))
    if not values:
        causes.append(required(f"{path}.values", "at least one value is required"))
    elif len(values) > MAX_EXIT_CODE_VALUES:
        causes.append(too_many(f"{path}.values", len(values), MAX_EXIT_CODE_VALUES))
    seen: set[int] = set()
    previous: int | None = None
    for j, value in enumerate(values):
        vp = f"{path}.values[{j}]"
        if operator == "In" and value == 0:
            causes.append(invalid(vp, value, "must not be 0 for the In operator"))
        if value in seen:
            causes.append(duplicate(vp, value))
        if previous is not None and isinstance(value, int) and previous > value:
            causes.append(invalid(vp, value, "must be ordered"))
        if isinstance(value, int):
            seen.add(value)
            previous = value
    return causes


def _pod_conditions(rule_path: str, patterns: list) -> list[Cause]:
    causes: list[Cause] = []
    for j, pattern in enumerate(patterns):
        pp = f"{rule_path}.onPodConditions[{j}]"
        pattern = as_dict(pattern)
        if not pattern.get("type"):
            causes.append(required(f"{pp}.type"))
        status = pattern.get("status")
        if status not in CONDITION_STATUSES:
            causes.append(not_supported(f"{pp}.status", status, CONDITION_STATUSES))
    return causes


def _pod_failure_policy(spec: dict, path: str) -> list[Cause]:
    policy = spec.get("podFailurePolicy")
    if policy is None:
        return []
    causes: list[Cause] = []
    pod_spec = as_dict(as_dict(spec.get("template")).get("spec"))
    restart = pod_spec.get("restartPolicy")
    if restart != "Never":
        causes.append(
            invalid(
                f"{path}.template.spec.restartPolicy",
                restart,
                'only "Never" is supported when podFailurePolicy is specified',
            )
        )
    containers: set[Any] = {
        as_dict(c).get("name")
        for key in ("containers", "initContainers")
        for c in as_list(pod_spec.get(key))
    }
    rules_path = f"{path}.podFailurePolicy.rules"
    rules = as_list(as_dict(policy).get("rules"))
    if len(rules) > MAX_FAILURE_POLICY_RULES:
        causes.append(too_many(rules_path, len(rules), MAX_FAILURE_POLICY_RULES))
    for i, rule in enumerate(rules):
        rp = f"{rules_path}[{i}]"
        rule = as_dict(rule)
        action = rule.get("action")
        if action not in FAILURE_POLICY_ACTIONS:
            causes.append(not_supported(f"{rp}.action", action, FAILURE_POLICY_ACTIONS))
        elif action == "FailIndex" and spec.get("backoffLimitPerIndex") is None:
            causes.append(
                invalid(
                    f"{rp}.action",
                    action,
                    "requires the backoffLimitPerIndex to be set",
                )
            )
        exit_codes, conditions = rule.get("onExitCodes"), rule.get("onPodConditions")
        if exit_codes is not None and conditions:
            causes.append(
                invalid(
                    rp,
                    GoText("{...}"),
                    "specifying both OnExitCodes and OnPodConditions is not supported",
                )
            )
        elif exit_codes is None and not conditions:
            causes.append(
                required(rp, "specifying one of OnExitCodes and OnPodConditions is required")
            )
        if exit_codes is not None:
            causes += _exit_codes(rp, as_dict(exit_codes), containers)
        causes += _pod_conditions(rp, as_list(conditions))
    return causes


def _pod_replacement_policy(spec: dict, path: str) -> list[Cause]:
    policy = spec.get("podReplacementPolicy")
    if policy is None:
        return []
    if spec.get("podFailurePolicy") is not None and policy != "Failed":
        return [not_supported(f"{path}.podReplacementPolicy", policy, ("Failed",))]
    if policy not in POD_REPLACEMENT_POLICIES:
        return [not_supported(f"{path}.podReplacementPolicy", policy, POD_REPLACEMENT_POLICIES)]
    return []


def validate_job_spec(spec: Any, path: str, *, in_template: bool = False) -> list[Cause]:
    """ValidateJobSpec: counts, completion mode, selector matching the template, the pod
    template (OnFailure or Never), the pod failure and replacement policies. `path` is
    where the spec lives (`spec` for a Job, `spec.jobTemplate.spec` for a CronJob).
    `in_template` (a CronJob's jobTemplate, Kubernetes' validateJobSpec) skips the
    selector: the Job made from it gets a generated one."""
    spec = as_dict(spec)
    causes = _counts(spec, path)
    causes += _completion_mode(spec, path)
    if not in_template:
        causes += _template_labels_match(spec, path)
    template = as_dict(spec.get("template"))
    template_md = as_dict(template.get("metadata"))
    causes += validate_labels(template_md.get("labels"), f"{path}.template.metadata.labels")
    causes += validate_annotations(
        template_md.get("annotations"), f"{path}.template.metadata.annotations"
    )
    pod_spec = as_dict(template.get("spec"))
    causes += validate_pod_spec(pod_spec, f"{path}.template.spec", is_pod=False)
    restart = pod_spec.get("restartPolicy")
    if restart not in RESTART_POLICIES:
        causes.append(
            not_supported(f"{path}.template.spec.restartPolicy", restart, RESTART_POLICIES)
        )
    causes += _pod_failure_policy(spec, path)
    causes += _pod_replacement_policy(spec, path)
    causes += _per_index_limits(spec, path)
    causes += _success_policy(spec, path)
    return causes


def _generated_selector(obj: dict) -> list[Cause]:
    """ValidateGeneratedSelector: unless `manualSelector`, the template carries the job's
    uid and name labels and the selector selects the uid."""
    spec = as_dict(obj.get("spec"))
    if spec.get("manualSelector") is True:
        return []
    md = as_dict(obj.get("metadata"))
    uid, name = md.get("uid", ""), md.get("name", "")
    labels = as_dict(as_dict(as_dict(spec.get("template")).get("metadata")).get("labels"))
    causes: list[Cause] = []
    for key, want in (
        (LEGACY_CONTROLLER_UID_LABEL, uid),
        (LEGACY_JOB_NAME_LABEL, name),
        (CONTROLLER_UID_LABEL, uid),
        (JOB_NAME_LABEL, name),
    ):
        if labels.get(key) != want:
            causes.append(
                invalid(
                    f"spec.template.metadata.labels[{key}]",
                    labels.get(key, ""),
                    f"must be '{want}'",
                )
            )
    selector = spec.get("selector")
    if selector is None:
        return causes
    try:
        matcher = lbl.from_label_selector(selector)
    except ApiError:
        return causes
    if as_dict(as_dict(selector).get("matchLabels")).get(
        CONTROLLER_UID_LABEL
    ) != uid or not matcher.matches({CONTROLLER_UID_LABEL: uid}):
        causes.append(
            invalid("spec.selector", go_label_selector(selector), "`selector` not auto-generated")
        )
    return causes


def validate_job(obj: dict) -> list[Cause]:
    """A Job on create and update: its spec and, unless manual, the generated selector."""
    return _generated_selector(obj) + validate_job_spec(obj.get("spec"), "spec")


def _scheduling_free(template: Any) -> Any:
    """The template without what a suspended, never-started Job may change."""
    template = dict(as_dict(template))
    metadata = dict(as_dict(template.get("metadata")))
    for key in ("labels", "annotations"):
        metadata.pop(key, None)
    template["metadata"] = metadata
    pod_spec = dict(as_dict(template.get("spec")))
    for key in MUTABLE_SCHEDULING_DIRECTIVES:
        pod_spec.pop(key, None)
    template["spec"] = pod_spec
    return comparable(template)


def validate_job_update(new: dict, old: dict) -> list[Cause]:
    """ValidateJobSpecUpdate: the selector, completion mode, failure policy and (but for
    an elastic Indexed Job) completions are immutable; the template too, except the
    scheduling directives of a suspended Job that never started."""
    spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    causes: list[Cause] = []
    immutable = ("selector", "completionMode", "podFailurePolicy", "backoffLimitPerIndex")
    for name in (*immutable, "successPolicy"):
        if comparable(spec.get(name)) != comparable(old_spec.get(name)):
            shown = go_label_selector(spec.get(name)) if name == "selector" else spec.get(name)
            causes.append(invalid(f"spec.{name}", shown, IMMUTABLE))
    if spec.get("completions") != old_spec.get("completions"):
        elastic = spec.get("completionMode") == "Indexed"
        if not elastic:
            causes.append(invalid("spec.completions", spec.get("completions"), IMMUTABLE))
        elif spec.get("completions") != spec.get("parallelism"):
            causes.append(
                invalid(
                    "spec.completions",
                    spec.get("completions"),
                    "can only be modified in tandem with spec.parallelism",
                )
            )
    template, old_template = spec.get("template"), old_spec.get("template")
    if comparable(template) != comparable(old_template):
        never_started = not as_dict(old.get("status")).get("startTime")
        may_change = old_spec.get("suspend") is True and never_started
        if not may_change or _scheduling_free(template) != _scheduling_free(old_template):
            causes.append(invalid("spec.template", GoText("{...}"), IMMUTABLE))
    return causes


# --- CronJobs -------------------------------------------------------------------------

CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
# A CronJob's Jobs are named `<cronjob>-<11 characters of time>`, within 63.
CRONJOB_NAME_MAX = 52
_TIME_ZONE_PART = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")


def _schedule(spec: dict, path: str) -> list[Cause]:
    schedule = spec.get("schedule")
    if not schedule:
        return [required(path)]
    text = str(schedule)
    causes: list[Cause] = []
    try:
        cron.parse(text)
    except cron.ScheduleError as err:
        causes.append(invalid(path, text, str(err)))
    if "TZ" in text:
        detail = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
        causes.append(invalid(path, text, detail))
    return causes


def _time_zone(zone: Any, path: str) -> list[Cause]:
    """validateTimeZone: an explicit IANA name this machine knows."""
    if zone is None:
        return []
    text = str(zone)
    if not text:
        return [invalid(path, text, "timeZone must be nil or non-empty string")]
    for part in text.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TIME_ZONE_PART.fullmatch(part):
            return [invalid(path, text, f"unknown time zone {text}")]
    causes: list[Cause] = []
    if text.lower() == "local":
        detail = (
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
        )
        causes.append(invalid(path, text, detail))
    if text == "Local":  # Go's LoadLocation knows it: the message above is the only one
        return causes
    try:
        cron.load_zone(text)
    except ValueError as err:
        causes.append(invalid(path, text, str(err)))
    return causes


def _job_template(template: Any, path: str) -> list[Cause]:
    """ValidateJobTemplateSpec: the Job spec, whose selector the Job will generate."""
    spec = as_dict(as_dict(template).get("spec"))
    causes = validate_job_spec(spec, f"{path}.spec", in_template=True)
    if spec.get("selector") is not None:
        shown = go_label_selector(spec["selector"])
        causes.append(invalid(f"{path}.spec.selector", shown, "`selector` will be auto-generated"))
    if spec.get("manualSelector") is True:
        causes.append(not_supported(f"{path}.spec.manualSelector", True, ("nil", "false")))
    return causes


def validate_cronjob(obj: dict) -> list[Cause]:
    """ValidateCronJobCreate: the schedule as robfig/cron parses it (no TZ= in it: the
    timeZone field says where), the time zone, the concurrency policy, the non-negative
    deadline and history limits, the job template, and a name that leaves room for the
    Jobs' time suffix. (Updates re-check the same: a stored CronJob already passed.)"""
    spec = as_dict(obj.get("spec"))
    causes = _schedule(spec, "spec.schedule")
    causes += nonnegative("spec.startingDeadlineSeconds", spec.get("startingDeadlineSeconds"))
    causes += _time_zone(spec.get("timeZone"), "spec.timeZone")
    causes += one_of("spec.concurrencyPolicy", spec.get("concurrencyPolicy"), CONCURRENCY_POLICIES)
    causes += _job_template(spec.get("jobTemplate"), "spec.jobTemplate")
    for limit in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        causes += nonnegative(f"spec.{limit}", spec.get(limit))
    name = as_dict(obj.get("metadata")).get("name")
    if isinstance(name, str) and len(name) > CRONJOB_NAME_MAX:
        causes.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    return causes
