"""A CRD's served resources, accepted names, status, and the naming rules; plus the
JSONPath subset printer columns and scale read."""

from __future__ import annotations

import copy

from api import apiextensions, jsonpath
from api.validation import validate

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.x.io"},
    "spec": {
        "group": "x.io",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object"}},
                "subresources": {
                    "status": {},
                    "scale": {
                        "specReplicasPath": ".spec.replicas",
                        "statusReplicasPath": ".status.replicas",
                    },
                },
            },
            {
                "name": "v1beta1",
                "served": True,
                "storage": False,
                "schema": {"openAPIV3Schema": {"type": "object"}},
            },
            {
                "name": "v1alpha1",
                "served": False,
                "storage": False,
                "schema": {"openAPIV3Schema": {"type": "object"}},
            },
        ],
    },
}


def test_resources_for_served_versions():
    found = apiextensions.resources_for(CRD)
    assert [(r.version, r.storage_version) for r in found] == [("v1", "v1"), ("v1beta1", "v1")]
    v1 = found[0]
    assert (v1.group, v1.plural, v1.singular, v1.kind) == ("x.io", "widgets", "widget", "Widget")
    assert v1.namespaced and v1.short_names == ("wd",)
    assert v1.subresources == ("status", "scale") and found[1].subresources == ()
    assert v1.storage_resource == "x.io/widgets"
    assert found[1].storage_api_version == "x.io/v1"


def test_established_status():
    status = apiextensions.established_status(CRD)
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "NamesAccepted": "True",
        "Established": "True",
    }
    assert status["acceptedNames"]["listKind"] == "WidgetList"
    assert status["acceptedNames"]["singular"] == "widget"
    assert status["storedVersions"] == ["v1"]


def test_name_conflicts_within_a_group():
    other = copy.deepcopy(CRD)
    other["metadata"]["name"] = "gadgets.x.io"
    other["spec"]["names"] = {"plural": "gadgets", "kind": "Widget", "shortNames": ["wd"]}
    problems = apiextensions.name_conflicts(other, [CRD])
    assert problems == [
        'singular "widget" is already in use',  # Widget's default singular
        'shortName "wd" is already in use',
        'kind "Widget" is already in use',
        'listKind "WidgetList" is already in use',
    ]
    other["spec"]["group"] = "y.io"
    assert apiextensions.name_conflicts(other, [CRD]) == []


def test_crd_validation():
    assert validate("CustomResourceDefinition", CRD) == []
    bad = copy.deepcopy(CRD)
    bad["spec"]["versions"][1]["storage"] = True
    bad["spec"]["scope"] = "Galaxy"
    bad["spec"]["names"]["plural"] = "Widgets"
    bad["spec"]["versions"][0]["subresources"]["scale"]["specReplicasPath"] = ".status.x"
    bad["spec"]["preserveUnknownFields"] = True
    fields = {c["field"]: c["message"] for c in validate("CustomResourceDefinition", bad)}
    assert "must have exactly one version marked as storage version" in fields["spec.versions"]
    assert fields["spec.scope"].startswith('Unsupported value: "Galaxy"')
    assert "spec.names.plural" in fields and "metadata.name" in fields
    assert "spec.versions[0].subresources.scale.specReplicasPath" in fields
    assert "spec.preserveUnknownFields" in fields
    changed = copy.deepcopy(CRD)
    changed["spec"]["scope"] = "Cluster"
    fields = {c["field"] for c in validate("CustomResourceDefinition", changed, CRD)}
    assert "spec.scope" in fields
    stored = {**CRD, "status": {"storedVersions": ["v1beta1", "v1"]}}
    dropped = copy.deepcopy(CRD)
    dropped["spec"]["versions"] = [dropped["spec"]["versions"][0]]
    fields = {c["field"] for c in validate("CustomResourceDefinition", dropped, stored)}
    assert fields == {"status.storedVersions[0]"}


def test_jsonpath_subset():
    obj = {
        "spec": {"replicas": 3, "items": [{"n": "a"}, {"n": "b"}]},
        "metadata": {"labels": {"app.kubernetes.io/name": "w"}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert jsonpath.first(obj, ".spec.replicas") == 3
    assert jsonpath.find(obj, ".spec.items[*].n") == ["a", "b"]
    assert jsonpath.first(obj, ".spec.items[1].n") == "b"
    assert jsonpath.first(obj, ".metadata.labels['app.kubernetes.io/name']") == "w"
    assert jsonpath.first(obj, '.status.conditions[?(@.type=="Ready")].status') == "True"
    assert jsonpath.first(obj, ".spec.missing") is None
    jsonpath.set_path(obj, ".spec.scale.replicas", 5)
    assert obj["spec"]["scale"] == {"replicas": 5}
