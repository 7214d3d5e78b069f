"""The pods of a Job: built from its template (owner reference, the job-tracking
finalizer, and for Indexed Jobs the index annotation, label, env var and hostname),
and what state each one is in."""

from __future__ import annotations

import copy
from typing import Any

from api.batch import (
    COMPLETION_INDEX_ANNOTATION,
    COMPLETION_INDEX_ENV,
    INDEX_FAILURE_COUNT_ANNOTATION,
    INDEX_IGNORED_FAILURE_COUNT_ANNOTATION,
    TRACKING_FINALIZER,
)
from api.timefmt import parse_time
from controller.util.pods import is_pod_ready, is_terminating, pod_from_template

Obj = dict[str, Any]

INDEX_FIELD_PATH = f"metadata.annotations['{COMPLETION_INDEX_ANNOTATION}']"


def pod_from_job(
    job: Obj, owner_ref: Obj, index: int | None, failures: tuple[int, int] | None = None
) -> Obj:
    """A new pod for `job`; named by the server from `<job>-` (`<job>-<index>-` for
    Indexed Jobs, which also get the stable hostname `<job>-<index>`), carrying the
    job-tracking finalizer so the controller counts it before it goes. With
    backoffLimitPerIndex, `failures` (counted, ignored) are its index's failures so far."""
    template = (job.get("spec") or {}).get("template") or {}
    pod = pod_from_template(template, job, owner_ref)
    metadata, spec = pod["metadata"], pod["spec"]
    name = (job.get("metadata") or {}).get("name", "")
    metadata.setdefault("labels", {})
    metadata["finalizers"] = [*metadata.get("finalizers", []), TRACKING_FINALIZER]
    if index is not None:
        metadata["generateName"] = f"{name}-{index}-"
        metadata.setdefault("annotations", {})[COMPLETION_INDEX_ANNOTATION] = str(index)
        metadata["labels"][COMPLETION_INDEX_ANNOTATION] = str(index)
        spec["hostname"] = f"{name}-{index}"
        if failures is not None:
            counted, ignored = failures
            metadata["annotations"][INDEX_FAILURE_COUNT_ANNOTATION] = str(counted)
            if ignored:
                metadata["annotations"][INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = str(ignored)
        env = {
            "name": COMPLETION_INDEX_ENV,
            "valueFrom": {"fieldRef": {"fieldPath": INDEX_FIELD_PATH}},
        }
        for key in ("initContainers", "containers"):
            for container in spec.get(key) or []:
                variables = container.setdefault("env", [])
                if not any(v.get("name") == COMPLETION_INDEX_ENV for v in variables):
                    variables.append(copy.deepcopy(env))
    return pod


def phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def has_finalizer(pod: Obj) -> bool:
    return TRACKING_FINALIZER in ((pod.get("metadata") or {}).get("finalizers") or [])


def uid(pod: Obj) -> str:
    return (pod.get("metadata") or {}).get("uid") or ""


def is_active(pod: Obj) -> bool:
    return phase(pod) not in ("Succeeded", "Failed") and not is_terminating(pod)


def is_terminating_pod(pod: Obj) -> bool:
    """Being deleted and still running (Kubernetes' `terminating` count)."""
    return is_terminating(pod) and phase(pod) not in ("Succeeded", "Failed")


def counts_as_failed(pod: Obj, only_replace_failed: bool) -> bool:
    """isPodFailed: Failed, or (unless the Job waits for pods to fail) being deleted
    without having succeeded."""
    if phase(pod) == "Failed":
        return True
    return not only_replace_failed and is_terminating(pod) and phase(pod) != "Succeeded"


def finish_time(pod: Obj, now: float) -> float:
    """When the pod finished: its containers' latest finishedAt, else now."""
    status = pod.get("status") or {}
    times = [
        parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        for cs in (status.get("containerStatuses") or [])
    ]
    known = [t for t in times if t is not None]
    return max(known) if known else now


def restarts(pod: Obj) -> int:
    """Restarts of all containers (init included), for OnFailure's back-off limit."""
    status = pod.get("status") or {}
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    return sum(int(cs.get("restartCount") or 0) for cs in statuses)


def deletion_order(pod: Obj) -> tuple[int, int, int]:
    """Which active pods go first when there are too many: unscheduled, pending, not
    ready (Kubernetes' ActivePods ordering, coarsely)."""
    spec = pod.get("spec") or {}
    return (
        0 if not spec.get("nodeName") else 1,
        0 if phase(pod) == "Pending" else 1,
        1 if is_pod_ready(pod) else 0,
    )
