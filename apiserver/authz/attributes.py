"""A request's authorization attributes, parsed from its path alone as Kubernetes'
RequestInfoFactory does (no knowledge of which resources exist, so custom and
aggregated resources are authorized the same way): `/api/v1/namespaces/ns/pods/x/log`
is verb get on pods/log named x in ns; `GET` on a collection is list, or watch with
`watch=true`; `DELETE` on one is deletecollection; `/healthz` is a non-resource path."""

from __future__ import annotations

from urllib.parse import parse_qs

from api.rbac import Request
from apiserver.options import query_flag

_METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


def request_attributes(method: str, path: str, query: str) -> Request:
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return Request(verb=method.lower(), resource_request=False, path=path)
    group = ""
    rest = parts[1:]
    if parts[0] == "apis":
        if len(rest) < 3:
            return Request(verb=method.lower(), resource_request=False, path=path)
        group, rest = rest[0], rest[1:]
    rest = rest[1:]  # the version
    verb = _METHOD_VERBS.get(method, "")
    if rest and rest[0] in ("watch", "proxy") and len(rest) >= 2:  # deprecated path verbs
        verb, rest = rest[0], rest[1:]
    namespace = ""
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 and verb != "proxy" else ""
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if len(rest) == 1:
        if verb == "get":
            verb = "watch" if query_flag(params, "watch") else "list"
        elif verb == "delete":
            verb = "deletecollection"
        if verb in ("list", "watch"):
            # kubectl get x -w lists with fieldSelector=metadata.name=x: authorize the name
            for term in (params.get("fieldSelector") or "").split(","):
                key, _, value = term.partition("=")
                if key.strip() == "metadata.name" and value and not value.startswith("="):
                    name = value.strip()
    return Request(
        verb=verb,
        resource_request=True,
        api_group=group,
        resource=resource,
        subresource=subresource,
        namespace=namespace,
        name=name,
        path=path,
    )
