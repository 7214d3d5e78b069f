"""Which nodes a pod may run on by its `nodeSelector` and required node affinity
(Kubernetes' component-helpers nodeaffinity): one home for the scheduler's NodeAffinity
plugin and the DaemonSet controller, which decides per node whether a daemon pod
belongs there before the scheduler places it."""

from __future__ import annotations

from collections.abc import Mapping
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

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        if not all(r.matches(labels) for r in self.labels):
            return False
        return all(r.matches({NODE_NAME_FIELD: name}) for r in self.fields)


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

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        for key, value in self.node_selector.items():
            if labels.get(key) != value:
                return False
        if self.required_terms is None:
            return True
        return any(t is not None and t.matches(labels, name) for t in self.required_terms)


def node_affinity(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """A pod spec's `affinity.nodeAffinity` ({} when absent)."""
    return ((spec.get("affinity") or {}).get("nodeAffinity")) or {}


def placement_of(spec: Mapping[str, Any]) -> Placement:
    """The required placement of a pod spec."""
    required = node_affinity(spec).get("requiredDuringSchedulingIgnoredDuringExecution")
    terms = None
    if isinstance(required, Mapping):
        terms = tuple(parse_term(t) for t in required.get("nodeSelectorTerms") or [])
    return Placement(spec.get("nodeSelector") or {}, terms)
