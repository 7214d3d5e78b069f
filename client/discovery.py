"""Resources the static table does not know (CustomResourceDefinitions'), found through
the API's discovery as Kubernetes' RESTMapper does: `apiVersion` + `kind` -> Resource."""

from __future__ import annotations

from typing import Any

from api.errors import ApiError
from api.resources import Resource, by_kind


def resource_from_discovery(
    group_version: str, entry: dict[str, Any], subresources: tuple[str, ...] = ()
) -> Resource:
    """A Resource from one APIResourceList entry (its subresources are entries of
    their own, `plural/scale`: the caller gathers them)."""
    group, _, version = group_version.rpartition("/")
    return Resource(
        group,
        version,
        str(entry.get("kind", "")),
        str(entry.get("name", "")),
        str(entry.get("singularName") or str(entry.get("kind", "")).lower()),
        bool(entry.get("namespaced")),
        tuple(entry.get("shortNames") or ()),
        tuple(entry.get("categories") or ()),
        tuple(entry.get("verbs") or ()),
        subresources,
    )


async def find_resource(api: Any, api_version: str, kind: str) -> Resource | None:
    """The resource serving `kind` in `api_version` (an AsyncClient's discovery), or
    None when the server does not serve it."""
    known = by_kind(kind, api_version)
    if known is not None:
        return known
    path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    try:
        listed = await api.get_path(path)
    except ApiError as err:
        if err.code == 404:
            return None
        raise
    entries = listed.get("resources") or []
    for entry in entries:
        plural = str(entry.get("name", ""))
        if entry.get("kind") == kind and "/" not in plural:
            subresources = tuple(
                name.partition("/")[2]
                for name in (str(e.get("name", "")) for e in entries)
                if name.startswith(f"{plural}/")
            )
            return resource_from_discovery(api_version, entry, subresources)
    return None
