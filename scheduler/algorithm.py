"""One scheduling decision: filter the nodes, score the feasible ones, pick the best
(ties broken at random); when none passes, the post-filter plugins (preemption) may
nominate a node. Pure logic over NodeInfos — no I/O, and copies only of nodes with
nominated pods or under a preemption dry run — so it is fast and unit-testable; the
caller owns the cache and the API."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from scheduler.framework import (
    PostFilterResult,
    Profile,
    Status,
    filter_applies,
    node_scores,
    score_applies,
)
from scheduler.messages import fit_error_message
from scheduler.nodeinfo import NodeInfo
from scheduler.nominator import Nominator
from scheduler.podinfo import PodInfo

# Kubernetes' percentageOfNodesToScore defaults: a cluster of up to 100 nodes is
# searched in full; beyond that, the search stops once enough feasible nodes are
# found (an adaptive share, at least 5%), starting where the last one stopped.
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage <= 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass
class Decision:
    """The chosen node, or (node None) why every node was rejected."""

    node: str | None
    num_all_nodes: int
    failures: dict[str, Status] = field(default_factory=dict)
    feasible: int = 0
    post_filter_message: str = ""

    @property
    def message(self) -> str:
        """FitError.Error(): the filters' histogram, then what post-filtering said."""
        text = fit_error_message(self.num_all_nodes, self.failures.values())
        return f"{text} {self.post_filter_message}." if self.post_filter_message else text


class Algorithm:
    def __init__(
        self,
        profile: Profile,
        rng: random.Random | None = None,
        percentage: int = 0,
        nominator: Nominator | None = None,
    ) -> None:
        self.profile = profile
        self.rng = rng or random.Random()
        self.percentage = percentage
        self.nominator = nominator if nominator is not None else Nominator()
        self._next_start = 0

    def run_filters(self, pod: PodInfo, node: NodeInfo) -> Status | None:
        """Every applicable filter, with the node's nominated pods of equal or higher
        priority counted on it (RunFilterPluginsWithNominatedPods)."""
        checks = [f.filter for f in self.profile.filters if filter_applies(f, pod)]
        return self._check(pod, self._with_nominated(pod, node), checks)

    def _with_nominated(self, pod: PodInfo, node: NodeInfo) -> NodeInfo:
        if not self.nominator:  # the usual case: nothing nominated anywhere
            return node
        others = [
            p
            for p in self.nominator.pods_on(node.name)
            if p.key != pod.key and p.priority >= pod.priority
        ]
        if not others:
            return node
        node = node.clone()
        for other in others:
            if other.key not in node.pods:
                node.add_pod(other)
        return node

    @staticmethod
    def _check(pod: PodInfo, node: NodeInfo, checks: list) -> Status | None:
        for check in checks:
            status = check(pod, node)
            if status is not None:
                return status
        return None

    def post_filter(
        self,
        pod: PodInfo,
        nodes: Sequence[NodeInfo],
        decision: Decision,
        nominated_node: str | None = None,
    ) -> PostFilterResult | None:
        """Run the post-filter plugins after `decision` found no node: the first that
        nominates a node wins; else the last message goes into the decision's."""
        result = None
        for plugin in self.profile.post_filters:
            result = plugin.post_filter(
                pod, nodes, decision.failures, self.run_filters, nominated_node
            )
            if result.node is not None:
                return result
            decision.post_filter_message = result.message
        return result

    def schedule(
        self, pod: PodInfo, nodes: Sequence[NodeInfo], nominated_node: str | None = None
    ) -> Decision:
        """`nominated_node`: where an earlier preemption made room for the pod; if it
        fits there it goes there, unscored (kube-scheduler's evaluateNominatedNode)."""
        total = len(nodes)
        if total == 0:
            return Decision(None, 0)
        if nominated_node:
            node = next((n for n in nodes if n.name == nominated_node), None)
            if node is not None and self.run_filters(pod, node) is None:
                return Decision(node.name, total, {}, 1)
        feasible, failures = self._find_feasible(pod, nodes)
        if not feasible:
            return Decision(None, total, failures)
        if len(feasible) == 1:
            return Decision(feasible[0].name, total, failures, 1)
        totals = self._score(pod, feasible)
        best = max(totals)
        ties = [i for i, t in enumerate(totals) if t == best]
        chosen = feasible[ties[0] if len(ties) == 1 else self.rng.choice(ties)]
        return Decision(chosen.name, total, failures, len(feasible))

    def _find_feasible(
        self, pod: PodInfo, nodes: Sequence[NodeInfo]
    ) -> tuple[list[NodeInfo], dict[str, Status]]:
        total = len(nodes)
        wanted = num_feasible_nodes_to_find(total, self.percentage)
        filters = [f.filter for f in self.profile.filters if filter_applies(f, pod)]
        feasible: list[NodeInfo] = []
        failures: dict[str, Status] = {}
        start, processed = self._next_start % total, 0
        nominated = bool(self.nominator)
        # the hot loop of a decision: the filters inline, no call per node beyond them
        for i in range(total):
            node = nodes[(start + i) % total]
            processed += 1
            view = self._with_nominated(pod, node) if nominated else node
            status = None
            for check in filters:
                status = check(pod, view)
                if status is not None:
                    break
            if status is not None:
                failures[node.name] = status
            else:
                feasible.append(node)
                if len(feasible) >= wanted:
                    break
        self._next_start = (start + processed) % total
        return feasible, failures

    def _score(self, pod: PodInfo, feasible: list[NodeInfo]) -> list[int]:
        totals = [0] * len(feasible)
        for plugin, weight in self.profile.scorers:
            if not score_applies(plugin, pod):
                continue
            scores = node_scores(plugin, pod, feasible)
            normalize = getattr(plugin, "normalize", None)
            if normalize is not None:
                normalize(pod, scores)
            totals = [t + s * weight for t, s in zip(totals, scores, strict=True)]
        return totals
