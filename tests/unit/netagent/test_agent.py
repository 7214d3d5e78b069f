"""The agent's sync against a fake kernel and a fake Node cache: what it publishes on
its own Node, what it programs, what it removes, and that a refusal is retried."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from netagent import agent as agent_mod
from netagent.agent import Agent, AgentConfig, NotReady
from netagent.kernel import Vxlan
from netagent.nodeinfo import BACKEND_DATA, BACKEND_TYPE, PUBLIC_IP, own_annotations
from netagent.reconcile import Fdb, Neigh, Plan, Route, State

DEV = "minik.1"


class FakeKernel:
    """The kernel as sets; gateways in `unreachable` are refused as the kernel refuses a
    host-gw route to a peer on another subnet."""

    def __init__(self) -> None:
        self.routes: set[Route] = set()
        self.foreign: set[Route] = set()  # somebody else's
        self.neighs: set[Neigh] = set()
        self.fdbs: set[Fdb] = set()
        self.vxlan: Vxlan | None = None
        self.unreachable: set[str] = set()
        self.forwarding = False
        self.made = 0

    async def read(self, device: str | None) -> State:
        if device is None or self.vxlan is None:
            return State(frozenset(self.routes))
        return State(frozenset(self.routes), frozenset(self.neighs), frozenset(self.fdbs))

    async def apply(self, plan: Plan) -> list[str]:
        errors = []
        for r in plan.del_routes:
            self.routes = {x for x in self.routes if x.dst != r.dst}
        self.neighs -= set(plan.del_neighs)
        self.fdbs -= set(plan.del_fdbs)
        self.neighs = {n for n in self.neighs if n.ip not in {x.ip for x in plan.set_neighs}}
        self.neighs |= set(plan.set_neighs)
        self.fdbs = {f for f in self.fdbs if f.mac not in {x.mac for x in plan.set_fdbs}}
        self.fdbs |= set(plan.set_fdbs)
        for r in [*plan.set_routes, *plan.add_routes]:
            if r.via in self.unreachable:
                errors.append(f"route {r.dst}: Nexthop has invalid gateway")
            elif r in plan.add_routes and any(f.dst == r.dst for f in self.foreign):
                errors.append(f"route {r.dst}: File exists")
            else:
                self.routes = {x for x in self.routes if x.dst != r.dst} | {r}
        return errors

    async def ensure_vxlan(self, want: Vxlan) -> str:
        if self.vxlan != want:
            self.vxlan, self.made = want, self.made + 1
            self.neighs, self.fdbs = set(), set()
        return "02:00:00:00:00:0a"

    async def remove_link(self, name: str) -> bool:
        had, self.vxlan = self.vxlan is not None, None
        self.neighs, self.fdbs = set(), set()
        return had

    async def enable_forwarding(self) -> bool:
        was, self.forwarding = self.forwarding, True
        return not was

    async def forward_policy(self) -> str:
        return "ACCEPT"


class FakeNodes:
    def __init__(self, nodes: list[dict]) -> None:
        self.nodes = {n["metadata"]["name"]: n for n in nodes}

    def list(self) -> list[dict]:
        return list(self.nodes.values())

    def get_by_name(self, name: str) -> dict | None:
        return self.nodes.get(name)


class FakeApi:
    def __init__(self, nodes: FakeNodes) -> None:
        self.nodes = nodes
        self.patches: list[tuple[str, Any]] = []

    async def patch(self, res: Any, name: str, patch: Any) -> dict:
        self.patches.append((name, patch))
        meta = self.nodes.nodes[name].setdefault("metadata", {})
        meta.setdefault("annotations", {}).update(patch["metadata"]["annotations"])
        return self.nodes.nodes[name]


def node(name: str, cidr: str | None, ip: str | None, annotations: dict | None = None) -> dict:
    return {
        "metadata": {"name": name, "annotations": dict(annotations or {})},
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {},
        "status": {"addresses": [{"type": "InternalIP", "address": ip}]} if ip else {},
    }


def make(config: AgentConfig, nodes: list[dict]) -> tuple[Agent, FakeKernel, FakeApi]:
    fake_nodes = FakeNodes(nodes)
    api = FakeApi(fake_nodes)
    kernel = FakeKernel()
    a = Agent(config, api, kernel)  # type: ignore[arg-type]
    a.nodes = fake_nodes  # type: ignore[assignment]  # the informer's cache, without a watch
    return a, kernel, api


def test_host_gw_programs_peers_and_forgets_a_deleted_one() -> None:
    a, kernel, api = make(
        AgentConfig("a"),
        [
            node("a", "10.244.1.0/24", "192.168.1.1"),
            node("b", "10.244.2.0/24", "192.168.1.2"),
            node("c", "10.244.3.0/24", "192.168.1.3"),
        ],
    )
    kernel.foreign = {Route("10.99.0.0/16", "192.168.1.254")}
    assert asyncio.run(a.sync())
    assert kernel.routes == {
        Route("10.244.2.0/24", "192.168.1.2"),
        Route("10.244.3.0/24", "192.168.1.3"),
    }
    assert api.patches == [
        ("a", {"metadata": {"annotations": {BACKEND_TYPE: "host-gw", PUBLIC_IP: "192.168.1.1"}}})
    ]
    del a.nodes.nodes["c"]  # type: ignore[attr-defined]
    a.nodes.nodes["b"]["status"]["addresses"][0]["address"] = "192.168.1.22"  # type: ignore[attr-defined]
    assert asyncio.run(a.sync())
    assert kernel.routes == {Route("10.244.2.0/24", "192.168.1.22")}
    assert len(api.patches) == 1  # nothing of ours changed: no second patch


def test_a_refused_route_reports_not_done_and_is_tried_again() -> None:
    a, kernel, _ = make(
        AgentConfig("a"),
        [
            node("a", "10.244.1.0/24", "192.168.1.1"),
            node("far", "10.244.2.0/24", "192.168.9.2"),
        ],
    )
    kernel.unreachable = {"192.168.9.2"}
    assert not asyncio.run(a.sync())
    assert kernel.routes == set()
    kernel.unreachable = set()
    assert asyncio.run(a.sync())
    assert kernel.routes == {Route("10.244.2.0/24", "192.168.9.2")}


def test_vxlan_makes_the_device_publishes_its_mac_and_programs_peers() -> None:
    peer = own_annotations("vxlan", "172.16.0.2", 1, "02:00:00:00:00:02")
    a, kernel, api = make(
        AgentConfig("a", backend="vxlan"),
        [
            node("a", "10.244.1.0/24", "192.168.1.1"),
            node("b", "10.244.2.0/24", "192.168.2.2", peer),
        ],
    )
    kernel.routes = {Route("10.244.7.0/24", "192.168.1.7")}  # a host-gw run's leftover
    assert asyncio.run(a.sync())
    assert kernel.vxlan == Vxlan(DEV, 1, 8472, "192.168.1.1", "10.244.1.0")
    published = api.patches[0][1]["metadata"]["annotations"]
    assert json.loads(published[BACKEND_DATA]) == {"VNI": 1, "VtepMAC": "02:00:00:00:00:0a"}
    assert kernel.routes == {Route("10.244.2.0/24", "10.244.2.0", DEV, True)}
    assert kernel.neighs == {Neigh("10.244.2.0", "02:00:00:00:00:02", DEV)}
    assert kernel.fdbs == {Fdb("02:00:00:00:00:02", "172.16.0.2", DEV)}
    del a.nodes.nodes["b"]  # type: ignore[attr-defined]
    assert asyncio.run(a.sync(full=False))
    assert (kernel.routes, kernel.neighs, kernel.fdbs) == (set(), set(), set())
    assert kernel.made == 1


def test_it_waits_for_its_own_node() -> None:
    a, _, _ = make(AgentConfig("a", backend="vxlan"), [node("b", "10.244.2.0/24", "1.1.1.2")])
    with pytest.raises(NotReady, match="not registered"):
        asyncio.run(a.sync())
    a.nodes.nodes["a"] = node("a", None, "192.168.1.1")  # type: ignore[attr-defined]
    with pytest.raises(NotReady, match="podCIDR"):
        asyncio.run(a.sync())
    a.nodes.nodes["a"] = node("a", "10.244.1.0/24", None)  # type: ignore[attr-defined]
    with pytest.raises(NotReady, match="InternalIP"):
        asyncio.run(a.sync())


def test_cleanup_removes_our_routes_and_the_device() -> None:
    kernel = FakeKernel()
    kernel.routes = {Route("10.244.2.0/24", "192.168.1.2")}
    asyncio.run(kernel.ensure_vxlan(Vxlan(DEV, 1, 8472, "192.168.1.1", "10.244.1.0")))
    said = asyncio.run(agent_mod.cleanup(kernel, DEV))  # type: ignore[arg-type]
    assert kernel.routes == set() and kernel.vxlan is None
    assert said == f"removed 1 route(s) and {DEV}"


def test_a_route_somebody_else_holds_is_left_alone() -> None:
    a, kernel, _ = make(
        AgentConfig("a"),
        [node("a", "10.244.1.0/24", "192.168.1.1"), node("b", "10.244.2.0/24", "192.168.1.2")],
    )
    kernel.foreign = {Route("10.244.2.0/24", "192.168.1.99")}
    assert not asyncio.run(a.sync())  # added, not replaced: the kernel says it exists
    assert kernel.routes == set() and kernel.foreign == {Route("10.244.2.0/24", "192.168.1.99")}


def test_retries_back_off_to_the_resync_period() -> None:
    a, _, _ = make(AgentConfig("a", retry_seconds=2, resync_seconds=30), [])
    assert [a._backoff() for _ in range(6)] == [2, 4, 8, 16, 30, 30]


def test_a_status_heartbeat_does_not_wake_the_sync_but_a_new_address_does() -> None:
    a, _, _ = make(AgentConfig("a"), [])
    old = node("b", "10.244.2.0/24", "192.168.1.2")
    beat = json.loads(json.dumps(old))
    beat["status"]["conditions"] = [{"type": "Ready", "lastHeartbeatTime": "now"}]
    a._changed_update(old, beat)
    assert not a._dirty.is_set()
    moved = json.loads(json.dumps(old))
    moved["status"]["addresses"][0]["address"] = "192.168.1.22"
    a._changed_update(old, moved)
    assert a._dirty.is_set()


def test_a_machine_that_is_no_node_routes_every_node_host_gw_and_publishes_nothing() -> None:
    """`--no-node` (minik up --hosts' machine): every Node is a peer, routed via its
    InternalIP even when the hosts run vxlan between them; no device, no annotation."""
    vx = own_annotations("vxlan", "192.168.1.1", 1, "02:00:00:00:00:01")
    a, kernel, api = make(
        AgentConfig("", no_node=True, scope=("10.244.0.0/16",)),
        [node("a", "10.244.1.0/24", "192.168.1.1", vx), node("b", "10.244.2.0/24", "192.168.1.2")],
    )
    assert asyncio.run(a.sync())
    assert kernel.routes == {
        Route("10.244.1.0/24", "192.168.1.1"),
        Route("10.244.2.0/24", "192.168.1.2"),
    }
    assert api.patches == [] and kernel.vxlan is None


def test_with_a_scope_routes_of_other_clusters_are_neither_read_nor_removed() -> None:
    """Two clusters' machine agents share the machine's namespace and routing protocol:
    each owns only the routes inside its --cluster-cidr."""
    a, kernel, _ = make(
        AgentConfig("", no_node=True, scope=("10.244.0.0/16",)),
        [node("a", "10.244.1.0/24", "192.168.1.1"), node("odd", "10.9.0.0/24", "192.168.1.9")],
    )
    other = Route("10.245.1.0/24", "192.168.2.1")  # another cluster's agent made it
    kernel.routes = {other}
    assert asyncio.run(a.sync())
    assert kernel.routes == {other, Route("10.244.1.0/24", "192.168.1.1")}
    assert "10.9.0.0/24" in a._skipped  # a Node outside the range gets no route
    said = asyncio.run(agent_mod.cleanup(kernel, DEV, ("10.244.0.0/16",)))  # type: ignore[arg-type]
    assert kernel.routes == {other} and said == "removed 1 route(s)"


def test_no_node_refuses_vxlan() -> None:
    with pytest.raises(ValueError, match="host-gw only"):
        make(AgentConfig("", backend="vxlan", no_node=True), [])
