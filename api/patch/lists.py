"""Identity and order of merged list elements, shared by strategic merge patch and
server-side apply, so both put elements where Kubernetes puts them.

Kubernetes' rule (apimachinery strategicpatch `normalizeElementOrder`): elements named
by the patch (or by `$setElementOrder`) come in the patch's order; elements only the
server has keep their relative order and are interleaved by their position in the
live list; when no comparison is possible the patch's element goes first.
"""

from __future__ import annotations

from typing import Any


def same(a: Any, b: Any) -> bool:
    """JSON equality: unlike Python's, `true` is not `1`."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def has_key(item: Any, key: str) -> bool:
    return isinstance(item, dict) and key in item


def matches(a: Any, b: Any, key: str | None) -> bool:
    """Whether two elements are the same element: equal merge keys, or equal values."""
    if not key:
        return not isinstance(a, dict) and same(a, b)
    if has_key(a, key) and has_key(b, key):
        return same(a[key], b[key])
    return a is b  # elements without their key are only ever themselves


def index_of(items: list[Any], item: Any, key: str | None) -> int:
    for i, candidate in enumerate(items):
        if matches(candidate, item, key):
            return i
    return -1


def sort_by(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    """`items` in the order they appear in `order`; ones it lacks go last, as they were."""
    found = [(index_of(order, it, key), n, it) for n, it in enumerate(items)]
    ranked = sorted((i, n, it) for i, n, it in found if i >= 0)
    return [it for _, _, it in ranked] + [it for i, _, it in found if i < 0]


def merge_sorted(
    server_only: list[Any], patched: list[Any], server_order: list[Any], key: str | None
) -> list[Any]:
    """Interleave two ordered lists, keeping each one's order; a server-only element goes
    before a patched one only when the live list had it before that one."""
    out: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(patched):
        if j >= len(patched):
            out.append(server_only[i])
            i += 1
        elif i >= len(server_only):
            out.append(patched[j])
            j += 1
        else:
            li = index_of(server_order, server_only[i], key)
            ri = index_of(server_order, patched[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(server_only[i])
                i += 1
            else:
                out.append(patched[j])
                j += 1
    return out


def normalize_order(
    merged: list[Any], order: list[Any], server_order: list[Any], key: str | None
) -> list[Any]:
    """Reorder a merged list: elements named in `order` follow it, the rest keep their
    live order and are slotted in around them."""
    key = key or None  # SET: primitives compare by value
    named = [it for it in merged if index_of(order, it, key) >= 0]
    rest = [it for it in merged if index_of(order, it, key) < 0]
    return merge_sorted(
        sort_by(rest, server_order, key), sort_by(named, order, key), server_order, key
    )


def dedupe(items: list[Any]) -> list[Any]:
    """Primitives, first occurrence kept."""
    out: list[Any] = []
    for it in items:
        if index_of(out, it, None) < 0:
            out.append(it)
    return out


def deep_same(a: Any, b: Any) -> bool:
    """Deep JSON equality (see `same`)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(deep_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(deep_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return same(a, b)
