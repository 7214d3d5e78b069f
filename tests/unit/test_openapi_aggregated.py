"""Merging an aggregated backend's OpenAPI into the apiserver's (pure functions)."""

from __future__ import annotations

import json

from apiserver.openapi.aggregated import Backends, merge_v2, merge_v3, parse_all
from apiserver.openapi.schemas import schemas_v3

META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def test_merge_v2_adds_new_paths_and_definitions_and_keeps_its_own():
    base = {
        "swagger": "2.0",
        "paths": {"/api/v1/pods": {"get": {"operationId": "base"}}},
        "definitions": {META: {"description": "full"}, "z.Pod": {}},
    }
    spec = {
        "paths": {
            "/api/v1/pods": {"get": {"operationId": "backend"}},
            "/apis/m/v1/nodes": {"get": {"operationId": "listNodes"}},
        },
        "definitions": {META: {"description": "short"}, "a.NodeMetrics": {"type": "object"}},
    }
    merged = merge_v2(base, [spec])
    assert merged["paths"]["/api/v1/pods"]["get"]["operationId"] == "base"
    assert merged["paths"]["/apis/m/v1/nodes"]["get"]["operationId"] == "listNodes"
    assert merged["definitions"][META] == {"description": "full"}
    assert list(merged["definitions"]) == ["a.NodeMetrics", META, "z.Pod"]
    assert merged["swagger"] == "2.0"
    assert "/apis/m/v1/nodes" not in base["paths"] and "a.NodeMetrics" not in base["definitions"]


def test_merge_v3_uses_the_apiservers_schemas_and_their_references():
    doc = {
        "openapi": "3.0.0",
        "paths": {},
        "components": {
            "schemas": {
                META: {"type": "object", "properties": {"name": {"type": "string"}}},
                "m.NodeMetrics": {
                    "properties": {"metadata": {"$ref": f"#/components/schemas/{META}"}}
                },
            }
        },
    }
    merged = merge_v3(doc, schemas_v3())
    schemas = merged["components"]["schemas"]
    assert schemas[META] == schemas_v3()[META]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference" in schemas  # its closure
    assert schemas["m.NodeMetrics"] == doc["components"]["schemas"]["m.NodeMetrics"]
    assert doc["components"]["schemas"][META]["properties"] == {"name": {"type": "string"}}


def test_unparsable_documents_are_left_out_and_backends_key_follows_content():
    assert parse_all((b"not json", b"[1]", json.dumps({"a": 1}).encode())) == [{"a": 1}]
    one = Backends((b"{}",), {"apis/m/v1": b"{}"})
    assert one.key() == Backends((b"{}",), {"apis/m/v1": b"{}"}).key()
    assert one.key() != Backends((b"{}",), {"apis/m/v1": b"{ }"}).key()
    assert one.key() != Backends((), {"apis/m/v1": b"{}"}).key()
