"""Turn a request path into what it addresses, as Kubernetes' RequestInfoResolver does:
/api/v1/namespaces/default/pods/web/status -> (pods, namespace default, name web,
subresource status)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from api import errors
from api.labels import DNS1123_LABEL_FMT
from api.resources import NAMESPACES, Resource, find

_NAMESPACE = re.compile(DNS1123_LABEL_FMT)


@dataclass(frozen=True)
class RequestInfo:
    resource: Resource
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def is_collection(self) -> bool:
        return self.name is None


Finder = Callable[[str, str, str], Resource | None]


def resolve(
    group: str, version: str, segments: list[str], dynamic: Finder | None = None
) -> RequestInfo:
    """`segments` is the path after /api/v1 or /apis/<group>/<version>; `dynamic` finds
    the resources learnt at run time (CustomResourceDefinitions')."""
    parts = [s for s in segments if s]
    namespace: str | None = None
    if len(parts) >= 3 and parts[0] == "namespaces":
        namespace, parts = parts[1], parts[2:]
    elif len(parts) in (2, 3) and parts[0] == "namespaces":
        # /api/v1/namespaces/<name>[/<subresource>]: the namespace object itself
        pass
    if not parts:
        raise errors.ApiError(404, "the server could not find the requested resource", "NotFound")
    plural = parts[0]
    resource = find(group, version, plural)
    if resource is None and dynamic is not None:
        resource = dynamic(group, version, plural)
    if resource is None:
        raise errors.ApiError(404, "the server could not find the requested resource", "NotFound")
    if namespace is not None and not resource.namespaced:
        raise errors.ApiError(404, "the server could not find the requested resource", "NotFound")
    if namespace is not None and (len(namespace) > 63 or not _NAMESPACE.fullmatch(namespace)):
        # no such namespace can exist (its name must be a DNS-1123 label): say so
        # rather than answer an empty list of a namespace that is not there
        raise errors.not_found(NAMESPACES.plural, namespace, "", NAMESPACES.plural)
    name = parts[1] if len(parts) > 1 else None
    subresource = parts[2] if len(parts) > 2 else None
    if len(parts) > 3 or (subresource and subresource not in resource.subresources):
        raise errors.ApiError(404, "the server could not find the requested resource", "NotFound")
    return RequestInfo(resource, namespace, name, subresource)
