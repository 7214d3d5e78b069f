"""OpenAPI documents built from `api/schemas/definitions.json` and the resource table.

Why kubectl needs them: `kubectl apply` validates by default and gives up without an
OpenAPI document; when a resource's `patch` operation carries the
`x-kubernetes-group-version-kind` extension and a `fieldValidation` query parameter,
kubectl leaves validation to the server (and sends `fieldValidation=Strict`). The schemas
also drive `kubectl explain`, and their `x-kubernetes-patch-*` extensions tell client-side
apply how to merge lists (containers by name, ports by containerPort, ...).

- `/openapi/v3` (kubectl 1.29+): a root listing one document per group-version.
- `/openapi/v2` (kubectl 1.27/1.28): one Swagger 2.0 document, as JSON or as the gnostic
  `openapi_v2.Document` protobuf those kubectls ask for.
Every document is built once and cached."""

from __future__ import annotations

import copy
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

import api
from api import errors
from api.resources import RESOURCES, Resource, by_group_version, group_versions
from apiserver.discovery import GIT_VERSION, SUBRESOURCES
from apiserver.protobuf import Writer

Schema = dict[str, Any]

DEFINITIONS_FILE = Path(api.__file__).resolve().parent / "schemas" / "definitions.json"
V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# Answer protobuf with this: kubectl 1.27 cannot parse the proto-openapi media type back.
V2_PROTOBUF_CONTENT_TYPE = "application/octet-stream"
V3_PREFIX = "#/components/schemas/"
V2_PREFIX = "#/definitions/"
GVK_EXT = "x-kubernetes-group-version-kind"

# Kinds outside the resource table that the API still answers with or accepts.
EXTRA_GVKS: dict[str, list[dict[str, str]]] = {
    "V1Status": [{"group": "", "version": "v1", "kind": "Status"}],
    "V1Binding": [{"group": "", "version": "v1", "kind": "Binding"}],
    "V1Scale": [{"group": "autoscaling", "version": "v1", "kind": "Scale"}],
    "V1Eviction": [{"group": "policy", "version": "v1", "kind": "Eviction"}],
}

# Kubernetes' schema names are `<package>.<Type>`; the client models we generate from say
# V1Type (CoreV1Type where ambiguous). Types not listed here live in core/v1.
PACKAGES: dict[str, tuple[str, ...]] = {
    "io.k8s.apimachinery.pkg.apis.meta.v1": (
        "Condition",
        "DeleteOptions",
        "LabelSelector",
        "LabelSelectorRequirement",
        "ListMeta",
        "ManagedFieldsEntry",
        "ObjectMeta",
        "OwnerReference",
        "Patch",
        "Preconditions",
        "ShardInfo",
        "Status",
        "StatusCause",
        "StatusDetails",
    ),
    "io.k8s.api.apps.v1": (
        "Deployment",
        "DeploymentCondition",
        "DeploymentList",
        "DeploymentSpec",
        "DeploymentStatus",
        "DeploymentStrategy",
        "ReplicaSet",
        "ReplicaSetCondition",
        "ReplicaSetList",
        "ReplicaSetSpec",
        "ReplicaSetStatus",
        "RollingUpdateDeployment",
    ),
    "io.k8s.api.coordination.v1": ("Lease", "LeaseList", "LeaseSpec"),
    "io.k8s.api.discovery.v1": (
        "Endpoint",
        "EndpointConditions",
        "EndpointHints",
        "EndpointSlice",
        "EndpointSliceList",
        "ForNode",
        "ForZone",
    ),
    "io.k8s.api.autoscaling.v1": ("Scale", "ScaleSpec", "ScaleStatus"),
    "io.k8s.api.policy.v1": ("Eviction",),
}
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_PACKAGE_OF = {t: pkg for pkg, types in PACKAGES.items() for t in types}
# Model prefixes the client uses where a bare name is ambiguous (core/v1 and
# discovery/v1 both have an EndpointPort): the prefix names the package.
_PREFIX_PACKAGES = {"CoreV1": "io.k8s.api.core.v1", "DiscoveryV1": "io.k8s.api.discovery.v1"}

