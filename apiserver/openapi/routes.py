"""The HTTP routes serving the OpenAPI documents (self-contained: unknown documents
answer a 404 Status), with content negotiation between JSON and protobuf for v2, ETags,
and immutable caching for v3 URLs that carry their content's hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import errors
from apiserver.openapi.custom import CustomOpenAPI
from apiserver.openapi.v2 import v2_json
from apiserver.openapi.v2proto import v2_protobuf
from apiserver.openapi.v3 import v3_document_bytes, v3_hash, v3_root

V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# Answer protobuf with this: kubectl 1.27 cannot parse the proto-openapi media type back.
V2_PROTOBUF_CONTENT_TYPE = "application/octet-stream"


def wants_v2_protobuf(accept: str | None) -> bool:
    """True when the client's first choice is the gnostic protobuf (kubectl 1.27/1.28)."""
    first = (accept or "").split(",")[0].split(";")[0].strip().lower()
    return first.startswith("application/com.github.proto-openapi.spec.v2")


def openapi_v2_response(accept: str | None) -> tuple[bytes, str]:
    """(body, Content-Type) for `GET /openapi/v2`: protobuf when asked for, else JSON."""
    if wants_v2_protobuf(accept):
        return v2_protobuf(), V2_PROTOBUF_CONTENT_TYPE
    return v2_json(), "application/json"


def prebuild() -> None:
    """Build and cache every document now (about 0.1 s) instead of on the first request."""
    v3_root()
    v2_json()
    v2_protobuf()


router = APIRouter()
"""OpenAPI routes (self-contained: unknown documents answer a 404 Status)."""

_CUSTOM = CustomOpenAPI()


def _custom(request: Request) -> tuple[Any, int] | None:
    """(custom resources, generation) of the apiserver serving this request, when it
    serves any (an app without a server, as in unit tests, has none)."""
    server = getattr(request.app.state, "server", None)
    crds = getattr(server, "crds", None)
    if crds is None or not crds.resources():
        return None
    return crds.resources(), crds.generation


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32].upper() + '"'


@router.get("/openapi/v2")
def get_openapi_v2(request: Request) -> Response:
    body, content_type = openapi_v2_response(request.headers.get("accept"))
    if (custom := _custom(request)) is not None:
        if wants_v2_protobuf(request.headers.get("accept")):
            body = _CUSTOM.v2_protobuf(*custom)
        else:
            body = _CUSTOM.v2_json(*custom)
    return Response(body, media_type=content_type, headers={"ETag": _etag(body)})


@router.get("/openapi/v3")
def get_openapi_v3_root(request: Request) -> Response:
    custom = _custom(request)
    root = v3_root() if custom is None else _CUSTOM.v3_root(*custom)
    return Response(json.dumps(root).encode(), media_type="application/json")


@router.get("/openapi/v3/{path:path}")
def get_openapi_v3(path: str, request: Request) -> Response:
    path = path.strip("/")
    custom = _custom(request)
    try:
        try:
            body = v3_document_bytes(path)
            digest = v3_hash(path)
        except errors.ApiError:
            if custom is None:
                raise
            body = _CUSTOM.v3_document_bytes(path, *custom)
            digest = _CUSTOM.v3_hash(path, *custom)
    except errors.ApiError as err:
        return Response(json.dumps(err.status()).encode(), err.code, media_type="application/json")
    headers = {"ETag": _etag(body)}
    if request.query_params.get("hash") == digest:
        # The URL names this exact content: clients may cache it for good.
        headers["Cache-Control"] = "public, immutable"
    return Response(body, media_type="application/json", headers=headers)
