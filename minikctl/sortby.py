"""`get --sort-by=<jsonpath>`: kubectl's sorting of listed objects by one field.

kubectl accepts a JSONPath (`.lastTimestamp`, `{.metadata.creationTimestamp}`,
`.spec.containers[0].image`); numbers sort as numbers, everything else as text, and
objects without the field come first. Tables are reordered by matching their rows'
objects (by uid) with the full objects the field is read from.
"""

from __future__ import annotations

import re
from typing import Any

from minikctl.context import CLIError

Obj = dict[str, Any]
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def parse_path(expr: str) -> list[str | int]:
    """`{.a.b[0]}` or `.a.b[0]` → ["a", "b", 0]."""
    text = expr.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if not text.startswith("."):
        text = "." + text
    steps: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _STEP.match(text, pos)
        if not match:
            raise CLIError(f"couldn't parse the sort-by expression {expr!r}")
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    return steps


def field(obj: Any, steps: list[str | int]) -> Any:
    for step in steps:
        if isinstance(step, int):
            if not isinstance(obj, list) or step >= len(obj):
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[step] if isinstance(step, int) else obj.get(step)
    return obj


def key(value: Any) -> tuple[int, Any]:
    """Missing first, then numbers by value, then everything else as text."""
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (2, str(value).lower())
    if isinstance(value, int | float):
        return (1, value)
    return (2, value if isinstance(value, str) else repr(value))


def sort_objects(objects: list[Obj], expr: str) -> list[Obj]:
    steps = parse_path(expr)
    return sorted(objects, key=lambda o: key(field(o, steps)))


def sort_table(table: Obj, objects: list[Obj], expr: str) -> Obj:
    """The Table with its rows in the order of the sorted objects."""
    order = {
        (o.get("metadata") or {}).get("uid"): i for i, o in enumerate(sort_objects(objects, expr))
    }

    def position(row: Obj) -> int:
        uid = (((row.get("object") or {}).get("metadata")) or {}).get("uid")
        return order.get(uid, len(order))

    return {**table, "rows": sorted(table.get("rows") or [], key=position)}
