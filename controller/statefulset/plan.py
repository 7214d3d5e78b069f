"""What one sync of a StatefulSet does (Kubernetes' stateful_set_control.go
updateStatefulSet), as a list of steps over the cached pods:

1. replace failed pods; create each missing ordinal (its claims first); with
   OrderedReady stop at the first pod created, terminating, or not yet Running and
   Ready (available, with minReadySeconds): ordinal i+1 waits for 0..i;
2. delete pods beyond the replica count, highest ordinal first (OrderedReady: one at
   a time, each once its successors are gone);
3. RollingUpdate: delete the highest-ordinal pod at or above `partition` not at the
   update revision, then wait for it to come back healthy before the next.

Pure: the controller executes the steps in order."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from controller.statefulset import identity
from controller.util.controllerref import meta
from controller.util.history import REVISION_HASH
from controller.util.pods import is_pod_available, is_pod_ready, is_terminating

Obj = dict[str, Any]


@dataclass
class Step:
    """One write: "create" (claims, then pod), "delete" a pod, or "update" a pod whose
    identity or storage drifted."""

    action: str
    pod: Obj
    ordinal: int


@dataclass
class Revisions:
    """The current and update revisions: (revision name, pod template) each."""

    current_name: str
    current_template: Obj
    update_name: str
    update_template: Obj


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)

    def add(self, action: str, pod: Obj, ordinal: int) -> None:
        self.steps.append(Step(action, pod, ordinal))


def revision_of(pod: Obj) -> str:
    return (meta(pod).get("labels") or {}).get(REVISION_HASH) or ""


def is_running_and_ready(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_pod_ready(pod)


def is_healthy(pod: Obj) -> bool:
    return is_running_and_ready(pod) and not is_terminating(pod)


def is_failed(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded")


def min_ready_seconds(sts: Obj) -> int:
    value = identity.spec_of(sts).get("minReadySeconds")
    return value if isinstance(value, int) else 0


def strategy(sts: Obj) -> Obj:
    return identity.spec_of(sts).get("updateStrategy") or {}


def partition(sts: Obj) -> int:
    value = (strategy(sts).get("rollingUpdate") or {}).get("partition")
    return value if isinstance(value, int) else 0


def split_pods(sts: Obj, pods: list[Obj]) -> tuple[dict[int, Obj], list[tuple[int, Obj]]]:
    """(pods of in-range ordinals by ordinal, condemned (ordinal, pod) highest first).
    Pods not named `<set>-<i>` are not the set's to manage."""
    replicas: dict[int, Obj] = {}
    condemned: list[tuple[int, Obj]] = []
    for pod in pods:
        ordinal = identity.ordinal_of(sts, pod)
        if ordinal is None:
            continue
        if identity.in_range(sts, ordinal):
            replicas[ordinal] = pod
        else:
            condemned.append((ordinal, pod))
    condemned.sort(key=lambda item: item[0], reverse=True)
    return replicas, condemned


def versioned_pod(sts: Obj, revisions: Revisions, ordinal: int, current_replicas: int) -> Obj:
    """newVersionedStatefulSetPod: below the partition (RollingUpdate) a new pod keeps
    the current revision, else it gets the update revision."""
    start = identity.start_ordinal(sts)
    s = strategy(sts)
    if s.get("type") == "RollingUpdate":
        rolling = s.get("rollingUpdate")
        bound = start + (partition(sts) if rolling is not None else current_replicas)
        if ordinal < bound:
            return identity.new_pod(
                sts, revisions.current_template, ordinal, revisions.current_name
            )
    return identity.new_pod(sts, revisions.update_template, ordinal, revisions.update_name)


