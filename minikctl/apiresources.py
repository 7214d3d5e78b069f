"""`minikctl api-resources`: the resource types the server serves, from its discovery."""

from __future__ import annotations

import argparse
from typing import Any

from componentbase.flags import boolean
from minikctl.context import Context
from minikctl.printing import render_rows
from minikctl.resolve import discover


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "api-resources", parents=parents, help="print the resource types the server serves"
    )
    p.add_argument("-o", "--output", choices=("wide", "name"))
    p.add_argument("--namespaced", type=boolean, default=None)
    p.add_argument("--no-headers", action="store_true")
    p.set_defaults(func=api_resources)


def api_resources(ctx: Context, args: argparse.Namespace) -> int:
    found = discover(ctx)
    if args.namespaced is not None:
        found = [r for r in found if r.namespaced == args.namespaced]
    found.sort(key=lambda r: (r.group, r.plural))
    if args.output == "name":
        for r in found:
            ctx.print(f"{r.plural}.{r.group}" if r.group else r.plural)
        return 0
    header = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    if args.output == "wide":
        header += ["VERBS", "CATEGORIES"]
    rows = [] if args.no_headers else [header]
    for r in found:
        row = [
            r.plural,
            ",".join(r.short_names),
            r.api_version,
            "true" if r.namespaced else "false",
            r.kind,
        ]
        if args.output == "wide":
            row += ["[" + " ".join(r.verbs) + "]", ",".join(r.categories)]
        rows.append(row)
    ctx.print(render_rows(rows))
    return 0
