"""What a Service's Endpoints should hold, as pure functions (Kubernetes' endpoints
controller and its RepackSubsets): each selected pod with an IP becomes an address,
ready or not, for every service port it resolves (a named `targetPort` is looked up
in the pod's container ports); then addresses are grouped into subsets by the exact
set of ports they serve, so pods that name a port differently land in subsets of
their own."""

from __future__ import annotations

import json
from typing import Any

from controller.podutil import is_pod_ready, is_pod_terminal

Obj = dict[str, Any]
HEADLESS_LABEL = "service.kubernetes.io/headless"


def selects(service: Obj, pod: Obj) -> bool:
    """The service's selector matches the pod; an empty selector matches nothing (such
    a service's endpoints are managed by hand)."""
    selector = (service.get("spec") or {}).get("selector") or {}
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def endpoint_view(pod: Obj) -> tuple[Any, ...]:
    """The parts of a pod its Endpoints (and EndpointSlice) entries depend on: an
    update that changes none of them needs no reconcile."""
    md, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    ready = [c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    return (
        md.get("labels"),
        bool(md.get("deletionTimestamp")),
        status.get("podIP"),
        status.get("podIPs"),
        status.get("phase"),
        ready,
        spec.get("nodeName"),
        spec.get("hostname"),
        spec.get("subdomain"),
        [c.get("ports") for c in spec.get("containers") or []],
    )


def should_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """Running or pending, with an IP, and not being deleted (unless the service
    publishes not-ready addresses)."""
    if is_pod_terminal(pod):
        return False
    status = pod.get("status") or {}
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    return include_terminating or not (pod.get("metadata") or {}).get("deletionTimestamp")


def pod_ip(pod: Obj) -> str | None:
    """The pod's IPv4 address (minik's services are single-stack IPv4)."""
    status = pod.get("status") or {}
    candidates = [status.get("podIP")] + [p.get("ip") for p in status.get("podIPs") or []]
    for ip in candidates:
        if ip and ":" not in ip:
            return ip
    return None


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """The container port a service port's targetPort means for this pod."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + [
        c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"
    ]
    for container in containers:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


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
        subset: Obj = {}
        ready = sorted((k for k, v in by_address.items() if v))
        not_ready = sorted((k for k, v in by_address.items() if not v))
        if ready:
            subset["addresses"] = [addresses[k] for k in ready]
        if not_ready:
            subset["notReadyAddresses"] = [addresses[k] for k in not_ready]
        if port_keys:
            subset["ports"] = sorted(
                (ports[k] for k in port_keys),
                key=lambda p: (p.get("name", ""), p["port"], p.get("protocol", "")),
            )
        result.append(subset)
    return sorted(result, key=lambda s: json.dumps(s, sort_keys=True))


def desired_labels(service: Obj) -> dict[str, str]:
    """The Endpoints carry the service's labels, plus the headless marker."""
    labels = dict((service.get("metadata") or {}).get("labels") or {})
    if (service.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    else:
        labels.pop(HEADLESS_LABEL, None)
    return labels
