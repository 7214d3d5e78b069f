"""The OpenAPI v3 documents kubectl 1.29+ reads: a root listing one document per
group-version (`/openapi/v3`, each entry with a content hash), and each group-version's
paths with the closure of the schemas they reference."""

from __future__ import annotations

import hashlib
import json
from functools import cache

from api import errors
from api.resources import group_versions
from apiserver.discovery import GIT_VERSION
from apiserver.openapi.operations import (
    PARAM_INFO,
    Operation,
    Paths,
    path_param,
    resource_paths,
    resource_tag,
)
from apiserver.openapi.schemas import (
    GVK_EXT,
    V3_PREFIX,
    Schema,
    published_name,
    schema_closure,
    schemas_v3,
)


def _v3_operation(op: Operation) -> Schema:
    out: Schema = {
        "tags": [resource_tag(op.r)],
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
    return build_v3(resource_paths(group, version))


def build_v3(resource_paths: Paths, extra_schemas: dict[str, Schema] | None = None) -> Schema:
    """The OpenAPI 3 document of these paths; `extra_schemas` (published names) join
    the generated ones (custom resources' schemas)."""
    paths: Schema = {}
    for path, (params, ops) in resource_paths.items():
        item: Schema = {op.method: _v3_operation(op) for op in ops}
        item["parameters"] = [
            {
                "name": n,
                "in": "path",
                "description": d,
                "required": True,
                "schema": {"type": "string", "uniqueItems": True},
            }
            for n, d in map(path_param, params)
        ] + [
            {
                "name": "pretty",
                "in": "query",
                "description": PARAM_INFO["pretty"][1],
                "schema": {"type": "string", "uniqueItems": True},
            }
        ]
        paths[path] = item
    schemas = {**schemas_v3(), **(extra_schemas or {})}
    extra = [published_name("V1Status"), published_name("V1DeleteOptions")]
    start = [paths, [{"$ref": V3_PREFIX + name} for name in extra]]
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {
            "schemas": schema_closure(start, schemas, V3_PREFIX),
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


def is_builtin_path(path: str) -> bool:
    """Whether `/openapi/v3/<path>` is a built-in group-version's document."""
    return any(gv_path(g, v) == path for g, v in group_versions())


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
