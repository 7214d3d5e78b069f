"""`minikctl set image TYPE/NAME CONTAINER=IMAGE...`: change container images with one
strategic merge patch holding only the changed containers (merged by `name`), the patch
kubectl computes from the object before and after. `*=IMAGE` sets every container."""

from __future__ import annotations

import argparse
import copy
from typing import Any

from minikctl.context import CLIError, Context
from minikctl.target import Ref, raise_all, refs

Obj = dict[str, Any]


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("set", parents=parents, help="change fields of existing objects")
    what = p.add_subparsers(dest="what", metavar="FIELD", required=True)
    image = what.add_parser(
        "image",
        parents=parents,
        help="set container images",
        description="set image TYPE/NAME CONTAINER=IMAGE... (deployments, replicasets, pods)",
    )
    image.add_argument("words", nargs="*", metavar="TYPE/NAME ... CONTAINER=IMAGE")
    image.add_argument("-l", "--selector", help="label selector, e.g. app=web")
    image.set_defaults(func=run_image)


def split_args(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """Resources first, then NAME=IMAGE pairs (kubectl's GetResourcesAndPairs)."""
    resources: list[str] = []
    pairs: dict[str, str] = {}
    for word in words:
        if "=" in word:
            name, _, image = word.partition("=")
            if not name or not image:
                raise CLIError(f"invalid image format: {word}")
            pairs[name] = image
        elif pairs:
            raise CLIError("all resources must be specified before image changes: " + word)
        else:
            resources.append(word)
    return resources, pairs


def pod_spec(obj: Obj) -> Obj:
    """Where the containers live: a pod's spec, or its controller's template spec."""
    if obj.get("kind") == "Pod":
        return obj.setdefault("spec", {})
    return obj.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})


def image_patch(obj: Obj, images: dict[str, str]) -> tuple[Obj, list[str]]:
    """(the strategic merge patch, `unable to find container` errors); `{}` when nothing
    changes."""
    before = pod_spec(copy.deepcopy(obj))
    after = copy.deepcopy(before)
    errors = []
    for name, image in images.items():
        found = False
        for key in ("initContainers", "containers"):
            for c in after.get(key) or []:
                if name in ("*", c.get("name")):
                    c["image"] = image
                    found = True
        if not found:
            errors.append(f'unable to find container named "{name}"')
    spec_patch: Obj = {}
    for key in ("initContainers", "containers"):
        old = {c.get("name"): c.get("image") for c in before.get(key) or []}
        changed = [
            {"image": c["image"], "name": c["name"]}
            for c in after.get(key) or []
            if old.get(c.get("name")) != c.get("image")
        ]
        if changed:
            spec_patch[f"$setElementOrder/{key}"] = [{"name": c["name"]} for c in after[key]]
            spec_patch[key] = changed
    if not spec_patch:
        return {}, errors
    if obj.get("kind") == "Pod":
        return {"spec": spec_patch}, errors
    return {"spec": {"template": {"spec": spec_patch}}}, errors


def run_image(ctx: Context, args: argparse.Namespace) -> int:
    resources, images = split_args(args.words)
    if not resources:
        raise CLIError(
            "one or more resources must be specified as <resource> <name> or <resource>/<name>"
        )
    if not images:
        raise CLIError("at least one image update is required")
    if len(images) > 1 and "*" in images:
        raise CLIError(
            "all containers are already specified by *, but saw more than one "
            "container_name=container_image pairs"
        )
    errors: list[str] = []
    for ref in refs(ctx, resources, args.selector):
        errors += set_image(ctx, ref, images)
    raise_all(ctx, errors)
    return 0


def set_image(ctx: Context, ref: Ref, images: dict[str, str]) -> list[str]:
    obj = {"kind": ref.res.kind, **ref.get(ctx)}
    patch, errors = image_patch(obj, images)
    if patch:  # kubectl prints nothing when no image changes
        ctx.client.patch(ref.res, ref.name, patch, "strategic", ref.namespace)
        ctx.print(f"{ref.display} image updated")
    return errors
