"""`minikctl rollout status`: kubectl's algorithm — read the deployment, then list and
watch it (fieldSelector metadata.name=NAME), printing its status viewer's line on every
ADDED/MODIFIED event until the rollout is done, fails, is deleted, or --timeout passes."""

from __future__ import annotations

import argparse
from typing import Any

from client.watch import RELIST, ResumableWatch
from minikctl.context import CLIError, Context
from minikctl.duration import duration_arg
from minikctl.target import Ref, add_target_args, group_kind, no_resources, refs
from minikctl.waiting import until_deadline

Obj = dict[str, Any]
TIMED_OUT_REASON = "ProgressDeadlineExceeded"


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser(
        "status", parents=parents, help="watch a rollout until it completes or fails"
    )
    add_target_args(p)
    p.add_argument(
        "-w",
        "--watch",
        type=lambda s: s.lower() != "false",
        nargs="?",
        const=True,
        default=True,
        help="watch until the rollout is done (--watch=false: print the status once)",
    )
    p.add_argument("--revision", type=int, default=0, help="pin to this revision")
    p.add_argument(
        "--timeout", type=duration_arg, default=0.0, help="give up after this long (0: never)"
    )
    p.set_defaults(func=run)


def deployment_status(dep: Obj, revision: int = 0) -> tuple[str, bool]:
    """(the line to print, whether the rollout is done): kubectl's DeploymentStatusViewer.
    Raises CLIError when the rollout failed or is pinned to another revision."""
    meta, spec, status = dep.get("metadata") or {}, dep.get("spec") or {}, dep.get("status") or {}
    name = meta.get("name", "")
    if revision > 0:
        current = _revision(dep)
        if current != revision:
            raise CLIError(
                f"desired revision ({revision}) is different from the running revision ({current})"
            )
    if int(meta.get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return "Waiting for deployment spec update to be observed...", False
    progressing = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), None
    )
    if progressing and progressing.get("reason") == TIMED_OUT_REASON:
        raise CLIError(f'deployment "{name}" exceeded its progress deadline')
    desired = spec.get("replicas")
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if desired is not None and updated < int(desired):
        return f"{waiting}{updated} out of {desired} new replicas have been updated...", False
    if total > updated:
        return f"{waiting}{total - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{waiting}{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


def _revision(dep: Obj) -> int:
    value = ((dep.get("metadata") or {}).get("annotations") or {}).get(
        "deployment.kubernetes.io/revision"
    )
    try:
        return int(value) if value else 0
    except ValueError:
        raise CLIError(
            f'cannot get the revision of deployment "{dep["metadata"]["name"]}": '
            f'strconv.ParseInt: parsing "{value}": invalid syntax'
        ) from None


def run(ctx: Context, args: argparse.Namespace) -> int:
    found = refs(ctx, args.targets, args.selector)
    if args.revision < 0:
        raise CLIError(f"revision must be a positive integer: {args.revision}")
    if not found:
        no_resources(ctx)
        return 0
    for ref in found:
        if ref.res.kind != "Deployment":
            raise CLIError(f"no status viewer has been implemented for {group_kind(ref.res)}")
        ref.get(ctx)  # a missing deployment fails here, with the server's NotFound
        follow(ctx, ref, args.watch, args.revision, args.timeout)
    return 0


def follow(ctx: Context, ref: Ref, watch: bool, revision: int, timeout: float) -> None:
    """List+watch the one deployment, printing each status, until done."""
    stream = ResumableWatch(
        ctx.client, ref.res, ref.namespace, field_selector=f"metadata.name={ref.name}"
    )
    for event_type, obj in until_deadline(stream, timeout):
        if event_type == "DELETED":
            raise CLIError("object has been deleted")
        objects = (obj.get("items") or []) if event_type == RELIST else [obj]
        for dep in objects:
            line, done = deployment_status(dep, revision)
            ctx.print(line)
            ctx.out.flush()
            if done or not watch:
                return
