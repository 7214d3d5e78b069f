"""What the agent reads from and sends to iproute2 (the real kernel is the integration
test's: tests/integration/test_netagent.py)."""

from __future__ import annotations

from netagent.kernel import (
    ROUTE_PROTO,
    parse_fdbs,
    parse_forward_policy,
    parse_neighs,
    parse_routes,
    plan_commands,
)
from netagent.reconcile import Fdb, Neigh, Plan, Route

DEV = "minik.1"


def test_parse_routes_keeps_the_device_of_onlink_routes_only() -> None:
    rows = [  # `ip -j -4 route show proto 161`, as iproute2 6.1 prints it
        {"dst": "10.244.2.0/24", "gateway": "192.168.77.2", "dev": "eth0", "flags": []},
        {"dst": "10.244.3.0/24", "gateway": "10.244.3.0", "dev": DEV, "flags": ["onlink"]},
        {"dst": "10.9.9.9", "gateway": "192.168.77.9", "dev": "eth0", "flags": []},
        {"dst": "10.244.5.0/24", "dev": "eth0", "flags": []},  # no gateway: not one of ours
    ]
    assert parse_routes(rows) == {
        Route("10.244.2.0/24", "192.168.77.2"),
        Route("10.244.3.0/24", "10.244.3.0", DEV, True),
        Route("10.9.9.9/32", "192.168.77.9"),
    }


def test_parse_neighs_and_fdbs_keep_permanent_entries_with_a_remote() -> None:
    neighs = [
        {"dst": "10.244.3.0", "lladdr": "02:00:00:00:00:03", "state": ["PERMANENT"]},
        {"dst": "10.244.4.0", "lladdr": "02:00:00:00:00:04", "state": ["REACHABLE"]},
    ]
    assert parse_neighs(neighs, DEV) == {Neigh("10.244.3.0", "02:00:00:00:00:03", DEV)}
    fdbs = [
        {
            "mac": "02:00:00:00:00:03",
            "dst": "192.168.77.3",
            "flags": ["self"],
            "state": "permanent",
        },
        {"mac": "33:33:00:00:00:01", "flags": ["self"], "state": "permanent"},
    ]
    assert parse_fdbs(fdbs, DEV) == {Fdb("02:00:00:00:00:03", "192.168.77.3", DEV)}


def test_plan_commands_order_and_mark_routes() -> None:
    p = Plan(
        del_routes=[Route("10.244.2.0/24", "10.244.2.0", DEV, True)],
        del_neighs=[Neigh("10.244.2.0", "02:00:00:00:00:02", DEV)],
        del_fdbs=[Fdb("02:00:00:00:00:02", "192.168.1.2", DEV)],
        set_neighs=[Neigh("10.244.3.0", "02:00:00:00:00:03", DEV)],
        set_fdbs=[Fdb("02:00:00:00:00:03", "192.168.1.3", DEV)],
        add_routes=[Route("10.244.3.0/24", "10.244.3.0", DEV, True)],
        set_routes=[Route("10.244.4.0/24", "192.168.1.4")],
    )
    before, fdb, after = plan_commands(p)
    assert before == [
        f"route del 10.244.2.0/24 proto {ROUTE_PROTO}",
        f"neigh del 10.244.2.0 dev {DEV}",
        f"neigh replace 10.244.3.0 lladdr 02:00:00:00:00:03 dev {DEV} nud permanent",
    ]
    assert fdb == [
        f"fdb del 02:00:00:00:00:02 dev {DEV} dst 192.168.1.2 self",
        f"fdb replace 02:00:00:00:00:03 dev {DEV} dst 192.168.1.3 self permanent",
    ]
    assert after == [
        f"route replace 10.244.4.0/24 via 192.168.1.4 proto {ROUTE_PROTO}",
        f"route add 10.244.3.0/24 via 10.244.3.0 dev {DEV} onlink proto {ROUTE_PROTO}",
    ]


def test_parse_forward_policy() -> None:
    rules = "-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n"  # `iptables -S FORWARD` under dockerd
    assert parse_forward_policy(rules) == "DROP"
    assert parse_forward_policy("") == ""
