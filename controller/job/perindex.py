"""`backoffLimitPerIndex` and `maxFailedIndexes` of Indexed Jobs (Kubernetes'
indexed_job_utils): each index has its own failure budget. A pod carries the failures
of its index before it in the `job-index-failure-count` annotation, its replacement
one more; an index whose pod fails with no budget left (or by a podFailurePolicy
FailIndex rule) is failed for good, listed in `status.failedIndexes` and never run
again. Replacements wait the index's own back-off (10 s, doubling per failure).
No I/O."""

from __future__ import annotations

from typing import Any

from api.batch import INDEX_FAILURE_COUNT_ANNOTATION, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION
from api.timefmt import parse_time
from controller.job import failurepolicy
from controller.job.backoff import DEFAULT_BACKOFF, MAX_BACKOFF
from controller.job.indexes import parse_indexes, pod_index
from controller.job.pods import counts_as_failed, finish_time, phase

Obj = dict[str, Any]

MAX_FAILED_INDEXES_EXCEEDED = (
    "MaxFailedIndexesExceeded",
    "Job has exceeded the specified maximal number of failed indexes",
)
FAILED_INDEXES = ("FailedIndexes", "Job has failed indexes")


def enabled(job: Obj) -> bool:
    spec = job.get("spec") or {}
    return spec.get("completionMode") == "Indexed" and spec.get("backoffLimitPerIndex") is not None


def _annotation_count(pod: Obj, key: str) -> int:
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(key)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def failure_count(pod: Obj) -> int:
    """The counted failures of the pod's index before this pod."""
    return _annotation_count(pod, INDEX_FAILURE_COUNT_ANNOTATION)


def ignored_failure_count(pod: Obj) -> int:
    return _annotation_count(pod, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION)


def _only_failed(job: Obj) -> bool:
    return (job.get("spec") or {}).get("podReplacementPolicy") == "Failed"


def index_failed(job: Obj, pod: Obj) -> bool:
    """isIndexFailed: the pod failed and either a FailIndex rule matched or its index
    has used up backoffLimitPerIndex."""
    if not counts_as_failed(pod, _only_failed(job)):
        return False
    spec = job.get("spec") or {}
    counted = True
    policy = spec.get("podFailurePolicy")
    if policy is not None and phase(pod) == "Failed":
        found = failurepolicy.match(policy, pod)
        if found is not None and found.action == "FailIndex":
            return True
        counted = found is None or found.action not in ("Ignore",)
    return counted and failure_count(pod) >= int(spec.get("backoffLimitPerIndex") or 0)


def failed_indexes(job: Obj, pods: list[Obj]) -> set[int]:
    """The indexes failed so far: those in the status, and those of failed pods."""
    spec, status = job.get("spec") or {}, job.get("status") or {}
    completions = int(spec.get("completions") or 0)
    found = parse_indexes(status.get("failedIndexes"), completions)
    for pod in pods:
        index = pod_index(pod)
        if index is not None and index < completions and index_failed(job, pod):
            found.add(index)
    return found


def last_failed_pods(job: Obj, pods: list[Obj], now: float) -> dict[int, Obj]:
    """Per index, its latest failed pod (the one a replacement follows)."""
    latest: dict[int, Obj] = {}
    for pod in pods:
        index = pod_index(pod)
        if index is None or not counts_as_failed(pod, _only_failed(job)):
            continue
        known = latest.get(index)
        if known is None or _order(pod, now) > _order(known, now):
            latest[index] = pod
    return latest


def _order(pod: Obj, now: float) -> tuple[int, float]:
    return failure_count(pod) + ignored_failure_count(pod), failed_at(pod, now)


def failed_at(pod: Obj, now: float) -> float:
    """getFinishedTime: its containers' latest finish, else when it was deleted, else
    its creation (a pod failed by something else than a kubelet), else now."""
    md = pod.get("metadata") or {}
    fallback = parse_time(md.get("deletionTimestamp")) or parse_time(md.get("creationTimestamp"))
    return finish_time(pod, now if fallback is None else fallback)


def replacement_counts(job: Obj, replaced: Obj | None) -> tuple[int, int]:
    """getNewIndexFailureCounts: (failures, ignored failures) of the index for the pod
    that replaces `replaced` (None: the index's first pod)."""
    if replaced is None:
        return 0, 0
    failures, ignored = failure_count(replaced), ignored_failure_count(replaced)
    policy = (job.get("spec") or {}).get("podFailurePolicy")
    found = failurepolicy.match(policy, replaced) if phase(replaced) == "Failed" else None
    if found is not None and found.action == "Ignore":
        ignored += 1
    else:
        failures += 1
    return failures, ignored


def remaining_backoff(replaced: Obj | None, now: float) -> float:
    """getRemainingTimePerIndex: seconds before the index may get a new pod."""
    if replaced is None:
        return 0.0
    failures = failure_count(replaced) + ignored_failure_count(replaced) + 1
    delay = min(DEFAULT_BACKOFF * 2 ** (failures - 1), MAX_BACKOFF)
    return max(0.0, failed_at(replaced, now) + delay - now)


def failure_reason(job: Obj, failed: set[int], completed: set[int]) -> tuple[str, str] | None:
    """Why the Job fails for its failed indexes: more than maxFailedIndexes, or every
    index finished and some failed."""
    spec = job.get("spec") or {}
    limit = spec.get("maxFailedIndexes")
    if limit is not None and len(failed) > int(limit):
        return MAX_FAILED_INDEXES_EXCEEDED
    if failed and len(failed | completed) >= int(spec.get("completions") or 0):
        return FAILED_INDEXES
    return None
