"""`minikctl apply -f`: kubectl's client-side apply (or `--server-side`).

For each object: GET it; absent → POST it with the last-applied-configuration
annotation; present → PATCH with the three-way strategic merge patch between the
last applied configuration, the new one and the live object (`client.threeway`),
or print `unchanged` when that patch is empty.
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

from api.errors import ApiError, NotFound, Unauthorized
from api.resources import Resource
from client import patchmeta
from client.errors import ConnectionFailed
from client.threeway import PatchError, last_applied, three_way_patch, with_last_applied
from minikctl import manifests
from minikctl.context import CLIError, Context, kind_ref
from minikctl.invalid import describe_invalid
from minikctl.resolve import resolve_kind

CLIENT_SIDE_MANAGER = "kubectl-client-side-apply"
SERVER_SIDE_MANAGER = "kubectl"


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "apply",
        parents=parents,
        help="apply a configuration to resources",
        description="Create or update resources from files, like kubectl apply.",
    )
    p.add_argument(
        "-f",
        "--filename",
        action="append",
        required=True,
        help="file, directory, or - for stdin (repeatable)",
    )
    p.add_argument("-R", "--recursive", action="store_true", help="recurse into directories")
    p.add_argument("--server-side", action="store_true", help="server-side apply")
    p.add_argument(
        "--force-conflicts",
        action="store_true",
        help="with --server-side: take over conflicting fields",
    )
    p.add_argument("--field-manager", default=None, help="manager name for --server-side")
    p.set_defaults(func=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    objects = manifests.load(args.filename, args.recursive)
    failed = False
    for m in objects:
        res = resolve_kind(ctx, m.obj["apiVersion"], m.obj["kind"], m.source)
        obj = _with_namespace(ctx, res, copy.deepcopy(m.obj))
        try:
            if args.server_side:
                verb = _server_side(ctx, res, obj, args)
            else:
                verb = _client_side(ctx, res, obj)
        except ApiError as err:
            if isinstance(err, ConnectionFailed | Unauthorized):
                raise  # nothing else will work either: the top level reports it
            ctx.err.write(f"{_describe_failure(err, m.source)}\n")
            failed = True
            continue
        ctx.print(f"{kind_ref(res)}/{obj['metadata']['name']} {verb}")
    return 1 if failed else 0


def _client_side(ctx: Context, res: Resource, obj: dict[str, Any]) -> str:
    name = obj["metadata"]["name"]
    ns = obj["metadata"].get("namespace")
    modified = with_last_applied(obj)
    try:
        live = ctx.client.get(res, name, ns)
    except NotFound:
        ctx.client.create(
            res,
            modified,
            ns,
            params={"fieldManager": CLIENT_SIDE_MANAGER, "fieldValidation": "Strict"},
        )
        return "created"
    original = last_applied(live)
    if original is None:
        ctx.warn(
            f"resource {res.plural}/{name} is missing the "
            "kubectl.kubernetes.io/last-applied-configuration annotation which is "
            "required by minikctl apply. minikctl apply should only be used on resources "
            "created declaratively by either minikctl create --save-config or minikctl "
            "apply. The missing annotation will be patched automatically."
        )
    meta = patchmeta.for_kind(obj["apiVersion"], obj["kind"])
    try:
        patch = three_way_patch(original, modified, live, meta)
    except PatchError as err:
        raise CLIError(f"{kind_ref(res)}/{name}: {err}") from None
    if not patch:
        return "unchanged"
    ctx.client.patch(
        res,
        name,
        patch,
        "strategic" if meta else "merge",
        ns,
        field_manager=CLIENT_SIDE_MANAGER,
        params={"fieldValidation": "Strict"},
    )
    return "configured"


def _server_side(ctx: Context, res: Resource, obj: dict[str, Any], args: argparse.Namespace) -> str:
    name = obj["metadata"]["name"]
    ctx.client.patch(
        res,
        name,
        obj,
        "apply",
        obj["metadata"].get("namespace"),
        field_manager=args.field_manager or SERVER_SIDE_MANAGER,
        force=bool(args.force_conflicts),
        params={"fieldValidation": "Strict"},
    )
    return "serverside-applied"


def _with_namespace(ctx: Context, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict) or not meta.get("name"):
        raise CLIError(f"a {obj.get('kind')} in the manifest has no metadata.name")
    if not res.namespaced:
        return obj
    own, flag = meta.get("namespace"), ctx.explicit_namespace
    if own and flag and own != flag:
        raise CLIError(
            f'the namespace from the provided object "{own}" does not match the '
            f"namespace \"{flag}\". You must pass '--namespace={own}' to perform "
            "this operation."
        )
    meta["namespace"] = own or ctx.namespace
    return obj


def _describe_failure(err: ApiError, source: str) -> str:
    """kubectl's wording for one object that failed to apply."""
    if err.code == 422:
        return describe_invalid(err)
    return f'Error from server ({err.reason}): error when applying "{source}": {err.message}'
