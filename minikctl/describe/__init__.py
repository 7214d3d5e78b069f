"""`minikctl describe`: kubectl's human-readable descriptions, with the object's events.

Pods, deployments, replica sets, services, nodes and namespaces get kubectl's layout
(sections of `Label:<tab>value` lines aligned by Go's tabwriter); any other kind gets
the generic field dump kubectl uses for custom resources.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from api.errors import NotFound
from api.resources import Resource
from minikctl.context import Context
from minikctl.describe.cluster import describe_namespace, describe_node, describe_service
from minikctl.describe.generic import describe_generic
from minikctl.describe.workloads import describe_deployment, describe_pod, describe_replicaset
from minikctl.describe.writer import Obj, Writer, describe_events, events_for
from minikctl.get import add_selection_flags, list_namespace, parse_targets

DESCRIBERS: dict[str, Callable[[Context, Writer, Obj], None]] = {
    "Pod": describe_pod,
    "Deployment": describe_deployment,
    "ReplicaSet": describe_replicaset,
    "Service": describe_service,
    "Node": describe_node,
    "Namespace": describe_namespace,
}


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "describe",
        parents=parents,
        help="show details of resources",
        description="Describe TYPE [NAME_PREFIX...] or TYPE/NAME.",
    )
    p.add_argument("targets", nargs="+", metavar="TYPE[/NAME] | TYPE NAME...")
    add_selection_flags(p)
    p.add_argument("--show-events", type=lambda s: s.lower() != "false", default=True)
    p.set_defaults(func=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    texts: list[str] = []
    failed = False
    for target in parse_targets(ctx, args.targets):
        objs: list[Obj] = []
        if target.names:
            for name in target.names:
                found = _by_name_or_prefix(ctx, target.res, name)
                if not found:
                    ctx.err.write(
                        f"Error from server (NotFound): {target.res.group_resource} "
                        f'"{name}" not found\n'
                    )
                    failed = True
                objs += found
        else:
            listing = ctx.client.list(
                target.res,
                list_namespace(ctx, args),
                label_selector=args.selector,
                field_selector=args.field_selector,
            )
            objs = list(listing.get("items") or [])
        for obj in objs:
            texts.append(describe(ctx, target.res, obj, args.show_events))
    if not texts and not failed:
        where = "" if args.all_namespaces else f" in {ctx.namespace} namespace."
        ctx.err.write(f"No resources found{where}\n")
    ctx.out.write("\n\n\n".join(t.rstrip("\n") for t in texts) + ("\n" if texts else ""))
    return 1 if failed else 0


def _by_name_or_prefix(ctx: Context, res: Resource, name: str) -> list[Obj]:
    """kubectl describe falls back to every object whose name starts with `name`."""
    try:
        return [ctx.client.get(res, name, ctx.namespace)]
    except NotFound:
        listing = ctx.client.list(res, ctx.namespace)
        return [
            o
            for o in listing.get("items") or []
            if o.get("metadata", {}).get("name", "").startswith(name)
        ]


def describe(ctx: Context, res: Resource, obj: Obj, show_events: bool = True) -> str:
    w = Writer()
    DESCRIBERS.get(res.kind, describe_generic)(ctx, w, obj)
    if show_events and res.kind not in ("Event", "Namespace"):
        describe_events(w, events_for(ctx, obj))
    return w.render()
