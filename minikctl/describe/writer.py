"""The pieces every description is made of: kubectl's PrefixWriter (indented,
tab-separated lines aligned by Go's tabwriter), times, labels, conditions and the
object's events."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from api.errors import NotFound
from api.humanize import age
from api.resources import by_kind
from api.timefmt import parse_time
from client.rest import ALL_NAMESPACES
from minikctl.context import Context
from minikctl.tabwriter import tabwrite

Obj = dict[str, Any]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class Writer:
    """kubectl's PrefixWriter: indented, tab-separated lines rendered in one tabwriter."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def line(self, level: int, text: str) -> None:
        self.parts.append("  " * level + text + "\n")

    def render(self) -> str:
        return tabwrite("".join(self.parts), 0, 2)

    def field(self, level: int, label: str, value: Any) -> None:
        self.line(level, f"{label}:\t{_text(value)}")

    def multiline(self, level: int, label: str, items: list[str]) -> None:
        """`Labels: a=b` then continuation lines aligned under the first value. As in
        kubectl, a continuation line is just a tab and the item (no indent): the tabwriter
        aligns it, and `rollout history --revision` prints it raw."""
        if not items:
            self.field(level, label, "<none>")
            return
        self.line(level, f"{label}:\t{items[0]}")
        for item in items[1:]:
            self.parts.append(f"\t{item}\n")


def _text(value: Any) -> str:
    if value is None or value == "":
        return "<none>" if value is None else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def when(timestamp: str | None) -> str:
    """RFC 1123 with numeric zone, in local time (Go's time.RFC1123Z)."""
    then = parse_time(timestamp)
    if then is None:
        return "<unknown>"
    return datetime.fromtimestamp(then).astimezone().strftime("%a, %d %b %Y %H:%M:%S %z")


def labels_lines(labels: dict[str, str] | None) -> list[str]:
    return [f"{k}={v}" for k, v in sorted((labels or {}).items())]


def annotation_lines(annotations: dict[str, str] | None) -> list[str]:
    return [f"{k}: {v}" for k, v in sorted((annotations or {}).items()) if k != LAST_APPLIED]


def describe_meta(w: Writer, obj: Obj, namespace: bool = True) -> None:
    meta = obj.get("metadata") or {}
    w.field(0, "Name", meta.get("name", ""))
    if namespace:
        w.field(0, "Namespace", meta.get("namespace", ""))
    w.multiline(0, "Labels", labels_lines(meta.get("labels")))
    w.multiline(0, "Annotations", annotation_lines(meta.get("annotations")))


def controlled_by(obj: Obj) -> str | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return f"{ref.get('kind')}/{ref.get('name')}"
    return None


def events_for(ctx: Context, obj: Obj) -> list[Obj] | None:
    meta = obj.get("metadata") or {}
    res = by_kind("Event", "v1")
    if res is None or not meta.get("name"):
        return None
    selector = []  # kubectl's order: namespace, kind, uid, name
    if meta.get("namespace"):
        selector.append(f"involvedObject.namespace={meta['namespace']}")
    if obj.get("kind"):
        selector.append(f"involvedObject.kind={obj['kind']}")
    if meta.get("uid"):
        selector.append(f"involvedObject.uid={meta['uid']}")
    selector.append(f"involvedObject.name={meta['name']}")
    try:
        listing = ctx.client.list(
            res, meta.get("namespace") or ALL_NAMESPACES, field_selector=",".join(selector)
        )
    except NotFound:
        return None
    return list(listing.get("items") or [])


def describe_events(w: Writer, events: list[Obj] | None) -> None:
    if events is None:
        return
    if not events:
        w.line(0, "Events:\t<none>")
        return
    events = sorted(events, key=lambda e: parse_time(_last_time(e)) or 0)
    w.line(0, "Events:")
    w.line(1, "Type\tReason\tAge\tFrom\tMessage")
    w.line(1, "----\t------\t----\t----\t-------")
    now = time.time()
    for e in events:
        count = int(e.get("count") or (e.get("series") or {}).get("count") or 1)
        first = e.get("firstTimestamp") or e.get("eventTime") or _last_time(e)
        if count > 1:
            interval = f"{age(_last_time(e), now)} (x{count} over {age(first, now)})"
        else:
            interval = age(first, now)
        source = (e.get("source") or {}).get("component") or e.get("reportingComponent") or ""
        w.line(
            1,
            f"{e.get('type', '')}\t{e.get('reason', '')}\t{interval}\t{source}\t"
            f"{(e.get('message') or '').strip()}",
        )


def _last_time(e: Obj) -> str | None:
    return (
        e.get("lastTimestamp")
        or (e.get("series") or {}).get("lastObservedTime")
        or e.get("eventTime")
        or e.get("firstTimestamp")
        or (e.get("metadata") or {}).get("creationTimestamp")
    )


def describe_conditions(
    w: Writer, conditions: list[Obj], columns: list[str], dashes: bool = True
) -> None:
    """A conditions table with kubectl's `Type  Status ...` header (omitted when empty)."""
    if not conditions:
        return
    w.line(0, "Conditions:")
    w.line(1, "\t".join(columns))
    if dashes:
        w.line(1, "\t".join("-" * len(c) for c in columns))
    keys = {
        "Type": "type",
        "Status": "status",
        "Reason": "reason",
        "Message": "message",
        "LastHeartbeatTime": "lastHeartbeatTime",
        "LastTransitionTime": "lastTransitionTime",
    }
    for c in conditions:
        cells = []
        for col in columns:
            value = c.get(keys[col], "")
            cells.append(when(value) if col.endswith("Time") else str(value))
        w.line(1, " \t".join([*cells[:-1], cells[-1] + ("" if dashes else " ")]))


def title_case(key: str) -> str:
    """`creationTimestamp` → `Creation Timestamp`, `podIP` → `Pod IP`."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key)
    return words[:1].upper() + words[1:]
