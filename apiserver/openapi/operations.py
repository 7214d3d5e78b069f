"""The API surface as OpenAPI operations, shared by the v2 and v3 documents: for every
served resource its paths (collection, item, namespaced and cluster-wide, subresources),
verbs, operation ids, tags and query parameters, as kube-apiserver publishes them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from api.resources import RESOURCES, Resource, by_group_version
from apiserver.discovery import SUBRESOURCES
from apiserver.openapi.schemas import list_name, resource_gvk, root_names

WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
LIST_PARAMS = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)
DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy")
PARAM_INFO: dict[str, tuple[str, str]] = {
    "dryRun": ("string", "When present, indicates that modifications should not be persisted."),
    "fieldManager": ("string", "A name associated with the actor or entity making changes."),
    "fieldValidation": (
        "string",
        "How the server handles unknown or duplicate fields: Ignore, Warn or Strict.",
    ),
    "force": (
        "boolean",
        'Force is going to "force" Apply requests (re-acquire conflicting '
        "fields owned by other managers).",
    ),
    "pretty": ("string", "If 'true', then the output is pretty printed."),
    "allowWatchBookmarks": ("boolean", 'Requests watch events with type "BOOKMARK".'),
    "continue": ("string", "The continue option from a previous paginated list call."),
    "fieldSelector": (
        "string",
        "A selector to restrict the list of returned objects by their fields.",
    ),
    "labelSelector": (
        "string",
        "A selector to restrict the list of returned objects by their labels.",
    ),
    "limit": ("integer", "The maximum number of responses to return for a list call."),
    "resourceVersion": (
        "string",
        "Sets a constraint on what resource versions a request may be served from.",
    ),
    "resourceVersionMatch": ("string", "How resourceVersion is applied to list calls."),
    "sendInitialEvents": ("boolean", "Begin a watch stream with synthetic initial events."),
    "timeoutSeconds": ("integer", "Timeout for the list/watch call."),
    "watch": ("boolean", "Watch for changes to the described resources."),
    "gracePeriodSeconds": (
        "integer",
        "The duration in seconds before the object should be deleted.",
    ),
    "orphanDependents": ("boolean", "Deprecated: use propagationPolicy."),
    "propagationPolicy": (
        "string",
        "Whether and how garbage collection will be performed: Orphan, Background or Foreground.",
    ),
    "container": ("string", "The container for which to stream logs."),
    "follow": ("boolean", "Follow the log stream of the pod."),
    "previous": ("boolean", "Return previous terminated container logs."),
    "sinceSeconds": (
        "integer",
        "A relative time in seconds before the current time from which to show logs.",
    ),
    "tailLines": ("integer", "The number of lines from the end of the logs to show."),
    "timestamps": ("boolean", "Add an RFC3339 timestamp at the beginning of every line."),
    "command": ("string", "Command is the remote command to execute."),
    "stdin": ("boolean", "Redirect the standard input stream of the pod for this call."),
    "stdout": ("boolean", "Redirect the standard output stream of the pod for this call."),
    "stderr": ("boolean", "Redirect the standard error stream of the pod for this call."),
    "tty": ("boolean", "Allocate a terminal for this exec call."),
}
LOG_PARAMS = ("container", "follow", "previous", "sinceSeconds", "tailLines", "timestamps")
EXEC_PARAMS = ("command", "container", "stdin", "stdout", "stderr", "tty")
PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
BODY_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")


def _camel_group(r: Resource) -> str:
    """core -> Core, apps -> Apps, coordination.k8s.io -> Coordination (operation ids)."""
    return r.group.split(".")[0].capitalize() if r.group else "Core"


def _op_id(verb: str, r: Resource, suffix: str = "", namespaced: bool | None = None) -> str:
    """Kubernetes-style operation ids: readAppsV1NamespacedDeploymentScale, ..."""
    ns = r.namespaced if namespaced is None else namespaced
    scope = "Namespaced" if ns else ""
    if verb == "deletecollection":
        verb, scope = "delete", f"Collection{scope}"
    return f"{verb}{_camel_group(r)}{r.version.capitalize()}{scope}{r.kind}{suffix}"


def resource_tag(r: Resource) -> str:
    group = r.group.split(".")[0] if r.group else "core"
    return f"{group}_{r.version}"


class Operation:
    """One operation, rendered for either OpenAPI version."""

    def __init__(
        self,
        method: str,
        op_id: str,
        r: Resource,
        action: str,
        gvk: dict[str, str],
        response: str | None,
        body: str | None = None,
        query: tuple[str, ...] = (),
        codes: tuple[str, ...] = ("200",),
        body_types: tuple[str, ...] = BODY_TYPES,
        produces: tuple[str, ...] = ("application/json", "application/yaml"),
    ) -> None:
        self.method, self.op_id, self.r, self.action, self.gvk = method, op_id, r, action, gvk
        self.response, self.body, self.query, self.codes = response, body, query, codes
        self.body_types, self.produces = body_types, produces


def _operations(
    r: Resource, definition: str | None = None
) -> dict[str, tuple[list[str], list[Operation]]]:
    """path -> (path parameter names, operations) for one resource (`definition`: its
    schema's name, for resources outside the generated definitions)."""
    definition = definition or root_names()[(r.api_version, r.kind)]
    listed = list_name(definition)
    gvk = resource_gvk(r)
    ns_params = ["namespace"] if r.namespaced else []
    collection = r.base_path("{namespace}")
    item = f"{collection}/{{name}}"
    verbs = set(r.verbs)
    paths: dict[str, tuple[list[str], list[Operation]]] = {}
    ops: list[Operation] = []
    if "list" in verbs:
        ops.append(Operation("get", _op_id("list", r), r, "list", gvk, listed, query=LIST_PARAMS))
    if "create" in verbs:
        ops.append(
            Operation(
                "post",
                _op_id("create", r),
                r,
                "post",
                gvk,
                definition,
                definition,
                WRITE_PARAMS,
                ("200", "201", "202"),
            )
        )
    if "deletecollection" in verbs:
        ops.append(
            Operation(
                "delete",
                _op_id("deletecollection", r),
                r,
                "deletecollection",
                gvk,
                "V1Status",
                "V1DeleteOptions",
                DELETE_PARAMS + LIST_PARAMS,
            )
        )
    paths[collection] = (list(ns_params), ops)
    ops = []
    if "get" in verbs:
        ops.append(Operation("get", _op_id("read", r), r, "get", gvk, definition))
    if "update" in verbs:
        ops.append(
            Operation(
                "put",
                _op_id("replace", r),
                r,
                "put",
                gvk,
                definition,
                definition,
                WRITE_PARAMS,
                ("200", "201"),
            )
        )
    if "patch" in verbs:
        ops.append(
            Operation(
                "patch",
                _op_id("patch", r),
                r,
                "patch",
                gvk,
                definition,
                "V1Patch",
                (*WRITE_PARAMS, "force"),
                ("200", "201"),
                PATCH_TYPES,
            )
        )
    if "delete" in verbs:
        ops.append(
            Operation(
                "delete",
                _op_id("delete", r),
                r,
                "delete",
                gvk,
                "V1Status",
                "V1DeleteOptions",
                DELETE_PARAMS,
                ("200", "202"),
            )
        )
    paths[item] = ([*ns_params, "name"], ops)
    if r.namespaced and "list" in verbs:
        all_ns = Operation(
            "get",
            _op_id("list", r, "ForAllNamespaces", False),
            r,
            "list",
            gvk,
            listed,
            query=LIST_PARAMS,
        )
        paths[r.base_path()] = ([], [all_ns])
    for sub in r.subresources:
        paths[f"{item}/{sub}"] = ([*ns_params, "name"], _subresource_ops(r, sub, definition))
    return paths


def _subresource_ops(r: Resource, sub: str, definition: str) -> list[Operation]:
    info = SUBRESOURCES.get(sub)
    suffix = sub.capitalize()
    kind = (info.kind if info else None) or r.kind
    group = r.group if not info or info.group is None else info.group
    version = r.version if not info or info.version is None else info.version
    gvk = {"group": group, "version": version, "kind": kind}
    schema: str | None
    if sub in ("status", "finalize"):
        schema = definition
    else:
        schema = {"Scale": "V1Scale", "Binding": "V1Binding", "Eviction": "V1Eviction"}.get(kind)
    ops: list[Operation] = []
    verbs = info.verbs if info else ("get",)
    if sub == "log":
        return [
            Operation(
                "get",
                _op_id("read", r, "Log"),
                r,
                "get",
                gvk,
                None,
                query=LOG_PARAMS,
                produces=("text/plain",),
            )
        ]
    if sub == "exec":
        return [
            Operation(
                m,
                _op_id(f"connect{m.capitalize()}", r, "Exec"),
                r,
                "connect",
                gvk,
                None,
                query=EXEC_PARAMS,
                produces=("*/*",),
            )
            for m in ("get", "post")
        ]
    if "get" in verbs:
        ops.append(Operation("get", _op_id("read", r, suffix), r, "get", gvk, schema))
    if "update" in verbs:
        ops.append(
            Operation(
                "put",
                _op_id("replace", r, suffix),
                r,
                "put",
                gvk,
                schema,
                schema,
                WRITE_PARAMS,
                ("200", "201"),
            )
        )
    if "patch" in verbs:
        ops.append(
            Operation(
                "patch",
                _op_id("patch", r, suffix),
                r,
                "patch",
                gvk,
                schema,
                "V1Patch",
                (*WRITE_PARAMS, "force"),
                ("200", "201"),
                PATCH_TYPES,
            )
        )
    if "create" in verbs:
        ops.append(
            Operation(
                "post",
                _op_id("create", r, suffix),
                r,
                "post",
                gvk,
                schema,
                schema,
                WRITE_PARAMS,
                ("200", "201", "202"),
            )
        )
    return ops


Paths = dict[str, tuple[list[str], list[Operation]]]


def resource_paths(group: str | None, version: str | None) -> Paths:
    """All resource paths, or one group-version's when group is given."""
    chosen = RESOURCES if group is None else by_group_version(group, version or "")
    paths: Paths = {}
    for r in chosen:
        paths.update(_operations(r))
    return paths


def custom_paths(resources: Sequence[Resource], definition: Callable[[Resource], str]) -> Paths:
    """The paths of resources learnt at run time (CRDs'), their schemas named by
    `definition`."""
    paths: Paths = {}
    for r in resources:
        paths.update(_operations(r, definition(r)))
    return paths


def path_param(name: str) -> tuple[str, str]:
    if name == "namespace":
        return name, "object name and auth scope, such as for teams and projects"
    return name, "name of the object"
