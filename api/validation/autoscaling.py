"""HorizontalPodAutoscalers (pkg/apis/autoscaling/validation), autoscaling/v2 form."""

from __future__ import annotations

from api.autoscaling import METRIC_TYPES, POLICY_TYPES, SELECT_POLICIES, TARGET_TYPES
from api.validation.field import (
    Cause,
    as_dict,
    as_int,
    as_str,
    invalid,
    one_of,
    required,
)

MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_WINDOW_SECONDS = 3600


def validate_hpa(obj: dict) -> list[Cause]:
    spec = as_dict(obj.get("spec"))
    causes: list[Cause] = []
    ref = as_dict(spec.get("scaleTargetRef"))
    for key in ("kind", "name"):
        value = as_str(ref.get(key))
        if not value:
            causes.append(required(f"spec.scaleTargetRef.{key}"))
        elif "/" in value or value in (".", ".."):
            causes.append(invalid(f"spec.scaleTargetRef.{key}", value, "may not contain '/'"))
    minimum = spec.get("minReplicas")
    min_value = as_int(minimum)
    if minimum is not None and (min_value is None or min_value < 1):
        causes.append(invalid("spec.minReplicas", minimum, "must be greater than or equal to 1"))
    maximum = as_int(spec.get("maxReplicas"))
    if maximum is None or maximum < 1:
        causes.append(
            invalid("spec.maxReplicas", spec.get("maxReplicas"), "must be greater than 0")
        )
    elif min_value is not None and maximum < min_value:
        causes.append(
            invalid(
                "spec.maxReplicas",
                maximum,
                "must be greater than or equal to `minReplicas`",
            )
        )
    for i, metric in enumerate(spec.get("metrics") or []):
        causes += _metric(f"spec.metrics[{i}]", as_dict(metric))
    behavior = spec.get("behavior")
    if behavior is not None:
        for direction in ("scaleUp", "scaleDown"):
            rules = as_dict(behavior).get(direction)
            if rules is not None:
                causes += _rules(f"spec.behavior.{direction}", as_dict(rules))
    return causes


def _metric(path: str, metric: dict) -> list[Cause]:
    kind = metric.get("type")
    if not kind:
        return [required(f"{path}.type")]
    causes = one_of(f"{path}.type", kind, METRIC_TYPES)
    if kind not in ("Resource", "ContainerResource"):
        return causes
    key = "resource" if kind == "Resource" else "containerResource"
    source = metric.get(key)
    if not isinstance(source, dict):
        return [
            *causes,
            required(f"{path}.{key}", "must populate information for the given metric source"),
        ]
    if not as_str(source.get("name")):
        causes.append(required(f"{path}.{key}.name"))
    if kind == "ContainerResource" and not as_str(source.get("container")):
        causes.append(required(f"{path}.{key}.container"))
    target = as_dict(source.get("target"))
    ttype = target.get("type")
    if not ttype:
        causes.append(required(f"{path}.{key}.target.type"))
        return causes
    causes += one_of(f"{path}.{key}.target.type", ttype, TARGET_TYPES)
    if ttype == "Utilization":
        value = as_int(target.get("averageUtilization"))
        if value is None:
            causes.append(
                required(
                    f"{path}.{key}.target.averageUtilization",
                    "must set either a target raw value or a target utilization",
                )
            )
        elif value <= 0:
            causes.append(
                invalid(f"{path}.{key}.target.averageUtilization", value, "must be greater than 0")
            )
    elif ttype == "AverageValue" and target.get("averageValue") is None:
        causes.append(
            required(
                f"{path}.{key}.target.averageValue",
                "must set either a target raw value or a target utilization",
            )
        )
    elif ttype == "Value":
        causes.append(
            invalid(
                f"{path}.{key}.target.type",
                ttype,
                "must be either Utilization or AverageValue",
            )
        )
    return causes


def _rules(path: str, rules: dict) -> list[Cause]:
    causes: list[Cause] = []
    window = rules.get("stabilizationWindowSeconds")
    window_value = as_int(window)
    if window is not None and (
        window_value is None or not 0 <= window_value <= MAX_STABILIZATION_WINDOW_SECONDS
    ):
        causes.append(
            invalid(
                f"{path}.stabilizationWindowSeconds",
                window,
                f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"
                if (window_value or 0) > 0
                else "must be greater than or equal to zero",
            )
        )
    if rules.get("selectPolicy") is not None:
        causes += one_of(f"{path}.selectPolicy", rules["selectPolicy"], SELECT_POLICIES)
    policies = rules.get("policies")
    if policies is not None and not policies:
        causes.append(required(f"{path}.policies", "must specify at least one Policy"))
    for i, policy in enumerate(policies or []):
        p = as_dict(policy)
        where = f"{path}.policies[{i}]"
        causes += one_of(f"{where}.type", p.get("type"), POLICY_TYPES)
        value = as_int(p.get("value"))
        if value is None or value <= 0:
            causes.append(invalid(f"{where}.value", p.get("value"), "must be greater than zero"))
        period = as_int(p.get("periodSeconds"))
        if period is None or period <= 0:
            causes.append(
                invalid(
                    f"{where}.periodSeconds", p.get("periodSeconds"), "must be greater than zero"
                )
            )
        elif period > MAX_PERIOD_SECONDS:
            causes.append(
                invalid(
                    f"{where}.periodSeconds",
                    period,
                    f"must be less than or equal to {MAX_PERIOD_SECONDS}",
                )
            )
    return causes
