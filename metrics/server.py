"""The `metrics.k8s.io/v1beta1` API, as the apiserver's aggregation layer reaches it.

Authentication is Kubernetes' request-header scheme: the apiserver passes the user in
`X-Remote-User`/`X-Remote-Group`; it proves it is the apiserver with the shared secret
of `--requestheader-secret-file` as its bearer token (apiserver/aggregator.py). With no
secret configured the headers are trusted as they come (bind to loopback then).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from api import errors
from api.labels import parse_selector
from metrics import openapi
from metrics.storage import API_VERSION, GROUP, VERSION

log = logging.getLogger(__name__)

Lister = Callable[[], list[dict[str, Any]]]


def resource_list() -> dict[str, Any]:
    def entry(plural: str, kind: str, namespaced: bool) -> dict[str, Any]:
        return {
            "name": plural,
            "singularName": "",
            "namespaced": namespaced,
            "kind": kind,
            "verbs": ["get", "list"],
        }

    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": API_VERSION,
        "resources": [entry("nodes", "NodeMetrics", False), entry("pods", "PodMetrics", True)],
    }


def _error(err: errors.ApiError) -> JSONResponse:
    return JSONResponse(err.status(), status_code=err.code)


def _not_found(plural: str, name: str) -> errors.ApiError:
    return errors.ApiError(404, f'{plural}.{GROUP} "{name}" not found', "NotFound")


def _selected(items: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
    text = request.query_params.get("labelSelector") or ""
    if not text:
        return items
    selector = parse_selector(text)
    return [i for i in items if selector.matches((i.get("metadata") or {}).get("labels") or {})]


class MetricsApi:
    def __init__(self, nodes: Lister, pods: Lister, secret: str | None) -> None:
        self.nodes = nodes  # NodeMetrics now
        self.pods = pods  # PodMetrics now
        self.secret = secret

    def app(self) -> Starlette:
        base = f"/apis/{GROUP}/{VERSION}"
        return Starlette(
            routes=[
                Route("/healthz", self.healthz),
                Route("/readyz", self.healthz),
                Route("/livez", self.healthz),
                Route(base, self.discovery),
                Route("/openapi/v2", self.openapi_v2),
                Route("/openapi/v3", self.openapi_v3_root),
                Route(f"/openapi/v3/{openapi.V3_PATH}", self.openapi_v3),
                Route(f"{base}/nodes", self.list_nodes),
                Route(f"{base}/nodes/{{name}}", self.get_node),
                Route(f"{base}/pods", self.list_pods),
                Route(f"{base}/namespaces/{{namespace}}/pods", self.list_pods),
                Route(f"{base}/namespaces/{{namespace}}/pods/{{name}}", self.get_pod),
            ]
        )

    def _denied(self, request: Request) -> JSONResponse | None:
        if self.secret is not None:
            scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode(), self.secret.encode()
            ):
                return _error(errors.unauthorized())
        if not request.headers.get("x-remote-user"):
            return _error(errors.unauthorized())
        return None

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def discovery(self, request: Request) -> Response:
        return self._denied(request) or JSONResponse(resource_list())

    async def openapi_v2(self, request: Request) -> Response:
        """JSON only: the apiserver asks for JSON and merges it (kubectl's protobuf
        request goes to the apiserver, never here)."""
        return self._denied(request) or Response(openapi.v2_bytes(), media_type="application/json")

    async def openapi_v3_root(self, request: Request) -> Response:
        return self._denied(request) or JSONResponse(openapi.v3_root())

    async def openapi_v3(self, request: Request) -> Response:
        return self._denied(request) or Response(openapi.v3_bytes(), media_type="application/json")

    async def list_nodes(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        try:
            items = _selected(self.nodes(), request)
        except errors.ApiError as err:
            return _error(err)
        return JSONResponse(_list("NodeMetricsList", items))

    async def get_node(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        name = request.path_params["name"]
        found = next((n for n in self.nodes() if n["metadata"]["name"] == name), None)
        return JSONResponse(found) if found else _error(_not_found("nodes", name))

    async def list_pods(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        ns = request.path_params.get("namespace")
        items = [p for p in self.pods() if ns is None or p["metadata"]["namespace"] == ns]
        try:
            items = _selected(items, request)
        except errors.ApiError as err:
            return _error(err)
        return JSONResponse(_list("PodMetricsList", items))

    async def get_pod(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        ns, name = request.path_params["namespace"], request.path_params["name"]
        found = next(
            (
                p
                for p in self.pods()
                if p["metadata"]["name"] == name and p["metadata"]["namespace"] == ns
            ),
            None,
        )
        return JSONResponse(found) if found else _error(_not_found("pods", name))


def _list(kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": kind, "apiVersion": API_VERSION, "metadata": {}, "items": items}
