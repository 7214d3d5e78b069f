"""The JSONPath subset CRDs use (additionalPrinterColumns, the scale subresource's
paths): `.spec.replicas`, `.metadata.labels['app.kubernetes.io/name']`, `.items[0]`,
`.items[*].name`, `.status.conditions[?(@.type=="Ready")].status`. Enough for what
Kubernetes' printers and scale read; not a full kubectl JSONPath."""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_$-]+)"""
    r"""|\[['"](?P<quoted>[^'"]+)['"]\]"""
    r"""|\[(?P<index>-?\d+|\*)\]"""
    r"""|\[\?\(@\.(?P<fkey>[A-Za-z0-9_.-]+)\s*==\s*['"](?P<fval>[^'"]*)['"]\)\]"""
)


def parse(path: str) -> list[tuple[str, Any]] | None:
    """Steps of a path, or None when it is outside the subset."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if text.startswith("$"):
        text = text[1:]
    steps: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            return None
        if m.group("field") is not None:
            steps.append(("key", m.group("field")))
        elif m.group("quoted") is not None:
            steps.append(("key", m.group("quoted")))
        elif m.group("index") is not None:
            index = m.group("index")
            steps.append(("all", None) if index == "*" else ("index", int(index)))
        else:
            steps.append(("filter", (m.group("fkey"), m.group("fval"))))
        pos = m.end()
    return steps


def find(obj: Any, path: str) -> list[Any]:
    """Every value the path reaches."""
    steps = parse(path)
    if not steps:
        return []
    values = [obj]
    for kind, arg in steps:
        found: list[Any] = []
        for v in values:
            keyed = kind == "key" and isinstance(v, dict) and arg in v
            if keyed or (kind == "index" and isinstance(v, list) and -len(v) <= arg < len(v)):
                found.append(v[arg])
            elif kind == "all" and isinstance(v, list):
                found.extend(v)
            elif kind == "all" and isinstance(v, dict):
                found.extend(v.values())
            elif kind == "filter" and isinstance(v, list):
                key, want = arg
                found.extend(
                    item for item in v if isinstance(item, dict) and str(item.get(key)) == want
                )
        values = found
    return values


def first(obj: Any, path: str) -> Any:
    values = find(obj, path)
    return values[0] if values else None


def set_path(obj: dict, path: str, value: Any) -> None:
    """Set a plain `.a.b.c` path, creating objects on the way."""
    steps = parse(path) or []
    if not steps or any(kind != "key" for kind, _ in steps):
        raise ValueError(f"cannot set {path!r}")
    target = obj
    for _, key in steps[:-1]:
        target = target.setdefault(key, {})
    target[steps[-1][1]] = value
