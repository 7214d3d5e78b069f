"""The Swagger 2.0 document kubectl 1.27/1.28 read, as JSON."""

from __future__ import annotations

from apiserver.openapi import v2
from tests.unit.apiserver.openapi.refs import resolve_all_refs


def test_v2_json_document():
    doc = v2.v2_document()
    assert doc["swagger"] == "2.0"
    assert resolve_all_refs(doc, "#/definitions/", doc["definitions"]) > 0
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in patch["parameters"])
    body = next(p for p in patch["parameters"] if p["in"] == "body")
    assert body["schema"] == {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}


def check_parseable(schema: dict, definitions: dict, path: str) -> None:
    """kube-openapi's proto.ParseSchema rules, which kubectl 1.27 applies to /openapi/v2."""
    if "$ref" in schema:
        assert schema["$ref"].removeprefix("#/definitions/") in definitions, path
        return
    kind = schema.get("type")
    if kind == "array":
        assert isinstance(schema.get("items"), dict), path
        check_parseable(schema["items"], definitions, path + "[]")
    elif kind == "object" or (kind is None and "properties" in schema):
        for name, sub in (schema.get("properties") or {}).items():
            check_parseable(sub, definitions, f"{path}.{name}")
        if isinstance(schema.get("additionalProperties"), dict):
            check_parseable(schema["additionalProperties"], definitions, path + "{}")
    else:
        assert kind in (None, "string", "integer", "number", "boolean"), (path, kind)


def test_v2_definitions_parse_like_kubectl():
    definitions = v2.v2_document()["definitions"]
    for name, schema in definitions.items():
        check_parseable(schema, definitions, name)
