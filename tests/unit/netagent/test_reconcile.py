"""The pure part of the network agent: from Nodes to the routes, neighbour and FDB
entries a host should hold, and from the kernel's state to the changes."""

from __future__ import annotations

import json

import pytest

from netagent import reconcile
from netagent.nodeinfo import (
    BACKEND_DATA,
    BACKEND_TYPE,
    PUBLIC_IP,
    NodeInfo,
    node_info,
    own_annotations,
)
from netagent.reconcile import Config, Fdb, Neigh, Route, State, plan, vtep_address, wanted

DEV = "minik.1"


def node(name: str, cidr: str | None = None, ip: str | None = None, **annotations: str) -> dict:
    obj: dict = {"metadata": {"name": name}, "spec": {}, "status": {}}
    if cidr:
        obj["spec"] = {"podCIDR": cidr, "podCIDRs": [cidr]}
    if ip:
        obj["status"]["addresses"] = [
            {"type": "Hostname", "address": name},
            {"type": "InternalIP", "address": ip},
        ]
    if annotations:
        obj["metadata"]["annotations"] = annotations
    return obj


def vx(name: str, cidr: str, ip: str, mac: str, public: str | None = None) -> NodeInfo:
    return node_info(node(name, cidr, ip, **own_annotations("vxlan", public or ip, 1, mac)))


def test_node_info_reads_pod_cidrs_internal_ip_and_annotations() -> None:
    info = node_info(
        node(
            "b",
            "10.244.2.0/24",
            "192.168.1.2",
            **{
                BACKEND_TYPE: "vxlan",
                BACKEND_DATA: json.dumps({"VNI": 1, "VtepMAC": "AA:BB:CC:DD:EE:01"}),
                PUBLIC_IP: "172.16.0.2",
            },
        )
    )
    assert info == NodeInfo(
        "b", ("10.244.2.0/24",), "192.168.1.2", "vxlan", 1, "aa:bb:cc:dd:ee:01", "172.16.0.2"
    )


def test_node_info_ignores_what_it_cannot_use() -> None:
    obj = node("b", ip="fe80::1", **{BACKEND_DATA: "{not json", PUBLIC_IP: "nope"})
    obj["spec"] = {"podCIDRs": ["fd00::/64", "10.244.3.5/24", "10.244.3.0/24"]}
    info = node_info(obj)
    # an IPv6 network, a host address with bits set: not IPv4 pod networks
    assert info.pod_cidrs == ("10.244.3.0/24",)
    assert (info.internal_ip, info.vtep_mac, info.public_ip, info.vni) == ("", "", "", None)
    assert node_info(node("c", "10.244.4.0/24")).pod_cidrs == ("10.244.4.0/24",)  # podCIDR alone


def test_host_gw_wants_a_route_per_peer_via_its_internal_ip() -> None:
    nodes = [
        node_info(node("a", "10.244.1.0/24", "192.168.1.1")),
        node_info(node("b", "10.244.2.0/24", "192.168.1.2")),
        node_info(node("c", "10.244.3.0/24", "192.168.1.3")),
    ]
    got = wanted(nodes, Config("a"))
    assert got.state == State(
        frozenset(
            {
                Route("10.244.2.0/24", "192.168.1.2"),
                Route("10.244.3.0/24", "192.168.1.3"),
            }
        )
    )
    assert got.skipped == {}


def test_peers_without_what_the_backend_needs_are_skipped_with_a_reason() -> None:
    nodes = [
        node_info(node("a", "10.244.1.0/24", "192.168.1.1")),
        node_info(node("nocidr", ip="192.168.1.5")),
        node_info(node("noip", "10.244.6.0/24")),
        node_info(node("dup", "10.244.1.0/24", "192.168.1.7")),  # claims our network
    ]
    got = wanted(nodes, Config("a"))
    assert got.state == State()
    assert set(got.skipped) == {"nocidr", "noip", "dup"}
    assert "podCIDR" in got.skipped["nocidr"] and "InternalIP" in got.skipped["noip"]
    assert "claimed" in got.skipped["dup"]


def test_a_pod_network_two_peers_claim_goes_to_the_first_by_name() -> None:
    nodes = [
        node_info(node("z", "10.244.2.0/24", "192.168.1.9")),
        node_info(node("b", "10.244.2.0/24", "192.168.1.2")),
    ]
    got = wanted(nodes, Config("a"))
    assert got.state.routes == frozenset({Route("10.244.2.0/24", "192.168.1.2")})
    assert list(got.skipped) == ["z"]


