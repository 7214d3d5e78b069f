"""A PodDisruptionBudget's arithmetic (Kubernetes' disruption controller), without I/O:
how many pods are expected (a count for an integer minAvailable, else the scale of the
pods' controllers), how many must stay healthy, which recent evictions still count as
gone, and the status that follows."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.disruption import (
    DELETION_TIMEOUT,
    DISRUPTION_ALLOWED,
    SYNC_FAILED,
    conditions_up_to_date,
    is_pod_ready,
    scaled_value,
    set_status_condition,
    update_disruption_allowed_condition,
)
from api.timefmt import parse_time

Obj = dict[str, Any]
# (controller uid, its desired replicas) for a pod's controller reference, or None when
# no controller minik knows is found
ScaleFinder = Callable[[Obj], "tuple[str, int] | None"]


class ExpectedCountError(Exception):
    """The expected pod count cannot be calculated (a pod's controller is unknown)."""


@dataclass
class Expected:
    expected: int
    desired_healthy: int
    unmanaged: list[str] = field(default_factory=list)


def _controller_ref(pod: Obj) -> Obj | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref
    return None


def expected_scale(pods: list[Obj], find_scale: ScaleFinder) -> tuple[int, list[str]]:
    """getExpectedScale: the sum of the scales of the pods' controllers (each counted
    once), and the names of pods no controller owns."""
    scales: dict[str, int] = {}
    unmanaged: list[str] = []
    for pod in pods:
        ref = _controller_ref(pod)
        name = (pod.get("metadata") or {}).get("name") or ""
        if ref is None:
            unmanaged.append(name)
            continue
        if ref.get("uid") in scales:
            continue
        found = find_scale(pod)
        if found is None:
            raise ExpectedCountError(f'found no controllers for pod "{name}"')
        scales[found[0]] = found[1]
    return sum(scales.values()), unmanaged


def expected_count(pdb: Obj, pods: list[Obj], find_scale: ScaleFinder) -> Expected:
    """getExpectedPodCount: (expected pods, desired healthy, unmanaged pods)."""
    spec = pdb.get("spec") or {}
    max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
    try:
        if max_unavailable is not None:
            expected, unmanaged = expected_scale(pods, find_scale)
            unavailable = scaled_value(max_unavailable, expected, True)
            return Expected(expected, max(0, expected - unavailable), unmanaged)
        if min_available is not None:
            if isinstance(min_available, int) and not isinstance(min_available, bool):
                return Expected(len(pods), min_available)
            expected, unmanaged = expected_scale(pods, find_scale)
            return Expected(expected, scaled_value(min_available, expected, True), unmanaged)
    except ValueError as err:
        raise ExpectedCountError(str(err)) from err
    return Expected(0, 0)


def disrupted_pod_map(
    pdb: Obj, pods: list[Obj], now: float
) -> tuple[dict[str, str], float | None, list[Obj]]:
    """buildDisruptedPodMap: the evictions still pending (the pod is there, not yet
    being deleted, evicted less than DELETION_TIMEOUT ago), when to look again, and the
    pods whose eviction timed out without a delete."""
    recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
    result: dict[str, str] = {}
    recheck: float | None = None
    not_deleted: list[Obj] = []
    if not isinstance(recorded, dict):
        return result, recheck, not_deleted
    for pod in pods:
        md = pod.get("metadata") or {}
        if md.get("deletionTimestamp"):
            continue
        name = md.get("name") or ""
        stamp = recorded.get(name)
        if stamp is None:
            continue
        at = parse_time(stamp)
        expected_deletion = (at or 0.0) + DELETION_TIMEOUT
        if expected_deletion < now:
            not_deleted.append(pod)
            continue
        if recheck is None or expected_deletion < recheck:
            recheck = expected_deletion
        result[name] = stamp
    return result, recheck, not_deleted


def count_healthy(pods: list[Obj], disrupted: dict[str, str], now: float) -> int:
    """countHealthyPods: ready pods that are neither being deleted nor just evicted."""
    healthy = 0
    for pod in pods:
        md = pod.get("metadata") or {}
        if md.get("deletionTimestamp"):
            continue
        stamp = disrupted.get(md.get("name") or "")
        if stamp is not None and (parse_time(stamp) or 0.0) + DELETION_TIMEOUT > now:
            continue
        if is_pod_ready(pod):
            healthy += 1
    return healthy


def new_status(
    pdb: Obj,
    current_healthy: int,
    desired_healthy: int,
    expected: int,
    disrupted: dict[str, str],
    now: float | None = None,
) -> Obj | None:
    """updatePdbStatus: the status to write, or None when the stored one says it all.
    No disruption is allowed while no pod is expected (a budget whose pods have not
    appeared yet is safe when they do)."""
    allowed = current_healthy - desired_healthy
    if expected <= 0 or allowed <= 0:
        allowed = 0
    status = pdb.get("status") or {}
    generation = int((pdb.get("metadata") or {}).get("generation") or 0)
    if (
        int(status.get("currentHealthy") or 0) == current_healthy
        and int(status.get("desiredHealthy") or 0) == desired_healthy
        and int(status.get("expectedPods") or 0) == expected
        and int(status.get("disruptionsAllowed") or 0) == allowed
        and (status.get("disruptedPods") or {}) == disrupted
        and int(status.get("observedGeneration") or 0) == generation
        and conditions_up_to_date(pdb)
    ):
        return None
    fresh: Obj = {
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": current_healthy,
        "desiredHealthy": desired_healthy,
        "expectedPods": expected,
        "conditions": copy.deepcopy(status.get("conditions") or []),
    }
    if disrupted:
        fresh["disruptedPods"] = dict(disrupted)
    update_disruption_allowed_condition(fresh, now)
    return fresh


def fail_safe_status(pdb: Obj, message: str, now: float | None = None) -> Obj:
    """failSafe: no disruption allowed, and the condition says why."""
    status = copy.deepcopy(pdb.get("status") or {})
    status["disruptionsAllowed"] = 0
    conditions = status.setdefault("conditions", [])
    set_status_condition(
        conditions,
        {
            "type": DISRUPTION_ALLOWED,
            "status": "False",
            "reason": SYNC_FAILED,
            "message": message,
            "observedGeneration": int(status.get("observedGeneration") or 0),
        },
        now,
    )
    return status
