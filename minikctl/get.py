"""`minikctl get`: list or fetch resources as tables, YAML, JSON or names; `-w` watches."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from api.errors import NotFound
from api.resources import Resource
from client.rest import ALL_NAMESPACES
from client.watch import RELIST, ResumableWatch
from minikctl.context import CLIError, Context, kind_ref
from minikctl.printing import StreamingTable, TableOptions, TableView, as_list, dump, render_rows
from minikctl.resolve import category, resolve
from minikctl.sortby import sort_objects, sort_table

OUTPUTS = ("yaml", "json", "wide", "name")


@dataclass
class Target:
    res: Resource
    names: list[str]  # empty: every object (filtered by selectors)


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "get",
        parents=parents,
        help="display one or many resources",
        description="Print resources: TYPE[,TYPE...] [NAME...] or TYPE/NAME...",
    )
    p.add_argument("targets", nargs="*", metavar="TYPE[/NAME] | TYPE NAME...")
    add_selection_flags(p)
    p.add_argument("-o", "--output", choices=OUTPUTS, help="output format")
    p.add_argument("-w", "--watch", action="store_true", help="after listing, watch for changes")
    p.add_argument("--watch-only", action="store_true", help="watch without listing first")
    p.add_argument("--show-labels", action="store_true", help="add a LABELS column")
    p.add_argument("--sort-by", help="sort listed objects by this JSONPath, e.g. .lastTimestamp")
    p.add_argument("--no-headers", action="store_true", help="omit the header line")
    p.add_argument(
        "--ignore-not-found",
        action="store_true",
        help="treat a named object that does not exist as success",
    )
    p.set_defaults(func=run)


def add_selection_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-l", "--selector", help="label selector, e.g. app=web,tier!=db")
    p.add_argument("--field-selector", help="field selector, e.g. status.phase=Running")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="across all namespaces")


def parse_targets(ctx: Context, words: list[str]) -> list[Target]:
    """`pods`, `pods,svc`, `pod web db`, `pod/web deploy/api`, `all`."""
    if not words:
        raise CLIError(
            'You must specify the type of resource to get. Use "minikctl '
            'api-resources" for a complete list of supported resources.'
        )
    if "/" in words[0]:
        targets: list[Target] = []
        for word in words:
            kind, sep, name = word.partition("/")
            if not sep or not name:
                raise CLIError(
                    "there is no need to specify a resource type as a separate "
                    "argument when passing arguments in resource/name form "
                    "(e.g. 'minikctl get resource/<resource_name>' instead of "
                    "'minikctl get resource resource/<resource_name>'"
                )
            res = resolve(ctx, kind)
            existing = next((t for t in targets if t.res == res), None)
            if existing:
                existing.names.append(name)
            else:
                targets.append(Target(res, [name]))
        return targets
    kinds: list[Resource] = []
    for word in words[0].split(","):
        for res in category(ctx, word) if word == "all" else [resolve(ctx, word)]:
            if res not in kinds:
                kinds.append(res)
    return [Target(res, list(words[1:])) for res in kinds]


def list_namespace(ctx: Context, args: argparse.Namespace) -> str | None:
    return ALL_NAMESPACES if getattr(args, "all_namespaces", False) else ctx.namespace


def fetch(
    ctx: Context, target: Target, args: argparse.Namespace, as_table: bool
) -> tuple[list[dict[str, Any]], bool]:
    """The Tables (or objects) for one target, and whether any name failed."""
    client, res = ctx.client, target.res
    if not target.names:
        listing = client.list(
            res,
            list_namespace(ctx, args),
            label_selector=args.selector,
            field_selector=args.field_selector,
            as_table=as_table,
        )
        if getattr(args, "sort_by", None):
            listing = _sorted(ctx, target, args, listing)
        return [listing], False
    found, failed = [], False
    for name in target.names:
        try:
            found.append(client.get(res, name, ctx.namespace, as_table=as_table))
        except NotFound as err:
            if not args.ignore_not_found:
                ctx.err.write(f"Error from server (NotFound): {err.message}\n")
                failed = True
    return found, failed


def _sorted(
    ctx: Context, target: Target, args: argparse.Namespace, listing: dict[str, Any]
) -> dict[str, Any]:
    """--sort-by: a list sorted in place; a Table reordered by its full objects."""
    if listing.get("kind") != "Table":
        return {**listing, "items": sort_objects(listing.get("items") or [], args.sort_by)}
    objects = ctx.client.list(
        target.res,
        list_namespace(ctx, args),
        label_selector=args.selector,
        field_selector=args.field_selector,
    )
    return sort_table(listing, objects.get("items") or [], args.sort_by)


def run(ctx: Context, args: argparse.Namespace) -> int:
    targets = parse_targets(ctx, args.targets)
    if args.watch or args.watch_only:
        return watch(ctx, targets, args)
    fmt = args.output
    structured = fmt in ("yaml", "json", "name")
    failed = False
    objects: list[dict[str, Any]] = []
    tables: list[list[list[str]]] = []
    several = len(targets) > 1
    for target in targets:
        results, missing = fetch(ctx, target, args, as_table=not structured)
        failed |= missing
        if structured:
            for r in results:
                objects.extend(_objects(target.res, r))
            continue
        view = TableView(_options(ctx, target.res, args, several))
        rows = [row for r in results for row in view.rows(r)]
        if rows:
            tables.append(([] if args.no_headers else [view.header()]) + rows)
    if fmt == "name":
        for obj in objects:
            ctx.print(f"{kind_ref(_res_of(targets, obj))}/{obj['metadata']['name']}")
    elif structured:
        single = len(targets) == 1 and len(targets[0].names) == 1 and len(objects) == 1
        ctx.out.write(dump(objects[0] if single else as_list(objects), fmt))
    else:
        ctx.out.write("\n\n".join(render_rows(t) for t in tables) + ("\n" if tables else ""))
    if not objects and not tables and not failed and not any(t.names for t in targets):
        ctx.err.write(_no_resources(ctx, targets, args) + "\n")
    return 1 if failed else 0


def watch(ctx: Context, targets: list[Target], args: argparse.Namespace) -> int:
    if len(targets) != 1:
        raise CLIError("you may only specify a single resource type with --watch")
    target = targets[0]
    if len(target.names) > 1:
        raise CLIError(
            "watch is only supported on individual resources and resource "
            "collections, but multiple named resources were given"
        )
    fmt = args.output
    as_table = fmt not in ("yaml", "json", "name")
    field_selector = (
        ",".join(
            f for f in (args.field_selector, *(f"metadata.name={n}" for n in target.names)) if f
        )
        or None
    )
    stream = ResumableWatch(
        ctx.client,
        target.res,
        list_namespace(ctx, args),
        label_selector=args.selector,
        field_selector=field_selector,
        timeout_seconds=None,
        as_table=as_table,
    )
    view = TableView(_options(ctx, target.res, args, False))
    printer = StreamingTable(ctx.out)
    header_done = args.no_headers
    try:
        for event_type, obj in stream:
            if event_type == RELIST and args.watch_only:
                args.watch_only = False  # only the first listing is skipped
                continue
            if not as_table:
                for item in _objects(target.res, obj):
                    _print_object(ctx, target.res, item, fmt)
                continue
            rows = view.rows(obj)
            if not rows:
                continue
            if not header_done:
                rows.insert(0, view.header())
                header_done = True
            printer.write(rows)
    except KeyboardInterrupt:
        return 0
    return 0


def _print_object(ctx: Context, res: Resource, obj: dict[str, Any], fmt: str) -> None:
    if fmt == "name":
        ctx.print(f"{kind_ref(res)}/{obj['metadata']['name']}")
    elif fmt == "json":
        ctx.out.write(dump(obj, "json"))
    else:
        ctx.out.write("---\n" + dump(obj, "yaml"))
    ctx.out.flush()


def _objects(res: Resource, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Items of a List (with kind/apiVersion restored), or the one object."""
    if "items" not in result:
        return [result]
    return [
        {"apiVersion": res.api_version, "kind": res.kind, **item}
        for item in result.get("items") or []
    ]


def _res_of(targets: list[Target], obj: dict[str, Any]) -> Resource:
    for t in targets:
        if t.res.kind == obj.get("kind") and t.res.api_version == obj.get("apiVersion"):
            return t.res
    return targets[0].res


def _options(ctx: Context, res: Resource, args: argparse.Namespace, several: bool) -> TableOptions:
    return TableOptions(
        wide=args.output == "wide",
        with_namespace=bool(args.all_namespaces and res.namespaced),
        show_labels=args.show_labels,
        kind_prefix=kind_ref(res) if several else None,
    )


def _no_resources(ctx: Context, targets: list[Target], args: argparse.Namespace) -> str:
    if args.all_namespaces or not any(t.res.namespaced for t in targets):
        return "No resources found"
    return f"No resources found in {ctx.namespace} namespace."
