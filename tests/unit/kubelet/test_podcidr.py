"""--pod-cidr-from-node: the flag, the Node's subnet and gateway, and what the kubelet
does with a pod network that exists already."""

from __future__ import annotations

import pytest

from kubelet.config import parse_args
from kubelet.podcidr import NetworkMismatch, check_network, gateway, node_pod_cidr

LABELS = {"io.minik.network": "minik", "io.minik.managed": "true"}


def test_flag_and_its_exclusion(tmp_path):
    base = ["--node-name", "n1", "--root-dir", str(tmp_path), "--node-ip", "127.0.0.1"]
    assert parse_args(base).pod_cidr_from_node is False
    assert parse_args([*base, "--pod-cidr-from-node"]).pod_cidr_from_node is True
    assert parse_args([*base, "--pod-cidr-from-node=false"]).pod_cidr_from_node is False
    assert parse_args([*base, "--pod-cidr", "10.244.1.0/24"]).pod_cidr == "10.244.1.0/24"
    with pytest.raises(SystemExit):
        parse_args([*base, "--pod-cidr", "10.244.1.0/24", "--pod-cidr-from-node"])


def test_node_pod_cidr_and_gateway():
    assert node_pod_cidr({"spec": {}}) is None
    assert node_pod_cidr({"spec": {"podCIDR": "10.244.3.0/24"}}) == "10.244.3.0/24"
    node = {"spec": {"podCIDR": "10.244.3.0/24", "podCIDRs": ["10.244.3.0/24", "fd00::/64"]}}
    assert node_pod_cidr(node) == "10.244.3.0/24"
    assert gateway("10.244.3.0/24") == "10.244.3.1"
    assert gateway("10.244.3.0/26") == "10.244.3.1"
    assert gateway("fd00:1::/64") == "fd00:1::1"


def network(subnet: str, labels: dict | None = None, containers: dict | None = None) -> dict:
    return {
        "Name": "minik",
        "Labels": LABELS if labels is None else labels,
        "IPAM": {"Config": [{"Subnet": subnet, "Gateway": gateway(subnet)}]},
        "Containers": containers or {},
    }


def test_existing_network_of_the_nodes_subnet_is_used():
    assert check_network(network("10.244.3.0/24"), "10.244.3.0/24", LABELS) == "use"
    busy = network("10.244.3.0/24", containers={"abc": {}})
    assert check_network(busy, "10.244.3.0/24", LABELS) == "use"


def test_empty_leftover_of_ours_is_replaced():
    assert check_network(network("10.244.9.0/24"), "10.244.3.0/24", LABELS) == "replace"


def test_another_subnet_in_use_or_not_ours_is_refused():
    """Two kubelets on one engine with --pod-cidr-from-node and one network name: the
    second refuses clearly instead of giving pods addresses outside its podCIDR."""
    busy = network("10.244.0.0/24", containers={"abc": {}})
    with pytest.raises(
        NetworkMismatch, match=r"subnet 10\.244\.0\.0/24, not this Node's podCIDR 10\.244\.1\.0/24"
    ):
        check_network(busy, "10.244.1.0/24", LABELS)
    foreign = network("172.18.0.0/16", labels={})
    with pytest.raises(NetworkMismatch, match="engine of its own"):
        check_network(foreign, "10.244.1.0/24", LABELS)
