"""What a DaemonSet's sync does, decided without I/O (Kubernetes' daemon controller
podsShouldBeOnNode, rollingUpdate and updateDaemonSetStatus): on which nodes to create
a pod, which pods to delete, and the status to report."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from api.timefmt import parse_time
from controller.daemonset.backoff import FailedPodsBackoff, backoff_key
from controller.daemonset.placement import (
    REVISION_HASH,
    TEMPLATE_GENERATION_LABEL,
    should_run,
    target_node,
    template_generation,
)
from controller.util.controllerref import meta
from controller.util.pods import is_pod_available, is_pod_ready, is_pod_terminal, is_terminating

Obj = dict[str, Any]


@dataclass
class Plan:
    """Nodes that need a new daemon pod and pods to delete; failed pods among them (by
    node, for the FailedDaemonPod event), and when to look again at failed pods that
    are still in their back-off."""

    create_on: list[str] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)
    failed: list[tuple[Obj, str]] = field(default_factory=list)
    retry_after: float | None = None

    def __bool__(self) -> bool:
        return bool(self.create_on or self.delete)


def node_name_of(node: Obj) -> str:
    return str(meta(node).get("name") or "")


def by_node(pods: Iterable[Obj]) -> dict[str, list[Obj]]:
    """getNodesToDaemonPods: each pod under the node it is for; a finished pod that is
    being deleted no longer counts (its replacement may start)."""
    grouped: dict[str, list[Obj]] = {}
    for pod in pods:
        if is_terminating(pod) and is_pod_terminal(pod):
            continue
        node = target_node(pod)
        if node:
            grouped.setdefault(node, []).append(pod)
    return grouped


def oldest_first(pods: Iterable[Obj]) -> list[Obj]:
    """podByCreationTimestampAndPhase: scheduled pods first, then by age and name."""
    return sorted(
        pods,
        key=lambda p: (
            not (p.get("spec") or {}).get("nodeName"),
            parse_time(meta(p).get("creationTimestamp")) or 0.0,
            meta(p).get("name") or "",
        ),
    )


def is_pod_updated(pod: Obj, revision_hash: str, generation: str | None) -> bool:
    """IsPodUpdated: the pod has the current revision hash or template generation."""
    labels = meta(pod).get("labels") or {}
    generation_matches = (
        generation is not None and labels.get(TEMPLATE_GENERATION_LABEL) == generation
    )
    hash_matches = bool(revision_hash) and labels.get(REVISION_HASH) == revision_hash
    return hash_matches or generation_matches


def allows_surge(ds: Obj) -> bool:
    return _max_values(ds, 1)[0] > 0


def _rolling(ds: Obj) -> Obj:
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return {}
    return strategy.get("rollingUpdate") or {}


def _scaled(value: Any, total: int) -> int:
    """GetScaledValueFromIntOrPercent, rounding up."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.endswith("%"):
        return math.ceil(int(text[:-1]) * total / 100)
    return int(text)


