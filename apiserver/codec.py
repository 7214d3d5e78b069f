"""Request bodies in (JSON, YAML, Kubernetes protobuf) and JSON responses out."""

from __future__ import annotations

import json
from typing import Any

import yaml
from starlette.responses import Response

from api import errors

JSON = "application/json"
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}
BODY_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_body(body: bytes, content_type: str | None, *, patch: bool = False) -> Any:
    """Parse a request body; 415 for an unknown media type, 400 for one that does not
    parse. For patches the result is (patch_type, document)."""
    mt = media_type(content_type)
    if patch:
        if mt not in PATCH_TYPES:
            raise errors.unsupported_media_type(mt)
        kind = PATCH_TYPES[mt]
        doc = _parse_yaml(body) if kind == "apply" else _parse_json(body)
        return kind, doc
    if mt in ("", "application/json", "*/*"):
        return _parse_json(body)
    if mt in ("application/yaml", "application/x-yaml", "text/yaml"):
        return _parse_yaml(body)
    if mt == "application/vnd.kubernetes.protobuf":
        from apiserver import protobuf

        return protobuf.decode_k8s_protobuf(body)
    raise errors.unsupported_media_type(mt)


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise errors.bad_request(f"error decoding JSON body: {err}") from err


def _parse_yaml(body: bytes) -> Any:
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as err:
        raise errors.bad_request(f"error decoding YAML body: {err}") from err


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(
    obj: Any, status: int = 200, warnings: list[str] | None = None, content_type: str = JSON
) -> Response:
    headers = warning_headers(warnings)
    return Response(dumps(obj), status_code=status, media_type=content_type, headers=headers)


def error_response(err: errors.ApiError, warnings: list[str] | None = None) -> Response:
    return json_response(err.status(), err.code, warnings)


def warning_headers(warnings: list[str] | None) -> dict[str, str] | None:
    if not warnings:
        return None
    # Starlette takes one value per header name; Kubernetes clients accept a
    # comma-separated list of warn-values in one Warning header.
    values = [f"299 - {_quoted(w)}" for w in dict.fromkeys(warnings)]
    # The header carries UTF-8 as Go's net/http sends it; Starlette writes latin-1.
    return {"Warning": ", ".join(values).encode("utf-8").decode("latin-1")}


def _quoted(text: str) -> str:
    """Kubernetes' makeQuotedString: quotes and backslashes escaped; control characters
    (which no header may carry) become spaces."""
    clean = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'
