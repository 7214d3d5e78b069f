"""The single Swagger 2.0 document (`/openapi/v2`) kubectl 1.27/1.28 reads, as JSON."""

from __future__ import annotations

import json
from functools import cache

from apiserver.discovery import GIT_VERSION
from apiserver.openapi.operations import (
    PARAM_INFO,
    Operation,
    Paths,
    path_param,
    resource_paths,
    resource_tag,
)
from apiserver.openapi.schemas import GVK_EXT, V2_PREFIX, Schema, published_name, schemas_v2


def _v2_parameter(name: str, where: str, required: bool = False) -> Schema:
    if where == "path":
        _, desc = path_param(name)
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


def _v2_operation(op: Operation) -> Schema:
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
        "tags": [resource_tag(op.r)],
        "operationId": op.op_id,
        "parameters": params,
        "responses": responses,
        "x-kubernetes-action": op.action,
        GVK_EXT: dict(op.gvk),
    }


@cache
def v2_document() -> Schema:
    """The whole API as one Swagger 2.0 document."""
    return build_v2(resource_paths(None, None), schemas_v2())


def build_v2(resource_paths: Paths, definitions: dict[str, Schema]) -> Schema:
    """A Swagger 2.0 document of these paths and definitions (published names)."""
    paths: Schema = {}
    for path, (params, ops) in resource_paths.items():
        item: Schema = {op.method: _v2_operation(op) for op in ops}
        item["parameters"] = [_v2_parameter(n, "path") for n in params] + [
            _v2_parameter("pretty", "query")
        ]
        paths[path] = item
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "definitions": dict(sorted(definitions.items())),
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
