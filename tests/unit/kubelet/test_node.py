"""The Node and Lease builders shared by the kubelet and hollow nodes."""

from __future__ import annotations

from api.timefmt import rfc3339
from kubelet.node import NodeFacts, comparable_status, lease_object, node_conditions, node_object


def test_node_and_lease_builders() -> None:
    facts = NodeFacts(
        name="n1",
        internal_ip="10.0.0.1",
        kubelet_port=10250,
        container_runtime_version="docker://20.10.24",
    )
    node = node_object(facts, {"cpu": "2", "memory": "1Gi", "pods": "110"})
    assert node["spec"] == {}
    with_cidr = node_object(facts, {"cpu": "2"}, pod_cidr="10.244.1.0/24")
    assert with_cidr["spec"] == {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}
    status = node["status"]
    assert status["addresses"] == [
        {"type": "InternalIP", "address": "10.0.0.1"},
        {"type": "Hostname", "address": "n1"},
    ]
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    assert status["nodeInfo"]["containerRuntimeVersion"] == "docker://20.10.24"
    assert status["allocatable"] == status["capacity"]
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "n1"
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert ready["status"] == "True" and ready["reason"] == "KubeletReady"
    later = node_conditions(True, status["conditions"], now=2_000_000_000)
    assert {c["type"]: c for c in later}["Ready"]["lastTransitionTime"] == ready[
        "lastTransitionTime"
    ]
    down = node_conditions(False, later, message="container runtime is down", now=2_000_000_001)
    down_ready = {c["type"]: c for c in down}["Ready"]
    assert down_ready["status"] == "False" and down_ready["lastTransitionTime"] == rfc3339(
        2_000_000_001
    )
    assert comparable_status({"conditions": later}) == comparable_status(
        {"conditions": [{**c, "lastHeartbeatTime": "x"} for c in later]}
    )
    lease = lease_object("n1", "node-uid", now=0)
    assert lease["metadata"]["namespace"] == "kube-node-lease"
    assert lease["spec"] == {
        "holderIdentity": "n1",
        "leaseDurationSeconds": 40,
        "renewTime": "1970-01-01T00:00:00.000000Z",
    }
    assert lease["metadata"]["ownerReferences"][0] == {
        "apiVersion": "v1",
        "kind": "Node",
        "name": "n1",
        "uid": "node-uid",
    }
