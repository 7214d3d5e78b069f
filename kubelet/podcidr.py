"""`--pod-cidr-from-node`: the pod network's subnet is the Node's spec.podCIDR, given
by the controller manager's node IPAM (`--allocate-node-cidrs`), as Kubernetes'
kubelet in cluster mode takes it from its Node rather than from `--pod-cidr`
(which Kubernetes keeps for standalone kubelets).

The kubelet registers its Node, reports it NotReady (the network plugin is not
ready, as Kubernetes says while a CNI has no configuration) and waits here until the
Node has a podCIDR; then it creates its Docker bridge network with that subnet and
its first address as the gateway, so every pod IP lies in the Node's podCIDR, which
is what other hosts route to this one.

One network per Docker engine: with its own engine per host (`minik up --hosts`)
each kubelet's network is its own. Several kubelets sharing one engine cannot each
have a bridge of their own subnet under one network name, and bridges of different
names do not reach each other, so a kubelet finding the network already made with
another subnet refuses to start (`NetworkMismatch`, saying what to do) rather than
join a network whose addresses are not its Node's. An empty leftover of ours (no
containers, minik's label) is replaced instead."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from api.resources import NODES
from client.rest import AsyncClient
from client.watch import RELIST, ResumableWatch

log = logging.getLogger(__name__)

# The NotReady message while waiting: Kubernetes' words when the network is not ready.
WAITING_MESSAGE = (
    "container runtime network not ready: NetworkReady=false "
    "reason:NetworkPluginNotReady message:waiting for the Node's spec.podCIDR"
)


def node_pod_cidr(node: dict[str, Any]) -> str | None:
    """The subnet the pod network takes: the Node's first podCIDR (its IPv4 one in a
    dual-stack cluster, where that is listed first), else None."""
    spec = node.get("spec") or {}
    cidrs = [c for c in spec.get("podCIDRs") or [] if isinstance(c, str) and c]
    first = cidrs[0] if cidrs else spec.get("podCIDR")
    return first if isinstance(first, str) and first else None


def gateway(cidr: str) -> str:
    """The bridge's own address: the subnet's first host address (10.244.1.1 for
    10.244.1.0/24), as kubenet's cbr0."""
    net = ipaddress.ip_network(cidr, strict=False)
    return str(net.network_address + 1)


async def wait_for_pod_cidr(api: AsyncClient, node_name: str) -> str:
    """Watch our Node (list, then watch from there; resumed across lost connections)
    until it has a podCIDR."""
    watch = ResumableWatch(api, NODES, None, field_selector=f"metadata.name={node_name}")
    logged = False
    async for kind, obj in watch:
        nodes = (obj.get("items") or []) if kind == RELIST else [obj]
        for node in nodes:
            if kind == "DELETED":
                continue
            cidr = node_pod_cidr(node)
            if cidr:
                return str(ipaddress.ip_network(cidr, strict=False))
        if not logged:
            log.info(
                "node %s has no spec.podCIDR yet; waiting for it (the controller manager "
                "gives one with --allocate-node-cidrs)",
                node_name,
            )
            logged = True
    raise RuntimeError("the Node watch ended")  # pragma: no cover (it never ends)


class NetworkMismatch(Exception):
    """The pod network exists with a subnet other than the Node's podCIDR."""


def network_subnets(network: dict[str, Any]) -> list[str]:
    """A Docker network's IPAM subnets (from `docker network inspect`)."""
    configs = ((network.get("IPAM") or {}).get("Config")) or []
    return [str(c["Subnet"]) for c in configs if isinstance(c, dict) and c.get("Subnet")]


def check_network(network: dict[str, Any], cidr: str, labels: dict[str, str]) -> str:
    """What to do with an existing network of our name: "use" it (its subnet is the
    Node's), "replace" it (an empty network of ours with another subnet), or raise
    NetworkMismatch."""
    want = ipaddress.ip_network(cidr, strict=False)
    subnets = network_subnets(network)
    if any(ipaddress.ip_network(s, strict=False) == want for s in subnets):
        return "use"
    ours = all((network.get("Labels") or {}).get(k) == v for k, v in labels.items())
    if ours and not network.get("Containers"):
        return "replace"
    name = network.get("Name")
    raise NetworkMismatch(
        f"Docker network {name} has subnet {','.join(subnets) or 'unknown'}, not this "
        f"Node's podCIDR {want}, and is in use or not minik's: one engine holds one pod "
        f"network per name; give this kubelet an engine of its own, or another "
        f"--pod-network, or drop --pod-cidr-from-node"
    )
