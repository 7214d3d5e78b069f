"""Where an APIService's Service is served, and its discovery in aggregated form."""

from __future__ import annotations

from apiserver.aggregator import backend_address, resource_list_to_discovery

REF = {"namespace": "kube-system", "name": "m", "port": 443}
SERVICE = {"spec": {"clusterIP": "10.96.0.9", "ports": [{"name": "https", "port": 443}]}}


def test_endpoints_first_then_the_cluster_ip() -> None:
    endpoints = {
        "subsets": [
            {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": 4443}]}
        ]
    }
    assert backend_address(REF, SERVICE, endpoints) == ("127.0.0.1", 4443)
    assert backend_address(REF, SERVICE, {"subsets": []}) == ("10.96.0.9", 443)
    headless = {"spec": {"clusterIP": "None", "ports": []}}
    assert backend_address(REF, headless, None) is None
    assert backend_address(REF, None, None) is None


def test_resource_list_to_aggregated_discovery() -> None:
    body = {
        "resources": [
            {"name": "pods", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
            {"name": "pods/status", "namespaced": True, "kind": "PodMetrics", "verbs": ["get"]},
        ]
    }
    out = resource_list_to_discovery("metrics.k8s.io", "v1beta1", body)
    (pods,) = out["resources"]
    assert pods["scope"] == "Namespaced"
    assert pods["responseKind"] == {
        "group": "metrics.k8s.io",
        "version": "v1beta1",
        "kind": "PodMetrics",
    }
    assert pods["subresources"][0]["subresource"] == "status"
