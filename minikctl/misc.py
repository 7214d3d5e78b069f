"""`minikctl api-resources` (from the server's discovery) and `minikctl version`."""

from __future__ import annotations

import argparse
import json
from importlib import metadata
from typing import Any

from api.errors import ApiError
from minikctl.context import Context
from minikctl.printing import dump, render_rows
from minikctl.resolve import discover


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "api-resources", parents=parents, help="print the resource types the server serves"
    )
    p.add_argument("-o", "--output", choices=("wide", "name"))
    p.add_argument("--namespaced", type=lambda s: s.lower() == "true", default=None)
    p.add_argument("--no-headers", action="store_true")
    p.set_defaults(func=api_resources)

    v = sub.add_parser("version", parents=parents, help="print client and server versions")
    v.add_argument("--client", action="store_true", help="client version only")
    v.add_argument("-o", "--output", choices=("yaml", "json"))
    v.set_defaults(func=version)


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


def client_version() -> str:
    try:
        return "v" + metadata.version("minik")
    except metadata.PackageNotFoundError:
        return "v0.0.0-dev"


def version(ctx: Context, args: argparse.Namespace) -> int:
    info: dict[str, Any] = {"clientVersion": {"gitVersion": client_version(), "platform": "python"}}
    server_error: ApiError | None = None
    if not args.client:
        try:
            info["serverVersion"] = ctx.client.get_path("/version")
        except ApiError as err:
            server_error = err
    if args.output:
        text = dump(info, args.output) if args.output == "yaml" else json.dumps(info, indent=2)
        ctx.out.write(text.rstrip("\n") + "\n")
    else:
        ctx.print(f"Client Version: {info['clientVersion']['gitVersion']}")
        if "serverVersion" in info:
            ctx.print(f"Server Version: {info['serverVersion'].get('gitVersion', '')}")
    if server_error is not None:
        raise server_error
    return 0
