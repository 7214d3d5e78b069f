"""`minikctl cordon|uncordon NODE`: mark a node (un)schedulable with the strategic merge
patch kubectl's CordonHelper computes — `{"spec":{"unschedulable":true}}`, or `null` to
uncordon (false is the field's zero value, so the two-way patch removes it)."""

from __future__ import annotations

import argparse
from typing import Any

from api.resources import by_kind
from minikctl.context import CLIError, Context
from minikctl.target import Ref

NODES = by_kind("Node", "v1")


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    for verb, text in (
        ("cordon", "mark a node unschedulable"),
        ("uncordon", "mark a node schedulable again"),
    ):
        p = sub.add_parser(verb, parents=parents, help=text)
        p.add_argument("nodes", nargs="*", metavar="NODE")
        p.add_argument("-l", "--selector", help="nodes matching this label selector")
        p.set_defaults(func=run, desired=verb == "cordon")


def node_refs(ctx: Context, names: list[str], selector: str | None, usage: str) -> list[Ref]:
    """Nodes by name (`node/x` accepted) or by selector, as kubectl's drain/cordon take them."""
    assert NODES is not None
    if names and selector:
        raise CLIError("cannot specify both a node name and a --selector option")
    if not names and not selector:
        raise CLIError(f"USAGE: {usage} [flags]")
    if selector:
        listing = ctx.client.list(NODES, label_selector=selector)
        return [Ref(NODES, n["metadata"]["name"], None) for n in listing.get("items") or []]
    refs = []
    for name in names:
        kind, sep, rest = name.partition("/")
        if sep and kind not in ("node", "nodes", "no"):
            raise CLIError(f'expected resource of type node, got "{kind}"')
        refs.append(Ref(NODES, rest if sep else name, None))
    return refs


def set_unschedulable(ctx: Context, ref: Ref, desired: bool) -> str:
    """Cordon or uncordon one node; the word kubectl prints after `node/NAME`."""
    node = ref.get(ctx)
    word = "cordoned" if desired else "uncordoned"
    if bool((node.get("spec") or {}).get("unschedulable")) == desired:
        return f"already {word}"
    patch = {"spec": {"unschedulable": True if desired else None}}
    ctx.client.patch(ref.res, ref.name, patch, "strategic")
    return word


def run(ctx: Context, args: argparse.Namespace) -> int:
    verb = "cordon" if args.desired else "uncordon"
    for ref in node_refs(ctx, args.nodes, args.selector, f"{verb} NODE"):
        ctx.print(f"node/{ref.name} {set_unschedulable(ctx, ref, args.desired)}")
    return 0
