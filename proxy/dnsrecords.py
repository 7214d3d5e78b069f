"""The cluster's DNS records, built from Services and Endpoints. Pure logic.

Follows Kubernetes' DNS-based service discovery spec:
- `<svc>.<ns>.svc.<domain>` A → the ClusterIP; for a headless Service, the ready
  endpoint IPs (and `<hostname>.<svc>.<ns>.svc.<domain>` A for each of them);
- `_<port>._<proto>.<svc>.<ns>.svc.<domain>` SRV for each named port → the service
  name (ClusterIP) or each ready endpoint's own name (headless);
- ExternalName Services are a CNAME; ClusterIPs get a PTR.
Names that exist only as parents (`<ns>.svc.<domain>`) answer NOERROR with no data;
anything else in the domain is NXDOMAIN.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from proxy.servicemap import is_cluster_ip

Obj = dict[str, Any]
DEFAULT_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class Srv:
    port: int
    target: str


@dataclass
class Zone:
    domain: str = DEFAULT_DOMAIN
    a: dict[str, list[str]] = field(default_factory=dict)
    srv: dict[str, list[Srv]] = field(default_factory=dict)
    cname: dict[str, str] = field(default_factory=dict)
    ptr: dict[str, str] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)  # every name that exists, parents too

    def in_domain(self, name: str) -> bool:
        return name == self.domain or name.endswith("." + self.domain)

    def exists(self, name: str) -> bool:
        return name in self.names

    def _add_name(self, name: str) -> None:
        while name not in self.names and self.in_domain(name):
            self.names.add(name)
            if name == self.domain:
                return
            name = name.split(".", 1)[1]

    def add_a(self, name: str, ip: str) -> None:
        ips = self.a.setdefault(name, [])
        if ip not in ips:
            ips.append(ip)
        self._add_name(name)

    def add_srv(self, name: str, srv: Srv) -> None:
        records = self.srv.setdefault(name, [])
        if srv not in records:
            records.append(srv)
        self._add_name(name)


def normalize(name: str) -> str:
    return name.rstrip(".").lower()


def reverse_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


def endpoint_hostname(address: Obj) -> str:
    """An endpoint's DNS label: its `hostname`, else its IP with dashes (as CoreDNS)."""
    return address.get("hostname") or address["ip"].replace(".", "-")


def build_zone(
    services: Iterable[Obj], endpoints: Iterable[Obj], domain: str = DEFAULT_DOMAIN
) -> Zone:
    zone = Zone(domain=normalize(domain))
    zone._add_name(zone.domain)
    by_key = {_key(e): e for e in endpoints}
    for service in services:
        meta, spec = service.get("metadata") or {}, service.get("spec") or {}
        if not meta.get("name"):
            continue
        name = f"{meta['name']}.{meta.get('namespace') or 'default'}.svc.{zone.domain}".lower()
        if spec.get("type") == "ExternalName":
            if spec.get("externalName"):
                zone.cname[name] = normalize(spec["externalName"])
                zone._add_name(name)
            continue
        cluster_ip = spec.get("clusterIP")
        if is_cluster_ip(cluster_ip):
            _add_cluster_ip_service(zone, name, cluster_ip, spec)
        elif cluster_ip == "None":
            _add_headless_service(zone, name, by_key.get(_key(service)))
    return zone


def _add_cluster_ip_service(zone: Zone, name: str, cluster_ip: str, spec: Obj) -> None:
    zone.add_a(name, cluster_ip)
    zone.ptr[reverse_name(cluster_ip)] = name
    for port in spec.get("ports") or []:
        if port.get("name") and port.get("port"):
            proto = (port.get("protocol") or "TCP").lower()
            zone.add_srv(f"_{port['name']}._{proto}.{name}".lower(), Srv(int(port["port"]), name))


def _add_headless_service(zone: Zone, name: str, endpoints: Obj | None) -> None:
    zone._add_name(name)  # exists even with no ready endpoint (NOERROR, no data)
    for subset in (endpoints or {}).get("subsets") or []:
        addresses = [a for a in subset.get("addresses") or [] if a.get("ip")]
        for address in addresses:
            zone.add_a(name, address["ip"])
            zone.add_a(f"{endpoint_hostname(address)}.{name}".lower(), address["ip"])
        for port in subset.get("ports") or []:
            if not (port.get("name") and port.get("port")):
                continue
            proto = (port.get("protocol") or "TCP").lower()
            srv_name = f"_{port['name']}._{proto}.{name}".lower()
            for address in addresses:
                target = f"{endpoint_hostname(address)}.{name}".lower()
                zone.add_srv(srv_name, Srv(int(port["port"]), target))


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}"
