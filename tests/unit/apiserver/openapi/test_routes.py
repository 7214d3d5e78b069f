"""The OpenAPI routes: content negotiation, ETags, 404s and immutable caching."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from apiserver import discovery
from apiserver.openapi import routes, v2proto


def test_v2_content_negotiation():
    body, ctype = routes.openapi_v2_response(routes.V2_PROTOBUF)
    assert ctype == "application/octet-stream" and body == v2proto.v2_protobuf()
    body, ctype = routes.openapi_v2_response("application/json")
    assert ctype == "application/json" and json.loads(body)["swagger"] == "2.0"
    assert routes.openapi_v2_response(None)[1] == "application/json"


@pytest.fixture(scope="module")
def client():
    app = FastAPI()  # no Status exception handler: the routers answer errors themselves
    app.include_router(discovery.router)
    app.include_router(routes.router)
    return TestClient(app)


def test_routes(client):
    root = client.get("/openapi/v3").json()
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    resp = client.get(url)
    assert resp.status_code == 200 and resp.headers["cache-control"] == "public, immutable"
    assert "cache-control" not in client.get("/openapi/v3/apis/apps/v1").headers
    missing = client.get("/openapi/v3/apis/example.com/v1")
    assert missing.status_code == 404 and missing.json()["kind"] == "Status"
    v2 = client.get("/openapi/v2", headers={"Accept": routes.V2_PROTOBUF})
    assert v2.headers["content-type"] == "application/octet-stream"
    agg = client.get("/apis", headers={"Accept": discovery.AGGREGATED_V2 + ",application/json"})
    assert agg.headers["content-type"] == discovery.AGGREGATED_CONTENT_TYPE
    assert client.get("/api").json()["kind"] == "APIVersions"
    assert client.get("/api/v1").json()["kind"] == "APIResourceList"
    assert client.get("/apis/apps").json()["kind"] == "APIGroup"
    assert client.get("/apis/apps/v1").json()["groupVersion"] == "apps/v1"
    assert client.get("/apis/example.com/v1").status_code == 404
    assert client.get("/apis/example.com").json()["reason"] == "NotFound"
    assert client.get("/api/v2").status_code == 404
    legacy = client.get("/apis", headers={"Accept": discovery.AGGREGATED_V2BETA1})
    assert legacy.headers["content-type"] == discovery.AGGREGATED_V2BETA1
    assert client.get("/version").json()["gitVersion"] == discovery.GIT_VERSION
