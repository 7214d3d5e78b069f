"""Turning what the user types (`po`, `deploy`, `deployments.apps`, a manifest's
apiVersion/kind) into a `Resource`: the shared table first, then the server's
discovery documents for anything the table does not know."""

from __future__ import annotations

from api import resources
from api.errors import ApiError
from api.resources import Resource
from minikctl.context import CLIError, Context


def discover(ctx: Context) -> list[Resource]:
    """Every resource the server serves (legacy discovery: /api/v1 then /apis)."""
    found: list[Resource] = []
    client = ctx.client
    core = client.get_path("/api/v1")
    found += _from_resource_list("", "v1", core)
    groups = client.get_path("/apis")
    for group in groups.get("groups") or []:
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        gv = preferred or ((group.get("versions") or [{}])[0]).get("groupVersion")
        if not gv:
            continue
        try:
            listing = client.get_path(f"/apis/{gv}")
        except ApiError:
            continue
        g, _, v = gv.partition("/")
        found += _from_resource_list(g, v, listing)
    return found


def _from_resource_list(group: str, version: str, listing: dict) -> list[Resource]:
    out = []
    for r in listing.get("resources") or []:
        name = r.get("name", "")
        if not name or "/" in name:
            continue
        out.append(
            Resource(
                group,
                version,
                r.get("kind", ""),
                name,
                r.get("singularName") or r.get("kind", "").lower(),
                bool(r.get("namespaced")),
                tuple(r.get("shortNames") or ()),
                tuple(r.get("categories") or ()),
                tuple(r.get("verbs") or ()),
            )
        )
    return out


def resolve(ctx: Context, text: str) -> Resource:
    """A resource type as typed on the command line."""
    res = resources.lookup(text)
    if res is not None:
        return res
    wanted = text.strip().lower()
    name, _, group = wanted.partition(".")
    for r in _discovered(ctx):
        names = {r.plural, r.singular, r.kind.lower(), *r.short_names}
        if wanted in names or (group and name in names and group == r.group):
            return r
    raise CLIError(f'the server doesn\'t have a resource type "{text}"')


def resolve_kind(ctx: Context, api_version: str, kind: str, source: str = "") -> Resource:
    """The resource of a manifest's apiVersion + kind."""
    res = resources.by_kind(kind, api_version)
    if res is not None:
        return res
    for r in _discovered(ctx):
        if r.kind == kind and r.api_version == api_version:
            return r
    where = f' from "{source}"' if source else ""
    raise CLIError(
        f'resource mapping not found{where}: no matches for kind "{kind}" in '
        f'version "{api_version}"'
    )


def category(ctx: Context, name: str) -> list[Resource]:
    """`all` → pods, services, deployments, replicasets (the `all` category)."""
    local = [r for r in resources.RESOURCES if name in r.categories]
    return local or [r for r in _discovered(ctx) if name in r.categories]


def _discovered(ctx: Context) -> list[Resource]:
    if ctx.discovery is None:
        try:
            ctx.discovery = discover(ctx)
        except ApiError as err:
            if err.code not in (403, 404):
                raise
            ctx.discovery = []
    return ctx.discovery