def test_vxlan_wants_route_neighbour_and_fdb_per_peer() -> None:
    nodes = [
        vx("a", "10.244.1.0/24", "192.168.1.1", "02:00:00:00:00:01"),
        vx("b", "10.244.2.0/24", "192.168.2.2", "02:00:00:00:00:02", public="172.16.0.2"),
        # a peer whose agent runs host-gw, one with another VNI, one not published yet
        node_info(node("hg", "10.244.4.0/24", "192.168.1.4", **own_annotations("host-gw", "x"))),
        node_info(
            node(
                "vni2",
                "10.244.5.0/24",
                "192.168.1.5",
                **own_annotations("vxlan", "192.168.1.5", 2, "02:00:00:00:00:05"),
            )
        ),
        node_info(node("new", "10.244.6.0/24", "192.168.1.6")),
    ]
    got = wanted(nodes, Config("a", "vxlan"))
    assert got.state == State(
        frozenset({Route("10.244.2.0/24", "10.244.2.0", DEV, onlink=True)}),
        frozenset({Neigh("10.244.2.0", "02:00:00:00:00:02", DEV)}),
        frozenset({Fdb("02:00:00:00:00:02", "172.16.0.2", DEV)}),  # the public IP
    )
    assert set(got.skipped) == {"hg", "vni2", "new"}
    assert "host-gw" in got.skipped["hg"] and "VNI" in got.skipped["vni2"]


def test_vtep_address_is_the_pod_networks_own_address() -> None:
    assert vtep_address("10.244.7.0/24") == "10.244.7.0"


def test_plan_removes_what_is_gone_and_replaces_what_changed() -> None:
    current = State(
        frozenset(
            {
                Route("10.244.2.0/24", "192.168.1.2"),
                Route("10.244.3.0/24", "192.168.1.3"),
                Route("10.244.9.0/24", "10.244.9.0", DEV, True),
            }
        ),  # a vxlan leftover
    )
    want = State(
        frozenset(
            {
                Route("10.244.2.0/24", "192.168.1.2"),
                Route("10.244.3.0/24", "192.168.1.33"),  # moved
                Route("10.244.4.0/24", "192.168.1.4"),
            }
        )
    )
    p = plan(current, want)
    assert p.del_routes == [Route("10.244.9.0/24", "10.244.9.0", DEV, True)]
    assert p.set_routes == [Route("10.244.3.0/24", "192.168.1.33")]  # ours: replaced
    assert p.add_routes == [Route("10.244.4.0/24", "192.168.1.4")]  # new: added, not replaced
    assert not plan(want, want)
    assert "removed route 10.244.9.0/24" in p.summary()


def test_plan_for_a_peer_that_went_away_and_one_whose_mac_changed() -> None:
    b = (Neigh("10.244.2.0", "02:00:00:00:00:02", DEV), Fdb("02:00:00:00:00:02", "10.0.0.2", DEV))
    c_old = (
        Neigh("10.244.3.0", "02:00:00:00:00:03", DEV),
        Fdb("02:00:00:00:00:03", "10.0.0.3", DEV),
    )
    c_new = (
        Neigh("10.244.3.0", "02:00:00:00:00:33", DEV),
        Fdb("02:00:00:00:00:33", "10.0.0.3", DEV),
    )
    c_route = Route("10.244.3.0/24", "10.244.3.0", DEV, True)
    current = State(
        frozenset({Route("10.244.2.0/24", "10.244.2.0", DEV, True), c_route}),
        frozenset({b[0], c_old[0]}),
        frozenset({b[1], c_old[1]}),
    )
    want = State(frozenset({c_route}), frozenset({c_new[0]}), frozenset({c_new[1]}))
    p = plan(current, want)
    assert p.del_routes == [Route("10.244.2.0/24", "10.244.2.0", DEV, True)]
    assert p.del_neighs == [b[0]]  # c's neighbour is replaced in place, not removed
    assert p.set_neighs == [c_new[0]]
    assert sorted(p.del_fdbs) == sorted([b[1], c_old[1]])
    assert p.set_fdbs == [c_new[1]]
    assert p.add_routes == p.set_routes == []


def test_an_unknown_backend_is_an_error() -> None:
    with pytest.raises(ValueError):
        wanted([node_info(node("b", "10.244.2.0/24", "192.168.1.2"))], Config("a", "udp"))


def test_own_annotations_are_flannels_shapes() -> None:
    got = own_annotations("vxlan", "192.168.1.1", 1, "02:00:00:00:00:01")
    assert json.loads(got[BACKEND_DATA]) == {"VNI": 1, "VtepMAC": "02:00:00:00:00:01"}
    assert got[PUBLIC_IP] == "192.168.1.1" and got[BACKEND_TYPE] == "vxlan"
    assert BACKEND_DATA not in own_annotations("host-gw", "192.168.1.1")
    assert reconcile.DEFAULT_PORT == 8472 and reconcile.DEFAULT_VNI == 1
