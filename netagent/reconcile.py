"""From the Nodes to the kernel state this host should have, and from what the kernel
has to the changes that get there (pure: no I/O, unit-tested with plain objects).

The agent owns only what it made: routes carrying its routing protocol number and the
neighbour and FDB entries on its own VXLAN device. `plan(current, wanted)` therefore
compares only those, so anybody else's routes are never seen, let alone removed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from netagent.nodeinfo import HOST_GW, VXLAN, NodeInfo

DEFAULT_DEVICE = "minik.1"  # flannel's flannel.1
DEFAULT_VNI = 1
DEFAULT_PORT = 8472  # the Linux kernel's historical VXLAN port, flannel's default


@dataclass(frozen=True, order=True)
class Route:
    """`dst via gateway [dev dev onlink]`; host-gw routes leave the device to the
    kernel (the one on the gateway's subnet)."""

    dst: str
    via: str
    dev: str = ""
    onlink: bool = False


@dataclass(frozen=True, order=True)
class Neigh:
    """A permanent neighbour (ARP) entry: the peer's VTEP address is at its VTEP MAC."""

    ip: str
    mac: str
    dev: str


@dataclass(frozen=True, order=True)
class Fdb:
    """A VXLAN forwarding entry: frames for `mac` go in UDP to `dst` (the peer's
    public IP)."""

    mac: str
    dst: str
    dev: str


@dataclass(frozen=True)
class State:
    routes: frozenset[Route] = frozenset()
    neighs: frozenset[Neigh] = frozenset()
    fdbs: frozenset[Fdb] = frozenset()


@dataclass
class Plan:
    """The changes in the order they are applied (flannel's: a peer's neighbour and FDB
    entries before its route, its route removed before them)."""

    del_routes: list[Route] = field(default_factory=list)
    del_neighs: list[Neigh] = field(default_factory=list)
    del_fdbs: list[Fdb] = field(default_factory=list)
    set_neighs: list[Neigh] = field(default_factory=list)
    set_fdbs: list[Fdb] = field(default_factory=list)
    add_routes: list[Route] = field(default_factory=list)  # a destination new to us
    set_routes: list[Route] = field(default_factory=list)  # ours, changed in place

    def __bool__(self) -> bool:
        return any(
            (
                self.del_routes,
                self.del_neighs,
                self.del_fdbs,
                self.set_neighs,
                self.set_fdbs,
                self.add_routes,
                self.set_routes,
            )
        )

    def without(self, other: Plan) -> Plan:
        """The changes of this plan that `other` (what is still left to do) lacks:
        those that took."""
        return Plan(
            **{
                name: [x for x in getattr(self, name) if x not in getattr(other, name)]
                for name in self.__dataclass_fields__
            }
        )

    def summary(self, done: bool = True) -> str:
        """What the plan does, as it happened (`done`) or as it is still to do."""
        parts = [
            f"{verbs[0] if done else verbs[1]} {what} {', '.join(map(describe, items))}"
            for verbs, what, items in (
                (("removed", "remove"), "route", self.del_routes),
                (("removed", "remove"), "neighbour", self.del_neighs),
                (("removed", "remove"), "fdb", self.del_fdbs),
                (("set", "set"), "neighbour", self.set_neighs),
                (("set", "set"), "fdb", self.set_fdbs),
                (("added", "add"), "route", self.add_routes),
                (("replaced", "replace"), "route", self.set_routes),
            )
            if items
        ]
        return "; ".join(parts) or "nothing to do"


def describe(item: Route | Neigh | Fdb) -> str:
    if isinstance(item, Route):
        return f"{item.dst} via {item.via}" + (f" dev {item.dev}" if item.dev else "")
    if isinstance(item, Neigh):
        return f"{item.ip} lladdr {item.mac}"
    return f"{item.mac} dst {item.dst}"


@dataclass(frozen=True)
class Config:
    node_name: str
    backend: str = HOST_GW
    device: str = DEFAULT_DEVICE
    vni: int = DEFAULT_VNI


def vtep_address(pod_cidr: str) -> str:
    """The VXLAN device's address on a host: its pod network's own (network) address,
    as flannel gives `flannel.1` (the pod bridge takes the first host address)."""
    return str(ipaddress.IPv4Network(pod_cidr).network_address)


@dataclass
class Wanted:
    state: State
    skipped: dict[str, str]  # peer name -> why it gets no entries


def wanted(nodes: Iterable[NodeInfo], config: Config) -> Wanted:
    """The kernel state for every peer (every Node but ours): a route per pod network,
    and for vxlan a neighbour and FDB entry per peer. A pod network two Nodes claim
    goes to the first by name (the other is skipped, so the route does not flap)."""
    routes: dict[str, Route] = {}
    neighs: set[Neigh] = set()
    fdbs: set[Fdb] = set()
    skipped: dict[str, str] = {}
    own = next((n for n in nodes if n.name == config.node_name), None)
    own_cidrs = set(own.pod_cidrs) if own else set()
    for peer in sorted((n for n in nodes if n.name != config.node_name), key=lambda n: n.name):
        why = _unusable(peer, config)
        clash = [c for c in peer.pod_cidrs if c in routes or c in own_cidrs]
        if not why and clash:
            why = f"pod network {', '.join(clash)} is claimed by another node"
        if why:
            skipped[peer.name] = why
            continue
        if config.backend == HOST_GW:
            for cidr in peer.pod_cidrs:
                routes[cidr] = Route(cidr, peer.internal_ip)
            continue
        vtep = vtep_address(peer.pod_cidrs[0])
        for cidr in peer.pod_cidrs:
            routes[cidr] = Route(cidr, vtep, config.device, onlink=True)
        neighs.add(Neigh(vtep, peer.vtep_mac, config.device))
        fdbs.add(Fdb(peer.vtep_mac, peer.public_ip, config.device))
    return Wanted(State(frozenset(routes.values()), frozenset(neighs), frozenset(fdbs)), skipped)


def within(dst: str, scope: Iterable[str]) -> bool:
    """`dst` (a network) lies inside one of the networks of `scope`."""
    net = ipaddress.IPv4Network(dst)
    return any(net.subnet_of(ipaddress.IPv4Network(s)) for s in scope)


def _unusable(peer: NodeInfo, config: Config) -> str:
    if not peer.pod_cidrs:
        return "no spec.podCIDR yet"
    if config.backend == HOST_GW:
        return "" if peer.internal_ip else "no InternalIP in status.addresses"
    if config.backend != VXLAN:
        raise ValueError(f"unknown backend {config.backend!r}")
    if peer.backend != VXLAN:
        return f"its agent publishes backend {peer.backend or 'none (yet)'!r}, not vxlan"
    if peer.vni != config.vni:
        return f"its VNI is {peer.vni}, ours {config.vni}"
    if not peer.vtep_mac or not peer.public_ip:
        return "no VTEP MAC or public IP published yet"
    return ""


def plan(current: State, want: State) -> Plan:
    """The changes that turn `current` (what we own in the kernel) into `want`: routes
    keyed by destination, neighbours by address, FDB entries by MAC; a changed entry is
    replaced in place, one no longer wanted removed. A route to a destination we hold
    no route to is *added*, never replaced: a route somebody else made to it stays
    (the add fails, and says so)."""
    out = Plan()
    want_routes = {r.dst: r for r in want.routes}
    ours = {r.dst for r in current.routes}
    out.del_routes = sorted(r for r in current.routes if r.dst not in want_routes)
    changed = sorted(set(want.routes) - set(current.routes))
    out.add_routes = [r for r in changed if r.dst not in ours]
    out.set_routes = [r for r in changed if r.dst in ours]
    want_neighs = {(n.dev, n.ip) for n in want.neighs}
    out.del_neighs = sorted(n for n in current.neighs if (n.dev, n.ip) not in want_neighs)
    out.set_neighs = sorted(set(want.neighs) - set(current.neighs))
    want_fdbs = {(f.dev, f.mac): f for f in want.fdbs}
    out.del_fdbs = sorted(f for f in current.fdbs if want_fdbs.get((f.dev, f.mac)) != f)
    out.set_fdbs = sorted(set(want.fdbs) - set(current.fdbs))
    return out
