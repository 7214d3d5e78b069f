"""`minikctl scale`: set replicas through the `scale` subresource, as kubectl's scaler does —
a merge patch `{"spec":{"replicas":N}}` to `…/scale`, or, with --current-replicas or
--resource-version preconditions, read the Scale, check it, and PUT it back."""

from __future__ import annotations

import argparse
import time
from typing import Any

from api.errors import Conflict
from minikctl.context import CLIError, Context
from minikctl.duration import duration_arg
from minikctl.target import Ref, add_target_args, refs
from minikctl.waiting import WaitTimeout

Obj = dict[str, Any]


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "scale",
        parents=parents,
        help="set the number of replicas of a deployment or replica set",
        description="Scale TYPE/NAME or TYPE NAME... (deployments, replicasets) to --replicas.",
    )
    add_target_args(p)
    p.add_argument("--replicas", type=int, default=-1, help="the new number of replicas")
    p.add_argument(
        "--current-replicas", type=int, default=-1, help="only scale if it has this many now"
    )
    p.add_argument("--resource-version", default="", help="only scale at this resourceVersion")
    p.add_argument(
        "--timeout",
        type=duration_arg,
        default=0.0,
        help="wait this long for the replicas to match (0: do not wait)",
    )
    p.set_defaults(func=run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    if args.replicas < 0:
        raise CLIError(
            "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"
        )
    if args.current_replicas < -1:
        raise CLIError("The --current-replicas must specify an integer of -1 or greater")
    found = refs(ctx, args.targets, args.selector)
    if not found:
        raise CLIError("no objects passed to scale")
    if args.resource_version and len(found) > 1:
        raise CLIError("cannot use --resource-version with multiple resources")
    precondition = args.current_replicas != -1 or bool(args.resource_version)
    for ref in found:
        scale(ctx, ref, args.replicas, args.current_replicas if precondition else None, args)
        if args.timeout:
            wait_for_replicas(ctx, ref, args.replicas, args.timeout)
        ctx.print(f"{ref.display} scaled")
    return 0


def scale(
    ctx: Context, ref: Ref, replicas: int, current: int | None, args: argparse.Namespace
) -> Obj:
    """One scale write; with preconditions, retried on conflicts for up to a minute."""
    if current is None:
        return ctx.client.patch(
            ref.res,
            ref.name,
            {"spec": {"replicas": replicas}},
            "merge",
            ref.namespace,
            subresource="scale",
        )
    deadline = time.monotonic() + 60
    while True:
        live = ctx.client.get(ref.res, ref.name, ref.namespace, subresource="scale")
        check_preconditions(live, current, args.resource_version)
        live.setdefault("spec", {})["replicas"] = replicas
        try:
            return ctx.client.update(ref.res, live, subresource="scale")
        except Conflict:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def check_preconditions(scale_obj: Obj, current: int, resource_version: str) -> None:
    """kubectl's ScalePrecondition: `Expected replicas to be 2, was 3`."""
    now = int((scale_obj.get("spec") or {}).get("replicas") or 0)
    if current != -1 and now != current:
        raise CLIError(f"Expected replicas to be {current}, was {now}")
    rv = (scale_obj.get("metadata") or {}).get("resourceVersion", "")
    if resource_version and rv != resource_version:
        raise CLIError(f"Expected resource version to be {resource_version}, was {rv}")


def wait_for_replicas(ctx: Context, ref: Ref, replicas: int, timeout: float) -> None:
    """Poll the Scale each second until its status reaches the desired count."""
    deadline = time.monotonic() + timeout
    while True:
        live = ctx.client.get(ref.res, ref.name, ref.namespace, subresource="scale")
        spec = int((live.get("spec") or {}).get("replicas") or 0)
        status = int((live.get("status") or {}).get("replicas") or 0)
        if spec != replicas or status == replicas:
            return  # reached, or someone else has changed the target since
        if time.monotonic() + 1 > deadline:
            raise WaitTimeout()
        time.sleep(1)
