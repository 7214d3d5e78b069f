"""EndpointSlices (pkg/apis/discovery/validation): address types, endpoint
addresses, ports, topology and the limits on their counts."""

from __future__ import annotations

import ipaddress

from api import labels as lbl
from api.validation.field import (
    IMMUTABLE,
    Cause,
    as_dict,
    as_list,
    as_str,
    cause,
    duplicate,
    invalid,
    invalid_each,
    not_supported,
    one_of,
    required,
)
from api.validation.meta import validate_labels
from api.validation.pods import PROTOCOLS

_ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
MAX_SLICE_ENDPOINTS = 1000
MAX_ENDPOINT_ADDRESSES = 100
MAX_SLICE_PORTS = 20000
MAX_TOPOLOGY_LABELS = 16
MAX_ZONE_HINTS = 8


def too_many(path: str, actual: int, limit: int) -> Cause:
    items = "item" if limit == 1 else "items"
    return cause(
        "FieldValueTooMany", path, f"Too many: {actual}: must have at most {limit} {items}"
    )


def _fqdn(path: str, name: str) -> list[Cause]:
    """IsFullyQualifiedDomainName."""
    name = name.removesuffix(".")
    if not name:
        return [required(path)]
    errs = lbl.dns1123_subdomain_errors(name)
    if errs:
        return [invalid(path, name, ",".join(errs))]
    if len(name.split(".")) < 2:
        return [
            invalid(path, name, "should be a domain with at least two segments separated by dots")
        ]
    for label in name.split("."):
        if errs := lbl.dns1123_label_errors(label):
            return [invalid(path, label, ",".join(errs))]
    return []


def _slice_address(path: str, address: str, address_type: str) -> list[Cause]:
    """Addresses of a known type must be of that type; others are not checked. (Unlike
    Kubernetes, loopback addresses are allowed: a minik node's address may be one.)"""
    if address_type in ("IPv4", "IPv6"):
        version = 4 if address_type == "IPv4" else 6
        try:
            ok = ipaddress.ip_address(address).version == version
        except ValueError:
            ok = False
        return [] if ok else [invalid(path, address, f"must be a valid {address_type} address")]
    return _fqdn(path, address) if address_type == "FQDN" else []


def _slice_endpoint(endpoint: dict, path: str, address_type: str) -> list[Cause]:
    causes: list[Cause] = []
    addresses = [as_str(a) for a in as_list(endpoint.get("addresses"))]
    if not addresses:
        causes.append(required(f"{path}.addresses", "must contain at least 1 address"))
    elif len(addresses) > MAX_ENDPOINT_ADDRESSES:
        causes.append(too_many(f"{path}.addresses", len(addresses), MAX_ENDPOINT_ADDRESSES))
    for i, address in enumerate(addresses):
        causes += _slice_address(f"{path}.addresses[{i}]", address, address_type)
    node = endpoint.get("nodeName")
    if node is not None:
        causes += invalid_each(
            f"{path}.nodeName", as_str(node), lbl.dns1123_subdomain_errors(as_str(node))
        )
    topology = as_dict(endpoint.get("deprecatedTopology"))
    if len(topology) > MAX_TOPOLOGY_LABELS:
        causes.append(too_many(f"{path}.deprecatedTopology", len(topology), MAX_TOPOLOGY_LABELS))
    causes += validate_labels(topology, f"{path}.deprecatedTopology")
    hostname = endpoint.get("hostname")
    if hostname is not None:
        causes += invalid_each(
            f"{path}.hostname", as_str(hostname), lbl.dns1123_label_errors(as_str(hostname))
        )
    zones = as_list(as_dict(endpoint.get("hints")).get("forZones"))
    if len(zones) > MAX_ZONE_HINTS:
        return [*causes, too_many(f"{path}.hints.forZones", len(zones), MAX_ZONE_HINTS)]
    seen: set[str] = set()
    for i, zone in enumerate(zones):
        zp, name = f"{path}.hints.forZones[{i}].name", as_str(as_dict(zone).get("name"))
        if name in seen:
            causes.append(duplicate(zp, name))
        seen.add(name)
        causes += invalid_each(zp, name, lbl.label_value_errors(name))
    return causes


def _slice_ports(ports: list, path: str) -> list[Cause]:
    if len(ports) > MAX_SLICE_PORTS:
        return [too_many(path, len(ports), MAX_SLICE_PORTS)]
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        p, port = f"{path}[{i}]", as_dict(port)
        name = as_str(port.get("name"))
        if name:
            causes += invalid_each(f"{p}.name", name, lbl.dns1123_label_errors(name))
        if name in names:
            causes.append(duplicate(f"{p}.name", name))
        names.add(name)
        protocol = port.get("protocol")
        if protocol is None:
            causes.append(required(f"{p}.protocol"))
        elif protocol not in PROTOCOLS:
            causes.append(not_supported(f"{p}.protocol", protocol, PROTOCOLS))
        app_protocol = port.get("appProtocol")
        if app_protocol is not None:
            causes += invalid_each(
                f"{p}.appProtocol", as_str(app_protocol), lbl.label_key_errors(as_str(app_protocol))
            )
    return causes


def validate_endpointslice(obj: dict) -> list[Cause]:
    address_type = obj.get("addressType")
    causes = one_of("addressType", address_type, _ADDRESS_TYPES)
    endpoints = as_list(obj.get("endpoints"))
    if len(endpoints) > MAX_SLICE_ENDPOINTS:
        causes.append(too_many("endpoints", len(endpoints), MAX_SLICE_ENDPOINTS))
    else:
        for i, endpoint in enumerate(endpoints):
            causes += _slice_endpoint(as_dict(endpoint), f"endpoints[{i}]", as_str(address_type))
    return causes + _slice_ports(as_list(obj.get("ports")), "ports")


def validate_endpointslice_update(new: dict, old: dict) -> list[Cause]:
    if new.get("addressType") != old.get("addressType"):
        return [invalid("addressType", as_str(new.get("addressType")), IMMUTABLE)]
    return []
