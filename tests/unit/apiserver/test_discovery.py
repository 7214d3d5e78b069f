"""Discovery documents: what kubectl reads to learn kinds, short names and subresources."""

from __future__ import annotations

import re

from api.resources import RESOURCES
from apiserver import discovery

KUBECTL_132_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)
KUBECTL_127_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)


def test_version_is_semver_with_matching_major_minor():
    info = discovery.version_info()
    m = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?", info["gitVersion"])
    assert m, info["gitVersion"]
    assert (info["major"], info["minor"]) == (m.group(1), m.group(2))
    assert "/" in info["platform"]


def test_wants_aggregated_follows_client_preference():
    assert discovery.wants_aggregated(KUBECTL_132_ACCEPT)
    # kubectl 1.27-1.29 only know v2beta1: wants_aggregated (v2 only) says legacy, while
    # discovery_response can still answer them aggregated.
    assert not discovery.wants_aggregated(KUBECTL_127_ACCEPT)
    assert discovery.aggregated_content_type(KUBECTL_132_ACCEPT) == discovery.AGGREGATED_V2
    assert discovery.aggregated_content_type(KUBECTL_127_ACCEPT) == discovery.AGGREGATED_V2BETA1
    assert not discovery.wants_aggregated("application/json")
    assert not discovery.wants_aggregated("")
    assert not discovery.wants_aggregated("application/json, " + KUBECTL_132_ACCEPT)
    assert discovery.AGGREGATED_CONTENT_TYPE == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )


def test_legacy_core_and_groups():
    assert discovery.api_versions()["versions"] == ["v1"]
    groups = {g["name"]: g for g in discovery.api_group_list()["groups"]}
    assert set(groups) == {
        "apps",
        "batch",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "storage.k8s.io",
        "events.k8s.io",
        "scheduling.k8s.io",
        "policy",
        "networking.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "autoscaling",
        "rbac.authorization.k8s.io",
        "certificates.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
    }
    assert groups["apps"]["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    assert discovery.api_group("apps")["kind"] == "APIGroup"
    assert discovery.api_group("example.com") is None


def test_resource_list_entries_and_subresources():
    core = discovery.api_resource_list("", "v1")
    assert core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    pods = by_name["pods"]
    assert pods["kind"] == "Pod" and pods["namespaced"] is True
    assert pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    assert pods["singularName"] == "pod"
    assert by_name["pods/log"]["verbs"] == ["get"]
    assert by_name["pods/binding"] == {
        "name": "pods/binding",
        "singularName": "",
        "namespaced": True,
        "kind": "Binding",
        "verbs": ["create"],
    }
    assert by_name["pods/eviction"]["group"] == "policy"
    assert by_name["pods/eviction"]["kind"] == "Eviction"
    assert by_name["namespaces/finalize"]["verbs"] == ["update"]
    assert by_name["namespaces"]["namespaced"] is False
    assert "deletecollection" not in by_name["namespaces"]["verbs"]

    apps = {r["name"]: r for r in discovery.api_resource_list("apps", "v1")["resources"]}
    scale = apps["deployments/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    assert scale["verbs"] == ["get", "patch", "update"]
    assert apps["deployments/status"]["kind"] == "Deployment"
    assert "group" not in apps["deployments/status"]
    # Kubernetes' own hash for apps/v1 Deployment.
    assert apps["deployments"]["storageVersionHash"] == "8aSe+NMegvE="

    assert discovery.api_resource_list("apps", "v2")["resources"] == []


def test_every_served_resource_is_discovered():
    names = set()
    for group, version in {(r.group, r.version) for r in RESOURCES}:
        names |= {r["name"] for r in discovery.api_resource_list(group, version)["resources"]}
    for r in RESOURCES:
        assert r.plural in names
        assert {f"{r.plural}/{s}" for s in r.subresources} <= names


def test_aggregated_discovery_shapes():
    core = discovery.aggregated_discovery(core=True)
    assert core["kind"] == "APIGroupDiscoveryList"
    assert core["apiVersion"] == "apidiscovery.k8s.io/v2"
    assert len(core["items"]) == 1 and "name" not in core["items"][0]["metadata"]
    version = core["items"][0]["versions"][0]
    assert version["version"] == "v1" and version["freshness"] == "Current"
    pods = next(r for r in version["resources"] if r["resource"] == "pods")
    assert pods["scope"] == "Namespaced" and pods["singularResource"] == "pod"
    assert pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    subs = {s["subresource"]: s for s in pods["subresources"]}
    assert subs["eviction"]["responseKind"] == {
        "group": "policy",
        "version": "v1",
        "kind": "Eviction",
    }
    nodes = next(r for r in version["resources"] if r["resource"] == "nodes")
    assert nodes["scope"] == "Cluster"

    groups = discovery.aggregated_discovery(core=False)
    names = [item["metadata"]["name"] for item in groups["items"]]
    assert names == [
        "apps",
        "batch",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "storage.k8s.io",
        "events.k8s.io",
        "scheduling.k8s.io",
        "policy",
        "networking.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "autoscaling",
        "rbac.authorization.k8s.io",
        "certificates.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
    ]
    deploy = groups["items"][0]["versions"][0]["resources"][0]
    scale = next(s for s in deploy["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"]["group"] == "autoscaling"


def test_discovery_response_negotiates():
    body, ctype = discovery.discovery_response(False, KUBECTL_127_ACCEPT)
    assert ctype == discovery.AGGREGATED_V2BETA1
    assert body["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
    body, ctype = discovery.discovery_response(True, "application/json", "10.0.0.1:6443")
    assert ctype == "application/json" and body["kind"] == "APIVersions"
    assert body["serverAddressByClientCIDRs"][0]["serverAddress"] == "10.0.0.1:6443"
