"""The desired default/kubernetes objects and what counts as a difference
(apiserver/kubernetesservice.py; the behaviour is tests/security/test_kubernetes_service.py)."""

from __future__ import annotations

from apiserver.config import Config
from apiserver.kubernetesservice import (
    advertised_address,
    endpoints_differ,
    kubernetes_endpoint_slice,
    kubernetes_endpoints,
    kubernetes_service,
    service_needs_update,
    slice_differs,
)


def test_the_service_is_https_443_to_the_secure_port_at_the_given_address():
    svc = kubernetes_service("10.96.0.1", 6443)
    assert svc["spec"]["clusterIP"] == "10.96.0.1" and svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"] == [
        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}
    ]
    assert "selector" not in svc["spec"]
    assert svc["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}


def test_only_ports_and_type_make_a_service_update_as_kubernetes():
    desired = kubernetes_service("10.96.0.1", 6443)
    live = kubernetes_service("10.96.0.1", 6443)
    live["spec"]["ports"][0]["nodePort"] = None  # fields beyond the four compared
    live["metadata"]["labels"]["extra"] = "kept"
    assert not service_needs_update(live, desired)
    live["spec"]["ports"][0]["targetPort"] = 1
    assert service_needs_update(live, desired)
    other_type = kubernetes_service("10.96.0.1", 6443)
    other_type["spec"]["type"] = "NodePort"
    assert service_needs_update(other_type, desired)


def test_endpoints_and_slice_point_at_the_apiserver():
    eps, eps_slice = kubernetes_endpoints("192.0.2.5", 6443), kubernetes_endpoint_slice("::1", 6443)
    assert eps["subsets"][0]["addresses"] == [{"ip": "192.0.2.5"}]
    assert eps["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
    assert eps_slice["addressType"] == "IPv6"
    assert not endpoints_differ(kubernetes_endpoints("192.0.2.5", 6443), eps)
    assert endpoints_differ(kubernetes_endpoints("192.0.2.6", 6443), eps)
    assert slice_differs(kubernetes_endpoint_slice("::1", 1), eps_slice)


def test_the_advertised_address_defaults_to_the_bind_address_else_loopback():
    assert advertised_address(Config(advertise_address="192.0.2.9")) == "192.0.2.9"
    assert advertised_address(Config(bind_address="192.0.2.8")) == "192.0.2.8"
    assert advertised_address(Config(bind_address="0.0.0.0")) == "127.0.0.1"
