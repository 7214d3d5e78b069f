"""OpenAPI v3/v2 documents: what kubectl apply's validation and kubectl explain read."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import errors
from api.resources import RESOURCES
from apiserver import discovery
from apiserver.openapi import routes, v2, v2proto, v3
from apiserver.protobuf import iter_fields

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"


def resolve_all_refs(doc: dict, prefix: str, schemas: dict) -> int:
    count = 0

    def walk(node):
        nonlocal count
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None:
                assert ref.startswith(prefix) and ref[len(prefix) :] in schemas, ref
                count += 1
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return count


def test_v3_root_lists_every_group_version_with_hash():
    root = v3.v3_root()
    assert set(root["paths"]) == {
        "api/v1",
        "apis/apps/v1",
        "apis/coordination.k8s.io/v1",
        "apis/discovery.k8s.io/v1",
    }
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url == f"/openapi/v3/apis/apps/v1?hash={v3.v3_hash('apis/apps/v1')}"
    with pytest.raises(errors.ApiError):
        v3.v3_document_bytes("apis/batch/v1")


def test_v3_document_is_self_contained():
    for path in v3.v3_root()["paths"]:
        doc = json.loads(v3.v3_document_bytes(path))
        assert doc["openapi"].startswith("3.")
        schemas = doc["components"]["schemas"]
        assert resolve_all_refs(doc, "#/components/schemas/", schemas) > 0


def test_v3_patch_operations_let_the_server_validate():
    """kubectl sends fieldValidation=Strict only when the patch operation of the kind
    carries the GVK extension (an object) and a fieldValidation query parameter."""
    doc = v3.v3_document("apps", "v1")
    item = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    patch = item["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert {"name": "fieldValidation", "in": "query"}.items() <= next(
        p for p in patch["parameters"] if p["name"] == "fieldValidation"
    ).items()
    assert patch["x-kubernetes-action"] == "patch"
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    assert {p["name"] for p in item["parameters"]} >= {"namespace", "name"}
    scale = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["patch"]["x-kubernetes-group-version-kind"]["kind"] == "Scale"
    assert scale["get"]["operationId"] == "readAppsV1NamespacedDeploymentScale"
    core = v3.v3_document("", "v1")
    assert "/api/v1/pods" in core["paths"]
    assert "post" in core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/binding"]
    assert "put" in core["paths"]["/api/v1/namespaces/{name}/finalize"]
    assert (
        core["paths"]["/api/v1/nodes/{name}"]["patch"]["x-kubernetes-group-version-kind"]["kind"]
        == "Node"
    )


def test_every_kind_has_a_root_schema_with_its_gvk():
    for r in RESOURCES:
        doc = v3.v3_document(r.group, r.version)
        gvks = [
            gvk
            for s in doc["components"]["schemas"].values()
            for gvk in s.get("x-kubernetes-group-version-kind", [])
        ]
        assert {"group": r.group, "version": r.version, "kind": r.kind} in gvks, r.kind
        assert {"group": r.group, "version": r.version, "kind": r.list_kind} in gvks


def explain(doc: dict, root: str, dotted: str) -> dict:
    """Follow a field path the way kubectl explain does (through $ref, allOf, items)."""
    schemas = doc["components"]["schemas"]

    def deref(s: dict) -> dict:
        while True:
            if "$ref" in s:
                s = schemas[s["$ref"].rsplit("/", 1)[1]]
            elif "allOf" in s:
                s = {**deref(s["allOf"][0]), **{k: v for k, v in s.items() if k != "allOf"}}
            elif s.get("type") == "array":
                s = s["items"]
            else:
                return s

    node = schemas[root]
    for part in dotted.split("."):
        node = deref(node)["properties"][part]
    return node


def test_explain_paths_and_patch_strategy():
    doc = v3.v3_document("apps", "v1")
    assert explain(doc, DEPLOYMENT, "spec.replicas")["type"] == "integer"
    assert "Defaults to 1" in explain(doc, DEPLOYMENT, "spec.replicas")["description"]
    containers = explain(doc, DEPLOYMENT, "spec.template.spec.containers")
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    ports = explain(doc, DEPLOYMENT, "spec.template.spec.containers.ports")
    assert ports["x-kubernetes-patch-merge-key"] == "containerPort"
    assert explain(doc, DEPLOYMENT, "spec.strategy")["x-kubernetes-patch-strategy"] == (
        "retainKeys"
    )
    assert explain(doc, DEPLOYMENT, "metadata")["description"].startswith("Standard object")
    max_surge = explain(doc, DEPLOYMENT, "spec.strategy.rollingUpdate.maxSurge")
    assert max_surge["allOf"][0]["$ref"].endswith("intstr.IntOrString")
    core = v3.v3_document("", "v1")
    svc_ports = explain(core, "io.k8s.api.core.v1.Service", "spec.ports")
    assert svc_ports["x-kubernetes-patch-merge-key"] == "port"


def test_endpointslice_schemas_live_in_the_discovery_package():
    doc = v3.v3_document("discovery.k8s.io", "v1")
    root = "io.k8s.api.discovery.v1.EndpointSlice"
    assert explain(doc, root, "endpoints.conditions.ready")["type"] == "boolean"
    ports = doc["components"]["schemas"][root]["properties"]["ports"]
    assert ports["items"]["$ref"].endswith("io.k8s.api.discovery.v1.EndpointPort")
    core = v3.v3_document("", "v1")["components"]["schemas"]
    subset = core["io.k8s.api.core.v1.EndpointSubset"]["properties"]["ports"]
    assert subset["items"]["$ref"].endswith("io.k8s.api.core.v1.EndpointPort")


def test_v2_json_document():
    doc = v2.v2_document()
    assert doc["swagger"] == "2.0"
    assert resolve_all_refs(doc, "#/definitions/", doc["definitions"]) > 0
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in patch["parameters"])
    body = next(p for p in patch["parameters"] if p["in"] == "body")
    assert body["schema"] == {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}


def check_parseable(schema: dict, definitions: dict, path: str) -> None:
    """kube-openapi's proto.ParseSchema rules, which kubectl 1.27 applies to /openapi/v2."""
    if "$ref" in schema:
        assert schema["$ref"].removeprefix("#/definitions/") in definitions, path
        return
    kind = schema.get("type")
    if kind == "array":
        assert isinstance(schema.get("items"), dict), path
        check_parseable(schema["items"], definitions, path + "[]")
    elif kind == "object" or (kind is None and "properties" in schema):
        for name, sub in (schema.get("properties") or {}).items():
            check_parseable(sub, definitions, f"{path}.{name}")
        if isinstance(schema.get("additionalProperties"), dict):
            check_parseable(schema["additionalProperties"], definitions, path + "{}")
    else:
        assert kind in (None, "string", "integer", "number", "boolean"), (path, kind)


