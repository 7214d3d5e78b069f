"""OpenAPI v3 documents: what kubectl apply's validation and kubectl explain read."""

from __future__ import annotations

import json

import pytest

from api import errors
from api.resources import RESOURCES
from apiserver.openapi import v3
from tests.unit.apiserver.openapi.refs import resolve_all_refs

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"


def test_v3_root_lists_every_group_version_with_hash():
    root = v3.v3_root()
    assert set(root["paths"]) == {
        "api/v1",
        "apis/apps/v1",
        "apis/batch/v1",
        "apis/coordination.k8s.io/v1",
        "apis/discovery.k8s.io/v1",
        "apis/policy/v1",
        "apis/storage.k8s.io/v1",
        "apis/events.k8s.io/v1",
        "apis/scheduling.k8s.io/v1",
        "apis/networking.k8s.io/v1",
        "apis/apiextensions.k8s.io/v1",
        "apis/apiregistration.k8s.io/v1",
        "apis/autoscaling/v2",
        "apis/autoscaling/v1",
        "apis/rbac.authorization.k8s.io/v1",
        "apis/authentication.k8s.io/v1",
        "apis/authorization.k8s.io/v1",
        "apis/certificates.k8s.io/v1",
    }
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url == f"/openapi/v3/apis/apps/v1?hash={v3.v3_hash('apis/apps/v1')}"
    with pytest.raises(errors.ApiError):
        v3.v3_document_bytes("apis/example.com/v1")


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
        listed = {"group": r.group, "version": r.version, "kind": r.list_kind} in gvks
        assert listed == ("list" in r.verbs), r.kind  # reviews are create-only, as in Kubernetes


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
