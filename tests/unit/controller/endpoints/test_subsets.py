"""Endpoints subsets: addresses grouped by the set of ports they serve, named
targetPorts resolved per pod, readiness, terminating and IP-less pods."""

from __future__ import annotations

from controller.endpoints.subsets import desired_subsets, repack
from controller.util.pods import find_port
from controller.util.servicepods import HEADLESS_LABEL, desired_labels


def service(ports: list[dict] | None = None, **spec: object) -> dict:
    return {
        "metadata": {"name": "svc", "namespace": "ns", "labels": {"a": "b"}},
        "spec": {
            "selector": {"app": "web"},
            "ports": ports
            if ports is not None
            else [{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            **spec,
        },
    }


def pod(name: str, ip: str | None, port: int = 8080, ready: bool = True, **meta: object) -> dict:
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", **meta},
        "spec": {
            "nodeName": "n1",
            "containers": [
                {"name": "c", "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}]}
            ],
        },
        "status": {
            "phase": "Running",
            **({"podIP": ip} if ip else {}),
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def ips(subset: dict, kind: str = "addresses") -> list[str]:
    return [a["ip"] for a in subset.get(kind, [])]


def test_named_ports_split_pods_into_subsets():
    subsets = desired_subsets(
        service(),
        [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ready=False), pod("c", "10.0.0.3", port=9090)],
    )
    assert len(subsets) == 2
    by_port = {s["ports"][0]["port"]: s for s in subsets}
    assert ips(by_port[8080]) == ["10.0.0.1"]
    assert ips(by_port[8080], "notReadyAddresses") == ["10.0.0.2"]
    assert ips(by_port[9090]) == ["10.0.0.3"]
    assert by_port[8080]["ports"] == [{"port": 8080, "protocol": "TCP", "name": "web"}]
    address = by_port[9090]["addresses"][0]
    assert address == {
        "ip": "10.0.0.3",
        "nodeName": "n1",
        "targetRef": {"kind": "Pod", "namespace": "ns", "name": "c", "uid": "uid-c"},
    }


def test_pods_serving_the_same_ports_share_one_subset():
    ports = [
        {"name": "web", "port": 80, "targetPort": 8080, "protocol": "TCP"},
        {"name": "admin", "port": 81, "targetPort": 9000, "protocol": "TCP"},
    ]
    (subset,) = desired_subsets(service(ports), [pod("b", "10.0.0.2"), pod("a", "10.0.0.1")])
    assert ips(subset) == ["10.0.0.1", "10.0.0.2"]  # sorted
    assert [p["name"] for p in subset["ports"]] == ["admin", "web"]


def test_pods_without_ip_terminating_or_finished_are_left_out():
    terminating = pod("t", "10.0.0.4", deletionTimestamp="2030-01-01T00:00:00Z")
    done = pod("d", "10.0.0.5")
    done["status"]["phase"] = "Succeeded"
    subsets = desired_subsets(
        service(), [pod("noip", None), terminating, done, pod("a", "10.0.0.1")]
    )
    assert [ips(s) for s in subsets] == [["10.0.0.1"]]


def test_publish_not_ready_addresses_counts_everyone_ready():
    svc = service(publishNotReadyAddresses=True)
    terminating = pod("t", "10.0.0.4", ready=False, deletionTimestamp="2030-01-01T00:00:00Z")
    (subset,) = desired_subsets(svc, [pod("b", "10.0.0.2", ready=False), terminating])
    assert ips(subset) == ["10.0.0.2", "10.0.0.4"] and "notReadyAddresses" not in subset


def test_unresolvable_named_port_and_protocol_mismatch():
    assert find_port(pod("a", "1.1.1.1"), {"targetPort": "nope"}) is None
    assert find_port(pod("a", "1.1.1.1"), {"targetPort": "http", "protocol": "UDP"}) is None
    assert find_port(pod("a", "1.1.1.1"), {"targetPort": "http"}) == 8080
    assert find_port(pod("a", "1.1.1.1"), {"port": 80}) == 80
    assert (
        desired_subsets(service([{"port": 80, "targetPort": "nope"}]), [pod("a", "1.1.1.1")]) == []
    )


def test_headless_service_without_ports_lists_addresses():
    (subset,) = desired_subsets(service([], clusterIP="None"), [pod("a", "10.0.0.1")])
    assert ips(subset) == ["10.0.0.1"] and "ports" not in subset
    assert desired_labels(service([], clusterIP="None")) == {"a": "b", HEADLESS_LABEL: ""}
    assert desired_labels(service()) == {"a": "b"}


def test_repack_not_ready_wins_and_groups_by_port_set():
    address = {"ip": "10.0.0.1", "targetRef": {"uid": "u1"}}
    port = {"name": "web", "port": 80, "protocol": "TCP"}
    subsets = repack(
        [
            {"addresses": [address], "ports": [port]},
            {"notReadyAddresses": [address], "ports": [port]},
        ]
    )
    assert subsets == [{"notReadyAddresses": [address], "ports": [port]}]
