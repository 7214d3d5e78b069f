"""What a Service's EndpointSlices should hold, as pure functions (Kubernetes'
endpointslice reconciler). Every selected pod with an IP becomes one endpoint with
`ready`/`serving`/`terminating` conditions. Pods are grouped by the exact ports they
resolve (a named targetPort may be a different number on each pod), and each group
fills slices of at most 100 endpoints. Existing slices are updated in place where
possible, so names stay stable and few objects are written; emptied or stale slices
are deleted (or recycled for a slice that would be created), and a Service with
nothing to list keeps one empty placeholder slice, as in Kubernetes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from api.resources import SERVICES
from controller.util.controllerref import meta, new_controller_ref, uid_of
from controller.util.pods import find_port, is_pod_ready, pod_ip, should_be_in_endpoints
from controller.util.servicepods import desired_labels

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS_PER_SLICE = 100  # kube-controller-manager's --max-endpoints-per-slice
ADDRESS_TYPE = "IPv4"  # minik's Services are single-stack IPv4 (pod_ip)


@dataclass
class Plan:
    """The writes that bring a Service's slices to the desired state."""

    create: list[Obj] = field(default_factory=list)
    update: list[Obj] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)


# ---- one pod ----------------------------------------------------------------------------


def endpoint_ports(service: Obj, pod: Obj) -> list[Obj]:
    """The service ports this pod serves, resolved to its container port numbers. The
    name is always set ("" for an unnamed port): kubectl describe matches on it."""
    ports = []
    for service_port in (service.get("spec") or {}).get("ports") or []:
        number = find_port(pod, service_port)
        if number is None:
            continue
        port: Obj = {
            "name": service_port.get("name") or "",
            "port": number,
            "protocol": service_port.get("protocol") or "TCP",
        }
        if service_port.get("appProtocol"):
            port["appProtocol"] = service_port["appProtocol"]
        ports.append(port)
    return ports


def pod_endpoint(pod: Obj, service: Obj) -> Obj | None:
    """The pod as an endpoint (podToEndpoint); None without an IPv4 address. A
    terminating pod may still be serving, but is never `ready` unless the service
    publishes not-ready addresses."""
    ip = pod_ip(pod)
    if ip is None:
        return None
    md, spec = meta(pod), pod.get("spec") or {}
    serving = is_pod_ready(pod)
    terminating = bool(md.get("deletionTimestamp"))
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    endpoint: Obj = {
        "addresses": [ip],
        "conditions": {
            "ready": publish or (serving and not terminating),
            "serving": serving,
            "terminating": terminating,
        },
        "targetRef": {
            "kind": "Pod",
            "namespace": md.get("namespace"),
            "name": md.get("name"),
            "uid": md.get("uid"),
        },
    }
    if spec.get("nodeName"):
        endpoint["nodeName"] = spec["nodeName"]
    svc_md = meta(service)
    if (
        spec.get("hostname")
        and spec.get("subdomain") == svc_md.get("name")
        and md.get("namespace") == svc_md.get("namespace")
    ):
        endpoint["hostname"] = spec["hostname"]
    return endpoint


# ---- slices -----------------------------------------------------------------------------


def slice_labels(service: Obj) -> dict[str, str]:
    """The service's labels (and headless marker), plus the two that say whose slice
    this is; a service cannot override those two."""
    labels = {
        k: v
        for k, v in desired_labels(service).items()
        if k not in (SERVICE_NAME_LABEL, MANAGED_BY_LABEL)
    }
    labels[SERVICE_NAME_LABEL] = meta(service).get("name", "")
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    return labels


def managed_service_key(endpoint_slice: Obj) -> str | None:
    """`namespace/service` of a slice this controller manages, else None."""
    labels = meta(endpoint_slice).get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != CONTROLLER_NAME or not labels.get(SERVICE_NAME_LABEL):
        return None
    return f"{meta(endpoint_slice).get('namespace')}/{labels[SERVICE_NAME_LABEL]}"


def owned_by(endpoint_slice: Obj, service: Obj) -> bool:
    """Owned by this very Service (a namesake created later has another uid)."""
    return any(
        ref.get("uid") == uid_of(service) and ref.get("kind") == "Service"
        for ref in meta(endpoint_slice).get("ownerReferences") or []
        if isinstance(ref, dict)
    )


def new_slice(service: Obj, ports: list[Obj]) -> Obj:
    md = meta(service)
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": f"{md.get('name')}-",
            "namespace": md.get("namespace"),
            "labels": slice_labels(service),
            "ownerReferences": [new_controller_ref(service, SERVICES)],
        },
        "addressType": ADDRESS_TYPE,
        "endpoints": [],
        "ports": ports,
    }


def live_slices(slices: list[Obj]) -> list[Obj]:
    """Slices not being deleted: one stuck on a finalizer must not wedge the service."""
    return [s for s in slices if not meta(s).get("deletionTimestamp")]


def _port_key(ports: list[Obj]) -> str:
    """The same set of ports in any order gives the same key (NewPortMapKey)."""
    return json.dumps(sorted(json.dumps(p, sort_keys=True) for p in ports))


def _endpoint_key(endpoint: Obj) -> tuple[Any, ...]:
    """An endpoint's identity (hashEndpoint): its addresses, hostname and pod."""
    ref = endpoint.get("targetRef") or {}
    return (
        tuple(sorted(endpoint.get("addresses") or [])),
        endpoint.get("hostname") or "",
        ref.get("namespace") or "",
        ref.get("name") or "",
    )


def _is_placeholder(endpoint_slice: Obj, placeholder: Obj) -> bool:
    return (
        meta(endpoint_slice).get("namespace") == meta(placeholder).get("namespace")
        and (meta(endpoint_slice).get("labels") or {}) == meta(placeholder)["labels"]
        and endpoint_slice.get("addressType") == placeholder["addressType"]
        and not endpoint_slice.get("ports")
        and not endpoint_slice.get("endpoints")
    )


