"""`type: LoadBalancer` the ServiceLB way: each proxy publishes only its own node's addresses."""

from __future__ import annotations

from typing import Any

from proxy.loadbalancer import desired_ingress, needs_update


def lb(ingress: list[dict[str, Any]] | None = None, type_: str = "LoadBalancer") -> dict:
    status = {"loadBalancer": {"ingress": ingress}} if ingress is not None else {}
    return {"metadata": {"name": "s", "namespace": "d"}, "spec": {"type": type_}, "status": status}


def test_a_serving_node_publishes_its_addresses():
    assert desired_ingress(lb(), ["192.0.2.1"], serving=True) == [
        {"ip": "192.0.2.1", "ipMode": "VIP"}
    ]
    assert needs_update(lb(), ["192.0.2.1"], serving=True)


def test_a_node_that_cannot_serve_leaves_the_service_pending():
    assert desired_ingress(lb(), ["192.0.2.1"], serving=False) == []
    assert not needs_update(lb(), ["192.0.2.1"], serving=False)


def test_other_nodes_entries_are_kept():
    service = lb([{"ip": "192.0.2.9", "ipMode": "VIP"}, {"ip": "192.0.2.1", "ipMode": "VIP"}])
    assert desired_ingress(service, ["192.0.2.1"], serving=False) == [
        {"ip": "192.0.2.9", "ipMode": "VIP"}
    ]
    assert not needs_update(service, ["192.0.2.1"], serving=True)


def test_a_service_that_stopped_being_a_load_balancer_loses_its_ingress():
    service = lb([{"ip": "192.0.2.1", "ipMode": "VIP"}], type_="ClusterIP")
    assert desired_ingress(service, ["192.0.2.1"], serving=True) == []
    assert needs_update(service, ["192.0.2.1"], serving=True)
