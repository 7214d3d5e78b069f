"""controller.job.perindex: backoffLimitPerIndex and maxFailedIndexes, as Kubernetes'
indexed_job_utils counts an index's failures."""

from __future__ import annotations

from typing import Any

from controller.job.perindex import (
    enabled,
    failed_indexes,
    failure_reason,
    index_failed,
    last_failed_pods,
    remaining_backoff,
    replacement_counts,
)
from controller.job.pods import pod_from_job

COUNT = "batch.kubernetes.io/job-index-failure-count"
IGNORED = "batch.kubernetes.io/job-index-ignored-failure-count"
INDEX = "batch.kubernetes.io/job-completion-index"


def job(**spec: Any) -> dict:
    return {
        "metadata": {"name": "pi", "namespace": "ns", "uid": "j1"},
        "spec": {
            "completions": 4,
            "parallelism": 2,
            "completionMode": "Indexed",
            "backoffLimitPerIndex": 1,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main"}]}},
            **spec,
        },
        "status": {},
    }


def pod(index: int, phase: str, failures: int = 0, exit_code: int = 1, **extra: str) -> dict:
    annotations = {INDEX: str(index), COUNT: str(failures), **extra}
    terminated = {"exitCode": exit_code, "finishedAt": "2026-01-01T00:00:00Z"}
    return {
        "metadata": {"name": f"pi-{index}-x{failures}", "annotations": annotations},
        "status": {
            "phase": phase,
            "containerStatuses": [{"name": "main", "state": {"terminated": terminated}}],
        },
    }


FINISHED = 1767225600.0  # 2026-01-01T00:00:00Z


def test_only_indexed_jobs_with_a_per_index_limit():
    assert enabled(job())
    assert not enabled(job(backoffLimitPerIndex=None))
    assert not enabled(job(completionMode="NonIndexed"))


def test_an_index_fails_once_its_budget_is_used():
    assert not index_failed(job(), pod(0, "Failed", failures=0))  # one retry left
    assert index_failed(job(), pod(0, "Failed", failures=1))
    assert index_failed(job(backoffLimitPerIndex=0), pod(0, "Failed", failures=0))
    assert not index_failed(job(), pod(0, "Succeeded", failures=5))
    assert not index_failed(job(), pod(0, "Running", failures=5))


def test_pod_failure_policy_fail_index_and_ignore():
    rules = [
        {"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [42]}},
        {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [3]}},
    ]
    policy = {"rules": rules}
    assert index_failed(job(podFailurePolicy=policy), pod(0, "Failed", exit_code=42))
    assert not index_failed(job(podFailurePolicy=policy), pod(0, "Failed", failures=9, exit_code=3))


def test_failed_indexes_join_the_status_ones():
    pods = [pod(1, "Failed", failures=1), pod(2, "Failed"), pod(3, "Succeeded")]
    assert failed_indexes(job(), pods) == {1}
    assert failed_indexes({**job(), "status": {"failedIndexes": "0,3"}}, pods) == {0, 1, 3}


def test_a_replacement_carries_one_more_failure():
    assert replacement_counts(job(), None) == (0, 0)
    assert replacement_counts(job(), pod(0, "Failed", failures=1)) == (2, 0)
    policy = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [3]}}]}
    ignored = pod(0, "Failed", exit_code=3, **{IGNORED: "1"})
    assert replacement_counts(job(podFailurePolicy=policy), ignored) == (0, 2)


def test_the_latest_failed_pod_of_each_index():
    first, second = pod(0, "Failed", failures=0), pod(0, "Failed", failures=1)
    latest = last_failed_pods(job(), [second, first, pod(1, "Succeeded")], FINISHED)
    assert latest == {0: second}


def test_per_index_back_off_doubles_from_ten_seconds():
    assert remaining_backoff(None, FINISHED) == 0.0
    assert remaining_backoff(pod(0, "Failed"), FINISHED + 4) == 6.0
    assert remaining_backoff(pod(0, "Failed", failures=1), FINISHED + 4) == 16.0
    assert remaining_backoff(pod(0, "Failed"), FINISHED + 30) == 0.0


def test_why_failed_indexes_fail_the_job():
    assert failure_reason(job(), set(), {0, 1, 2, 3}) is None
    assert failure_reason(job(), {1}, {0}) is None  # indexes 2 and 3 still to run
    assert failure_reason(job(), {1}, {0, 2, 3}) == ("FailedIndexes", "Job has failed indexes")
    reason, message = failure_reason(job(maxFailedIndexes=1), {0, 1}, set()) or ("", "")
    assert reason == "MaxFailedIndexesExceeded"
    assert message == "Job has exceeded the specified maximal number of failed indexes"
    assert failure_reason(job(maxFailedIndexes=1), {0}, set()) is None


def test_pods_carry_their_index_failures():
    owner = {"uid": "j1"}
    fresh = pod_from_job(job(), owner, 2, (0, 0))
    assert fresh["metadata"]["annotations"][COUNT] == "0"
    assert IGNORED not in fresh["metadata"]["annotations"]
    again = pod_from_job(job(), owner, 2, (1, 2))
    assert again["metadata"]["annotations"][COUNT] == "1"
    assert again["metadata"]["annotations"][IGNORED] == "2"
    plain = pod_from_job(job(backoffLimitPerIndex=None), owner, 2)
    assert COUNT not in plain["metadata"]["annotations"]


def test_a_pod_failed_without_container_times_counts_from_its_creation():
    failed = pod(0, "Failed")
    failed["status"]["containerStatuses"] = []
    failed["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    assert remaining_backoff(failed, FINISHED + 4) == 6.0
