"""The ReplicaSet controller's pure decisions: which pods to delete first and what
status to report (controller/util/pods.py makes the pods and batches their creation).
No I/O, so each is unit-tested alone."""

from __future__ import annotations

import functools
from collections import Counter
from typing import Any

from api.timefmt import parse_time, rfc3339
from controller.util.pods import (
    available_at,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    node_name,
    ready_since,
    restart_count,
)

Obj = dict[str, Any]

BURST_REPLICAS = 500  # at most this many creates or deletes per sync
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


# ---- which pods go first ---------------------------------------------------------


def _compare_for_deletion(a: tuple[Obj, int], b: tuple[Obj, int]) -> int:
    """Negative when pod `a` should be deleted before `b` (ActivePodsWithRanks.Less):
    unscheduled, then pending/unknown phase, then not ready, then doubled up on a
    node, then ready for less time, then more restarts, then newer."""
    (pa, rank_a), (pb, rank_b) = a, b
    na, nb = node_name(pa), node_name(pb)
    if na != nb and (not na or not nb):
        return -1 if not na else 1
    phase_a = _PHASE_ORDER.get((pa.get("status") or {}).get("phase") or "", 3)
    phase_b = _PHASE_ORDER.get((pb.get("status") or {}).get("phase") or "", 3)
    if phase_a != phase_b:
        return -1 if phase_a < phase_b else 1
    ready_a, ready_b = is_pod_ready(pa), is_pod_ready(pb)
    if ready_a != ready_b:
        return -1 if not ready_a else 1
    if rank_a != rank_b:
        return -1 if rank_a > rank_b else 1
    if ready_a and ready_b:
        order = _later_first(ready_since(pa), ready_since(pb))
        if order:
            return order
    restarts_a, restarts_b = restart_count(pa), restart_count(pb)
    if restarts_a != restarts_b:
        return -1 if restarts_a > restarts_b else 1
    created_a = parse_time((pa.get("metadata") or {}).get("creationTimestamp"))
    created_b = parse_time((pb.get("metadata") or {}).get("creationTimestamp"))
    return _later_first(created_a, created_b)


def _later_first(a: float | None, b: float | None) -> int:
    """Missing times first, then the later one (afterOrZero)."""
    if a == b:
        return 0
    if a is None:
        return -1
    if b is None:
        return 1
    return -1 if a > b else 1


def pods_to_delete(pods: list[Obj], related: list[Obj], count: int) -> list[Obj]:
    """The `count` pods a scale-down removes. `related` are the active pods of all
    ReplicaSets with the same controller: a pod sharing its node with many of them
    goes first, spreading what stays."""
    if count >= len(pods):
        return list(pods)
    per_node = Counter(node_name(p) for p in related if is_pod_active(p))
    ranked = sorted(
        ((p, per_node[node_name(p)]) for p in pods),
        key=functools.cmp_to_key(_compare_for_deletion),
    )
    return [p for p, _ in ranked[:count]]


# ---- status ------------------------------------------------------------------------


def calculate_status(rs: Obj, pods: list[Obj], manage_error: Exception | None, now: float) -> Obj:
    """The status the ReplicaSet should report for its active, claimed `pods`."""
    spec = rs.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    fully_labeled = sum(
        1
        for p in pods
        if all(
            ((p.get("metadata") or {}).get("labels") or {}).get(k) == v
            for k, v in template_labels.items()
        )
    )
    ready = [p for p in pods if is_pod_ready(p)]
    available = [p for p in ready if is_pod_available(p, min_ready, now)]
    old = rs.get("status") or {}
    conditions = [c for c in old.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
    failure = next(
        (c for c in old.get("conditions") or [] if c.get("type") == "ReplicaFailure"), None
    )
    if manage_error is not None:
        if failure is None:
            diff = len(pods) - int(spec.get("replicas", 1))
            reason = "FailedCreate" if diff < 0 else "FailedDelete"
            failure = {
                "type": "ReplicaFailure",
                "status": "True",
                "reason": reason,
                "message": str(manage_error),
                "lastTransitionTime": rfc3339(now),
            }
        conditions.append(failure)
    status: Obj = {
        "replicas": len(pods),
        "fullyLabeledReplicas": fully_labeled,
        "readyReplicas": len(ready),
        "availableReplicas": len(available),
        "observedGeneration": old.get("observedGeneration"),
        "conditions": conditions,
    }
    return prune_status(status)


def prune_status(status: Obj) -> Obj:
    """Drop zero and empty fields as Kubernetes' `omitempty` does (`replicas` stays)."""
    return {k: v for k, v in status.items() if k == "replicas" or v not in (None, 0, [], {})}


def next_availability_check(rs: Obj, pods: list[Obj], now: float) -> float | None:
    """Seconds until the next ready pod passes `minReadySeconds`, if one is waiting."""
    min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
    if min_ready <= 0:
        return None
    waits = [
        at - now
        for p in pods
        if (at := available_at(p, min_ready)) is not None
        and not is_pod_available(p, min_ready, now)
    ]
    return max(0.0, min(waits)) if waits else None
