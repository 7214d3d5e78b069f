"""Walks an OpenAPI document's `$ref`s: shared by the v2 and v3 document tests."""

from __future__ import annotations


def resolve_all_refs(doc: dict, prefix: str, schemas: dict) -> int:
    """Assert every `$ref` in doc names a schema under prefix; return how many there are."""
    count = 0

    def walk(node):
        nonlocal count
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):  # (a dict: JSONSchemaProps' field named `$ref`)
                assert ref.startswith(prefix) and ref[len(prefix) :] in schemas, ref
                count += 1
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return count
