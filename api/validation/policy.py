"""policy/v1 PodDisruptionBudgets (pkg/apis/policy/validation): minAvailable and
maxUnavailable are each a non-negative integer or a percentage of at most 100%, and
not both; the selector is a valid label selector; unhealthyPodEvictionPolicy is one
Kubernetes knows."""

from __future__ import annotations

from typing import Any

from api.validation.apps import _int_or_percent
from api.validation.field import Cause, GoText, as_dict, invalid, not_supported
from api.validation.meta import validate_label_selector

UNHEALTHY_POD_EVICTION_POLICIES = ("AlwaysAllow", "IfHealthyBudget")


def _positive_int_or_percent(path: str, value: Any) -> list[Cause]:
    """ValidatePositiveIntOrPercent and IsNotMoreThan100Percent."""
    number, causes = _int_or_percent(path, value)
    if isinstance(value, str) and not causes and number > 100:
        causes.append(invalid(path, value, "must not be greater than 100%"))
    return causes


def validate_pod_disruption_budget(obj: dict) -> list[Cause]:
    spec = as_dict(obj.get("spec"))
    causes: list[Cause] = []
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if min_available is not None and max_unavailable is not None:
        shown = GoText(
            f"policy.PodDisruptionBudgetSpec{{MinAvailable:{min_available!r}, "
            f"MaxUnavailable:{max_unavailable!r}}}"
        )
        causes.append(invalid("spec", shown, "minAvailable and maxUnavailable cannot be both set"))
    if min_available is not None:
        causes += _positive_int_or_percent("spec.minAvailable", min_available)
    if max_unavailable is not None:
        causes += _positive_int_or_percent("spec.maxUnavailable", max_unavailable)
    if spec.get("selector") is not None:
        causes += validate_label_selector(spec.get("selector"), "spec.selector")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        causes.append(
            not_supported(
                "spec.unhealthyPodEvictionPolicy", policy, UNHEALTHY_POD_EVICTION_POLICIES
            )
        )
    return causes
