"""Regenerate api/schemas/intformats.json: the width (int32 or int64) of every integer
field of Kubernetes' types, which the Python client's models (tools/gen_schemas.py)
do not carry. Input: Kubernetes' OpenAPI v2 document (the client repository's
kubernetes/swagger.json.unprocessed, or kube-apiserver's /openapi/v2).
Run: .venv/bin/python tools/gen_int_formats.py swagger.json"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "api" / "schemas" / "definitions.json"
OUT = ROOT / "api" / "schemas" / "intformats.json"


def client_names(swagger_name: str) -> list[str]:
    """The Python client's class names a swagger definition may have become:
    io.k8s.api.apps.v1.DeploymentSpec -> V1DeploymentSpec (or AppsV1DeploymentSpec
    when the short name is taken by another group)."""
    parts = swagger_name.split(".")
    version, kind = parts[-2], parts[-1]
    short = version[:1].upper() + version[1:] + kind
    group = parts[-3] if len(parts) >= 3 else ""
    return [short, group[:1].upper() + group[1:] + short]


def integer_format(prop: dict) -> str | None:
    for node in (prop, prop.get("items") or {}, prop.get("additionalProperties") or {}):
        if isinstance(node, dict) and node.get("type") == "integer":
            return node.get("format") or "int64"
    return None


def main(swagger_path: str) -> None:
    swagger = json.loads(Path(swagger_path).read_text())["definitions"]
    ours = json.loads(DEFINITIONS.read_text())["definitions"]
    out: dict[str, dict[str, str]] = {}
    for name, definition in sorted(swagger.items()):
        target = next((n for n in client_names(name) if n in ours), None)
        if target is None:
            continue
        props = ours[target].get("properties") or {}
        for prop, schema in (definition.get("properties") or {}).items():
            fmt = integer_format(schema)
            if fmt is not None and prop in props:
                out.setdefault(target, {})[prop] = fmt
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"{OUT}: {sum(len(v) for v in out.values())} integer fields")


if __name__ == "__main__":
    main(sys.argv[1])
