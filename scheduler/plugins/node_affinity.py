"""NodeAffinity: `nodeSelector` and required node affinity decide where a pod may
go (the matching itself is api/nodeaffinity.py's); preferred node affinity adds the
weights of the terms a node matches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from api.nodeaffinity import NodeSelectorTerm, Placement, node_affinity, parse_term, placement_of
from scheduler.framework import Status, normalize_to_max, unresolvable
from scheduler.nodeinfo import NodeInfo
from scheduler.podinfo import PodInfo

REASON = "node(s) didn't match Pod's node affinity/selector"


def placement(pod: PodInfo) -> Placement:
    return pod.cached("node-affinity", lambda p: placement_of(p.spec))


def preferences(pod: PodInfo) -> Sequence[tuple[int, NodeSelectorTerm]]:
    def compute(p: PodInfo) -> list[tuple[int, NodeSelectorTerm]]:
        preferred = node_affinity(p.spec).get("preferredDuringSchedulingIgnoredDuringExecution")
        out = []
        for item in preferred or []:
            if not isinstance(item, Mapping):
                continue
            term, weight = parse_term(item.get("preference")), item.get("weight") or 0
            if term is not None and isinstance(weight, int) and weight > 0:
                out.append((weight, term))
        return out

    return pod.cached("node-affinity-preferred", compute)


class NodeAffinity:
    name = "NodeAffinity"

    def filter_applies(self, pod: PodInfo) -> bool:
        p = placement(pod)
        return bool(p.node_selector) or p.required_terms is not None

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status | None:
        return (
            None
            if placement(pod).matches(node.labels, node.name)
            else unresolvable(self.name, REASON)
        )

    def score_applies(self, pod: PodInfo) -> bool:
        return bool(preferences(pod))

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        """The summed weights of the preferred terms the node matches (normalized)."""
        return sum(
            weight for weight, term in preferences(pod) if term.matches(node.labels, node.name)
        )

    def normalize(self, pod: PodInfo, scores: list[int]) -> None:
        normalize_to_max(scores)
