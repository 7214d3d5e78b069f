"""Which finished Jobs a CronJob keeps: the newest `successfulJobsHistoryLimit`
complete ones and `failedJobsHistoryLimit` failed ones (Kubernetes'
cleanupFinishedJobs); the oldest by start time go first, Jobs never started last."""

from __future__ import annotations

from typing import Any

from api.batch import COMPLETE, FAILED
from api.timefmt import parse_time
from controller.job.sync import condition_true


def finished_condition(job: dict[str, Any]) -> str | None:
    """The Job's finishing condition (Complete or Failed) when it is True, else None."""
    for condition in (COMPLETE, FAILED):
        if condition_true(job, condition):
            return condition
    return None


def _start_order(job: dict[str, Any]) -> tuple[bool, float, str]:
    started = parse_time((job.get("status") or {}).get("startTime"))
    return (started is None, started or 0.0, str(job["metadata"].get("name", "")))


def oldest_beyond(jobs: list[dict[str, Any]], keep: int) -> list[dict[str, Any]]:
    """removeOldestJobs: the jobs to delete so that only `keep` remain."""
    excess = len(jobs) - keep
    if excess <= 0:
        return []
    return sorted(jobs, key=_start_order)[:excess]


def jobs_to_delete(cronjob: dict[str, Any], jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The finished Jobs past the CronJob's history limits (an unset limit keeps all)."""
    spec = cronjob.get("spec") or {}
    doomed: list[dict[str, Any]] = []
    for condition, limit in (
        (COMPLETE, spec.get("successfulJobsHistoryLimit")),
        (FAILED, spec.get("failedJobsHistoryLimit")),
    ):
        if limit is not None:
            doomed += oldest_beyond(
                [j for j in jobs if finished_condition(j) == condition], int(limit)
            )
    return doomed
