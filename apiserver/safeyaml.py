"""YAML request bodies with go-yaml's budget on alias expansion.

PyYAML resolves an alias to the very same Python object, so a "billion laughs"
document (nine anchors, each a list of nine aliases of the previous one) decodes in
microseconds to a graph that every later step -- deep copies, patches, JSON encoding --
walks as a tree of 9^9 nodes: 429 bytes blocked the apiserver for seconds. Kubernetes
decodes YAML with sigs.k8s.io/yaml over go-yaml, which refuses such documents with
"document contains excessive aliasing"; so do we, with go-yaml's own rule, counted on
the composed node graph before any Python object is built."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

# go-yaml v2/v3 (decode.go): a document whose decoding would visit more than
# 100 aliases and 1,000 nodes may take at most this share of its nodes from aliases.
_RATIO_LOW, _RATIO_HIGH = 400_000, 4_000_000


def allowed_alias_ratio(decode_count: int) -> float:
    """go-yaml's allowedAliasRatio: 99% for small documents, 10% for very large ones."""
    if decode_count <= _RATIO_LOW:
        return 0.99
    if decode_count >= _RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decode_count - _RATIO_LOW) / (_RATIO_HIGH - _RATIO_LOW)


class ExcessiveAliasing(yaml.YAMLError):
    def __str__(self) -> str:
        return "yaml: document contains excessive aliasing"


def _expansion(root: Node) -> tuple[int, int]:
    """(nodes, nodes decoded through an alias) when `root` is decoded as a tree, as
    go-yaml's decodeCount and aliasCount count them, in time linear in the size of
    the graph (each node's cost is memoized). A node met again after its first visit
    is an alias of its anchor."""
    cost: dict[int, tuple[int, int]] = {}
    seen: set[int] = set()
    # iterative post-order walk: deep documents must not exhaust Python's stack
    stack: list[tuple[Node, bool]] = [(root, False)]
    totals: list[tuple[int, int]] = []
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if expanded:
            children = _children(node)
            nodes, aliases = 1, 0
            for _ in children:
                n, a = totals.pop()
                nodes, aliases = nodes + n, aliases + a
            cost[key] = (nodes, aliases)
            totals.append((nodes, aliases))
            continue
        if key in seen:
            if key not in cost:  # an alias inside its own anchor's value
                raise ExcessiveAliasing()
            n, _ = cost[key]
            totals.append((n + 1, n))  # the alias, then every node of its value again
            continue
        seen.add(key)
        stack.append((node, True))
        # children pushed in reverse so the first in document order is visited first
        stack.extend((child, False) for child in reversed(_children(node)))
    return totals[-1] if totals else (0, 0)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_aliasing(root: Node) -> None:
    nodes, aliases = _expansion(root)
    if aliases > 100 and nodes > 1000 and aliases / nodes > allowed_alias_ratio(nodes):
        raise ExcessiveAliasing()


class TooDeep(yaml.YAMLError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"nesting too deep (more than {limit} levels)")


class _BudgetLoader(yaml.SafeLoader):
    """SafeLoader whose (recursive) composer stops at `max_depth` levels, before
    Python's recursion limit, and whose scanner stops at `max_depth` open flow
    collections: it scans ahead over every `[` that may start a key, in time
    quadratic in their number (6 KB of `[[[[...` took 0.8 s, 30 KB twenty)."""

    max_depth = 200
    _depth = 0

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        if self.flow_level >= self.max_depth:
            raise TooDeep(self.max_depth)
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise TooDeep(self.max_depth)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def safe_load(body: bytes | str, max_depth: int = 200) -> Any:
    """yaml.safe_load, refusing documents go-yaml refuses for excessive aliasing and
    documents nested deeper than `max_depth`."""
    loader = _BudgetLoader(body)
    loader.max_depth = max_depth
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        check_aliasing(root)
        return loader.construct_document(root)
    finally:
        loader.dispose()