# Strategic-merge-patch metadata (Kubernetes' patchStrategy/patchMergeKey struct tags).
PATCH_META: dict[str, dict[str, tuple[str, str | None]]] = {
    "V1ObjectMeta": {"ownerReferences": ("merge", "uid"), "finalizers": ("merge", None)},
    "V1PodSpec": {
        "volumes": ("merge,retainKeys", "name"),
        "initContainers": ("merge", "name"),
        "containers": ("merge", "name"),
        "ephemeralContainers": ("merge", "name"),
        "imagePullSecrets": ("merge", "name"),
        "hostAliases": ("merge", "ip"),
        "topologySpreadConstraints": ("merge", "topologyKey"),
        "schedulingGates": ("merge", "name"),
        "resourceClaims": ("merge,retainKeys", "name"),
    },
    "V1Container": {
        "ports": ("merge", "containerPort"),
        "env": ("merge", "name"),
        "volumeMounts": ("merge", "mountPath"),
        "volumeDevices": ("merge", "devicePath"),
    },
    "V1EphemeralContainer": {
        "ports": ("merge", "containerPort"),
        "env": ("merge", "name"),
        "volumeMounts": ("merge", "mountPath"),
        "volumeDevices": ("merge", "devicePath"),
    },
    "V1PodStatus": {
        "conditions": ("merge", "type"),
        "hostIPs": ("merge", "ip"),
        "podIPs": ("merge", "ip"),
    },
    "V1ServiceSpec": {"ports": ("merge", "port")},
    "V1ServiceStatus": {"conditions": ("merge", "type")},
    "V1NodeSpec": {"podCIDRs": ("merge", None)},
    "V1NodeStatus": {"conditions": ("merge", "type"), "addresses": ("merge", "type")},
    "V1NamespaceStatus": {"conditions": ("merge", "type")},
    "V1DeploymentSpec": {"strategy": ("retainKeys", None)},
    "V1DeploymentStatus": {"conditions": ("merge", "type")},
    "V1ReplicaSetStatus": {"conditions": ("merge", "type")},
}

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


# --- schemas -----------------------------------------------------------------------------


@cache
def _source() -> dict[str, Any]:
    return json.loads(DEFINITIONS_FILE.read_text())


def _gvk(r: Resource, kind: str | None = None) -> dict[str, str]:
    return {"group": r.group, "version": r.version, "kind": kind or r.kind}


def root_names() -> dict[tuple[str, str], str]:
    """(apiVersion, kind) -> definition name, for every served kind."""
    roots = _source()["roots"]
    out = {}
    for key, name in roots.items():
        api_version, _, kind = key.rpartition("/")
        out[(api_version, kind)] = name
    return out


def list_name(definition: str) -> str:
    return f"{definition}List"


def published_name(definition: str) -> str:
    """V1DeploymentSpec -> io.k8s.api.apps.v1.DeploymentSpec (what kubectl explain shows)."""
    for prefix, package in _PREFIX_PACKAGES.items():
        if definition.startswith(prefix):
            return f"{package}.{definition[len(prefix) :]}"
    if definition.startswith("V1"):
        bare = definition[len("V1") :]
        return f"{_PACKAGE_OF.get(bare, 'io.k8s.api.core.v1')}.{bare}"
    return definition


def _convert(schema: Any, prefix: str, v3: bool) -> Any:
    """Rewrite bare `$ref` names into `prefix + name`, recursively. In v3 a `$ref` with
    sibling keys (description) is wrapped in allOf, as Kubernetes publishes it, because
    OpenAPI 3.0 ignores siblings of `$ref`."""
    if isinstance(schema, list):
        return [_convert(s, prefix, v3) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _convert(v, prefix, v3) for k, v in schema.items() if k != "$ref"}
    if "$ref" in schema:
        ref = prefix + published_name(schema["$ref"])
        out = {"allOf": [{"$ref": ref}], **out} if v3 and out else {"$ref": ref, **out}
    if out.pop("x-kubernetes-int-or-string", False):
        # Kubernetes publishes these as references to its IntOrString type.
        ref = prefix + INT_OR_STRING
        out = {"allOf": [{"$ref": ref}], **out} if v3 and out else {"$ref": ref, **out}
    return out


