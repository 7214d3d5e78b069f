"""What a Service's Endpoints should hold, as pure functions (Kubernetes' endpoints
controller and its RepackSubsets): each selected pod with an IP becomes an address,
ready or not, for every service port it resolves (a named `targetPort` is looked up
in the pod's container ports); then addresses are grouped into subsets by the exact
set of ports they serve, so pods that name a port differently land in subsets of
their own."""

from __future__ import annotations

import json
from typing import Any

from controller.util.pods import find_port, is_pod_ready, pod_ip, should_be_in_endpoints

Obj = dict[str, Any]


def endpoint_address(pod: Obj, service: Obj) -> Obj | None:
    ip = pod_ip(pod)
    if ip is None:
        return None
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    address: Obj = {"ip": ip}
    if spec.get("hostname") and spec.get("subdomain") == (service.get("metadata") or {}).get(
        "name"
    ):
        address["hostname"] = spec["hostname"]
    if spec.get("nodeName"):
        address["nodeName"] = spec["nodeName"]
    address["targetRef"] = {
        "kind": "Pod",
        "namespace": md.get("namespace"),
        "name": md.get("name"),
        "uid": md.get("uid"),
    }
    return address


def endpoint_port(service_port: Obj, number: int) -> Obj:
    port: Obj = {"port": number, "protocol": service_port.get("protocol") or "TCP"}
    if service_port.get("name"):
        port["name"] = service_port["name"]
    if service_port.get("appProtocol"):
        port["appProtocol"] = service_port["appProtocol"]
    return port


def desired_subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    """The Endpoints subsets for a service with a selector and the pods it selects."""
    spec = service.get("spec") or {}
    publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
    ports = spec.get("ports") or []
    subsets: list[Obj] = []
    for pod in pods:
        if not should_be_in_endpoints(pod, publish_not_ready):
            continue
        address = endpoint_address(pod, service)
        if address is None:
            continue
        ready = publish_not_ready or is_pod_ready(pod)
        kind = "addresses" if ready else "notReadyAddresses"
        if not ports:
            if spec.get("clusterIP") == "None":  # headless without ports: addresses only
                subsets.append({kind: [address], "ports": []})
            continue
        for service_port in ports:
            number = find_port(pod, service_port)
            if number is None:
                continue
            subsets.append({kind: [address], "ports": [endpoint_port(service_port, number)]})
    return repack(subsets)


def _address_key(address: Obj) -> tuple[str, str]:
    return address.get("ip", ""), (address.get("targetRef") or {}).get("uid", "")


def _port_key(port: Obj) -> str:
    return json.dumps(port, sort_keys=True)


def repack(subsets: list[Obj]) -> list[Obj]:
    """Regroup addresses so each subset is one set of addresses serving one set of
    ports; an address that is not ready on any port is not ready (RepackSubsets)."""
    addresses: dict[tuple[str, str], Obj] = {}
    ports: dict[str, Obj] = {}
    readiness: dict[str, dict[tuple[str, str], bool]] = {}  # port -> address -> ready
    for subset in subsets:
        port_list = subset.get("ports") or [None]
        for port in port_list:
            pkey = _port_key(port) if port is not None else ""
            if port is not None:
                ports[pkey] = port
            by_address = readiness.setdefault(pkey, {})
            for kind, ready in (("addresses", True), ("notReadyAddresses", False)):
                for address in subset.get(kind) or []:
                    akey = _address_key(address)
                    addresses.setdefault(akey, address)
                    if by_address.get(akey, True):  # not ready always wins
                        by_address[akey] = ready
    groups: dict[str, tuple[dict[tuple[str, str], bool], list[str]]] = {}
    for pkey, by_address in readiness.items():
        gkey = json.dumps(sorted((list(k), v) for k, v in by_address.items()))
        entry = groups.setdefault(gkey, (by_address, []))
        if pkey:
            entry[1].append(pkey)
    result = []
    for by_address, port_keys in groups.values():
        packed: Obj = {}
        ready_keys = sorted((k for k, v in by_address.items() if v))
        not_ready_keys = sorted((k for k, v in by_address.items() if not v))
        if ready_keys:
            packed["addresses"] = [addresses[k] for k in ready_keys]
        if not_ready_keys:
            packed["notReadyAddresses"] = [addresses[k] for k in not_ready_keys]
        if port_keys:
            packed["ports"] = sorted(
                (ports[k] for k in port_keys),
                key=lambda p: (p.get("name", ""), p["port"], p.get("protocol", "")),
            )
        result.append(packed)
    return sorted(result, key=lambda s: json.dumps(s, sort_keys=True))
