"""What controllers ask of a pod: is it active, ready, available, should it be listed
in a Service's endpoints, at which IP and port (Kubernetes' pkg/api/v1/pod,
controller_utils and util/endpoint helpers)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Any

from api.timefmt import parse_time

Obj = dict[str, Any]


def condition(obj: Obj, kind: str) -> Obj | None:
    """The status condition of type `kind`, if any."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def ready_since(pod: Obj) -> float | None:
    """When the pod last became ready (the Ready condition's transition time)."""
    cond = condition(pod, "Ready")
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def is_pod_available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least `min_ready_seconds` (IsPodAvailable)."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds < now


def available_at(pod: Obj, min_ready_seconds: int) -> float | None:
    """The moment a ready pod counts as available; None when it is not ready."""
    since = ready_since(pod) if is_pod_ready(pod) else None
    return None if since is None else since + min_ready_seconds


def is_terminating(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def is_pod_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_pod_active(pod: Obj) -> bool:
    """Counts toward a controller's replicas: not finished and not being deleted."""
    return not is_pod_terminal(pod) and not is_terminating(pod)


def node_name(pod: Obj) -> str:
    return (pod.get("spec") or {}).get("nodeName") or ""


def restart_count(pod: Obj) -> int:
    """The highest restart count among the pod's containers."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


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


# ---- creating pods (ReplicaSets, DaemonSets) -----------------------------------

# The first batch of creates; each later batch doubles (controller.SlowStartInitialBatchSize).
SLOW_START_INITIAL_BATCH = 1


async def slow_start_batch(
    count: int, initial: int, create: Callable[[], Awaitable[object]]
) -> tuple[int, BaseException | None]:
    """Run `create` `count` times in batches of 1, 2, 4, ... stopping at the first
    batch with a failure, so a quota or admission error costs a handful of calls,
    not hundreds. Returns (successes, first error)."""
    remaining, successes = count, 0
    batch = min(remaining, initial)
    while batch > 0:
        results = await asyncio.gather(*(create() for _ in range(batch)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        successes += batch - len(errors)
        if errors:
            return successes, errors[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


def pod_from_template(template: Obj, owner: Obj, owner_ref: Obj) -> Obj:
    """A pod for `owner` from its template, named `<owner>-<5 random>` by the server."""
    tmeta = template.get("metadata") or {}
    owner_meta = owner.get("metadata") or {}
    metadata: Obj = {
        "generateName": f"{owner_meta.get('name')}-",
        "namespace": owner_meta.get("namespace"),
        "ownerReferences": [owner_ref],
    }
    for key in ("labels", "annotations", "finalizers"):
        if tmeta.get(key):
            metadata[key] = copy.deepcopy(tmeta[key])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
