"""The plan of `minik up --hosts N` (pure): which names, addresses and subnets each
isolated host gets, and whether the machine already routes any of them.

A cluster's hosts share one link-layer segment: a bridge inside a namespace of its own
(the "switch"), not in the machine's namespace. Frames bridged in the machine's
namespace pass its iptables FORWARD chain (br_netfilter, `bridge-nf-call-iptables=1`),
whose policy Docker sets to DROP: host-to-host traffic would be dropped. In the
switch's own namespace the chain is empty. The machine joins the segment through one
veth pair, its end carrying the gateway address the hosts route through and the
apiserver listens on.

Names are unique per cluster: the host namespaces are the node names (the node
prefix is per cluster), the switch `<prefix>switch`, and the machine's veth
`minik<8 hex of the data dir>` (interface names are at most 15 bytes)."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEFAULT_HOSTS_CIDR = "172.30.0.0/24"
DEFAULT_HOSTS_POD_CIDR = "10.244.0.0/16"
POD_SUBNET_PREFIX = 24  # as Kubernetes' --node-cidr-mask-size
NETNS_DIR = Path("/var/run/netns")
# Runtime state of the hosts' engines (exec roots, sockets, pid files), as Docker's own
# /run/docker: a unix socket path is at most 107 bytes, too few below a long data dir.
RUN_DIR = Path("/run/minik-hosts")
IFNAMSIZ = 15
HOST_LINK = "eth0"  # the host's side of its veth, inside its namespace
SWITCH_BRIDGE = "br0"  # the bridge, inside the switch namespace
SWITCH_UPLINK = "gw"  # the switch's end of the machine's veth


class PlanError(Exception):
    pass


@dataclass(frozen=True)
class Host:
    """One isolated host: its namespace, address, pod subnet and engine's files."""

    index: int
    node: str  # the Node's name, also the namespace's
    netns: str
    address: str
    pod_cidr: str
    port: str  # the host's veth end in the switch namespace
    dir: str  # DATA_DIR/hosts/<node>: its engine's data root
    run_dir: str  # RUN_DIR/<cluster's link id>/h<index>: exec root, socket, pid file, proxy lock

    @property
    def netns_path(self) -> str:
        return str(NETNS_DIR / self.netns)

    @property
    def docker_socket(self) -> str:
        return f"{self.run_dir}/docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.docker_socket}"

    @property
    def docker_pidfile(self) -> str:
        return f"{self.run_dir}/docker.pid"

    @property
    def data_root(self) -> str:
        return f"{self.dir}/docker"

    @property
    def exec_root(self) -> str:
        return f"{self.run_dir}/exec"

    @property
    def proxy_lock(self) -> str:
        return f"{self.run_dir}/proxy.lock"

    def enter(self, argv: list[str]) -> list[str]:
        """`argv` run inside this host's network namespace. nsenter, not `ip netns
        exec`: that one remounts /sys, hiding the cgroup mounts dockerd needs."""
        return ["nsenter", f"--net={self.netns_path}", "--", *argv]


@dataclass(frozen=True)
class Plan:
    hosts_cidr: str
    pod_cidr: str
    gateway: str  # the machine's address on the hosts' segment
    gateway_link: str  # the machine's veth end
    switch: str  # the switch namespace
    hosts: tuple[Host, ...]

    @property
    def prefix_len(self) -> int:
        return ipaddress.ip_network(self.hosts_cidr).prefixlen

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        hosts = tuple(Host(**h) for h in data["hosts"])
        return cls(**{**data, "hosts": hosts})


def pod_subnet(pod_cidr: str, index: int) -> str:
    """Host `index`'s pod subnet: the index-th /24 of the cluster's pod range. The one
    place it is decided until the controller's node IPAM hands out spec.podCIDR."""
    network = ipaddress.ip_network(pod_cidr, strict=False)
    if network.prefixlen > POD_SUBNET_PREFIX:
        raise PlanError(f"pod range {pod_cidr} is smaller than a /{POD_SUBNET_PREFIX}")
    subnets = network.subnets(new_prefix=POD_SUBNET_PREFIX)
    for i, subnet in enumerate(subnets):
        if i == index:
            return str(subnet)
    raise PlanError(f"pod range {pod_cidr} has no subnet for host {index}")


