"""ClusterIP and NodePort allocation. Each allocated IP or port is an etcd key
(`/registry/ranges/...`) written in the same transaction as the Service, so an
allocation is unique (the transaction requires the key to be absent) and durable
(it lives exactly as long as the Service does, across apiserver restarts)."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field

from apiserver.storage import Storage

IP_PREFIX = "/registry/ranges/serviceips/"
PORT_PREFIX = "/registry/ranges/servicenodeports/"
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


class AllocationError(Exception):
    """A requested IP or port is outside the range or taken; carries the field."""

    def __init__(self, field_path: str, value: object, message: str) -> None:
        super().__init__(message)
        self.field = field_path
        self.value = value
        self.message = message


@dataclass
class Allocation:
    """Keys to create (new allocations) and delete (released) with the write."""

    creates: dict[str, bytes] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)


def ip_key(ip: str) -> str:
    return IP_PREFIX + ip


def port_key(port: int) -> str:
    return f"{PORT_PREFIX}{port}"


class Allocator:
    def __init__(self, storage: Storage, cidr: str, port_range: tuple[int, int]) -> None:
        self._storage = storage
        self.network = ipaddress.ip_network(cidr)
        self.port_range = port_range
        hosts = self.network.num_addresses - 2
        # The first address is the `kubernetes` service; .10 is kept for cluster DNS.
        self.reserved = {
            str(self.network.network_address + 1),
            str(self.network.network_address + 10),
        }
        self._max_host = max(hosts, 1)

    @property
    def kubernetes_ip(self) -> str:
        return str(self.network.network_address + 1)

    @property
    def dns_ip(self) -> str:
        return str(self.network.network_address + 10)

    async def for_create(self, svc: dict, owner_key: str) -> Allocation:
        alloc = Allocation()
        spec = svc.setdefault("spec", {})
        await self._allocate_ip(spec, owner_key, alloc)
        if spec.get("type") in NODE_PORT_TYPES:
            await self._allocate_ports(spec, {}, owner_key, alloc)
        return alloc

    async def for_update(self, new: dict, old: dict, owner_key: str) -> Allocation:
        alloc = Allocation()
        spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
            if old_spec.get("clusterIPs"):
                spec["clusterIPs"] = old_spec["clusterIPs"]
        old_ports = _node_ports(old_spec)
        if spec.get("type") in NODE_PORT_TYPES:
            keep = {
                (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                for p in old_spec.get("ports") or []
                if p.get("nodePort")
            }
            await self._allocate_ports(spec, keep, owner_key, alloc, held=old_ports)
        else:
            for p in spec.get("ports") or []:
                p.pop("nodePort", None)
        new_ports = _node_ports(spec)
        alloc.deletes += [port_key(p) for p in old_ports - new_ports]
        return alloc

    @staticmethod
    def for_delete(svc: dict) -> Allocation:
        spec = svc.get("spec") or {}
        alloc = Allocation()
        ip = spec.get("clusterIP")
        if ip and ip != "None":
            alloc.deletes.append(ip_key(ip))
        alloc.deletes += [port_key(p) for p in _node_ports(spec)]
        return alloc

    async def _allocate_ip(self, spec: dict, owner_key: str, alloc: Allocation) -> None:
        requested = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
        if spec.get("type") == "ExternalName" and not requested:
            return
        if requested == "None":
            spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
            return
        if requested:
            try:
                ip = ipaddress.ip_address(requested)
            except ValueError as err:
                raise AllocationError(
                    "spec.clusterIPs", [requested], "must be a valid IP address"
                ) from err
            if ip not in self.network or ip in (
                self.network.network_address,
                self.network.broadcast_address,
            ):
                raise AllocationError(
                    "spec.clusterIPs",
                    [requested],
                    f"failed to allocate IP {requested}: the provided IP ({requested}) is not "
                    f"in the valid range. The range of valid IPs is {self.network}",
                )
            if await self._storage.exists(ip_key(str(ip))):
                raise AllocationError(
                    "spec.clusterIPs",
                    [requested],
                    f"failed to allocate IP {requested}: provided IP is already allocated",
                )
            chosen = str(ip)
        else:
            used = {k.removeprefix(IP_PREFIX) for k in await self._storage.list_keys(IP_PREFIX)}
            chosen = self._pick_ip(used | self.reserved)
        spec["clusterIP"], spec["clusterIPs"] = chosen, [chosen]
        alloc.creates[ip_key(chosen)] = owner_key.encode()

    def _pick_ip(self, used: set[str]) -> str:
        base = int(self.network.network_address)
        start = random.randint(1, self._max_host)
        for offset in range(self._max_host):
            candidate = str(ipaddress.ip_address(base + 1 + (start + offset) % self._max_host))
            if candidate not in used:
                return candidate
        raise AllocationError("spec.clusterIPs", [], "range is full: no ClusterIP left to allocate")

    async def _allocate_ports(
        self,
        spec: dict,
        keep: dict,
        owner_key: str,
        alloc: Allocation,
        held: set[int] | None = None,
    ) -> None:
        held = held or set()
        lo, hi = self.port_range
        used = {
            int(k.removeprefix(PORT_PREFIX)) for k in await self._storage.list_keys(PORT_PREFIX)
        }
        chosen_now: set[int] = set()
        for i, port in enumerate(spec.get("ports") or []):
            requested = port.get("nodePort") or keep.get(
                (port.get("port"), port.get("protocol", "TCP"))
            )
            if requested:
                requested = int(requested)
                if not lo <= requested <= hi:
                    raise AllocationError(
                        f"spec.ports[{i}].nodePort",
                        requested,
                        "provided port is not in the valid range. "
                        f"The range of valid ports is {lo}-{hi}",
                    )
                if requested in chosen_now:
                    continue  # same nodePort for TCP and UDP of one port is allowed
                if requested in used and requested not in held:
                    raise AllocationError(
                        f"spec.ports[{i}].nodePort", requested, "provided port is already allocated"
                    )
                port["nodePort"] = requested
            else:
                free = [p for p in range(lo, hi + 1) if p not in used and p not in chosen_now]
                if not free:
                    raise AllocationError(
                        f"spec.ports[{i}].nodePort",
                        None,
                        "range is full: no NodePort left to allocate",
                    )
                port["nodePort"] = random.choice(free)
            chosen_now.add(port["nodePort"])
            if port["nodePort"] not in held:
                alloc.creates[port_key(port["nodePort"])] = owner_key.encode()


def _node_ports(spec: dict) -> set[int]:
    return {int(p["nodePort"]) for p in spec.get("ports") or [] if p.get("nodePort")}
