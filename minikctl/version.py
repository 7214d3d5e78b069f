"""`minikctl version`: the client's version and, unless --client, the server's."""

from __future__ import annotations

import argparse
import json
from importlib import metadata
from typing import Any

from api.errors import ApiError
from minikctl.context import Context
from minikctl.printing import dump


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    v = sub.add_parser("version", parents=parents, help="print client and server versions")
    v.add_argument("--client", action="store_true", help="client version only")
    v.add_argument("-o", "--output", choices=("yaml", "json"))
    v.set_defaults(func=version)


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