def _max_values(ds: Obj, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) against the desired node count; never both 0."""
    rolling = _rolling(ds)
    surge = _scaled(rolling.get("maxSurge"), desired)
    unavailable = _scaled(rolling.get("maxUnavailable"), desired)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def plan_nodes(
    ds: Obj,
    nodes: list[Obj],
    pods_by_node: dict[str, list[Obj]],
    revision_hash: str,
    now: float,
    failed_backoff: FailedPodsBackoff | None = None,
) -> Plan:
    """podsShouldBeOnNode over every node: a pod where one should run and none is,
    finished or surplus pods deleted, every pod deleted where none should stay; and
    pods still waiting for a node that no longer exists. A failed pod is deleted (and
    then replaced) at most once per back-off period of its node."""
    plan = Plan()
    surge = allows_surge(ds)
    known = {node_name_of(n) for n in nodes}
    for node in nodes:
        name = node_name_of(node)
        run, keep = should_run(ds, node)
        pods = pods_by_node.get(name) or []
        if run and not pods:
            plan.create_on.append(name)
        elif keep:
            running = []
            backing_off = False
            for pod in pods:
                if is_terminating(pod):
                    continue
                phase = (pod.get("status") or {}).get("phase")
                if phase == "Failed":
                    if failed_backoff is not None:
                        key = backoff_key(ds, name)
                        if failed_backoff.in_backoff(key, now):
                            wait = failed_backoff.get(key)
                            plan.retry_after = min(plan.retry_after or wait, wait)
                            backing_off = True
                            continue
                        failed_backoff.next(key, now)
                    plan.failed.append((pod, name))
                    plan.delete.append(pod)
                elif phase == "Succeeded":
                    plan.delete.append(pod)
                else:
                    running.append(pod)
            if not surge:
                # Without surge a node gets its next pod once the old ones are gone.
                plan.delete += oldest_first(running)[1:]
            elif not running:
                if run and not backing_off:
                    plan.create_on.append(name)
            elif len(running) > 1:
                plan.delete += _surplus_with_surge(ds, running, revision_hash, now)
        elif pods:
            plan.delete += [p for p in pods if not is_terminating(p)]
    for name, pods in pods_by_node.items():
        if name not in known:
            plan.delete += [
                p
                for p in pods
                if not (p.get("spec") or {}).get("nodeName") and not is_terminating(p)
            ]
    return plan


def _surplus_with_surge(ds: Obj, running: list[Obj], revision_hash: str, now: float) -> list[Obj]:
    """With surge a node may hold two pods: the oldest new one while it is not yet
    available beside the oldest old one while that is ready. Everything else goes."""
    oldest_new: Obj | None = None
    oldest_old: Obj | None = None
    surplus: list[Obj] = []
    for pod in oldest_first(running):
        is_new = (meta(pod).get("labels") or {}).get(REVISION_HASH) == revision_hash
        if is_new and oldest_new is None:
            oldest_new = pod
        elif not is_new and oldest_old is None:
            oldest_old = pod
        else:
            surplus.append(pod)
    if oldest_new is not None and oldest_old is not None:
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        if not is_pod_ready(oldest_old) or is_pod_available(oldest_new, min_ready, now):
            surplus.append(oldest_old)
    return surplus


def _updated_and_old(
    pods: list[Obj], revision_hash: str, generation: str | None
) -> tuple[Obj | None, Obj | None, bool]:
    """findUpdatedPodsOnNode: (new pod, old pod, ok); not ok with two of either."""
    new = old = None
    for pod in pods:
        if is_terminating(pod):
            continue
        if is_pod_updated(pod, revision_hash, generation):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def plan_rolling_update(
    ds: Obj, nodes: list[Obj], pods_by_node: dict[str, list[Obj]], revision_hash: str, now: float
) -> Plan:
    """rollingUpdate: replace old pods, at most maxUnavailable nodes without an
    available pod at a time, or with maxSurge a new pod beside the old one first."""
    grouped = {k: list(v) for k, v in pods_by_node.items()}
    desired = 0
    for node in nodes:
        if should_run(ds, node)[0]:
            desired += 1
            grouped.setdefault(node_name_of(node), [])
    max_surge, max_unavailable = _max_values(ds, desired)
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    generation = template_generation(ds)
    plan = Plan()
    if max_surge == 0:
        unavailable = 0
        replaceable: list[Obj] = []
        candidates: list[Obj] = []
        for name in sorted(grouped):
            new, old, ok = _updated_and_old(grouped[name], revision_hash, generation)
            if not ok or (new is None) == (old is None):
                unavailable += 1
            elif new is not None:
                if not is_pod_available(new, min_ready, now):
                    unavailable += 1
            elif old is not None:
                if not is_pod_available(old, min_ready, now):
                    replaceable.append(old)
                elif unavailable < max_unavailable:
                    candidates.append(old)
        remaining = max(0, min(max_unavailable - unavailable, len(candidates)))
        plan.delete = replaceable + candidates[:remaining]
        return plan
    surged = 0
    allowed_nodes: list[str] = []
    candidate_nodes: list[str] = []
    for name in sorted(grouped):
        new, old, ok = _updated_and_old(grouped[name], revision_hash, generation)
        if not ok:
            surged += 1
        elif old is None:
            continue
        elif new is None:
            if not is_pod_available(old, min_ready, now):
                allowed_nodes.append(name)
            elif surged < max_surge:
                candidate_nodes.append(name)
        elif not is_pod_available(new, min_ready, now):
            surged += 1
        else:
            plan.delete.append(old)
    remaining = max(0, min(max_surge - surged, len(candidate_nodes)))
    plan.create_on = allowed_nodes + candidate_nodes[:remaining]
    return plan


def calculate_status(
    ds: Obj, nodes: list[Obj], pods_by_node: dict[str, list[Obj]], revision_hash: str, now: float
) -> Obj:
    """updateDaemonSetStatus: the counts `kubectl get ds` prints."""
    desired = current = misscheduled = ready = available = updated = 0
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    generation = template_generation(ds)
    for node in nodes:
        run, _ = should_run(ds, node)
        pods = [p for p in pods_by_node.get(node_name_of(node)) or [] if not is_terminating(p)]
        if not run:
            misscheduled += 1 if pods else 0
            continue
        desired += 1
        if not pods:
            continue
        current += 1
        pod = oldest_first(pods)[0]
        if is_pod_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, now):
                available += 1
        if is_pod_updated(pod, revision_hash, generation):
            updated += 1
    status: Obj = {
        "currentNumberScheduled": current,
        "numberMisscheduled": misscheduled,
        "desiredNumberScheduled": desired,
        "numberReady": ready,
        "observedGeneration": meta(ds).get("generation"),
        "updatedNumberScheduled": updated,
        "numberAvailable": available,
    }
    if desired - available:
        status["numberUnavailable"] = desired - available
    collisions = (ds.get("status") or {}).get("collisionCount")
    if collisions is not None:
        status["collisionCount"] = collisions
    return status