def link_id(data_dir: Path) -> str:
    return hashlib.sha1(str(data_dir).encode()).hexdigest()[:8]


def make_plan(
    data_dir: Path,
    node_names: list[str],
    hosts_cidr: str,
    pod_cidr: str,
    prefix: str,
    node_ipam: bool = False,
) -> Plan:
    """Gateway the first address of `hosts_cidr`, host i the (i+1)-th; host i's pods
    the i-th /24 of `pod_cidr` (10.244.1.0/24 for the first, as Kubernetes' IPAM
    leaves none unused but minik keeps .0 for the machine). With `node_ipam` the
    controller's node IPAM gives each Node its subnet from `pod_cidr` (the cluster
    CIDR) once it registers: no host has one in the plan."""
    try:
        net = ipaddress.ip_network(hosts_cidr, strict=False)
        pods = ipaddress.ip_network(pod_cidr, strict=False)
    except ValueError as err:
        raise PlanError(str(err)) from None
    if net.version != 4 or pods.version != 4:
        raise PlanError("--hosts-cidr and the pod range must be IPv4")
    if net.overlaps(pods):
        raise PlanError(f"hosts subnet {net} overlaps the pod range {pods}")
    addresses = list(net.hosts())
    if len(addresses) < len(node_names) + 1:
        raise PlanError(f"{net} has no room for {len(node_names)} hosts and a gateway")
    switch = f"{prefix}switch"
    for name in (*node_names, switch):
        if len(name) > 64 or "/" in name:
            raise PlanError(f"namespace name {name!r} is not usable")
    hosts = tuple(
        Host(
            index=i,
            node=name,
            netns=name,
            address=str(addresses[i]),
            pod_cidr="" if node_ipam else pod_subnet(str(pods), i),
            port=f"h{i}",
            dir=str(data_dir / "hosts" / name),
            run_dir=str(RUN_DIR / link_id(data_dir) / f"h{i}"),
        )
        for i, name in enumerate(node_names, start=1)
    )
    return Plan(
        hosts_cidr=str(net),
        pod_cidr=str(pods),
        gateway=str(addresses[0]),
        gateway_link=f"minik{link_id(data_dir)}",
        switch=switch,
        hosts=hosts,
    )


def collisions(plan: Plan, routes: list[dict[str, Any]]) -> list[str]:
    """Routes of the machine (`ip -j route` entries) that overlap the hosts' subnet
    or a host's pod subnet, described; the default route does not count."""
    pods = [h.pod_cidr for h in plan.hosts if h.pod_cidr] or [plan.pod_cidr]  # node IPAM: all
    ours = [ipaddress.ip_network(plan.hosts_cidr)] + [ipaddress.ip_network(c) for c in pods]
    found = []
    for route in routes:
        dst = route.get("dst")
        if not dst or dst == "default":
            continue
        try:
            theirs = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        if theirs.version != 4:
            continue
        for subnet in ours:
            if subnet.overlaps(theirs):
                found.append(f"{subnet} overlaps the route to {dst} dev {route.get('dev', '?')}")
    return found


@dataclass(frozen=True)
class Route:
    """A route to `dst` via `via`, in namespace `netns` ("" is the machine's)."""

    netns: str
    dst: str
    via: str


def host_gw_routes(plan: Plan) -> list[Route]:
    """flannel's host-gw, programmed once at `up`: each host routes every other host's
    pod subnet via that host's address; the machine routes every pod subnet via its
    host. (The network agents program the same from the Node objects.) None with node
    IPAM: the subnets are the Nodes' (deploy/hostpodnet.py's machine agent routes them)."""
    routes = [Route("", h.pod_cidr, h.address) for h in plan.hosts if h.pod_cidr]
    for host in plan.hosts:
        routes += [
            Route(host.netns, peer.pod_cidr, peer.address)
            for peer in plan.hosts
            if peer.node != host.node and peer.pod_cidr
        ]
    return routes
