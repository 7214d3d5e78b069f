"""PodDisruptionBudget vocabulary shared by the eviction API (apiserver) and the
disruption controller: which pods a budget covers, the `DisruptionAllowed` condition
(component-helpers' poddisruptionbudget package), and the 429 an eviction gets when
a budget says no. Pure functions on the JSON shapes."""

from __future__ import annotations

from typing import Any

from api.errors import ApiError
from api.labels import LabelSelector, from_label_selector
from api.timefmt import rfc3339

Obj = dict[str, Any]

DISRUPTION_ALLOWED = "DisruptionAllowed"
SUFFICIENT_PODS = "SufficientPods"
INSUFFICIENT_PODS = "InsufficientPods"
SYNC_FAILED = "SyncFailed"
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"
# policy/v1 unhealthyPodEvictionPolicy values
IF_HEALTHY_BUDGET = "IfHealthyBudget"
ALWAYS_ALLOW = "AlwaysAllow"
# The eviction API refuses once this many evictions await the controller's notice.
MAX_DISRUPTED_POD_SIZE = 2000
# An evicted pod not deleted within this long counts as healthy again.
DELETION_TIMEOUT = 120.0

EVICTION_REFUSED = "Cannot evict pod as it would violate the pod's disruption budget."
MULTIPLE_BUDGETS = (
    "This pod has more than one PodDisruptionBudget, which the eviction subresource does "
    "not support."
)


def budget_selector(pdb: Obj) -> LabelSelector:
    """The budget's selector: none matches nothing, an empty one every pod (policy/v1).
    Raises ApiError for a selector that does not parse."""
    return from_label_selector((pdb.get("spec") or {}).get("selector"))


def is_pod_ready(pod: Obj) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def set_status_condition(conditions: list[Obj], new: Obj, now: float | None = None) -> None:
    """apimachinery's meta.SetStatusCondition: the transition time moves only when the
    status changes; reason, message and observedGeneration always follow."""
    for existing in conditions:
        if existing.get("type") == new["type"]:
            if existing.get("status") != new["status"]:
                existing["status"] = new["status"]
                existing["lastTransitionTime"] = rfc3339(now)
            existing["reason"] = new.get("reason", "")
            existing["message"] = new.get("message", "")
            existing["observedGeneration"] = new.get("observedGeneration", 0)
            return
    conditions.append({**new, "lastTransitionTime": rfc3339(now)})


def update_disruption_allowed_condition(status: Obj, now: float | None = None) -> None:
    """UpdateDisruptionAllowedCondition, on a budget's status in place."""
    allowed = int(status.get("disruptionsAllowed") or 0) > 0
    conditions = status.setdefault("conditions", [])
    set_status_condition(
        conditions,
        {
            "type": DISRUPTION_ALLOWED,
            "status": "True" if allowed else "False",
            "reason": SUFFICIENT_PODS if allowed else INSUFFICIENT_PODS,
            "message": "",
            "observedGeneration": int(status.get("observedGeneration") or 0),
        },
        now,
    )


def conditions_up_to_date(pdb: Obj) -> bool:
    """ConditionsAreUpToDate: the condition says what disruptionsAllowed says."""
    status = pdb.get("status") or {}
    cond = next(
        (c for c in status.get("conditions") or [] if c.get("type") == DISRUPTION_ALLOWED), None
    )
    if cond is None:
        return False
    generation = int((pdb.get("metadata") or {}).get("generation") or 0)
    if int(status.get("observedGeneration") or 0) != generation:
        return False
    if int(status.get("disruptionsAllowed") or 0) > 0:
        return cond.get("status") == "True" and cond.get("reason") == SUFFICIENT_PODS
    return cond.get("status") == "False" and cond.get("reason") == INSUFFICIENT_PODS


def too_many_requests(cause_message: str) -> ApiError:
    """The 429 an eviction gets while a budget allows no disruption."""
    return ApiError(
        429,
        EVICTION_REFUSED,
        "TooManyRequests",
        {"causes": [{"reason": DISRUPTION_BUDGET_CAUSE, "message": cause_message}]},
    )


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, "N%" of `total`."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if not text.endswith("%") or not text[:-1].isdigit():
        raise ValueError(f"invalid value for IntOrString: invalid value {text!r}")
    percent = int(text[:-1])
    whole, rest = divmod(percent * total, 100)
    return whole + (1 if round_up and rest else 0)
