"""Hollow nodes are built by the kubelet's own Node and Lease builders: they look
like any kubelet's Node (Ready, labels, conditions) apart from their hollow label,
their runtime and having no kubelet address."""

from __future__ import annotations

from kubelet.hollow import HOLLOW_LABEL, hollow_node
from kubelet.node import NodeFacts, node_object


def test_a_hollow_node_is_a_ready_node_without_a_kubelet_address() -> None:
    capacity = {"cpu": "32", "memory": "64Gi", "pods": "110"}
    node = hollow_node("hollow-0", capacity)
    status = node["status"]
    assert node["metadata"]["labels"][HOLLOW_LABEL] == "true"
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "hollow-0"
    assert status["capacity"] == status["allocatable"] == capacity
    assert status["addresses"] == [{"type": "Hostname", "address": "hollow-0"}]
    assert status["nodeInfo"]["containerRuntimeVersion"] == "hollow://0.1.0"
    ready = {c["type"]: c["status"] for c in status["conditions"]}
    assert ready == {
        "MemoryPressure": "False",
        "DiskPressure": "False",
        "PIDPressure": "False",
        "Ready": "True",
    }
    real = node_object(NodeFacts("n1", "10.0.0.2", 10250, "docker://24"), capacity)
    assert [c["type"] for c in real["status"]["conditions"]] == list(ready)
    assert set(real["metadata"]["labels"]) == set(node["metadata"]["labels"]) - {HOLLOW_LABEL}
