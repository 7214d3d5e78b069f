"""`minikctl events`: kubectl's `events` command — a namespace's events oldest first
(by series.lastObservedTime, else lastTimestamp, else eventTime), `--for TYPE/NAME`
narrowing them to one object, `--types` to Normal/Warning, `-w` to keep watching.

(`get events` prints them in the server's order, as `kubectl get events` does; sort
that with `--sort-by=.lastTimestamp`.)
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from api.humanize import human_duration
from api.resources import by_kind
from api.timefmt import parse_time
from client.rest import ALL_NAMESPACES
from client.watch import RELIST, ResumableWatch
from minikctl.context import Context
from minikctl.printing import StreamingTable
from minikctl.tabwriter import tabwrite
from minikctl.target import one_ref

Obj = dict[str, Any]
EVENTS = by_kind("Event", "v1")


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("events", parents=parents, help="list events, oldest first")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="across all namespaces")
    p.add_argument("--for", dest="for_object", help="only events about TYPE/NAME")
    p.add_argument("--types", default="", help="only these types, e.g. Warning,Normal")
    p.add_argument("-w", "--watch", action="store_true", help="after listing, watch for more")
    p.add_argument("--no-headers", action="store_true", help="omit the header line")
    p.set_defaults(func=run)


def event_time(event: Obj) -> float:
    """kubectl's eventTime(): what events are sorted by."""
    series = event.get("series") or {}
    for value in (
        series.get("lastObservedTime"),
        event.get("lastTimestamp"),
        event.get("eventTime"),
    ):
        when = parse_time(value)
        if when is not None:
            return when
    return 0.0


def _since(value: str | None, now: float) -> str:
    when = parse_time(value)
    return "<unknown>" if when is None else human_duration(now - when)


def interval(event: Obj, now: float) -> str:
    """LAST SEEN: `5m`, or `2m (x3 over 10m)` for repeated events."""
    first = _since(event.get("eventTime") or event.get("firstTimestamp"), now)
    series = event.get("series")
    if series:
        return (
            f"{_since(series.get('lastObservedTime'), now)} (x{series.get('count')} over {first})"
        )
    if int(event.get("count") or 0) > 1:
        return f"{_since(event.get('lastTimestamp'), now)} (x{event['count']} over {first})"
    return first


def row(event: Obj, now: float, with_namespace: bool) -> list[str]:
    involved = event.get("involvedObject") or {}
    cells = [
        interval(event, now),
        event.get("type", ""),
        event.get("reason", ""),
        f"{involved.get('kind', '')}/{involved.get('name', '')}",
        (event.get("message") or "").strip(),
    ]
    if with_namespace:
        cells.insert(0, (event.get("metadata") or {}).get("namespace", ""))
    return cells


def header(with_namespace: bool) -> list[str]:
    names = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    return ["NAMESPACE", *names] if with_namespace else names


def field_selector(ctx: Context, for_object: str | None) -> str | None:
    if not for_object:
        return None
    ref = one_ref(ctx, for_object)
    return (
        f"involvedObject.kind={ref.res.kind},"
        f"involvedObject.apiVersion={ref.res.api_version},"
        f"involvedObject.name={ref.name}"
    )


def _wanted(event: Obj, types: list[str]) -> bool:
    return not types or (event.get("type") or "").lower() in types


def run(ctx: Context, args: argparse.Namespace) -> int:
    assert EVENTS is not None
    namespace = ALL_NAMESPACES if args.all_namespaces else ctx.namespace
    types = [t.strip().lower() for t in args.types.split(",") if t.strip()]
    selector = field_selector(ctx, args.for_object)
    if args.watch:
        return watch(ctx, args, namespace, selector, types)
    listing = ctx.client.list(EVENTS, namespace, field_selector=selector)
    events = sorted((e for e in listing.get("items") or [] if _wanted(e, types)), key=event_time)
    if not events:
        where = "" if args.all_namespaces else f" in {ctx.namespace} namespace"
        ctx.err.write(f"No events found{where}.\n")
        return 0
    now = time.time()
    rows = [] if args.no_headers else [header(args.all_namespaces)]
    rows += [row(e, now, args.all_namespaces) for e in events]
    ctx.print(tabwrite("\n".join("\t".join(r) for r in rows), 6, 3))
    return 0


def watch(
    ctx: Context, args: argparse.Namespace, namespace: str, selector: str | None, types: list[str]
) -> int:
    assert EVENTS is not None
    printer = StreamingTable(ctx.out)
    header_done = args.no_headers
    stream = ResumableWatch(ctx.client, EVENTS, namespace, field_selector=selector)
    try:
        for event_type, obj in stream:
            if event_type == "DELETED":  # events expire after an hour: not news
                continue
            items = (
                sorted(obj.get("items") or [], key=event_time) if event_type == RELIST else [obj]
            )
            rows = [row(e, time.time(), args.all_namespaces) for e in items if _wanted(e, types)]
            if not rows:
                continue
            if not header_done:
                rows.insert(0, header(args.all_namespaces))
                header_done = True
            printer.write(rows)
    except KeyboardInterrupt:
        return 0
    return 0
