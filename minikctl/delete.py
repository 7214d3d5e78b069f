"""`minikctl delete`: by file, TYPE/NAME, TYPE NAME..., selector or --all; then (by
default) wait until the objects are really gone, as kubectl does."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

from api.errors import NotFound
from api.resources import Resource
from componentbase.flags import boolean
from minikctl import manifests
from minikctl.context import CLIError, Context, kind_ref
from minikctl.get import add_selection_flags, list_namespace, parse_targets
from minikctl.resolve import resolve_kind

CASCADE = {
    "background": "Background",
    "foreground": "Foreground",
    "orphan": "Orphan",
    "true": "Background",
    "false": "Orphan",
}


@dataclass
class Victim:
    res: Resource
    name: str
    namespace: str | None
    uid: str | None = None


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "delete",
        parents=parents,
        help="delete resources",
        description="Delete resources by file, TYPE/NAME, TYPE NAME..., label selector or --all.",
    )
    p.add_argument("targets", nargs="*", metavar="TYPE[/NAME] | TYPE NAME...")
    p.add_argument("-f", "--filename", action="append", help="file, directory or -")
    p.add_argument("-R", "--recursive", action="store_true")
    add_selection_flags(p)
    p.add_argument("--all", action="store_true", help="every object of the type")
    p.add_argument(
        "--cascade",
        default="background",
        choices=sorted(CASCADE),
        help="what happens to dependents (background|foreground|orphan)",
    )
    p.add_argument(
        "--grace-period",
        type=int,
        default=-1,
        help="seconds to let the object terminate (-1: its default)",
    )
    p.add_argument("--now", action="store_true", help="same as --grace-period=1")
    p.add_argument("--force", action="store_true", help="with --grace-period=0: immediately")
    p.add_argument(
        "--wait",
        type=boolean,
        nargs="?",
        const=True,
        default=True,
        help="wait until the objects are gone (default true; --wait=false)",
    )
    p.add_argument("--timeout", type=float, default=0, help="seconds to wait (0: no limit)")
    p.add_argument("--ignore-not-found", action="store_true")
    p.set_defaults(func=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    victims, failed = _victims(ctx, args)
    if not victims and not failed:
        ctx.err.write("No resources found\n")
        return 0
    grace = 1 if args.now else (args.grace_period if args.grace_period >= 0 else None)
    gone: list[Victim] = []
    for v in victims:
        try:
            answer = ctx.client.delete(
                v.res,
                v.name,
                v.namespace,
                propagation_policy=CASCADE[args.cascade],
                grace_period_seconds=grace,
            )
        except NotFound as err:
            if not args.ignore_not_found:
                ctx.err.write(f"Error from server (NotFound): {err.message}\n")
                failed = True
            continue
        v.uid = v.uid or (
            (answer.get("metadata") or {}).get("uid") if answer.get("kind") != "Status" else None
        )
        ctx.print(f'{kind_ref(v.res)} "{v.name}" deleted')
        gone.append(v)
    if args.wait and gone:
        _wait_gone(ctx, gone, args.timeout)
    return 1 if failed else 0


def _victims(ctx: Context, args: argparse.Namespace) -> tuple[list[Victim], bool]:
    if args.filename:
        if args.targets:
            raise CLIError("cannot specify both resource arguments and -f")
        out = []
        for m in manifests.load(args.filename, args.recursive):
            res = resolve_kind(ctx, m.obj["apiVersion"], m.obj["kind"], m.source)
            meta = m.obj.get("metadata") or {}
            ns = (meta.get("namespace") or ctx.namespace) if res.namespaced else None
            out.append(Victim(res, meta.get("name", ""), ns))
        return out, False
    if not args.targets:
        raise CLIError("You must provide one or more resources by argument or filename.")
    targets = parse_targets(ctx, args.targets)
    selecting = args.all or args.selector or args.field_selector
    out, failed = [], False
    for t in targets:
        if t.names:
            if selecting:
                raise CLIError("name cannot be provided when a selector or --all is specified")
            out += [Victim(t.res, n, ctx.namespace if t.res.namespaced else None) for n in t.names]
            continue
        if not selecting:
            raise CLIError("resource(s) were provided, but no name was specified")
        listing = ctx.client.list(
            t.res,
            list_namespace(ctx, args),
            label_selector=args.selector,
            field_selector=args.field_selector,
        )
        for item in listing.get("items") or []:
            meta = item.get("metadata") or {}
            out.append(Victim(t.res, meta["name"], meta.get("namespace"), meta.get("uid")))
    return out, failed


def _wait_gone(ctx: Context, victims: list[Victim], timeout: float) -> None:
    """Poll until each object is gone (or replaced by a new one with another uid)."""
    deadline = time.monotonic() + timeout if timeout > 0 else None
    pending = list(victims)
    delay = 0.1
    while pending:
        still = []
        for v in pending:
            try:
                live = ctx.client.get(v.res, v.name, v.namespace)
            except NotFound:
                continue
            if v.uid and (live.get("metadata") or {}).get("uid") != v.uid:
                continue
            still.append(v)
        pending = still
        if not pending:
            return
        if deadline is not None and time.monotonic() > deadline:
            names = ", ".join(f"{kind_ref(v.res)}/{v.name}" for v in pending)
            raise CLIError(f"timed out waiting for the condition on {names}")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
