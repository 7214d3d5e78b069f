"""LoadBalancer status (k3s ServiceLB style), lo address parsing, and host facts."""

from __future__ import annotations

from typing import Any

from proxy.addresses import LABEL, parse_addresses
from proxy.hostinfo import system_nameserver
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


def test_lo_addresses_are_read_with_their_labels():
    output = (
        "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
        f"1: lo    inet 10.96.0.10/32 scope global {LABEL}\\       valid_lft forever\n"
        "1: lo    inet 10.1.2.3/32 scope global lo\\       valid_lft forever\n"
    )
    assert parse_addresses(output) == {"10.96.0.10": LABEL, "10.1.2.3": "lo"}


def test_the_system_nameserver_skips_the_cluster_dns(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("search x\nnameserver 10.96.0.10\nnameserver 192.0.2.53\n")
    assert system_nameserver(str(conf), skip=("10.96.0.10",)) == "192.0.2.53"
    assert system_nameserver(str(tmp_path / "missing")) is None
