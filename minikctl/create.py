"""`minikctl create`: from files (`-f`), or `create namespace NAME`,
`create deployment NAME --image=IMAGE`."""

from __future__ import annotations

import argparse
from typing import Any

from api.errors import ApiError, Unauthorized
from api.resources import Resource, by_kind
from client.errors import ConnectionFailed
from client.threeway import with_last_applied
from minikctl import manifests
from minikctl.context import CLIError, Context, kind_ref
from minikctl.resolve import resolve_kind

FIELD_MANAGER = "kubectl-create"


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "create",
        parents=parents,
        help="create a resource",
        description="Create resources from files or from a few arguments.",
    )
    p.add_argument("-f", "--filename", action="append", help="file, directory or -")
    p.add_argument("-R", "--recursive", action="store_true")
    p.add_argument(
        "--save-config", action="store_true", help="record the configuration for a later `apply`"
    )
    p.set_defaults(func=run_files)
    kinds = p.add_subparsers(dest="what", metavar="KIND")
    ns = kinds.add_parser("namespace", aliases=["ns"], parents=parents, help="create a namespace")
    ns.add_argument("name")
    ns.set_defaults(func=run_namespace)
    dep = kinds.add_parser(
        "deployment",
        aliases=["deploy"],
        parents=parents,
        help="create a deployment running one image",
    )
    dep.add_argument("name")
    dep.add_argument("--image", required=True, action="append")
    dep.add_argument("--replicas", type=int, default=1)
    dep.add_argument("--port", type=int, default=None)
    dep.set_defaults(func=run_deployment)


def run_files(ctx: Context, args: argparse.Namespace) -> int:
    if not args.filename:
        raise CLIError("must specify one of -f, or a kind: minikctl create namespace NAME")
    failed = False
    for m in manifests.load(args.filename, args.recursive):
        res = resolve_kind(ctx, m.obj["apiVersion"], m.obj["kind"], m.source)
        obj = with_last_applied(m.obj) if args.save_config else m.obj
        try:
            _create(ctx, res, obj)
        except ApiError as err:
            if isinstance(err, ConnectionFailed | Unauthorized) or err.code == 422:
                raise
            ctx.err.write(
                f"Error from server ({err.reason}): error when creating "
                f'"{m.source}": {err.message}\n'
            )
            failed = True
    return 1 if failed else 0


def run_namespace(ctx: Context, args: argparse.Namespace) -> int:
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": args.name}}
    _create(ctx, _kind("Namespace", "v1"), obj)
    return 0


def run_deployment(ctx: Context, args: argparse.Namespace) -> int:
    labels = {"app": args.name}
    containers = []
    for image in args.image:
        base = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
        container: dict[str, Any] = {"name": base, "image": image}
        if args.port:
            container["ports"] = [{"containerPort": args.port}]
        containers.append(container)
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": args.name, "labels": labels},
        "spec": {
            "replicas": args.replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}},
        },
    }
    _create(ctx, _kind("Deployment", "apps/v1"), obj)
    return 0


def _create(ctx: Context, res: Resource, obj: dict[str, Any]) -> None:
    ns = ((obj.get("metadata") or {}).get("namespace") or ctx.namespace) if res.namespaced else None
    created = ctx.client.create(res, obj, ns, params={"fieldManager": FIELD_MANAGER})
    ctx.print(f"{kind_ref(res)}/{created['metadata']['name']} created")


def _kind(kind: str, api_version: str) -> Resource:
    res = by_kind(kind, api_version)
    assert res is not None, kind
    return res
