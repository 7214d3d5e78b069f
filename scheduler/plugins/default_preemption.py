"""Kubernetes' DefaultPreemption, the PostFilter plugin: when a pod fits no node, find
the nodes where removing lower-priority pods would let it fit, and pick one.

For each node whose failure removing pods could cure (an `Unschedulable` status, not
`UnschedulableAndUnresolvable`), the dry run removes every pod of lower priority; if
the preemptor then fits, the victims are added back one by one, most important first
(higher priority, then earlier start), and each that still lets the preemptor fit is
reprieved. The node is chosen by Kubernetes' criteria, in order: fewest
PodDisruptionBudget violations, lowest highest-victim priority, smallest sum of victim
priorities, fewest victims, latest start among the highest-priority victims, then the
first node. PodDisruptionBudgets: `split_by_budget` is Kubernetes'
filterPodsWithPDBViolation over PDB objects; the plugin takes a `budgets` callable
returning them, and without one (minik serves no policy/v1 kind yet) no victim
violates a budget.

Pure decisions over NodeInfo copies; the scheduler makes the API writes (victims'
DisruptionTarget condition, their deletion, the Preempted Events, the preemptor's
nominatedNodeName)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError
from api.labels import from_label_selector
from api.scheduling import (
    DISRUPTION_TARGET,
    PREEMPT_NEVER,
    REASON_PREEMPTION_BY_SCHEDULER,
)
from api.timefmt import parse_time
from scheduler.framework import (
    UNSCHEDULABLE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    Filters,
    PostFilterResult,
    Status,
)
from scheduler.messages import fit_error_message
from scheduler.nodeinfo import NodeInfo
from scheduler.podinfo import PodInfo

NAME = "DefaultPreemption"
PREFIX = "preemption: "
NOT_ELIGIBLE_NEVER = "not eligible due to preemptionPolicy=Never."
NOT_ELIGIBLE_TERMINATING = "not eligible due to a terminating pod on the nominated node."
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
MAX_INT32 = 2**31 - 1


@dataclass
class Candidate:
    """A node where preemption works: its victims, most important first."""

    node: str
    victims: list[PodInfo]
    pdb_violations: int = 0


def start_time(pod: PodInfo) -> float:
    """GetPodStartTime: status.startTime; a pod not started yet counts as starting
    now (later than every started one)."""
    parsed = parse_time(((pod.pod.get("status") or {}).get("startTime")) or "")
    return parsed if parsed is not None else float("inf")


def more_important(a: PodInfo, b: PodInfo) -> bool:
    """util.MoreImportantPod: higher priority, then the earlier start."""
    if a.priority != b.priority:
        return a.priority > b.priority
    return start_time(a) < start_time(b)


def importance_key(pod: PodInfo) -> tuple[int, float]:
    return (-pod.priority, start_time(pod))


def terminating_by_preemption(pod: PodInfo) -> bool:
    """A pod being deleted that carries the scheduler's DisruptionTarget condition."""
    if not (pod.pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for cond in (pod.pod.get("status") or {}).get("conditions") or []:
        if (
            cond.get("type") == DISRUPTION_TARGET
            and cond.get("status") == "True"
            and cond.get("reason") == REASON_PREEMPTION_BY_SCHEDULER
        ):
            return True
    return False


def split_by_budget(
    pods: Sequence[PodInfo], budgets: Sequence[Mapping[str, Any]]
) -> tuple[list[PodInfo], list[PodInfo]]:
    """filterPodsWithPDBViolation: (violating, non-violating), order kept. Each pod a
    budget selects (same namespace, not already in its disruptedPods) uses one of the
    budget's status.disruptionsAllowed; a pod that drives any below zero violates."""
    allowed = [int((b.get("status") or {}).get("disruptionsAllowed") or 0) for b in budgets]
    violating: list[PodInfo] = []
    fine: list[PodInfo] = []
    for pod in pods:
        labels = (pod.pod.get("metadata") or {}).get("labels") or {}
        violated = False
        for i, budget in enumerate(budgets if labels else ()):
            md = budget.get("metadata") or {}
            if md.get("namespace") != pod.namespace:
                continue
            try:
                selector = from_label_selector((budget.get("spec") or {}).get("selector"))
            except ApiError:
                continue  # an invalid selector matches no pod
            if selector.empty or not selector.matches(labels):
                continue
            if pod.name in ((budget.get("status") or {}).get("disruptedPods") or {}):
                continue
            allowed[i] -= 1
            if allowed[i] < 0:
                violated = True
        (violating if violated else fine).append(pod)
    return violating, fine


class DefaultPreemption:
    name = NAME

    def __init__(self, budgets: Callable[[], Sequence[Mapping[str, Any]]] | None = None) -> None:
        self.budgets = budgets or (lambda: ())

    # ---- the extension point ------------------------------------------------------
    def post_filter(
        self,
        pod: PodInfo,
        nodes: Sequence[NodeInfo],
        failures: Mapping[str, Status],
        filters: Filters,
        nominated_node: str | None,
    ) -> PostFilterResult:
        """Kubernetes' PostFilter: its messages carry the "preemption: " prefix and end
        up after the filters' in the FailedScheduling message."""
        eligible, why = self.eligible(pod, nodes, failures, nominated_node)
        if not eligible:
            return PostFilterResult(message=f"{PREFIX}{why}")
        candidates, statuses = self.find_candidates(pod, nodes, failures, filters)
        if not candidates:
            text = fit_error_message(len(nodes), statuses.values())
            return PostFilterResult(message=f"{PREFIX}{text}", clear_nomination=True)
        best = self.select(candidates)
        return PostFilterResult(best.node, best.victims)

    # ---- 1) may this pod preempt at all -------------------------------------------
    def eligible(
        self,
        pod: PodInfo,
        nodes: Sequence[NodeInfo],
        failures: Mapping[str, Status],
        nominated_node: str | None,
    ) -> tuple[bool, str]:
        """PodEligibleToPreemptOthers: not with preemptionPolicy Never, nor while
        victims of its earlier preemption are still terminating on its nominated node
        (unless that node can no longer take it at all)."""
        if pod.spec.get("preemptionPolicy") == PREEMPT_NEVER:
            return False, NOT_ELIGIBLE_NEVER
        if nominated_node:
            status = failures.get(nominated_node)
            if status is not None and status.code == UNSCHEDULABLE_AND_UNRESOLVABLE:
                return True, ""
            node = next((n for n in nodes if n.name == nominated_node), None)
            if node is not None:
                for other in node.pods.values():
                    if other.priority < pod.priority and terminating_by_preemption(other):
                        return False, NOT_ELIGIBLE_TERMINATING
        return True, ""

    # ---- 2) the dry run -------------------------------------------------------------
    def find_candidates(
        self,
        pod: PodInfo,
        nodes: Sequence[NodeInfo],
        failures: Mapping[str, Status],
        filters: Filters,
    ) -> tuple[list[Candidate], dict[str, Status]]:
        """Every node where preemption would let the pod fit, and for the others why
        not (what the FailedScheduling message counts)."""
        candidates: list[Candidate] = []
        statuses: dict[str, Status] = {}
        for node in nodes:
            failure = failures.get(node.name)
            if failure is None or failure.code != UNSCHEDULABLE:
                statuses[node.name] = Status((NOT_HELPFUL,), NAME, UNSCHEDULABLE_AND_UNRESOLVABLE)
                continue
            found = self.select_victims(pod, node, filters)
            if isinstance(found, Status):
                statuses[node.name] = found
            else:
                candidates.append(found)
        return candidates, statuses

    def select_victims(self, pod: PodInfo, node: NodeInfo, filters: Filters) -> Candidate | Status:
        """selectVictimsOnNode: the fewest, least important pods to remove."""
        trial = node.clone()
        potential = [p for p in node.pods.values() if p.priority < pod.priority]
        if not potential:
            return Status((NO_VICTIMS,), NAME, UNSCHEDULABLE_AND_UNRESOLVABLE)
        for victim in potential:
            trial.remove_pod(victim.key)
        status = filters(pod, trial)
        if status is not None:
            return status
        potential.sort(key=importance_key)
        violating, others = split_by_budget(potential, self.budgets())
        victims: list[PodInfo] = []
        violations = 0
        for group, counts in ((violating, True), (others, False)):
            for candidate in group:
                trial.add_pod(candidate)
                if filters(pod, trial) is not None:
                    trial.remove_pod(candidate.key)
                    victims.append(candidate)
                    violations += counts
        if violating and others:
            victims.sort(key=importance_key)
        return Candidate(node.name, victims, violations)

    # ---- 3) the node ----------------------------------------------------------------
    def select(self, candidates: Sequence[Candidate]) -> Candidate:
        """pickOneNodeForPreemption: each criterion keeps only the best-scoring nodes,
        the next one breaks their tie; a node needing no victims wins at once."""
        for c in candidates:
            if not c.victims:
                return c
        scores: list[Callable[[Candidate], float]] = [
            lambda c: -c.pdb_violations,
            lambda c: -c.victims[0].priority,
            lambda c: -sum(v.priority + MAX_INT32 + 1 for v in c.victims),
            lambda c: -len(c.victims),
            _earliest_start_of_highest,
        ]
        remaining = list(candidates)
        for score in scores:
            values = [score(c) for c in remaining]
            best = max(values)
            remaining = [c for c, v in zip(remaining, values, strict=True) if v == best]
            if len(remaining) == 1:
                break
        return remaining[0]


def _earliest_start_of_highest(c: Candidate) -> float:
    """GetEarliestPodStartTime among the highest-priority victims: the later it is,
    the better the node (younger pods are preempted first)."""
    top = c.victims[0].priority
    return min(start_time(v) for v in c.victims if v.priority == top)
