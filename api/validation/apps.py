"""Deployments, ReplicaSets, DaemonSets and ControllerRevisions (pkg/apis/apps/validation):
replicas, selectors that match their template, rolling-update strategies, the immutable
selector, and a revision's immutable data."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from api import labels as lbl
from api.errors import ApiError
from api.validation.field import (
    IMMUTABLE,
    Cause,
    GoText,
    as_dict,
    as_int,
    as_list,
    forbidden,
    go_string_map,
    invalid,
    nonnegative,
    not_supported,
    required,
)
from api.validation.meta import (
    go_label_selector,
    validate_annotations,
    validate_label_selector,
    validate_labels,
)
from api.validation.pods import comparable, validate_pod_spec


def _int_or_percent(path: str, value: Any) -> tuple[int, list[Cause]]:
    """(numeric value, causes) for a maxSurge/maxUnavailable; bad strings count as 0."""
    if isinstance(value, str):
        if re.fullmatch(r"[0-9]+%", value):
            return int(value[:-1]), []
        return 0, [
            invalid(
                path,
                value,
                lbl.regex_error(
                    "a valid percent string must be a numeric string followed by an ending '%'",
                    "[0-9]+%",
                    "1%",
                    "93%",
                ),
            )
        ]
    number = as_int(value)
    if number is None:
        return 0, [invalid(path, value, "must be an integer or percentage (e.g '5%')")]
    return number, nonnegative(path, number)


def _strategy(strategy: Any, path: str) -> list[Cause]:
    strategy = as_dict(strategy)
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            return [
                forbidden(
                    f"{path}.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            ]
        return []
    if kind != "RollingUpdate":
        return [not_supported(f"{path}.type", kind, ("Recreate", "RollingUpdate"))]
    if rolling is None:
        return [required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
    rp = f"{path}.rollingUpdate"
    rolling = as_dict(rolling)
    unavailable, causes = _int_or_percent(f"{rp}.maxUnavailable", rolling.get("maxUnavailable"))
    surge, surge_causes = _int_or_percent(f"{rp}.maxSurge", rolling.get("maxSurge"))
    causes += surge_causes
    if unavailable == 0 and surge == 0:
        causes.append(
            invalid(
                f"{rp}.maxUnavailable",
                rolling.get("maxUnavailable"),
                "may not be 0 when `maxSurge` is 0",
            )
        )
    max_unavailable = rolling.get("maxUnavailable")
    if isinstance(max_unavailable, str) and max_unavailable.endswith("%") and unavailable > 100:
        causes.append(
            invalid(f"{rp}.maxUnavailable", max_unavailable, "must not be greater than 100%")
        )
    return causes


def _selector_and_template(spec: dict, selector_word: str, deadline_word: str) -> list[Cause]:
    """What every apps/v1 workload checks alike: a non-empty selector matching the
    template's labels, a valid pod template that restarts Always, no deadline."""
    causes: list[Cause] = []
    selector = spec.get("selector")
    if selector is None:
        causes.append(required("spec.selector"))
    else:
        causes += validate_label_selector(selector, "spec.selector")
        sel = as_dict(selector)
        if not as_dict(sel.get("matchLabels")) and not as_list(sel.get("matchExpressions")):
            causes.append(
                invalid(
                    "spec.selector",
                    go_label_selector(selector),
                    f"empty selector is invalid for {selector_word}",
                )
            )
    try:
        matcher: lbl.LabelSelector | None = lbl.from_label_selector(selector)
    except ApiError:
        matcher = None
        causes.append(
            invalid("spec.selector", go_label_selector(selector), "invalid label selector")
        )
    template = as_dict(spec.get("template"))
    selects = None if matcher is None or matcher.empty else matcher.matches
    return causes + validate_replica_template(
        template, selects, "`selector` does not match template `labels`", deadline_word
    )


def validate_replica_template(
    template: dict,
    selects: Callable[[dict], bool] | None,
    mismatch: str,
    deadline_word: str,
) -> list[Cause]:
    """The pod template of a controller of replicas (apps/v1 workloads and
    ReplicationControllers): labels its selector matches (`selects`; None skips the
    check, worded `mismatch` when it fails), valid metadata, a pod spec that restarts
    Always and has no deadline."""
    causes: list[Cause] = []
    template_md = as_dict(template.get("metadata"))
    template_labels = template_md.get("labels")
    if selects is not None and not selects(as_dict(template_labels)):
        shown = GoText(
            go_string_map(template_labels if isinstance(template_labels, dict) else None)
        )
        causes.append(invalid("spec.template.metadata.labels", shown, mismatch))
    causes += validate_labels(template_labels, "spec.template.metadata.labels")
    causes += validate_annotations(
        template_md.get("annotations"), "spec.template.metadata.annotations"
    )
    pod_spec = as_dict(template.get("spec"))
    causes += validate_pod_spec(pod_spec, "spec.template.spec", is_pod=False)
    restart = pod_spec.get("restartPolicy")
    if restart not in (None, "", "Always"):
        causes.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        causes.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                f"activeDeadlineSeconds in {deadline_word} is not Supported",
            )
        )
    return causes


