"""Services + Endpoints → listeners, addresses and backends (pure logic)."""

from __future__ import annotations

from typing import Any

from proxy.servicemap import (
    DEFAULT_AFFINITY_SECONDS,
    Backend,
    Listener,
    ServicePortName,
    build_service_map,
    node_listen_addresses,
)


def service(
    name: str,
    ports: list[dict[str, Any]],
    *,
    ns: str = "default",
    cluster_ip: str = "10.96.1.1",
    type_: str = "ClusterIP",
    created: str = "2024-01-01T00:00:00Z",
    **spec: Any,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
        "spec": {"type": type_, "clusterIP": cluster_ip, "ports": ports, **spec},
    }


def endpoints(name: str, subsets: list[dict[str, Any]], ns: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "subsets": subsets}


def test_cluster_ip_service_listens_on_its_address_with_ready_backends_only():
    svc = service("web", [{"name": "http", "port": 80, "protocol": "TCP"}])
    eps = endpoints(
        "web",
        [
            {
                "addresses": [{"ip": "172.18.0.2"}, {"ip": "172.18.0.3"}],
                "notReadyAddresses": [{"ip": "172.18.0.9"}],
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            }
        ],
    )
    m = build_service_map([svc], [eps])
    name = ServicePortName("default", "web", "http", "TCP")
    assert m.listeners == {Listener("TCP", "10.96.1.1", 80): name}
    assert m.cluster_ips == {"10.96.1.1"}
    assert m.ports[name].backends == (Backend("172.18.0.2", 8080), Backend("172.18.0.3", 8080))


def test_backends_match_the_port_name_and_protocol():
    svc = service(
        "dns",
        [
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
        ],
    )
    eps = endpoints(
        "dns",
        [
            {
                "addresses": [{"ip": "172.18.0.5"}],
                "ports": [
                    {"name": "dns", "port": 5353, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": 5354, "protocol": "TCP"},
                ],
            }
        ],
    )
    m = build_service_map([svc], [eps])
    udp = m.ports[ServicePortName("default", "dns", "dns", "UDP")]
    tcp = m.ports[ServicePortName("default", "dns", "dns-tcp", "TCP")]
    assert udp.backends == (Backend("172.18.0.5", 5353),)
    assert tcp.backends == (Backend("172.18.0.5", 5354),)
    assert set(m.listeners) == {Listener("UDP", "10.96.1.1", 53), Listener("TCP", "10.96.1.1", 53)}


def test_node_port_and_load_balancer_listen_on_the_node_addresses():
    svc = service(
        "lb", [{"port": 8080, "nodePort": 30080, "protocol": "TCP"}], type_="LoadBalancer"
    )
    m = build_service_map([svc], [], bind_address="0.0.0.0")
    assert set(m.listeners) == {
        Listener("TCP", "10.96.1.1", 8080),
        Listener("TCP", "0.0.0.0", 30080),
        Listener("TCP", "0.0.0.0", 8080),
    }
    assert m.ports[ServicePortName("default", "lb", "", "TCP")].load_balancer


def test_a_specific_bind_address_adds_loopback():
    assert node_listen_addresses("0.0.0.0") == ["0.0.0.0"]
    assert node_listen_addresses("127.0.0.1") == ["127.0.0.1"]
    assert node_listen_addresses("192.0.2.7") == ["192.0.2.7", "127.0.0.1"]
    svc = service("np", [{"port": 80, "nodePort": 30001}], type_="NodePort")
    m = build_service_map([svc], [], bind_address="192.0.2.7")
    assert Listener("TCP", "192.0.2.7", 30001) in m.listeners
    assert Listener("TCP", "127.0.0.1", 30001) in m.listeners


def test_headless_and_external_name_services_get_no_forwarding():
    headless = service("db", [{"port": 5432}], cluster_ip="None")
    external = service("ext", [], cluster_ip="", type_="ExternalName", externalName="example.org")
    m = build_service_map([headless, external], [])
    assert m.listeners == {}
    assert m.cluster_ips == set()


def test_the_cluster_dns_service_is_left_to_the_dns_server():
    dns = service("kube-dns", [{"port": 53, "protocol": "UDP"}], cluster_ip="10.96.0.10")
    m = build_service_map([dns], [], reserved_ips=["10.96.0.10"])
    assert m.listeners == {} and m.cluster_ips == set()


def test_two_load_balancers_on_one_port_the_older_wins():
    old = service(
        "old",
        [{"port": 80, "nodePort": 30001}],
        type_="LoadBalancer",
        created="2024-01-01T00:00:00Z",
        cluster_ip="10.96.1.1",
    )
    new = service(
        "new",
        [{"port": 80, "nodePort": 30002}],
        type_="LoadBalancer",
        created="2024-02-01T00:00:00Z",
        cluster_ip="10.96.1.2",
    )
    m = build_service_map([new, old], [])
    shared = Listener("TCP", "0.0.0.0", 80)
    assert m.listeners[shared].name == "old"
    loser, winner = m.conflicts[shared]
    assert (loser.name, winner.name) == ("new", "old")
    assert m.listeners[Listener("TCP", "10.96.1.2", 80)].name == "new"  # its ClusterIP still works


def test_session_affinity_timeout():
    plain = service("a", [{"port": 80}])
    sticky = service("b", [{"port": 80}], sessionAffinity="ClientIP")
    custom = service(
        "c",
        [{"port": 80}],
        sessionAffinity="ClientIP",
        sessionAffinityConfig={"clientIP": {"timeoutSeconds": 30}},
    )
    m = build_service_map([plain, sticky, custom], [])
    by_name = {spn.name: sp.affinity_seconds for spn, sp in m.ports.items()}
    assert by_name == {"a": None, "b": DEFAULT_AFFINITY_SECONDS, "c": 30}


def test_unsupported_protocols_are_skipped():
    svc = service("s", [{"port": 80, "protocol": "SCTP"}, {"port": 81, "protocol": "TCP"}])
    m = build_service_map([svc], [])
    assert list(m.listeners) == [Listener("TCP", "10.96.1.1", 81)]
