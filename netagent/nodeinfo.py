"""What the agent reads from a Node (pure): its pod networks, its InternalIP, and the
annotations a peer's agent published (flannel's, under a prefix of minik's own).

A Node carries, as flannel's kube subnet manager writes them:
- `netagent.minik.io/backend-type`: `host-gw` or `vxlan`;
- `netagent.minik.io/backend-data`: for vxlan `{"VNI": 1, "VtepMAC": "aa:bb:..."}`;
- `netagent.minik.io/public-ip`: the address other hosts reach this one at (VXLAN's
  outer destination).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

PREFIX = "netagent.minik.io/"
BACKEND_TYPE = PREFIX + "backend-type"
BACKEND_DATA = PREFIX + "backend-data"
PUBLIC_IP = PREFIX + "public-ip"
HOST_GW, VXLAN = "host-gw", "vxlan"
BACKENDS = (HOST_GW, VXLAN)

Obj = dict[str, Any]


@dataclass(frozen=True)
class NodeInfo:
    """One Node as the agent sees it. Empty fields: not (yet) known."""

    name: str
    pod_cidrs: tuple[str, ...] = ()  # IPv4 only, normalised
    internal_ip: str = ""
    backend: str = ""
    vni: int | None = None
    vtep_mac: str = ""
    public_ip: str = ""


def _ipv4(text: Any) -> str:
    try:
        return str(ipaddress.IPv4Address(str(text)))
    except ValueError:
        return ""


def _ipv4_network(text: Any) -> str:
    try:
        return str(ipaddress.IPv4Network(str(text), strict=True))
    except ValueError:
        return ""


def pod_cidrs(node: Obj) -> tuple[str, ...]:
    """`spec.podCIDRs` (else `spec.podCIDR`), IPv4 networks only: the kube subnet
    manager's reading. An entry that is not a network is skipped."""
    spec = node.get("spec") or {}
    raw = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    found = [_ipv4_network(c) for c in raw if isinstance(c, str)]
    return tuple(dict.fromkeys(c for c in found if c))


def internal_ip(node: Obj) -> str:
    """The first IPv4 InternalIP in `status.addresses`, or ""."""
    for address in (node.get("status") or {}).get("addresses") or []:
        if isinstance(address, dict) and address.get("type") == "InternalIP":
            ip = _ipv4(address.get("address"))
            if ip:
                return ip
    return ""


def _mac(text: Any) -> str:
    parts = str(text).lower().split(":")
    if len(parts) != 6 or not all(
        len(p) == 2 and all(c in "0123456789abcdef" for c in p) for p in parts
    ):
        return ""
    return ":".join(parts)


def node_info(node: Obj) -> NodeInfo:
    meta = node.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    vni: int | None = None
    vtep_mac = ""
    try:
        data = json.loads(annotations.get(BACKEND_DATA) or "null")
    except ValueError:
        data = None
    if isinstance(data, dict):
        if isinstance(data.get("VNI"), int):
            vni = data["VNI"]
        vtep_mac = _mac(data.get("VtepMAC", ""))
    return NodeInfo(
        name=str(meta.get("name") or ""),
        pod_cidrs=pod_cidrs(node),
        internal_ip=internal_ip(node),
        backend=str(annotations.get(BACKEND_TYPE) or ""),
        vni=vni,
        vtep_mac=vtep_mac,
        public_ip=_ipv4(annotations.get(PUBLIC_IP, "")),
    )


def own_annotations(backend: str, public_ip: str, vni: int = 0, vtep_mac: str = "") -> dict:
    """The annotations this host's agent publishes on its own Node."""
    out = {BACKEND_TYPE: backend, PUBLIC_IP: public_ip}
    if backend == VXLAN:
        out[BACKEND_DATA] = json.dumps({"VNI": vni, "VtepMAC": vtep_mac}, separators=(",", ":"))
    return out