def validate_workload(obj: dict, is_deployment: bool) -> list[Cause]:
    """Deployment and ReplicaSet specs: selector, template, counts, strategy."""
    spec = as_dict(obj.get("spec"))
    causes = nonnegative("spec.replicas", spec.get("replicas"))
    causes += nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    causes += _selector_and_template(spec, "deployment", "ReplicaSet")
    if is_deployment:
        causes += _strategy(spec.get("strategy"), "spec.strategy")
        causes += nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
        deadline = as_int(spec.get("progressDeadlineSeconds"))
        if deadline is not None:
            causes += nonnegative("spec.progressDeadlineSeconds", deadline)
            if deadline <= (as_int(spec.get("minReadySeconds")) or 0):
                causes.append(
                    invalid(
                        "spec.progressDeadlineSeconds",
                        deadline,
                        "must be greater than minReadySeconds",
                    )
                )
    return causes


def validate_selector_update(new: dict, old: dict) -> list[Cause]:
    """apps/v1 workload selectors cannot change (nil and empty maps count as equal)."""
    new_sel, old_sel = (
        as_dict(new.get("spec")).get("selector"),
        as_dict(old.get("spec")).get("selector"),
    )
    if comparable(as_dict(new_sel)) != comparable(as_dict(old_sel)) or (new_sel is None) != (
        old_sel is None
    ):
        return [invalid("spec.selector", go_label_selector(new_sel), IMMUTABLE)]
    return []


def validate_daemonset(obj: dict) -> list[Cause]:
    """ValidateDaemonSetSpec: selector and template as every workload, then the
    update strategy and the counts."""
    spec = as_dict(obj.get("spec"))
    causes = _selector_and_template(spec, "daemonset", "DaemonSet")
    causes += nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    causes += _daemonset_strategy(spec.get("updateStrategy"), "spec.updateStrategy")
    causes += nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    return causes


def _daemonset_strategy(strategy: Any, path: str) -> list[Cause]:
    strategy = as_dict(strategy)
    kind = strategy.get("type")
    if kind == "OnDelete":
        return []
    if kind != "RollingUpdate":
        return [not_supported(path, kind, ("RollingUpdate", "OnDelete"))]
    rolling = strategy.get("rollingUpdate")
    if rolling is None:
        return [required(f"{path}.rollingUpdate")]
    rp = f"{path}.rollingUpdate"
    rolling = as_dict(rolling)
    causes: list[Cause] = []
    present: dict[str, bool] = {}
    for name in ("maxUnavailable", "maxSurge"):
        value = rolling.get(name)
        number, problems = _int_or_percent(f"{rp}.{name}", value)
        present[name] = value is not None and (number != 0 or bool(problems))
        if present[name]:
            causes += problems
            if isinstance(value, str) and value.endswith("%") and number > 100:
                causes.append(invalid(f"{rp}.{name}", value, "must not be greater than 100%"))
    if present["maxUnavailable"] and present["maxSurge"]:
        causes.append(
            invalid(
                f"{rp}.maxSurge",
                rolling.get("maxSurge"),
                "may not be set when maxUnavailable is non-zero",
            )
        )
    elif not present["maxUnavailable"] and not present["maxSurge"]:
        causes.append(required(f"{rp}.maxUnavailable", "cannot be 0 when maxSurge is 0"))
    return causes


def validate_controller_revision(obj: dict) -> list[Cause]:
    """ValidateControllerRevision: data is mandatory, revision not negative."""
    causes = [] if obj.get("data") is not None else [required("data", "data is mandatory")]
    return causes + nonnegative("revision", obj.get("revision"))


def validate_controller_revision_update(new: dict, old: dict) -> list[Cause]:
    """A revision's data is a snapshot: it never changes."""
    if new.get("data") != old.get("data"):
        return [invalid("data", GoText("{}"), IMMUTABLE)]
    return []


