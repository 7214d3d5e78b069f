"""The Swagger 2.0 document encoded as gnostic's `openapi_v2.Document` protobuf
(github.com/google/gnostic-models, OpenAPIv2.proto), which kubectl 1.27/1.28 ask for."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from apiserver.openapi.schemas import Schema
from apiserver.openapi.v2 import v2_document
from apiserver.protobuf import Writer


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
    return encode_v2(v2_document())


def encode_v2(doc: Schema) -> bytes:
    """Any Swagger 2.0 document (the static one, or with custom resources added)."""
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
