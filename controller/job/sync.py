"""The Job controller's pure decisions (kube-controller-manager's job controller):
which finished pods are new to count, how many pods should run, whether the Job has
met its success criteria or must fail, and the conditions it then carries. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.batch import (
    COMPLETE,
    FAILED,
    FAILURE_TARGET,
    SUCCESS_CRITERIA_MET,
    SUSPENDED,
)
from api.timefmt import parse_time, rfc3339
from controller.job import failurepolicy, perindex, successpolicy
from controller.job.pods import (
    counts_as_failed,
    has_finalizer,
    is_active,
    phase,
    restarts,
    uid,
)

Obj = dict[str, Any]

COMPLETIONS_REACHED = ("CompletionsReached", "Reached expected number of succeeded pods")
BACKOFF_LIMIT_EXCEEDED = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("DeadlineExceeded", "Job was active longer than specified deadline")
POD_FAILURE_POLICY = "PodFailurePolicy"


@dataclass(frozen=True)
class Finish:
    """A Job that met its success criteria or must fail: the interim condition
    (SuccessCriteriaMet / FailureTarget) and then the final one (Complete / Failed)."""

    succeeded: bool
    reason: str
    message: str

    @property
    def interim_type(self) -> str:
        return SUCCESS_CRITERIA_MET if self.succeeded else FAILURE_TARGET

    @property
    def final_type(self) -> str:
        return COMPLETE if self.succeeded else FAILED


@dataclass
class NewlyFinished:
    """Finished pods the Job has not counted yet."""

    succeeded: list[Obj]
    failed: list[Obj]
    ignored: list[Obj]  # failures a podFailurePolicy Ignore rule does not count
    fail_job: str | None  # the message of the first FailJob rule that matched


def newly_finished(job: Obj, pods: list[Obj], skip_uids: set[str]) -> NewlyFinished:
    """Pods still holding the tracking finalizer that have finished (or, unless the
    Job only replaces failed pods, are being deleted) and are not counted yet."""
    spec = job.get("spec") or {}
    only_failed = spec.get("podReplacementPolicy") == "Failed"
    policy = spec.get("podFailurePolicy")
    result = NewlyFinished([], [], [], None)
    for pod in pods:
        if not has_finalizer(pod) or uid(pod) in skip_uids:
            continue
        if phase(pod) == "Succeeded":
            result.succeeded.append(pod)
        elif counts_as_failed(pod, only_failed):
            found = failurepolicy.match(policy, pod) if phase(pod) == "Failed" else None
            if found is not None and found.action == "Ignore":
                result.ignored.append(pod)
                continue
            if found is not None and found.action == "FailJob" and result.fail_job is None:
                result.fail_job = found.message
            result.failed.append(pod)
    return result


def condition_true(job: Obj, type_: str) -> bool:
    return any(
        c.get("type") == type_ and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or []
    )


def is_finished(job: Obj) -> bool:
    return condition_true(job, COMPLETE) or condition_true(job, FAILED)


def new_condition(type_: str, status: str, reason: str, message: str, now: float) -> Obj:
    stamp = rfc3339(now)
    return {
        "type": type_,
        "status": status,
        "lastProbeTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def set_condition(status: Obj, condition: Obj) -> bool:
    """Add or update the condition of its type; False when nothing changed."""
    conditions = status.setdefault("conditions", [])
    for i, existing in enumerate(conditions):
        if existing.get("type") == condition["type"]:
            if existing.get("status") == condition["status"]:
                return False
            conditions[i] = condition
            return True
    conditions.append(condition)
    return True


def past_backoff_limit_on_failure(job: Obj, active: list[Obj]) -> bool:
    """With restartPolicy OnFailure the kubelet retries in place: the restarts of the
    active pods count against backoffLimit."""
    spec = job.get("spec") or {}
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    if pod_spec.get("restartPolicy") != "OnFailure":
        return False
    total = sum(restarts(p) for p in active)
    limit = int(spec.get("backoffLimit", 6))
    return total > 0 if limit == 0 else total >= limit


def deadline_at(job: Obj) -> float | None:
    """When activeDeadlineSeconds runs out (from the start time), if set."""
    spec, status = job.get("spec") or {}, job.get("status") or {}
    deadline, start = spec.get("activeDeadlineSeconds"), parse_time(status.get("startTime"))
    if deadline is None or start is None:
        return None
    return start + int(deadline)


def success_criteria_met(job: Obj, succeeded: int, completed: set[int], active: int) -> bool:
    spec = job.get("spec") or {}
    completions = spec.get("completions")
    if spec.get("completionMode") == "Indexed":
        return completions is not None and len(completed) >= int(completions)
    if completions is None:
        return succeeded > 0 and active == 0
    return succeeded >= int(completions)


def finish_decision(
    job: Obj,
    *,
    failed: int,
    succeeded: int,
    completed: set[int],
    active: list[Obj],
    fail_job: str | None,
    now: float,
    failed_indexes: set[int] | None = None,
) -> Finish | None:
    """Why the Job is done, if it is: a FailJob rule, the back-off limit, the deadline,
    its failed indexes (backoffLimitPerIndex), its successPolicy or its success
    criteria (an interim condition already set wins)."""
    status = job.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("status") != "True":
            continue
        if cond.get("type") in (FAILURE_TARGET, FAILED):
            return Finish(False, cond.get("reason", ""), cond.get("message", ""))
        if cond.get("type") in (SUCCESS_CRITERIA_MET, COMPLETE):
            return Finish(True, cond.get("reason", ""), cond.get("message", ""))
    spec = job.get("spec") or {}
    if fail_job is not None:
        return Finish(False, POD_FAILURE_POLICY, fail_job)
    if failed > int(spec.get("backoffLimit", 6)) or past_backoff_limit_on_failure(job, active):
        return Finish(False, *BACKOFF_LIMIT_EXCEEDED)
    deadline = deadline_at(job)
    if deadline is not None and now >= deadline and spec.get("suspend") is not True:
        return Finish(False, *DEADLINE_EXCEEDED)
    if failed_indexes is not None:
        why = perindex.failure_reason(job, failed_indexes, completed)
        if why is not None:
            return Finish(False, *why)
    if spec.get("completionMode") == "Indexed":
        message = successpolicy.matched(job, completed)
        if message is not None:
            return Finish(True, successpolicy.REASON, message)
    if success_criteria_met(job, succeeded, completed, len(active)):
        return Finish(True, *COMPLETIONS_REACHED)
    return None


def want_active(job: Obj, succeeded: int, completed: set[int]) -> int:
    """How many pods should run now: parallelism, but no more than the completions
    still missing; a work-queue Job (no completions) starts none once one succeeded."""
    spec = job.get("spec") or {}
    parallelism = int(spec.get("parallelism", 1))
    completions = spec.get("completions")
    if completions is None:
        return 0 if succeeded > 0 else parallelism
    done = len(completed) if spec.get("completionMode") == "Indexed" else succeeded
    return max(0, min(parallelism, int(completions) - done))


def is_suspended_now(job: Obj) -> bool:
    return condition_true(job, SUSPENDED)


def active_pods(pods: list[Obj]) -> list[Obj]:
    return [p for p in pods if is_active(p)]
