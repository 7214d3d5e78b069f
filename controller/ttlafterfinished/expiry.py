"""When a finished Job expires (Kubernetes' ttlafterfinished helpers): its
`ttlSecondsAfterFinished` after the time its Complete or Failed condition turned
True (the completion time when that is missing)."""

from __future__ import annotations

from typing import Any

from api.batch import COMPLETE, FAILED
from api.timefmt import parse_time

Obj = dict[str, Any]


def finish_time(job: Obj) -> float | None:
    """When the Job finished; None while it runs."""
    status = job.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("type") in (COMPLETE, FAILED) and cond.get("status") == "True":
            when = parse_time(cond.get("lastTransitionTime"))
            return when if when is not None else parse_time(status.get("completionTime"))
    return None


def needs_cleanup(job: Obj) -> bool:
    """A finished Job with a TTL, not already being deleted."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    deleting = (job.get("metadata") or {}).get("deletionTimestamp")
    return ttl is not None and not deleting and finish_time(job) is not None


def time_left(job: Obj, now: float) -> float | None:
    """Seconds until the Job expires (<= 0: it has), None when it never does."""
    if not needs_cleanup(job):
        return None
    finished = finish_time(job)
    assert finished is not None
    return finished + int((job.get("spec") or {})["ttlSecondsAfterFinished"]) - now
