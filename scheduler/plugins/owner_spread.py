"""OwnerSpread: pods of one owner (the same controller, or without one the same
labels) go to the nodes that run the fewest of them, so a ReplicaSet's replicas
spread over nodes — the node half of Kubernetes' default topology spreading."""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.framework import MAX_NODE_SCORE
from scheduler.nodeinfo import NodeInfo
from scheduler.podinfo import PodInfo


class OwnerSpread:
    name = "OwnerSpread"

    def score_applies(self, pod: PodInfo) -> bool:
        return pod.owner_key is not None

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        """How many pods of the same owner the node already runs (normalized)."""
        return node.owner_counts.get(pod.owner_key, 0)

    def score_nodes(self, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        key = pod.owner_key
        return [node.owner_counts.get(key, 0) for node in nodes]

    def normalize(self, pod: PodInfo, scores: list[int]) -> None:
        """100 · (most − this) / most: the emptiest nodes get 100."""
        most = max(scores, default=0)
        if most == 0:
            scores[:] = [MAX_NODE_SCORE] * len(scores)
            return
        for i, count in enumerate(scores):
            scores[i] = MAX_NODE_SCORE * (most - count) // most
