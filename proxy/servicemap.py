"""Services + Endpoints → what this host must serve. Pure logic, no I/O.

The proxier rebuilds a `ServiceMap` from its informer caches on every change and
applies the difference: which ClusterIPs to hold on `lo`, which sockets to listen
on, and which backends each service port balances over. Keeping the decision here,
apart from sockets, makes it testable with plain dicts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

Obj = dict[str, Any]

WILDCARD = "0.0.0.0"
LOOPBACK = "127.0.0.1"
DEFAULT_AFFINITY_SECONDS = 10800
PROTOCOLS = ("TCP", "UDP")


@dataclass(frozen=True, order=True)
class ServicePortName:
    """One port of one Service: what a balancer and its listeners belong to."""

    namespace: str
    name: str
    port: str  # the port's name; "" for a single unnamed port
    protocol: str

    @property
    def service_key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"{self.namespace}/{self.name}{port}/{self.protocol}"


@dataclass(frozen=True, order=True)
class Backend:
    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True, order=True)
class Listener:
    """A socket the proxy listens on."""

    protocol: str
    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}/{self.protocol}"


@dataclass(frozen=True)
class ServicePort:
    name: ServicePortName
    cluster_ip: str | None  # None: headless or ExternalName, nothing to forward there
    port: int
    node_port: int | None
    load_balancer: bool
    affinity_seconds: int | None  # None: no session affinity
    backends: tuple[Backend, ...]


@dataclass
class ServiceMap:
    """Everything the data plane needs, keyed for diffing against what runs."""

    ports: dict[ServicePortName, ServicePort] = field(default_factory=dict)
    listeners: dict[Listener, ServicePortName] = field(default_factory=dict)
    # Listeners two services both want: the later service loses (k3s does the same
    # with two LoadBalancers on one port). listener -> (loser, winner).
    conflicts: dict[Listener, tuple[ServicePortName, ServicePortName]] = field(default_factory=dict)
    cluster_ips: set[str] = field(default_factory=set)

    def listeners_of(self, service_key: str) -> list[Listener]:
        return [lst for lst, spn in self.listeners.items() if spn.service_key == service_key]


def node_listen_addresses(bind_address: str) -> list[str]:
    """Where NodePorts and LoadBalancer ports listen: the bind address, plus loopback
    (a wildcard already covers loopback)."""
    if bind_address == WILDCARD or ipaddress.ip_address(bind_address).is_loopback:
        return [bind_address]
    return [bind_address, LOOPBACK]


def is_cluster_ip(value: object) -> TypeGuard[str]:
    if not isinstance(value, str) or value in ("", "None"):
        return False
    try:
        return ipaddress.ip_address(value).version == 4
    except ValueError:
        return False


def affinity_seconds(spec: Obj) -> int | None:
    if spec.get("sessionAffinity") != "ClientIP":
        return None
    config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
    timeout = config.get("timeoutSeconds")
    return int(timeout) if isinstance(timeout, int) and timeout > 0 else DEFAULT_AFFINITY_SECONDS


def ready_backends(endpoints: Obj | None, port_name: str, protocol: str) -> tuple[Backend, ...]:
    """Ready addresses × the endpoint port with the service port's name and protocol."""
    found: list[Backend] = []
    for subset in (endpoints or {}).get("subsets") or []:
        for port in subset.get("ports") or []:
            if (port.get("name") or "") != port_name:
                continue
            if (port.get("protocol") or "TCP") != protocol or not port.get("port"):
                continue
            for address in subset.get("addresses") or []:
                if address.get("ip"):
                    found.append(Backend(address["ip"], int(port["port"])))
    return tuple(dict.fromkeys(found))  # keep order, drop duplicates


def service_ports(service: Obj, endpoints: Obj | None) -> list[ServicePort]:
    meta, spec = service.get("metadata") or {}, service.get("spec") or {}
    svc_type = spec.get("type") or "ClusterIP"
    if svc_type == "ExternalName":
        return []
    cluster_ip = spec.get("clusterIP")
    ip = cluster_ip if is_cluster_ip(cluster_ip) else None
    affinity = affinity_seconds(spec)
    result = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        if protocol not in PROTOCOLS or not port.get("port"):
            continue
        name = ServicePortName(
            meta.get("namespace") or "default",
            meta.get("name") or "",
            port.get("name") or "",
            protocol,
        )
        node_port = port.get("nodePort") if svc_type in ("NodePort", "LoadBalancer") else None
        result.append(
            ServicePort(
                name=name,
                cluster_ip=ip,
                port=int(port["port"]),
                node_port=int(node_port) if node_port else None,
                load_balancer=svc_type == "LoadBalancer",
                affinity_seconds=affinity,
                backends=ready_backends(endpoints, name.port, protocol),
            )
        )
    return result


def _age_order(service: Obj) -> tuple[str, str, str]:
    meta = service.get("metadata") or {}
    return (
        meta.get("creationTimestamp") or "",
        meta.get("namespace") or "",
        meta.get("name") or "",
    )


def build_service_map(
    services: Iterable[Obj],
    endpoints: Iterable[Obj],
    bind_address: str = WILDCARD,
    reserved_ips: Iterable[str] = (),
) -> ServiceMap:
    """The whole desired state. Services whose ClusterIP is in `reserved_ips` (the
    cluster DNS address, answered by the proxy itself) get no forwarding."""
    by_key = {_key(e): e for e in endpoints}
    reserved = set(reserved_ips)
    node_addresses = node_listen_addresses(bind_address)
    result = ServiceMap()
    for service in sorted(services, key=_age_order):
        for sp in service_ports(service, by_key.get(_key(service))):
            if sp.cluster_ip in reserved:
                continue
            result.ports[sp.name] = sp
            for listener in _listeners_of(sp, node_addresses):
                holder = result.listeners.get(listener)
                if holder is None:
                    result.listeners[listener] = sp.name
                elif holder.service_key != sp.name.service_key:
                    result.conflicts[listener] = (sp.name, holder)
            if sp.cluster_ip:
                result.cluster_ips.add(sp.cluster_ip)
    return result


def _listeners_of(sp: ServicePort, node_addresses: list[str]) -> list[Listener]:
    wanted = []
    if sp.cluster_ip:
        wanted.append(Listener(sp.name.protocol, sp.cluster_ip, sp.port))
    if sp.node_port:
        wanted += [Listener(sp.name.protocol, a, sp.node_port) for a in node_addresses]
    if sp.load_balancer:
        wanted += [Listener(sp.name.protocol, a, sp.port) for a in node_addresses]
    return wanted


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}"
