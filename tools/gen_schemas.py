"""Regenerate api/schemas/definitions.json from the official Kubernetes Python client's
models (a test dependency), so minik's field validation and OpenAPI documents describe
the same fields Kubernetes does. Run: .venv/bin/python tools/gen_schemas.py"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kubernetes.client import models

from api.resources import RESOURCES

EXTRA_ROOTS = (
    "V1Status",
    "V1Binding",
    "V1Scale",
    "V1DeleteOptions",
    "V1Eviction",
    "AuthenticationV1TokenRequest",
)
# the client's names where they differ from V1<Kind>
CLASS_NAMES = {
    "v1/Event": "CoreV1Event",
    "events.k8s.io/v1/Event": "EventsV1Event",
    "autoscaling/v2/HorizontalPodAutoscaler": "V2HorizontalPodAutoscaler",
}
OUT = Path(__file__).resolve().parent.parent / "api" / "schemas" / "definitions.json"
PRIMITIVES: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "bool": {"type": "boolean"},
    "float": {"type": "number"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "object": {"x-kubernetes-int-or-string": True},
    "bytearray": {"type": "string", "format": "byte"},
    "bytes": {"type": "string", "format": "byte"},
}


def type_schema(type_name: str, pending: list[str]) -> dict:
    if type_name in PRIMITIVES:
        return dict(PRIMITIVES[type_name])
    if m := re.fullmatch(r"List\[(.+)\]", type_name):
        return {"type": "array", "items": type_schema(m.group(1), pending)}
    if m := re.fullmatch(r"Dict\[str, (.+)\]", type_name):
        return {"type": "object", "additionalProperties": type_schema(m.group(1), pending)}
    if hasattr(models, type_name):
        pending.append(type_name)
        return {"$ref": type_name}
    return {"type": "object"}


def model_schema(name: str, pending: list[str]) -> dict:
    cls = getattr(models, name)
    doc = (cls.__doc__ or "").split("Attributes:")[0].strip()
    props = {}
    required = []
    for attr, type_name in cls.openapi_types.items():
        json_name = cls.attribute_map[attr]
        prop = type_schema(type_name, pending)
        field = cls.model_fields.get(attr)
        if field is not None and field.description:
            prop["description"] = field.description
        if field is not None and field.is_required():
            required.append(json_name)
        props[json_name] = prop
    schema = {"type": "object", "description": doc, "properties": props}
    if required:
        schema["required"] = required
    return schema


def main() -> None:
    roots = {
        f"{r.api_version}/{r.kind}": CLASS_NAMES.get(f"{r.api_version}/{r.kind}", f"V1{r.kind}")
        for r in RESOURCES
    }
    pending = [*roots.values(), *EXTRA_ROOTS]
    definitions: dict[str, dict] = {}
    while pending:
        name = pending.pop()
        if name not in definitions:
            definitions[name] = model_schema(name, pending)
    out = {"roots": roots, "definitions": dict(sorted(definitions.items()))}
    OUT.write_text(json.dumps(out, indent=None, separators=(",", ":"), sort_keys=False))
    print(f"wrote {len(definitions)} definitions to {OUT}")


if __name__ == "__main__":
    main()