def test_v2_definitions_parse_like_kubectl():
    definitions = v2.v2_document()["definitions"]
    for name, schema in definitions.items():
        check_parseable(schema, definitions, name)


def message(buf: bytes) -> dict[int, list]:
    out: dict[int, list] = {}
    for field, _, value in iter_fields(buf):
        out.setdefault(field, []).append(value)
    return out


def test_v2_protobuf_is_what_kubectl_127_looks_for():
    """Walk the gnostic Document the way kubectl's QueryParamVerifier does."""
    doc = message(v2proto.v2_protobuf())
    assert doc[1] == [b"2.0"]
    found = False
    for named_path in message(doc[8][0])[2]:  # Paths.path: NamedPathItem
        path_item = message(message(named_path)[2][0])
        if 8 not in path_item:  # PathItem.patch
            continue
        op = message(path_item[8][0])
        gvks = []
        for ext in op.get(13, []):  # Operation.vendor_extension: NamedAny
            named = message(ext)
            if named[1] == [b"x-kubernetes-group-version-kind"]:
                gvks.append(json.loads(message(named[2][0])[2][0]))
        if {"group": "apps", "version": "v1", "kind": "Deployment"} not in gvks:
            continue
        names = []
        for item in op[8]:  # ParametersItem -> Parameter -> NonBodyParameter -> query
            parameter = message(message(item)[1][0])
            if 2 in parameter:
                query = message(parameter[2][0]).get(3)
                if query:
                    names.extend(message(query[0])[4])
        assert b"fieldValidation" in names
        found = True
        break
    assert found
    definitions = {
        message(d)[1][0].decode(): message(message(d)[2][0]) for d in message(doc[9][0])[1]
    }
    deployment = definitions[DEPLOYMENT]
    assert message(deployment[22][0])[1] == [b"object"]  # Schema.type
    props = {message(p)[1][0].decode() for p in message(deployment[25][0])[1]}
    assert {"apiVersion", "kind", "metadata", "spec", "status"} <= props
    ext = message(deployment[31][0])
    assert json.loads(message(ext[2][0])[2][0]) == [
        {"group": "apps", "version": "v1", "kind": "Deployment"}
    ]


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
    missing = client.get("/openapi/v3/apis/batch/v1")
    assert missing.status_code == 404 and missing.json()["kind"] == "Status"
    v2 = client.get("/openapi/v2", headers={"Accept": routes.V2_PROTOBUF})
    assert v2.headers["content-type"] == "application/octet-stream"
    agg = client.get("/apis", headers={"Accept": discovery.AGGREGATED_V2 + ",application/json"})
    assert agg.headers["content-type"] == discovery.AGGREGATED_CONTENT_TYPE
    assert client.get("/api").json()["kind"] == "APIVersions"
    assert client.get("/api/v1").json()["kind"] == "APIResourceList"
    assert client.get("/apis/apps").json()["kind"] == "APIGroup"
    assert client.get("/apis/apps/v1").json()["groupVersion"] == "apps/v1"
    assert client.get("/apis/batch/v1").status_code == 404
    assert client.get("/apis/batch").json()["reason"] == "NotFound"
    assert client.get("/api/v2").status_code == 404
    legacy = client.get("/apis", headers={"Accept": discovery.AGGREGATED_V2BETA1})
    assert legacy.headers["content-type"] == discovery.AGGREGATED_V2BETA1
    assert client.get("/version").json()["gitVersion"] == discovery.GIT_VERSION
