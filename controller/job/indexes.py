"""Completion indexes of Indexed Jobs: the `completedIndexes` interval string Kubernetes
keeps in a Job's status ("1,3-5,7"), and the index a pod carries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from api.batch import COMPLETION_INDEX_ANNOTATION

Obj = dict[str, Any]


def parse_indexes(text: str | None, completions: int) -> set[int]:
    """The indexes of an interval string below `completions`; malformed parts are
    skipped, as Kubernetes' parseIndexesFromString does."""
    found: set[int] = set()
    for part in (text or "").split(","):
        first, _, last = part.partition("-")
        try:
            low = int(first)
            high = int(last) if last else low
        except ValueError:
            continue
        found.update(i for i in range(max(low, 0), min(high, completions - 1) + 1))
    return found


def format_indexes(indexes: Iterable[int]) -> str:
    """Sorted indexes as intervals: {1, 3, 4, 5, 7} -> "1,3-5,7"."""
    parts: list[str] = []
    ordered = sorted(set(indexes))
    start = prev = None
    for i in [*ordered, None]:
        if i is not None and prev is not None and i == prev + 1:
            prev = i
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = i
    return ",".join(parts)


def pod_index(pod: Obj) -> int | None:
    """The completion index in the pod's annotation, None when absent or malformed."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(COMPLETION_INDEX_ANNOTATION)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def first_free_indexes(completions: int, taken: set[int], count: int) -> list[int]:
    """The lowest `count` indexes below `completions` that are neither done nor running."""
    free: list[int] = []
    for i in range(completions):
        if len(free) >= count:
            break
        if i not in taken:
            free.append(i)
    return free
