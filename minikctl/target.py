"""Naming the objects a command acts on: `deploy/web`, `deployment web`, several of
them, or a type plus `-l selector` — the forms kubectl's verbs (scale, rollout, set,
logs, drain) accept — resolved to (resource, name) pairs in one namespace."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from api.resources import Resource
from minikctl.context import CLIError, Context, kind_ref
from minikctl.get import parse_targets
from minikctl.resolve import resolve

Obj = dict[str, Any]


@dataclass(frozen=True)
class Ref:
    res: Resource
    name: str
    namespace: str | None

    @property
    def display(self) -> str:
        """`deployment.apps/web`: how kubectl's name printer shows an object."""
        return f"{kind_ref(self.res)}/{self.name}"

    def get(self, ctx: Context) -> Obj:
        return ctx.client.get(self.res, self.name, self.namespace)


def add_target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("targets", nargs="*", metavar="TYPE/NAME | TYPE NAME")
    p.add_argument("-l", "--selector", help="label selector, e.g. app=web")


def refs(ctx: Context, words: list[str], selector: str | None = None) -> list[Ref]:
    """Every object the words name (or the selector picks, given just a type)."""
    if not words:
        raise CLIError("required resource not specified")
    found: list[Ref] = []
    for target in parse_targets(ctx, words):
        ns = ctx.namespace if target.res.namespaced else None
        if target.names:
            if selector:
                raise CLIError("name cannot be provided when a selector is specified")
            found += [Ref(target.res, n, ns) for n in target.names]
            continue
        if not selector:
            raise CLIError("resource(s) were provided, but no name was specified")
        listing = ctx.client.list(target.res, ns, label_selector=selector)
        found += [Ref(target.res, o["metadata"]["name"], ns) for o in listing.get("items") or []]
    return found


def one_ref(ctx: Context, word: str, default_type: str | None = None) -> Ref:
    """One object: `TYPE/NAME`, or a bare NAME of `default_type` (`logs web` is a pod)."""
    kind, sep, name = word.partition("/")
    if not sep:
        if default_type is None:
            raise CLIError("arguments in resource/name form must have a single resource and name")
        kind, name = default_type, word
    if not name:
        raise CLIError("arguments in resource/name form must have a single resource and name")
    res = resolve(ctx, kind)
    return Ref(res, name, ctx.namespace if res.namespaced else None)


def group_kind(res: Resource) -> str:
    """`Deployment.apps`: Go's GroupKind.String(), which kubectl's messages print."""
    return f"{res.kind}.{res.group}" if res.group else res.kind


def raise_all(ctx: Context, errors: list[str]) -> None:
    """Several per-object failures: each on its own `error:` line, the last one raised."""
    if not errors:
        return
    for message in errors[:-1]:
        ctx.err.write(f"error: {message}\n")
    raise CLIError(errors[-1])


def no_resources(ctx: Context) -> None:
    ctx.err.write(f"No resources found in {ctx.namespace} namespace.\n")
