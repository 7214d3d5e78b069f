"""NodeAffinity: `nodeSelector` and required node affinity decide where a pod may
go; preferred node affinity adds the weights of the terms a node matches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError
from api.labels import (
    DOES_NOT_EXIST,
    EXISTS,
    GREATER_THAN,
    IN,
    LESS_THAN,
    NOT_IN,
    Requirement,
    new_requirement,
)
from scheduler.framework import Status, normalize_to_max, unschedulable
from scheduler.nodeinfo import NodeInfo
from scheduler.podinfo import PodInfo

REASON = "node(s) didn't match Pod's node affinity/selector"
NODE_NAME_FIELD = "metadata.name"
_OPERATORS = {
    "In": IN,
    "NotIn": NOT_IN,
    "Exists": EXISTS,
    "DoesNotExist": DOES_NOT_EXIST,
    "Gt": GREATER_THAN,
    "Lt": LESS_THAN,
}


@dataclass(frozen=True)
class NodeSelectorTerm:
    """matchExpressions (on labels) and matchFields (on metadata.name), all ANDed."""

    labels: tuple[Requirement, ...]
    fields: tuple[Requirement, ...]

    def matches(self, node: NodeInfo) -> bool:
        labels = node.labels
        if not all(r.matches(labels) for r in self.labels):
            return False
        return all(r.matches({NODE_NAME_FIELD: node.name}) for r in self.fields)


def parse_term(term: Any) -> NodeSelectorTerm | None:
    """None for a term that matches nothing: empty, or not valid (as in Kubernetes)."""
    if not isinstance(term, Mapping):
        return None
    expressions, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not expressions and not fields:
        return None
    try:
        labels = tuple(_label_requirement(e) for e in expressions)
        field_reqs = tuple(_field_requirement(f) for f in fields)
    except (ApiError, KeyError, TypeError, AttributeError):
        return None
    return NodeSelectorTerm(labels, field_reqs)


def _operator(expr: Mapping[str, Any]) -> str:
    operator = expr.get("operator")
    if not isinstance(operator, str) or operator not in _OPERATORS:
        raise KeyError(f"unknown operator {operator!r}")
    return _OPERATORS[operator]


def _label_requirement(expr: Mapping[str, Any]) -> Requirement:
    values = [str(v) for v in expr.get("values") or []]
    return new_requirement(str(expr.get("key") or ""), _operator(expr), values)


def _field_requirement(expr: Mapping[str, Any]) -> Requirement:
    operator = _operator(expr)
    values = tuple(sorted({str(v) for v in expr.get("values") or []}))
    if expr.get("key") != NODE_NAME_FIELD or operator not in (IN, NOT_IN) or len(values) != 1:
        raise KeyError("matchFields supports metadata.name In/NotIn with one value")
    return Requirement(NODE_NAME_FIELD, operator, values)


@dataclass(frozen=True)
class Placement:
    """What a pod requires of its node: all of nodeSelector, and at least one of the
    required terms (when it has required affinity)."""

    node_selector: Mapping[str, str]
    required_terms: tuple[NodeSelectorTerm | None, ...] | None

    def matches(self, node: NodeInfo) -> bool:
        labels = node.labels
        for key, value in self.node_selector.items():
            if labels.get(key) != value:
                return False
        if self.required_terms is None:
            return True
        return any(t is not None and t.matches(node) for t in self.required_terms)


def _node_affinity(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((spec.get("affinity") or {}).get("nodeAffinity")) or {}


def placement(pod: PodInfo) -> Placement:
    def compute(p: PodInfo) -> Placement:
        required = _node_affinity(p.spec).get("requiredDuringSchedulingIgnoredDuringExecution")
        terms = None
        if isinstance(required, Mapping):
            terms = tuple(parse_term(t) for t in required.get("nodeSelectorTerms") or [])
        return Placement(p.spec.get("nodeSelector") or {}, terms)

    return pod.cached("node-affinity", compute)


def preferences(pod: PodInfo) -> Sequence[tuple[int, NodeSelectorTerm]]:
    def compute(p: PodInfo) -> list[tuple[int, NodeSelectorTerm]]:
        preferred = _node_affinity(p.spec).get("preferredDuringSchedulingIgnoredDuringExecution")
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
        return None if placement(pod).matches(node) else unschedulable(self.name, REASON)

    def score_applies(self, pod: PodInfo) -> bool:
        return bool(preferences(pod))

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        """The summed weights of the preferred terms the node matches (normalized)."""
        return sum(weight for weight, term in preferences(pod) if term.matches(node))

    def normalize(self, pod: PodInfo, scores: list[int]) -> None:
        normalize_to_max(scores)
