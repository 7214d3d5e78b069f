"""`minikctl rollout history`: a deployment's revisions, read from its ReplicaSets'
`deployment.kubernetes.io/revision` and `kubernetes.io/change-cause` annotations, printed
exactly as kubectl prints them (its name printer, then a tab-aligned table, or one
revision's pod template)."""

from __future__ import annotations

import argparse
import copy
from typing import Any

from minikctl.context import CLIError, Context
from minikctl.describe.workloads import describe_template
from minikctl.describe.writer import Writer
from minikctl.replicasets import CHANGE_CAUSE, owned_replicasets, revision, split
from minikctl.tabwriter import tabwrite
from minikctl.target import add_target_args, group_kind, no_resources, refs

Obj = dict[str, Any]


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser("history", parents=parents, help="list a deployment's revisions")
    add_target_args(p)
    p.add_argument("--revision", type=int, default=0, help="show this revision's pod template")
    p.set_defaults(func=run)


def revisions(ctx: Context, dep: Obj) -> dict[int, Obj]:
    """revision → pod template (carrying its ReplicaSet's change-cause), old ones first."""
    old, new = split(dep, owned_replicasets(ctx, dep))
    found: dict[int, Obj] = {}
    for rs in old + ([new] if new else []):
        try:
            number = revision(rs)
        except CLIError:
            continue  # kubectl logs a warning and skips the ReplicaSet
        template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
        cause = ((rs.get("metadata") or {}).get("annotations") or {}).get(CHANGE_CAUSE)
        if cause:
            template.setdefault("metadata", {}).setdefault("annotations", {})[CHANGE_CAUSE] = cause
        found[number] = template
    return found


def history_text(found: dict[int, Obj], wanted: int) -> str:
    """What follows the object's name: kubectl's ViewHistory."""
    if not found:
        return "No rollout history found."
    if wanted > 0:
        if wanted not in found:
            raise CLIError("unable to find the specified revision")
        return template_text(found[wanted])
    rows = ["REVISION\tCHANGE-CAUSE"]
    for number in sorted(found):
        annotations = (found[number].get("metadata") or {}).get("annotations") or {}
        rows.append(f"{number}\t{annotations.get(CHANGE_CAUSE) or '<none>'}")
    return tabwrite("\n".join(rows) + "\n", 0, 2)


def template_text(template: Obj) -> str:
    """kubectl prints one revision through a bare PrefixWriter: tabs stay tabs."""
    w = Writer()
    describe_template(w, template)
    return "".join(w.parts)


def run(ctx: Context, args: argparse.Namespace) -> int:
    found = refs(ctx, args.targets, args.selector)
    if not found:
        no_resources(ctx)
        return 0
    for ref in found:
        if ref.res.kind != "Deployment":
            raise CLIError(f'no history viewer has been implemented for "{group_kind(ref.res)}"')
        text = history_text(revisions(ctx, ref.get(ctx)), args.revision)
        heading = f"with revision #{args.revision}" if args.revision > 0 else ""
        ctx.out.write(f"{ref.display} {heading}\n{text}\n")
    return 0
