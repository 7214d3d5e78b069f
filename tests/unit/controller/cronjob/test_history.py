"""controller/cronjob/history.py: which finished Jobs a CronJob deletes."""

from __future__ import annotations

from typing import Any

from controller.cronjob import history


def job(name: str, condition: str | None, started: str | None) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if started:
        status["startTime"] = started
    if condition:
        status["conditions"] = [{"type": condition, "status": "True"}]
    return {"metadata": {"name": name}, "status": status}


def names(jobs: list[dict[str, Any]]) -> list[str]:
    return [j["metadata"]["name"] for j in jobs]


def test_finished_condition() -> None:
    assert history.finished_condition(job("a", "Complete", None)) == "Complete"
    assert history.finished_condition(job("a", "Failed", None)) == "Failed"
    assert history.finished_condition(job("a", None, None)) is None
    suspended = {"status": {"conditions": [{"type": "Suspended", "status": "True"}]}}
    assert history.finished_condition(suspended) is None
    assert (
        history.finished_condition(
            {"status": {"conditions": [{"type": "Complete", "status": "False"}]}}
        )
        is None
    )


def test_oldest_by_start_time_go_first_never_started_last() -> None:
    jobs = [
        job("c", "Complete", "2024-01-01T10:03:00Z"),
        job("never", "Complete", None),
        job("a", "Complete", "2024-01-01T10:01:00Z"),
        job("b", "Complete", "2024-01-01T10:02:00Z"),
    ]
    assert names(history.oldest_beyond(jobs, 2)) == ["a", "b"]
    assert names(history.oldest_beyond(jobs, 0)) == ["a", "b", "c", "never"]
    assert history.oldest_beyond(jobs, 4) == []


def test_limits_apply_per_outcome_and_running_jobs_stay() -> None:
    cronjob = {"spec": {"successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 0}}
    jobs = [
        job("ok1", "Complete", "2024-01-01T10:01:00Z"),
        job("ok2", "Complete", "2024-01-01T10:02:00Z"),
        job("bad", "Failed", "2024-01-01T10:00:00Z"),
        job("running", None, "2024-01-01T09:00:00Z"),
    ]
    assert names(history.jobs_to_delete(cronjob, jobs)) == ["ok1", "bad"]


def test_unset_limits_keep_everything() -> None:
    jobs = [job(f"j{i}", "Complete", f"2024-01-01T10:0{i}:00Z") for i in range(5)]
    assert history.jobs_to_delete({"spec": {}}, jobs) == []
