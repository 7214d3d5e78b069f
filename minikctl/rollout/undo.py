"""`minikctl rollout undo`: kubectl's DeploymentRollbacker — find the ReplicaSet of the
previous revision (or --to-revision), then one JSON patch replacing the deployment's
`/spec/template` (that ReplicaSet's, minus `pod-template-hash`) and
`/metadata/annotations`; the controller then rolls out that template as a new revision."""

from __future__ import annotations

import argparse
from typing import Any

from api.errors import ApiError, Unauthorized
from api.resources import Resource
from client.errors import ConnectionFailed
from minikctl.context import CLIError, Context
from minikctl.replicasets import (
    REVISION,
    equal_ignore_hash,
    owned_replicasets,
    revision,
    split,
    without_hash,
)
from minikctl.target import add_target_args, group_kind, no_resources, raise_all, refs

Obj = dict[str, Any]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# Kept from the deployment, never copied from the ReplicaSet (kubectl's annotationsToSkip).
SKIPPED_ANNOTATIONS = frozenset(
    {
        LAST_APPLIED,
        REVISION,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser("undo", parents=parents, help="roll back to a previous revision")
    add_target_args(p)
    p.add_argument(
        "--to-revision", type=int, default=0, help="the revision to roll back to (0: previous)"
    )
    p.set_defaults(func=run)


def pick(deployment: Obj, replicasets: list[Obj], to_revision: int) -> Obj:
    """The ReplicaSet to roll back to: revision `to_revision`, or else the second newest."""
    old, new = split(deployment, replicasets)
    candidates = old + ([new] if new else [])
    latest: tuple[int, Obj | None] = (-1, None)
    previous: tuple[int, Obj | None] = (-1, None)
    for rs in candidates:
        try:
            number = revision(rs)
        except CLIError:
            continue
        if to_revision > 0:
            if number == to_revision:
                return rs
            continue
        if number > latest[0]:
            previous, latest = latest, (number, rs)
        elif number > previous[0]:
            previous = (number, rs)
    if to_revision > 0:
        raise CLIError(f"unable to find specified revision {to_revision} in history")
    if previous[1] is None:
        raise CLIError(
            f'no rollout history found for deployment "{deployment["metadata"]["name"]}"'
        )
    return previous[1]


def rollback_patch(deployment: Obj, rs: Obj) -> list[Obj]:
    """The JSON patch kubectl sends: the ReplicaSet's template without its hash label, and
    annotations = the deployment's skipped ones + the ReplicaSet's others."""
    template = without_hash((rs.get("spec") or {}).get("template") or {})
    own = (deployment.get("metadata") or {}).get("annotations") or {}
    annotations = {k: v for k, v in own.items() if k in SKIPPED_ANNOTATIONS}
    for key, value in ((rs.get("metadata") or {}).get("annotations") or {}).items():
        if key not in SKIPPED_ANNOTATIONS:
            annotations[key] = value
    return [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]


def rollback(ctx: Context, res: Resource, deployment: Obj, to_revision: int) -> str:
    """Roll back; the word kubectl prints after the name."""
    if to_revision < 0:
        raise CLIError(f"unable to find specified revision {to_revision} in history")
    rs = pick(deployment, owned_replicasets(ctx, deployment), to_revision)
    if (deployment.get("spec") or {}).get("paused"):
        raise CLIError(
            "you cannot rollback a paused deployment; resume it first with "
            "'minikctl rollout resume' and try again"
        )
    template = (deployment.get("spec") or {}).get("template") or {}
    if equal_ignore_hash((rs.get("spec") or {}).get("template") or {}, template):
        # kubectl prints the revision it was asked for: 0 when none was given
        return f"skipped rollback (current template already matches revision {to_revision})"
    meta = deployment["metadata"]
    patch = rollback_patch(deployment, rs)
    try:
        ctx.client.patch(res, meta["name"], patch, "json", meta.get("namespace"))
    except ApiError as err:
        if isinstance(err, ConnectionFailed | Unauthorized):
            raise
        raise CLIError(f"failed restoring revision {to_revision}: {err.message}") from None
    return "rolled back"


def run(ctx: Context, args: argparse.Namespace) -> int:
    found = refs(ctx, args.targets, args.selector)
    if not found:
        no_resources(ctx)
        return 0
    errors: list[str] = []
    for ref in found:
        if ref.res.kind != "Deployment":
            errors.append(f'no rollbacker has been implemented for "{group_kind(ref.res)}"')
            continue
        deployment = ref.get(ctx)
        if LAST_APPLIED in ((deployment.get("metadata") or {}).get("annotations") or {}):
            ctx.err.write(
                f"Warning: resource {ref.res.group_resource}/{ref.name} was previously managed "
                f"with 'minikctl apply'. Rolling back will not update the {LAST_APPLIED} "
                "annotation, which may cause unexpected behavior on future 'minikctl apply' "
                "operations. Consider using 'minikctl apply' with your previous configuration "
                "file instead.\n"
            )
        try:
            ctx.print(f"{ref.display} {rollback(ctx, ref.res, deployment, args.to_revision)}")
        except CLIError as err:
            errors.append(str(err))
    raise_all(ctx, errors)
    return 0
