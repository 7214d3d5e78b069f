"""Request bodies in (JSON, YAML, Kubernetes protobuf) and JSON responses out."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from starlette.responses import Response

from api import errors
from apiserver import safeyaml

JSON = "application/json"
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}
BODY_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "")
# How deeply a request body may nest. Go's decoder stops at 10,000 levels; Python's
# recursive deep copies, patches and validation would overflow the stack long before
# that, and no Kubernetes object (not even a CRD's schema) comes near this.
MAX_DEPTH = 200
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
JSON_TYPES = ("", "application/json", "*/*")


def is_yaml(content_type: str | None) -> bool:
    """Whether a body of this type is parsed as YAML (server-side apply's are)."""
    mt = media_type(content_type)
    return mt in YAML_TYPES or PATCH_TYPES.get(mt) == "apply"


def is_json(content_type: str | None) -> bool:
    """Whether a (non-patch) body of this type is parsed as JSON."""
    return media_type(content_type) in JSON_TYPES


def decode_body(body: bytes, content_type: str | None, patch: bool = False) -> Any:
    """Parse a request body; 415 for an unknown media type, 400 for one that does not
    parse. For patches the result is (patch_type, document)."""
    mt = media_type(content_type)
    if patch:
        if mt not in PATCH_TYPES:
            raise errors.unsupported_media_type(mt)
        kind = PATCH_TYPES[mt]
        doc = _parse_yaml(body) if kind == "apply" else _parse_json(body)
        return kind, doc
    if mt in JSON_TYPES:
        return _parse_json(body)
    if mt in YAML_TYPES:
        return _parse_yaml(body)
    if mt == "application/vnd.kubernetes.protobuf":
        from apiserver import protobuf

        return protobuf.decode_k8s_protobuf(body)
    raise errors.unsupported_media_type(mt)


def _parse_json(body: bytes) -> Any:
    try:
        # json.loads with these hooks would build a decoder per call
        doc = _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except RecursionError as err:
        raise errors.bad_request("error decoding JSON body: nesting too deep") from err
    except (ValueError, UnicodeDecodeError) as err:
        raise errors.bad_request(f"error decoding JSON body: {err}") from err
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH:  # else it cannot be that deep
        _check_depth(doc, "JSON")
    if _SURROGATE_ESCAPE.search(body):
        _check_text(doc)
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid literal {name} (JSON has no NaN or Infinity)")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def _parse_yaml(body: bytes) -> Any:
    try:
        doc = safeyaml.safe_load(body, MAX_DEPTH)
    except RecursionError as err:
        raise errors.bad_request("error decoding YAML body: nesting too deep") from err
    except (yaml.YAMLError, ValueError) as err:
        raise errors.bad_request(f"error decoding YAML body: {err}") from err
    _check_depth(doc, "YAML")
    if _SURROGATE_ESCAPE.search(body):  # YAML escapes them as JSON does ("\\ud800")
        _check_text(doc)
    return doc


def _check_depth(doc: Any, language: str) -> None:
    """400 for a body nested deeper than MAX_DEPTH (iterative: no recursion)."""
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise errors.bad_request(
                f"error decoding {language} body: nesting too deep (more than {MAX_DEPTH} levels)"
            )
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def _check_text(doc: Any) -> None:
    """400 for a string holding a lone UTF-16 surrogate (a `\\ud800` escape with no
    pair): it is no Unicode text, cannot be stored as UTF-8, and would fail every
    answer that carries it."""
    try:
        json.dumps(doc, ensure_ascii=False).encode()
    except UnicodeEncodeError as err:
        raise errors.bad_request(
            "error decoding body: invalid Unicode: a lone UTF-16 surrogate escape"
        ) from err


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