def plan_sync(
    sts: Obj, pods: list[Obj], revisions: Revisions, current_replicas: int, now: float
) -> Plan:
    plan = Plan()
    monotonic = identity.spec_of(sts).get("podManagementPolicy", "OrderedReady") != "Parallel"
    min_ready = min_ready_seconds(sts)
    replicas, condemned = split_pods(sts, pods)
    start = identity.start_ordinal(sts)
    ordinals = range(start, start + identity.replicas(sts))

    for ordinal in ordinals:
        pod = replicas.get(ordinal)
        if pod is not None and is_failed(pod) and not is_terminating(pod):
            plan.add("delete", pod, ordinal)  # recreated on a later sync
            if monotonic:
                return plan
            continue
        if pod is None:
            plan.add("create", versioned_pod(sts, revisions, ordinal, current_replicas), ordinal)
            if monotonic:
                return plan
            continue
        if is_terminating(pod):
            if monotonic:
                return plan
            continue
        if not is_running_and_ready(pod) or not is_pod_available(pod, min_ready, now):
            if monotonic:
                return plan
            continue
        if not identity.labels_match(pod, ordinal):
            plan.add("update", _with_identity(pod, ordinal), ordinal)

    # Condemned pods, highest ordinal first.
    for ordinal, pod in condemned:
        if is_terminating(pod):
            if monotonic:
                return plan
            continue
        if monotonic and not is_running_and_ready(pod) and pod is not _first_unhealthy(condemned):
            return plan
        plan.add("delete", pod, ordinal)
        if monotonic:
            return plan

    if strategy(sts).get("type") != "RollingUpdate":
        return plan
    low = start + partition(sts)
    for ordinal in reversed(ordinals):
        if ordinal < low:
            break
        pod = replicas.get(ordinal)
        if pod is None:
            return plan
        if revision_of(pod) != revisions.update_name and not is_terminating(pod):
            plan.add("delete", pod, ordinal)
            return plan
        if not is_healthy(pod):
            return plan
    return plan


def _first_unhealthy(condemned: list[tuple[int, Obj]]) -> Obj | None:
    """The lowest-ordinal unhealthy condemned pod: the one OrderedReady may delete
    even though it is not ready."""
    for _ordinal, pod in reversed(condemned):
        if not is_healthy(pod):
            return pod
    return None


def _with_identity(pod: Obj, ordinal: int) -> Obj:
    """The identity labels back on a pod someone relabelled (its hostname and
    subdomain are immutable once created)."""
    fixed = copy.deepcopy(pod)
    labels = fixed.setdefault("metadata", {}).setdefault("labels", {})
    labels[identity.POD_NAME_LABEL] = meta(pod).get("name")
    labels[identity.POD_INDEX_LABEL] = str(ordinal)
    return fixed


def calculate_status(
    sts: Obj, pods: list[Obj], revisions: Revisions, now: float, previous: Obj
) -> Obj:
    """computeReplicaStatus + completeRollingUpdate: counts over the created pods;
    once every pod is updated and ready, the update revision becomes current."""
    min_ready = min_ready_seconds(sts)
    counts = dict.fromkeys(("replicas", "ready", "available", "current", "updated"), 0)
    for pod in pods:
        if identity.ordinal_of(sts, pod) is None:
            continue
        counts["replicas"] += 1
        if is_running_and_ready(pod):
            counts["ready"] += 1
            if is_pod_available(pod, min_ready, now):
                counts["available"] += 1
        if not is_terminating(pod):
            if revision_of(pod) == revisions.current_name:
                counts["current"] += 1
            if revision_of(pod) == revisions.update_name:
                counts["updated"] += 1
    status: Obj = {
        "observedGeneration": meta(sts).get("generation") or 1,
        "replicas": counts["replicas"],
        "readyReplicas": counts["ready"],
        "currentReplicas": counts["current"],
        "updatedReplicas": counts["updated"],
        "availableReplicas": counts["available"],
        "currentRevision": revisions.current_name,
        "updateRevision": revisions.update_name,
        "collisionCount": int(previous.get("collisionCount") or 0),
    }
    if (
        strategy(sts).get("type") == "RollingUpdate"
        and status["updatedReplicas"] == status["replicas"]
        and status["readyReplicas"] == status["replicas"]
    ):
        status["currentReplicas"] = status["updatedReplicas"]
        status["currentRevision"] = status["updateRevision"]
    for key in ("readyReplicas", "currentReplicas", "updatedReplicas"):
        if not status[key]:
            del status[key]  # omitempty, as Kubernetes prints them
    return status
