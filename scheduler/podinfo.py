"""PodInfo: what the scheduler needs from a pod, derived once per pod so that the
per-node checks never re-read (or copy) the pod object."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from scheduler.resources import CPU, MEMORY, pod_non_zero_requests, pod_requests

T = TypeVar("T")
ALL_IPS = "0.0.0.0"
HostPort = tuple[str, str, int]  # (hostIP, protocol, hostPort)
OwnerKey = tuple[str, str, Any]  # (namespace, "controller" | "labels", uid | labels)


def pod_key(pod: Mapping[str, Any]) -> str:
    md = pod.get("metadata") or {}
    return f"{md.get('namespace', '')}/{md.get('name', '')}"


class PodInfo:
    """A pod plus its precomputed requests, host ports and owner.

    `memo` holds what plugins parse from the pod (affinity terms, tolerations), so
    each plugin parses once per scheduling attempt, not once per node."""

    __slots__ = (
        "cpu",
        "host_ports",
        "key",
        "memo",
        "memory",
        "name",
        "namespace",
        "node_name",
        "non_zero_cpu",
        "non_zero_memory",
        "other_requests",
        "owner_key",
        "pod",
        "priority",
        "requests",
        "spec",
    )

    def __init__(self, pod: Mapping[str, Any]) -> None:
        md = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        self.pod = pod
        self.spec: Mapping[str, Any] = spec
        self.namespace: str = md.get("namespace") or ""
        self.name: str = md.get("name") or ""
        self.key = f"{self.namespace}/{self.name}"
        self.node_name: str = spec.get("nodeName") or ""
        self.priority: int = spec.get("priority") or 0
        self.requests = pod_requests(spec)
        self.cpu = self.requests.get(CPU, 0)
        self.memory = self.requests.get(MEMORY, 0)
        self.other_requests = {
            k: v for k, v in self.requests.items() if k not in (CPU, MEMORY) and v > 0
        }
        self.non_zero_cpu, self.non_zero_memory = pod_non_zero_requests(spec)
        self.host_ports = host_ports(spec)
        self.owner_key = owner_key(self.namespace, md)
        self.memo: dict[str, Any] = {}

    def cached(self, name: str, compute: Callable[[PodInfo], T]) -> T:
        """`compute(self)`, once per PodInfo (a plugin's per-pod pre-computation)."""
        try:
            return self.memo[name]
        except KeyError:
            value = self.memo[name] = compute(self)
            return value


def host_ports(spec: Mapping[str, Any]) -> tuple[HostPort, ...]:
    """Host ports the pod's containers (and sidecars) claim on their node."""
    containers = list(spec.get("containers") or [])
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    containers += sidecars
    ports = []
    for c in containers:
        for p in c.get("ports") or []:
            port = p.get("hostPort") or 0
            if port > 0:
                ports.append((p.get("hostIP") or ALL_IPS, p.get("protocol") or "TCP", port))
    return tuple(ports)


def owner_key(namespace: str, md: Mapping[str, Any]) -> OwnerKey | None:
    """Pods that should spread over nodes together: same controller, or (without
    one) the same labels, in the same namespace. None: the pod spreads with nothing."""
    for ref in md.get("ownerReferences") or []:
        if ref.get("controller") and ref.get("uid"):
            return (namespace, "controller", ref["uid"])
    labels = md.get("labels")
    if labels:
        return (namespace, "labels", frozenset(labels.items()))
    return None