# ---- the plan ---------------------------------------------------------------------------


def plan(
    service: Obj,
    pods: list[Obj],
    slices: list[Obj],
    max_per_slice: int = MAX_ENDPOINTS_PER_SLICE,
) -> Plan:
    """The creates, updates and deletes that make `slices` (this service's managed
    slices) list the endpoints of `pods` (the pods its selector matches)."""
    slices = live_slices(slices)
    result = Plan()
    existing: dict[str, list[Obj]] = {}
    for endpoint_slice in slices:
        if owned_by(endpoint_slice, service):
            existing.setdefault(_port_key(endpoint_slice.get("ports") or []), []).append(
                endpoint_slice
            )
        else:
            result.delete.append(endpoint_slice)
    desired: dict[str, dict[tuple[Any, ...], Obj]] = {}
    ports_of: dict[str, list[Obj]] = {}
    for pod in pods:
        if not should_be_in_endpoints(pod, include_terminating=True):
            continue
        ports = endpoint_ports(service, pod)
        key = _port_key(ports)
        group = desired.setdefault(key, {})
        ports_of.setdefault(key, ports)
        endpoint = pod_endpoint(pod, service)
        if endpoint is not None:
            group[_endpoint_key(endpoint)] = endpoint
    labels = slice_labels(service)
    for key, wanted in desired.items():
        _plan_port_group(
            service, existing.get(key, []), wanted, ports_of[key], labels, max_per_slice, result
        )
    for key, stale in existing.items():
        if key not in desired:
            result.delete.extend(stale)
    if len(slices) == len(result.delete) and not result.create:
        placeholder = new_slice(service, [])
        if len(result.delete) == 1 and _is_placeholder(result.delete[0], placeholder):
            result.delete.clear()  # the placeholder is already there
        else:
            result.create.append(placeholder)
    _recycle(service, result)
    return result


def _plan_port_group(
    service: Obj,
    slices: list[Obj],
    wanted: dict[tuple[Any, ...], Obj],
    ports: list[Obj],
    labels: dict[str, str],
    max_per_slice: int,
    result: Plan,
) -> None:
    """reconcileByPortMapping: keep and refresh wanted endpoints where they are, drop
    the rest, then place the new ones: first into slices being written anyway, then
    into the unchanged slice they fit best, then into new slices."""
    wanted = dict(wanted)
    to_update: dict[str, Obj] = {}
    unchanged: dict[str, Obj] = {}
    for endpoint_slice in slices:
        name = meta(endpoint_slice).get("name", "")
        current = endpoint_slice.get("endpoints") or []
        kept, changed = [], False
        for endpoint in current:
            found = wanted.pop(_endpoint_key(endpoint), None)
            if found is not None:
                kept.append(found)
                changed = changed or found != endpoint
        if changed or len(kept) != len(current):
            if kept:
                to_update[name] = _with(endpoint_slice, kept, labels)
            else:
                result.delete.append(endpoint_slice)
        elif (meta(endpoint_slice).get("labels") or {}) != labels:
            to_update[name] = _with(endpoint_slice, current, labels)
        else:
            unchanged[name] = endpoint_slice
    remaining = [wanted[k] for k in sorted(wanted)]
    for target in sorted(to_update.values(), key=lambda s: -len(s["endpoints"])):
        room = max_per_slice - len(target["endpoints"])
        if room > 0:
            target["endpoints"] += remaining[:room]
            del remaining[:room]
    while remaining:
        reused = None
        if len(remaining) < max_per_slice and unchanged:
            reused = _slice_to_fill(list(unchanged.values()), len(remaining), max_per_slice)
        if reused is None:
            fill = new_slice(service, ports)
            result.create.append(fill)
        else:
            name = meta(reused).get("name", "")
            del unchanged[name]
            fill = to_update[name] = _with(reused, reused.get("endpoints") or [], labels)
        room = max_per_slice - len(fill["endpoints"])
        fill["endpoints"] += remaining[:room]
        del remaining[:room]
    result.update.extend(to_update.values())


def _with(endpoint_slice: Obj, endpoints: list[Obj], labels: dict[str, str]) -> Obj:
    """A copy of the slice with these endpoints and labels (the rest as read)."""
    return {
        **endpoint_slice,
        "metadata": {**meta(endpoint_slice), "labels": dict(labels)},
        "endpoints": list(endpoints),
    }


def _slice_to_fill(slices: list[Obj], count: int, max_per_slice: int) -> Obj | None:
    """The slice `count` endpoints fill most tightly without overflowing (getSliceToFill)."""
    best, best_room = None, max_per_slice
    for endpoint_slice in slices:
        room = max_per_slice - count - len(endpoint_slice.get("endpoints") or [])
        if 0 <= room < best_room:
            best, best_room = endpoint_slice, room
            if room == 0:
                break
    return best


def _recycle(service: Obj, result: Plan) -> None:
    """A slice about to be deleted takes the place of one about to be created: one
    update instead of a delete and a create (the reconciler's finalize)."""
    i = 0
    while i < len(result.delete) and result.create:
        old = result.delete[i]
        if owned_by(old, service) and old.get("addressType") == ADDRESS_TYPE:
            new = result.create.pop()
            new_md = meta(new)
            result.update.append(
                {
                    **old,
                    "metadata": {
                        **meta(old),
                        "labels": new_md["labels"],
                        "ownerReferences": new_md["ownerReferences"],
                    },
                    "endpoints": new["endpoints"],
                    "ports": new["ports"],
                }
            )
            del result.delete[i]
        else:
            i += 1
