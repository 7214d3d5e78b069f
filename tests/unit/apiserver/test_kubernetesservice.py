"""The desired default/kubernetes objects and what counts as a difference
(apiserver/kubernetesservice.py; the behaviour is tests/security/test_kubernetes_service.py)."""

from __future__ import annotations

from apiserver.config import Config
from apiserver.kubernetesservice import (
    advertised_address,
    endpoint_ports,
    kubernetes_endpoint_slice,
    kubernetes_endpoints,
    kubernetes_service,
    reconciled_endpoints,
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


def test_endpoints_and_slice_list_every_apiserver():
    ports = endpoint_ports(6443)
    eps = kubernetes_endpoints(["192.0.2.5", "192.0.2.6"], ports)
    eps_slice = kubernetes_endpoint_slice(["::1"], ports)
    assert eps["subsets"][0]["addresses"] == [{"ip": "192.0.2.5"}, {"ip": "192.0.2.6"}]
    assert eps["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
    assert eps_slice["addressType"] == "IPv6"
    assert slice_differs(kubernetes_endpoint_slice(["::1"], endpoint_ports(1)), eps_slice)
    two = kubernetes_endpoint_slice(["192.0.2.5", "192.0.2.6"], ports)
    assert [e["addresses"] for e in two["endpoints"]] == [["192.0.2.5"], ["192.0.2.6"]]


def test_the_lease_reconciler_rewrites_addresses_always_and_ports_only_at_start():
    ports = endpoint_ports(6443)
    live = kubernetes_endpoints(["192.0.2.5"], ports)
    live["metadata"]["resourceVersion"] = "7"
    assert reconciled_endpoints(live, ["192.0.2.5"], ports, False) is live
    both = reconciled_endpoints(live, ["192.0.2.5", "192.0.2.6"], ports, False)
    assert both["subsets"] == kubernetes_endpoints(["192.0.2.5", "192.0.2.6"], ports)["subsets"]
    assert both["metadata"]["resourceVersion"] == "7"  # an update of the live object
    # another apiserver's port: kept on later turns, corrected at start
    other_port = kubernetes_endpoints(["192.0.2.5"], endpoint_ports(7443))
    assert reconciled_endpoints(other_port, ["192.0.2.5"], ports, False) is other_port
    assert reconciled_endpoints(other_port, ["192.0.2.5"], ports, True)["subsets"][0]["ports"] == (
        ports
    )
    # two subsets, or not-ready addresses: the format is wrong, rewritten
    split = {"subsets": [live["subsets"][0], live["subsets"][0]]}
    assert len(reconciled_endpoints(split, ["192.0.2.5"], ports, False)["subsets"]) == 1
    assert reconciled_endpoints(None, ["192.0.2.5"], ports, False) == live | {
        "metadata": kubernetes_endpoints([], ports)["metadata"]
    }


def test_the_advertised_address_defaults_to_the_bind_address_else_loopback():
    assert advertised_address(Config(advertise_address="192.0.2.9")) == "192.0.2.9"
    assert advertised_address(Config(bind_address="192.0.2.8")) == "192.0.2.8"
    assert advertised_address(Config(bind_address="0.0.0.0")) == "127.0.0.1"
