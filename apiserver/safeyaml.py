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


def safe_load(body: bytes | str) -> Any:
    """yaml.safe_load, refusing documents go-yaml refuses for excessive aliasing."""
    loader = yaml.SafeLoader(body)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        check_aliasing(root)
        return loader.construct_document(root)
    finally:
        loader.dispose()