def _synthetic(gvks: dict[str, list[dict[str, str]]]) -> dict[str, Schema]:
    """List kinds and the PATCH body type, which the client models do not describe."""
    out: dict[str, Schema] = {
        "V1Patch": {
            "type": "object",
            "description": "Patch is provided to give a concrete "
            "name and type to the Kubernetes PATCH request body.",
        },
        INT_OR_STRING: {
            "type": "string",
            "format": "int-or-string",
            "description": "IntOrString is a type that can hold an int32 or a string. In JSON "
            "or YAML it produces or consumes the inner type, so a field can "
            "accept a name or a number.",
        },
    }
    for r in RESOURCES:
        name = root_names()[(r.api_version, r.kind)]
        out[list_name(name)] = {
            "type": "object",
            "description": f"{r.list_kind} is a list of {r.kind} objects.",
            "properties": {
                "apiVersion": {
                    "type": "string",
                    "description": "APIVersion defines the "
                    "versioned schema of this representation of an object.",
                },
                "items": {
                    "type": "array",
                    "items": {"$ref": name},
                    "description": f"List of {r.plural}.",
                },
                "kind": {
                    "type": "string",
                    "description": "Kind is a string value "
                    "representing the REST resource this object represents.",
                },
                "metadata": {"$ref": "V1ListMeta", "description": "Standard list metadata."},
            },
            "required": ["items"],
        }
        gvks[list_name(name)] = [_gvk(r, r.list_kind)]
    return out


def _definitions_gvks() -> tuple[dict[str, Schema], dict[str, list[dict[str, str]]]]:
    definitions = copy.deepcopy(_source()["definitions"])
    gvks: dict[str, list[dict[str, str]]] = {k: list(v) for k, v in EXTRA_GVKS.items()}
    for r in RESOURCES:
        gvks.setdefault(root_names()[(r.api_version, r.kind)], []).append(_gvk(r))
    definitions.update(_synthetic(gvks))
    # DeleteOptions is accepted by every group-version, as in Kubernetes.
    gvks["V1DeleteOptions"] = [
        {"group": g, "version": v, "kind": "DeleteOptions"} for g, v in group_versions()
    ]
    for name, props in PATCH_META.items():
        for prop, (strategy, key) in props.items():
            target = definitions.get(name, {}).get("properties", {}).get(prop)
            if target is None:
                continue
            target["x-kubernetes-patch-strategy"] = strategy
            if key:
                target["x-kubernetes-patch-merge-key"] = key
    for name, kinds in gvks.items():
        if name in definitions:
            definitions[name][GVK_EXT] = kinds
    _describe_refs(definitions)
    return definitions, gvks


CONVENTIONS = "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
STANDARD_FIELDS = {
    "metadata": f"Standard object's metadata. More info: {CONVENTIONS}#metadata",
    "spec": "Specification of the desired behavior of the {kind}. More info: "
    f"{CONVENTIONS}#spec-and-status",
    "status": "Most recently observed status of the {kind}. This data may not be up to "
    "date. Populated by the system. Read-only. More info: "
    f"{CONVENTIONS}#spec-and-status",
}


def _describe_refs(definitions: dict[str, Schema]) -> None:
    """The client models carry no description for object-typed fields; give them
    Kubernetes' standard wording (metadata/spec/status) or their type's description, so
    `kubectl explain` has something better than `<no description>` to say."""
    for name, schema in definitions.items():
        kind = published_name(name).rpartition(".")[2]
        for prop_name, prop in (schema.get("properties") or {}).items():
            target = prop.get("$ref") or (prop.get("items") or {}).get("$ref")
            if not target or prop.get("description"):
                continue
            if prop_name in STANDARD_FIELDS:
                prop["description"] = STANDARD_FIELDS[prop_name].format(kind=kind)
            elif target in definitions:
                prop["description"] = definitions[target].get("description", "")


