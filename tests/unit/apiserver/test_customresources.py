"""What the apiserver derives from a CRD without etcd: version order, tables from
additionalPrinterColumns (NAME and AGE without any), discovery and OpenAPI entries."""

from __future__ import annotations

import json

from api import apiextensions
from apiserver import discovery, tables
from apiserver.customresources import version_priority
from apiserver.openapi.custom import CustomOpenAPI, definition_name
from tests.unit.api.test_apiextensions import CRD


def test_version_priority_as_kubernetes():
    versions = ["v1beta1", "foo", "v2", "v1", "v1alpha1", "v10beta3", "v11alpha2"]
    assert sorted(versions, key=version_priority) == [
        "v2",
        "v1",
        "v10beta3",
        "v1beta1",
        "v11alpha2",
        "v1alpha1",
        "foo",
    ]


def test_table_printer_columns():
    crd = json.loads(json.dumps(CRD))
    crd["spec"]["versions"][0]["additionalPrinterColumns"] = [
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Ready", "type": "string", "jsonPath": ".status.ready", "priority": 1},
        {"name": "Started", "type": "date", "jsonPath": ".status.started"},
    ]
    v1, v1beta1 = apiextensions.resources_for(crd)
    obj = {
        "metadata": {"name": "w", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {"replicas": 2},
        "status": {"started": "2024-01-01T00:00:00Z"},
    }
    now = 1704067200 + 90  # 90 s after both timestamps
    table = tables.to_table(v1, [obj], None, now=now)
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Replicas",
        "Ready",
        "Started",
    ]
    assert table["columnDefinitions"][2]["priority"] == 1
    assert table["rows"][0]["cells"] == ["w", 2, None, "90s"]
    plain = tables.to_table(v1beta1, [obj], None, now=now)
    assert [c["name"] for c in plain["columnDefinitions"]] == ["Name", "Age"]
    assert plain["rows"][0]["cells"] == ["w", "90s"]


def test_discovery_and_openapi_include_custom_resources():
    served = apiextensions.resources_for(CRD)
    listed = discovery.api_resource_list("x.io", "v1", served)
    assert [r["name"] for r in listed["resources"]] == [
        "widgets",
        "widgets/status",
        "widgets/scale",
    ]
    assert discovery.api_group("x.io", served)["preferredVersion"]["version"] == "v1"
    assert discovery.api_group("x.io") is None

    openapi = CustomOpenAPI()
    root = openapi.v3_root(served, 1)
    assert "apis/x.io/v1" in root["paths"] and "apis/apps/v1" in root["paths"]
    doc = json.loads(openapi.v3_document_bytes("apis/x.io/v1", served, 1))
    name = definition_name(served[0])
    assert name == "io.x.v1.Widget"
    schema = doc["components"]["schemas"][name]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "x.io", "version": "v1", "kind": "Widget"}
    ]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]
    patch = doc["paths"]["/apis/x.io/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    v2 = openapi.v2_document(served, 1)
    assert name in v2["definitions"] and "io.k8s.api.apps.v1.Deployment" in v2["definitions"]
    assert openapi.v2_protobuf(served, 1)