STATEFULSET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
STATEFULSET_SPEC_FORBIDDEN = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
    "'minReadySeconds' are forbidden"
)


def validate_statefulset(obj: dict) -> list[Cause]:
    """ValidateStatefulSetSpec: pod management and update strategy enums, the claim
    retention policy, counts, then selector and template as every workload."""
    spec = as_dict(obj.get("spec"))
    causes: list[Cause] = []
    policy = spec.get("podManagementPolicy")
    if policy in (None, ""):
        causes.append(required("spec.podManagementPolicy"))
    elif policy not in ("OrderedReady", "Parallel"):
        causes.append(
            invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")
        )
    causes += _statefulset_strategy(as_dict(spec.get("updateStrategy")))
    retention = spec.get("persistentVolumeClaimRetentionPolicy")
    if retention is not None:
        path = "spec.persistentVolumeClaimRetentionPolicy"
        for name in ("whenDeleted", "whenScaled"):
            value = as_dict(retention).get(name)
            if value not in ("Retain", "Delete"):
                causes.append(not_supported(f"{path}.{name}", value, ("Retain", "Delete")))
    causes += nonnegative("spec.replicas", spec.get("replicas"))
    causes += nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    ordinals = spec.get("ordinals")
    if ordinals is not None:
        causes += nonnegative("spec.ordinals.start", as_dict(ordinals).get("start"))
    causes += nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    causes += _selector_and_template(_with_claim_volumes(spec), "statefulset", "StatefulSet")
    for i, claim in enumerate(as_list(spec.get("volumeClaimTemplates"))):
        if not as_dict(as_dict(claim).get("metadata")).get("name"):
            causes.append(required(f"spec.volumeClaimTemplates[{i}].metadata.name"))
    return causes


def _with_claim_volumes(spec: dict) -> dict:
    """The spec as its pods will have it: each volumeClaimTemplate is a volume of its
    name (Kubernetes skips the pod spec of a StatefulSet's template for want of this;
    minik checks it with the claims in place, so mounts of claims resolve)."""
    names = [
        as_dict(as_dict(c).get("metadata")).get("name")
        for c in as_list(spec.get("volumeClaimTemplates"))
    ]
    names = [n for n in names if isinstance(n, str) and n]
    template = as_dict(spec.get("template"))
    pod_spec = as_dict(template.get("spec"))
    if not names or not isinstance(template.get("spec"), dict):
        return spec
    volumes = [v for v in as_list(pod_spec.get("volumes")) if as_dict(v).get("name") not in names]
    volumes += [{"name": n, "persistentVolumeClaim": {"claimName": f"{n}-0"}} for n in names]
    return {**spec, "template": {**template, "spec": {**pod_spec, "volumes": volumes}}}


def _statefulset_strategy(strategy: dict) -> list[Cause]:
    path = "spec.updateStrategy"
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if kind in (None, ""):
        return [required(path)]
    if kind == "OnDelete":
        if rolling is not None:
            return [
                invalid(
                    f"{path}.rollingUpdate",
                    GoText("{}"),
                    "only allowed for updateStrategy 'RollingUpdate'",
                )
            ]
        return []
    if kind != "RollingUpdate":
        return [invalid(path, kind, "must be 'RollingUpdate' or 'OnDelete'")]
    if rolling is None:
        return []
    rp = f"{path}.rollingUpdate"
    causes = nonnegative(f"{rp}.partition", as_dict(rolling).get("partition"))
    max_unavailable = as_dict(rolling).get("maxUnavailable")
    if max_unavailable is not None:
        number, problems = _int_or_percent(f"{rp}.maxUnavailable", max_unavailable)
        causes += problems
        if not problems and number == 0:
            causes.append(
                invalid(f"{rp}.maxUnavailable", max_unavailable, "must be greater than 0")
            )
        if isinstance(max_unavailable, str) and max_unavailable.endswith("%") and number > 100:
            causes.append(
                invalid(f"{rp}.maxUnavailable", max_unavailable, "must not be greater than 100%")
            )
    return causes


def validate_statefulset_update(new: dict, old: dict) -> list[Cause]:
    """ValidateStatefulSetUpdate: only the mutable spec fields may change."""
    new_spec = {k: v for k, v in as_dict(new.get("spec")).items() if k not in STATEFULSET_MUTABLE}
    old_spec = {k: v for k, v in as_dict(old.get("spec")).items() if k not in STATEFULSET_MUTABLE}
    if comparable(new_spec) != comparable(old_spec):
        return [forbidden("spec", STATEFULSET_SPEC_FORBIDDEN)]
    return []
