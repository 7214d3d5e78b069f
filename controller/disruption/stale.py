"""Stale DisruptionTarget conditions (Kubernetes' disruption controller,
syncStalePodDisruption): an eviction marks the pod DisruptionTarget=True just before
deleting it; if the delete never happened (it lost a race, and the eviction answered
429), the pod is not going after all, and after two minutes the controller sets the
condition back to False so nothing (a Job's podFailurePolicy) mistakes it for a
disrupted pod."""

from __future__ import annotations

import copy
from typing import Any

from api.timefmt import parse_time, rfc3339

Obj = dict[str, Any]

DISRUPTION_TARGET = "DisruptionTarget"
TERMINATION_BY_KUBELET = "TerminationByKubelet"
STALE_POD_DISRUPTION_TIMEOUT = 120.0


def _condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == DISRUPTION_TARGET:
            return dict(cond)
    return None


def stale_disruption_wait(
    pod: Obj, now: float, timeout: float = STALE_POD_DISRUPTION_TIMEOUT
) -> float | None:
    """nonTerminatingPodHasStaleDisruptionCondition: None when the pod has no
    condition to clean (being deleted, finished, set by the kubelet, or not True);
    else the seconds until it is stale (0: now)."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return None
    cond = _condition(pod)
    phase = (pod.get("status") or {}).get("phase")
    if (
        cond is None
        or cond.get("status") != "True"
        or cond.get("reason") == TERMINATION_BY_KUBELET
        or phase in ("Succeeded", "Failed")
    ):
        return None
    since = parse_time(cond.get("lastTransitionTime")) or 0.0
    return max(0.0, timeout - (now - since))


def with_condition_cleared(pod: Obj, now: float) -> Obj:
    """The pod with DisruptionTarget set to False (only type, status and time, as
    Kubernetes' apply of the status does)."""
    cleared = copy.deepcopy(pod)
    status = cleared.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != DISRUPTION_TARGET]
    conditions.append(
        {"type": DISRUPTION_TARGET, "status": "False", "lastTransitionTime": rfc3339(now)}
    )
    status["conditions"] = conditions
    return cleared