@cache
def schemas_v3() -> dict[str, Schema]:
    """Every definition in OpenAPI 3 form (`#/components/schemas/<name>` refs)."""
    definitions, _ = _definitions_gvks()
    return {published_name(n): _convert(s, V3_PREFIX, True) for n, s in definitions.items()}


@cache
def schemas_v2() -> dict[str, Schema]:
    """Every definition in Swagger 2.0 form (`#/definitions/<name>` refs)."""
    definitions, _ = _definitions_gvks()
    return {published_name(n): _convert(s, V2_PREFIX, False) for n, s in definitions.items()}


def _refs(schema: Any, prefix: str, found: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(prefix):
            found.add(ref[len(prefix) :])
        for value in schema.values():
            _refs(value, prefix, found)
    elif isinstance(schema, list):
        for value in schema:
            _refs(value, prefix, found)


def _closure(start: Any, schemas: dict[str, Schema], prefix: str) -> dict[str, Schema]:
    """The schemas reachable from `start` (a document fragment), sorted by name."""
    pending: set[str] = set()
    _refs(start, prefix, pending)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        _refs(schemas[name], prefix, pending)
    return {name: schemas[name] for name in sorted(seen)}


# --- paths -------------------------------------------------------------------------------


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


def _tag(r: Resource) -> str:
    group = r.group.split(".")[0] if r.group else "core"
    return f"{group}_{r.version}"


class _Op:
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


def _operations(r: Resource) -> dict[str, tuple[list[str], list[_Op]]]:
    """path -> (path parameter names, operations) for one resource."""
    definition = root_names()[(r.api_version, r.kind)]
    listed = list_name(definition)
    gvk = _gvk(r)
    ns_params = ["namespace"] if r.namespaced else []
    collection = r.base_path("{namespace}")
    item = f"{collection}/{{name}}"
    verbs = set(r.verbs)
    paths: dict[str, tuple[list[str], list[_Op]]] = {}
    ops: list[_Op] = []
    if "list" in verbs:
        ops.append(_Op("get", _op_id("list", r), r, "list", gvk, listed, query=LIST_PARAMS))
    if "create" in verbs:
        ops.append(
            _Op(
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
            _Op(
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
        ops.append(_Op("get", _op_id("read", r), r, "get", gvk, definition))
    if "update" in verbs:
        ops.append(
            _Op(
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
            _Op(
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
            _Op(
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
        all_ns = _Op(
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


def _subresource_ops(r: Resource, sub: str, definition: str) -> list[_Op]:
    info = SUBRESOURCES.get(sub)
    suffix = sub.capitalize()
    kind = (info.kind if info else None) or r.kind
    group = r.group if not info or info.group is None else info.group
    version = r.version if not info or info.version is None else info.version
    gvk = {"group": group, "version": version, "kind": kind}
    if sub in ("status", "finalize"):
        schema = definition
    else:
        schema = {"Scale": "V1Scale", "Binding": "V1Binding", "Eviction": "V1Eviction"}.get(kind)
    ops: list[_Op] = []
    verbs = info.verbs if info else ("get",)
    if sub == "log":
        return [
            _Op(
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
            _Op(
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
        ops.append(_Op("get", _op_id("read", r, suffix), r, "get", gvk, schema))
    if "update" in verbs:
        ops.append(
            _Op(
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
            _Op(
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
            _Op(
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


Paths = dict[str, tuple[list[str], list[_Op]]]


def _resource_paths(group: str | None, version: str | None) -> Paths:
    """All resource paths, or one group-version's when group is given."""
    chosen = RESOURCES if group is None else by_group_version(group, version or "")
    paths: Paths = {}
    for r in chosen:
        paths.update(_operations(r))
    return paths


def _path_param(name: str) -> tuple[str, str]:
    if name == "namespace":
        return name, "object name and auth scope, such as for teams and projects"
    return name, "name of the object"


def _v3_operation(op: _Op) -> Schema:
    out: Schema = {
        "tags": [_tag(op.r)],
        "description": f"{op.action} {op.gvk['kind']}",
        "operationId": op.op_id,
        "parameters": [
            {
                "name": q,
                "in": "query",
                "description": PARAM_INFO[q][1],
                "schema": {"type": PARAM_INFO[q][0], "uniqueItems": True},
            }
            for q in op.query
        ],
    }
    if op.body:
        out["requestBody"] = {
            "required": True,
            "content": {
                t: {"schema": {"$ref": V3_PREFIX + published_name(op.body)}} for t in op.body_types
            },
        }
    responses: Schema = {}
    for code in op.codes:
        content = {}
        for t in op.produces:
            content[t] = {
                "schema": {"$ref": V3_PREFIX + published_name(op.response)}
                if op.response
                else {"type": "string"}
            }
        responses[code] = {
            "description": "OK" if code == "200" else {"201": "Created", "202": "Accepted"}[code],
            "content": content,
        }
    responses["401"] = {"description": "Unauthorized"}
    out["responses"] = responses
    out["x-kubernetes-action"] = op.action
    out[GVK_EXT] = dict(op.gvk)
    return out


@cache
def _v3_document(group: str, version: str) -> Schema:
    paths: Schema = {}
    for path, (params, ops) in _resource_paths(group, version).items():
        item: Schema = {op.method: _v3_operation(op) for op in ops}
        item["parameters"] = [
            {
                "name": n,
                "in": "path",
                "description": d,
                "required": True,
                "schema": {"type": "string", "uniqueItems": True},
            }
            for n, d in map(_path_param, params)
        ] + [
            {
                "name": "pretty",
                "in": "query",
                "description": PARAM_INFO["pretty"][1],
                "schema": {"type": "string", "uniqueItems": True},
            }
        ]
        paths[path] = item
    schemas = schemas_v3()
    extra = [published_name("V1Status"), published_name("V1DeleteOptions")]
    start = [paths, [{"$ref": V3_PREFIX + name} for name in extra]]
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {
            "schemas": _closure(start, schemas, V3_PREFIX),
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "description": "Bearer Token authentication",
                    "name": "authorization",
                    "in": "header",
                }
            },
        },
        "security": [{"BearerToken": []}],
    }


def gv_path(group: str, version: str) -> str:
    """`api/v1` or `apis/<group>/<version>`: the key in the /openapi/v3 root."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


@cache
def v3_document_bytes(path: str) -> bytes:
    """The JSON bytes of `/openapi/v3/<path>`; 404 for a path that is not served."""
    for group, version in group_versions():
        if gv_path(group, version) == path:
            return json.dumps(_v3_document(group, version), separators=(",", ":")).encode()
    raise errors.ApiError(404, "the server could not find the requested resource", "NotFound")


def v3_document(group: str, version: str) -> Schema:
    """The OpenAPI 3 document of one group-version (a copy, safe to mutate)."""
    return json.loads(v3_document_bytes(gv_path(group, version)))


def v3_hash(path: str) -> str:
    return hashlib.sha512(v3_document_bytes(path)).hexdigest().upper()


@cache
def v3_root() -> Schema:
    """`GET /openapi/v3`: where each group-version's document lives, with a content hash
    so clients may cache it."""
    paths = {}
    for group, version in group_versions():
        path = gv_path(group, version)
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={v3_hash(path)}"}
    return {"paths": paths}


# --- Swagger 2.0 -------------------------------------------------------------------------


def _v2_parameter(name: str, where: str, required: bool = False) -> Schema:
    if where == "path":
        _, desc = _path_param(name)
        return {
            "name": name,
            "in": "path",
            "description": desc,
            "required": True,
            "type": "string",
            "uniqueItems": True,
        }
    type_, desc = PARAM_INFO[name]
    param: Schema = {
        "name": name,
        "in": "query",
        "description": desc,
        "type": type_,
        "uniqueItems": True,
    }
    if required:
        param["required"] = True
    return param


def _v2_operation(op: _Op) -> Schema:
    params: list[Schema] = []
    if op.body:
        params.append(
            {
                "name": "body",
                "in": "body",
                "required": True,
                "schema": {"$ref": V2_PREFIX + published_name(op.body)},
            }
        )
    params.extend(_v2_parameter(q, "query") for q in op.query)
    responses: Schema = {}
    for code in op.codes:
        resp: Schema = {
            "description": "OK" if code == "200" else {"201": "Created", "202": "Accepted"}[code]
        }
        resp["schema"] = (
            {"$ref": V2_PREFIX + published_name(op.response)} if op.response else {"type": "string"}
        )
        responses[code] = resp
    responses["401"] = {"description": "Unauthorized"}
    return {
        "description": f"{op.action} {op.gvk['kind']}",
        "consumes": list(op.body_types) if op.body else ["*/*"],
        "produces": list(op.produces),
        "schemes": ["https"],
        "tags": [_tag(op.r)],
        "operationId": op.op_id,
        "parameters": params,
        "responses": responses,
        "x-kubernetes-action": op.action,
        GVK_EXT: dict(op.gvk),
    }


@cache
def v2_document() -> Schema:
    """The whole API as one Swagger 2.0 document."""
    paths: Schema = {}
    for path, (params, ops) in _resource_paths(None, None).items():
        item: Schema = {op.method: _v2_operation(op) for op in ops}
        item["parameters"] = [_v2_parameter(n, "path") for n in params] + [
            _v2_parameter("pretty", "query")
        ]
        paths[path] = item
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "definitions": dict(sorted(schemas_v2().items())),
        "securityDefinitions": {
            "BearerToken": {
                "type": "apiKey",
                "name": "authorization",
                "in": "header",
                "description": "Bearer Token authentication",
            }
        },
        "security": [{"BearerToken": []}],
    }


@cache
def v2_json() -> bytes:
    return json.dumps(v2_document(), separators=(",", ":")).encode()


# gnostic openapi_v2 field numbers (github.com/google/gnostic-models, OpenAPIv2.proto).
def _named_any(name: str, value: Any) -> Writer:
    # Any{2: yaml}; JSON is valid YAML, which is what kubectl parses it with.
    return Writer().string(1, name).message(2, Writer().string(2, json.dumps(value)))


def _extensions(w: Writer, field: int, obj: Schema) -> None:
    for key, value in obj.items():
        if key.startswith("x-"):
            w.message(field, _named_any(key, value))


def _g_schema(s: Schema) -> Writer:
    """openapi_v2.Schema."""
    w = Writer()
    w.string(1, s.get("$ref"))
    w.string(2, s.get("format"))
    w.string(4, s.get("description"))
    w.strings(19, s.get("required") or [])
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        w.message(21, Writer().message(1, _g_schema(extra)))
    elif isinstance(extra, bool):
        w.message(21, Writer().bool(2, extra))
    if s.get("type"):
        types = s["type"] if isinstance(s["type"], list) else [s["type"]]
        w.message(22, Writer().strings(1, types))
    if isinstance(s.get("items"), dict):
        w.message(23, Writer().message(1, _g_schema(s["items"])))
    if "properties" in s:
        props = Writer()
        for name, sub in s["properties"].items():
            props.message(1, Writer().string(1, name).message(2, _g_schema(sub)))
        w.message(25, props)
    w.bool(27, bool(s.get("readOnly")))
    _extensions(w, 31, s)
    return w


def _g_parameter(p: Schema) -> Writer:
    """openapi_v2.ParametersItem{1: Parameter{1: body | 2: NonBodyParameter}}."""
    if p["in"] == "body":
        body = Writer().string(1, p.get("description")).string(2, p["name"]).string(3, "body")
        body.bool(4, bool(p.get("required"))).message(5, _g_schema(p["schema"]))
        return Writer().message(1, Writer().message(1, body))
    # Query and path sub-schemas share field numbers 1-4 (required, in, description, name);
    # the type sits at 6 for query, 5 for path.
    sub = Writer().bool(1, bool(p.get("required"))).string(2, p["in"])
    sub.string(3, p.get("description")).string(4, p["name"])
    sub.string(6 if p["in"] == "query" else 5, p.get("type"))
    sub.bool(20 if p["in"] == "query" else 19, bool(p.get("uniqueItems")))
    oneof = 3 if p["in"] == "query" else 4
    return Writer().message(1, Writer().message(2, Writer().message(oneof, sub)))


def _g_operation(op: Schema) -> Writer:
    w = Writer().strings(1, op.get("tags") or []).string(3, op.get("description"))
    w.string(5, op.get("operationId"))
    w.strings(6, op.get("produces") or []).strings(7, op.get("consumes") or [])
    for p in op.get("parameters") or []:
        w.message(8, _g_parameter(p))
    responses = Writer()
    for code, resp in (op.get("responses") or {}).items():
        r = Writer().string(1, resp.get("description"))
        if "schema" in resp:
            r.message(2, Writer().message(1, _g_schema(resp["schema"])))
        responses.message(1, Writer().string(1, code).message(2, Writer().message(1, r)))
    w.message(9, responses)
    w.strings(10, op.get("schemes") or [])
    _extensions(w, 13, op)
    return w


_PATH_ITEM_FIELDS = {"get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8}


@cache
def v2_protobuf() -> bytes:
    """The v2 document as a gnostic `openapi_v2.Document` message."""
    doc = v2_document()
    w = Writer().string(1, doc["swagger"])
    w.message(2, Writer().string(1, doc["info"]["title"]).string(2, doc["info"]["version"]))
    paths = Writer()
    for path, item in doc["paths"].items():
        pi = Writer()
        for method, field in _PATH_ITEM_FIELDS.items():
            if method in item:
                pi.message(field, _g_operation(item[method]))
        for p in item.get("parameters") or []:
            pi.message(9, _g_parameter(p))
        paths.message(2, Writer().string(1, path).message(2, pi))
    w.message(8, paths)
    definitions = Writer()
    for name, schema in doc["definitions"].items():
        definitions.message(1, Writer().string(1, name).message(2, _g_schema(schema)))
    w.message(9, definitions)
    return bytes(w)


def wants_v2_protobuf(accept: str | None) -> bool:
    """True when the client's first choice is the gnostic protobuf (kubectl 1.27/1.28)."""
    first = (accept or "").split(",")[0].split(";")[0].strip().lower()
    return first.startswith("application/com.github.proto-openapi.spec.v2")


def openapi_v2_response(accept: str | None) -> tuple[bytes, str]:
    """(body, Content-Type) for `GET /openapi/v2`: protobuf when asked for, else JSON."""
    if wants_v2_protobuf(accept):
        return v2_protobuf(), V2_PROTOBUF_CONTENT_TYPE
    return v2_json(), "application/json"


def prebuild() -> None:
    """Build and cache every document now (about 0.1 s) instead of on the first request."""
    v3_root()
    v2_json()
    v2_protobuf()


# --- routes ------------------------------------------------------------------------------

router = APIRouter()
"""OpenAPI routes (self-contained: unknown documents answer a 404 Status)."""


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32].upper() + '"'


@router.get("/openapi/v2")
def get_openapi_v2(request: Request) -> Response:
    body, content_type = openapi_v2_response(request.headers.get("accept"))
    return Response(body, media_type=content_type, headers={"ETag": _etag(body)})


@router.get("/openapi/v3")
def get_openapi_v3_root() -> Response:
    return Response(json.dumps(v3_root()).encode(), media_type="application/json")


@router.get("/openapi/v3/{path:path}")
def get_openapi_v3(path: str, request: Request) -> Response:
    path = path.strip("/")
    try:
        body = v3_document_bytes(path)
    except errors.ApiError as err:
        return Response(json.dumps(err.status()).encode(), err.code, media_type="application/json")
    headers = {"ETag": _etag(body)}
    if request.query_params.get("hash") == v3_hash(path):
        # The URL names this exact content: clients may cache it for good.
        headers["Cache-Control"] = "public, immutable"
    return Response(body, media_type="application/json", headers=headers)
