"""`minikctl rollout restart|pause|resume`: each is one strategic merge patch of the
deployment, computed from the live object as kubectl's restarter/pauser/resumer do —
restart stamps `kubectl.kubernetes.io/restartedAt` on the pod template (a new template,
so a new rollout), pause/resume set `spec.paused`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from minikctl.context import CLIError, Context
from minikctl.target import Ref, add_target_args, no_resources, raise_all, refs

Obj = dict[str, Any]
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"

# (object, now) → the patch; raises CLIError(reason) when the object cannot take it.
Patcher = Callable[[Obj, str], Obj]


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    for verb, done, text in (
        ("restart", "restarted", "restart a deployment's pods with a new rollout"),
        ("pause", "paused", "stop a deployment from rolling out template changes"),
        ("resume", "resumed", "let a paused deployment roll out again"),
    ):
        p = verbs.add_parser(verb, parents=parents, help=text)
        add_target_args(p)
        p.set_defaults(func=run, patcher=PATCHERS[verb], done=done)


def rfc3339_now() -> str:
    """Go's time.Now().Format(time.RFC3339): local time, seconds, `Z` for UTC."""
    text = datetime.now().astimezone().isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _deployment_only(obj: Obj, action: str) -> None:
    if obj.get("kind") != "Deployment":
        raise CLIError(f"{action} is not supported")


def restart_patch(obj: Obj, now: str) -> Obj:
    _deployment_only(obj, "restarting")
    spec = obj.get("spec") or {}
    if spec.get("paused"):
        raise CLIError("can't restart paused deployment (run rollout resume first)")
    current = (((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {}).get(
        RESTARTED_AT
    )
    if current == now:
        return {}  # nothing would change: kubectl refuses (below)
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}


def pause_patch(obj: Obj, now: str) -> Obj:
    _deployment_only(obj, "pausing")
    if (obj.get("spec") or {}).get("paused"):
        raise CLIError("is already paused")
    return {"spec": {"paused": True}}


def resume_patch(obj: Obj, now: str) -> Obj:
    _deployment_only(obj, "resuming")
    if not (obj.get("spec") or {}).get("paused"):
        raise CLIError("is not paused")
    return {"spec": {"paused": None}}  # false is Go's zero value: the two-way patch drops it


PATCHERS: dict[str, Patcher] = {
    "restart": restart_patch,
    "pause": pause_patch,
    "resume": resume_patch,
}


def run(ctx: Context, args: argparse.Namespace) -> int:
    found = refs(ctx, args.targets, args.selector)
    if not found:
        no_resources(ctx)
        return 0
    errors: list[str] = []
    for ref in found:
        try:
            apply(ctx, ref, args.patcher, args.done)
        except CLIError as err:
            errors.append(str(err))
    raise_all(ctx, errors)
    return 0


def apply(ctx: Context, ref: Ref, patcher: Patcher, done: str) -> None:
    obj = {"kind": ref.res.kind, **ref.get(ctx)}
    try:
        patch = patcher(obj, rfc3339_now())
    except CLIError as err:
        raise CLIError(f'{ref.res.group_resource} "{ref.name}" {err}') from None
    if not patch:
        raise CLIError(
            f"failed to create patch for {ref.name}: if restart has already been triggered "
            "within the past second, please wait before attempting to trigger another"
        )
    ctx.client.patch(ref.res, ref.name, patch, "strategic", ref.namespace)
    ctx.print(f"{ref.display} {done}")
