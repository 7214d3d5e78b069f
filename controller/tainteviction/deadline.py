"""When a pod must leave a node with NoExecute taints (Kubernetes' taint manager's
getMinTolerationTime), as pure functions; the controller schedules the eviction."""

from __future__ import annotations

from typing import Any

from api.taints import NO_EXECUTE, tolerates
from api.timefmt import parse_time

Obj = dict[str, Any]


def no_execute_taints(node: Obj) -> list[Obj]:
    return [
        t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == NO_EXECUTE
    ]


def eviction_deadline(
    tolerations: list[Obj], taints: list[Obj], first_seen: dict[str, float], now: float
) -> float | None:
    """When a pod with `tolerations` must leave a node with NoExecute `taints`: now if
    some taint is not tolerated; else the earliest end of a toleration's
    `tolerationSeconds`, counted from when the taint was added; None if it may stay
    for good. `first_seen` (taint key → time) stands in for a missing timeAdded."""
    deadline: float | None = None
    for taint in taints:
        match = next((t for t in tolerations if tolerates(t, taint)), None)
        if match is None:
            return now
        seconds = match.get("tolerationSeconds")
        if seconds is None:
            continue
        start = parse_time(taint.get("timeAdded")) or first_seen.get(taint.get("key", ""), now)
        end = start + max(0, int(seconds))
        deadline = end if deadline is None else min(deadline, end)
    return deadline
