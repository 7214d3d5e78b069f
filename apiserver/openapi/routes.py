"""The HTTP routes serving the OpenAPI documents (self-contained: unknown documents
answer a 404 Status), with content negotiation between JSON and protobuf for v2, ETags,
and immutable caching for v3 URLs that carry their content's hash. Built-in, custom
(CRDs) and aggregated (APIServices) APIs are merged here; the documents are built off
the event loop."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api import errors
from apiserver.aggregator import Aggregator
from apiserver.openapi.aggregated import (
    AggregatedCache,
    Backends,
    backends,
    merge_v2,
    parse_all,
    v3_merged_bytes,
)
from apiserver.openapi.custom import CustomOpenAPI
from apiserver.openapi.schemas import Schema
from apiserver.openapi.v2 import v2_document, v2_json
from apiserver.openapi.v2proto import encode_v2, v2_protobuf
from apiserver.openapi.v3 import is_builtin_path, v3_document_bytes, v3_hash, v3_root

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
_MERGED_V2 = AggregatedCache()
_MERGED_V2_PROTO = AggregatedCache()
_MERGED_V3_ROOT = AggregatedCache()


def _custom(request: Request) -> tuple[Any, int] | None:
    """(custom resources, generation) of the apiserver serving this request, when it
    serves any (an app without a server, as in unit tests, has none)."""
    server = getattr(request.app.state, "server", None)
    crds = getattr(server, "crds", None)
    if crds is None or not crds.resources():
        return None
    return crds.resources(), crds.generation


def _aggregator(request: Request) -> Aggregator | None:
    server = getattr(request.app.state, "server", None)
    return getattr(server, "aggregator", None)


async def _backends(request: Request, v2: bool = True, v3: bool = True) -> Backends:
    aggregator = _aggregator(request)
    if aggregator is None:
        return Backends((), {})
    return await backends(aggregator, v2=v2, v3=v3)


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32].upper() + '"'


def _v2_body(custom: tuple[Any, int] | None, found: Backends, protobuf: bool) -> bytes:
    """The v2 document (JSON or gnostic protobuf): built-in, custom and aggregated APIs."""
    if not found.v2:
        if custom is None:
            return v2_protobuf() if protobuf else v2_json()
        return _CUSTOM.v2_protobuf(*custom) if protobuf else _CUSTOM.v2_json(*custom)

    def merged() -> Schema:
        base = v2_document() if custom is None else _CUSTOM.v2_document(*custom)
        return merge_v2(base, parse_all(found.v2))

    key = (None if custom is None else custom[1], found.key())
    if protobuf:
        return _MERGED_V2_PROTO.get(key, lambda: encode_v2(merged()))
    return _MERGED_V2.get(key, lambda: json.dumps(merged(), separators=(",", ":")).encode())


@router.get("/openapi/v2")
async def get_openapi_v2(request: Request) -> Response:
    accept = request.headers.get("accept")
    found = await _backends(request, v3=False)
    protobuf = wants_v2_protobuf(accept)
    body = await run_in_threadpool(_v2_body, _custom(request), found, protobuf)
    content_type = V2_PROTOBUF_CONTENT_TYPE if protobuf else "application/json"
    return Response(body, media_type=content_type, headers={"ETag": _etag(body)})


def _v3_root_body(custom: tuple[Any, int] | None, found: Backends) -> bytes:
    root = v3_root() if custom is None else _CUSTOM.v3_root(*custom)
    if not found.v3:
        return json.dumps(root).encode()

    def merged() -> bytes:
        paths = dict(root["paths"])
        for path, data in found.v3.items():
            if path in paths or (body := v3_merged_bytes(data)) is None:
                continue  # a built-in group-version is never replaced
            digest = hashlib.sha512(body).hexdigest().upper()
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
        return json.dumps({"paths": paths}).encode()

    return _MERGED_V3_ROOT.get((None if custom is None else custom[1], found.key()), merged)


@router.get("/openapi/v3")
async def get_openapi_v3_root(request: Request) -> Response:
    found = await _backends(request, v2=False)
    body = await run_in_threadpool(_v3_root_body, _custom(request), found)
    return Response(body, media_type="application/json")


def _v3_body(path: str, custom: tuple[Any, int] | None, found: Backends) -> tuple[bytes, str]:
    """(document, its hash) of one group-version: built-in, custom, or aggregated."""
    try:
        return v3_document_bytes(path), v3_hash(path)
    except errors.ApiError:
        if custom is not None and path in _CUSTOM.paths(custom[0]):
            return _CUSTOM.v3_document_bytes(path, *custom), _CUSTOM.v3_hash(path, *custom)
        data = found.v3.get(path)
        body = None if data is None else v3_merged_bytes(data)
        if body is None:
            raise
        return body, hashlib.sha512(body).hexdigest().upper()


@router.get("/openapi/v3/{path:path}")
async def get_openapi_v3(path: str, request: Request) -> Response:
    path = path.strip("/")
    custom = _custom(request)
    found = Backends((), {})
    if not is_builtin_path(path) and (custom is None or path not in _CUSTOM.paths(custom[0])):
        found = await _backends(request, v2=False)
    try:
        body, digest = await run_in_threadpool(_v3_body, path, custom, found)
    except errors.ApiError as err:
        return Response(json.dumps(err.status()).encode(), err.code, media_type="application/json")
    headers = {"ETag": _etag(body)}
    if request.query_params.get("hash") == digest:
        # The URL names this exact content: clients may cache it for good.
        headers["Cache-Control"] = "public, immutable"
    return Response(body, media_type="application/json", headers=headers)
