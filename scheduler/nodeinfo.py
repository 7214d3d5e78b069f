"""NodeInfo: one node and the pods counted on it (bound, or assumed by this
scheduler), aggregated into the numbers the plugins compare against."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.taints import NO_EXECUTE, NO_SCHEDULE, NOT_READY, PREFER_NO_SCHEDULE, UNREACHABLE
from scheduler.podinfo import ALL_IPS, HostPort, PodInfo
from scheduler.resources import CPU, MEMORY, PODS, parse_resource_list


def node_ready_status(node: Mapping[str, Any]) -> str:
    """The Ready condition's status: "True", "False", or "Unknown" (also when absent)."""
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") or "Unknown"
    return "Unknown"


def effective_taints(node: Mapping[str, Any]) -> list[dict[str, Any]]:
    """spec.taints plus the taint Kubernetes' node lifecycle controller puts on a node
    that is not Ready (not-ready, or unreachable when Ready is Unknown), so a pod
    lands on such a node only if it tolerates that, exactly as in Kubernetes."""
    taints = [t for t in (node.get("spec") or {}).get("taints") or [] if isinstance(t, dict)]
    status = node_ready_status(node)
    if status != "True":
        key = UNREACHABLE if status == "Unknown" and _has_ready(node) else NOT_READY
        if not any(t.get("key") == key for t in taints):
            taints.insert(0, {"key": key, "effect": NO_SCHEDULE})
    return taints


def _has_ready(node: Mapping[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" for c in conditions)


class NodeInfo:
    """Allocatable and requested resources as ints, used host ports, and how many
    pods of each owner the node runs. Pods may be counted before their node is known
    (`node` None): such a NodeInfo is not offered to the filters."""

    __slots__ = (
        "alloc_cpu",
        "alloc_memory",
        "alloc_other",
        "alloc_pods",
        "labels",
        "name",
        "no_schedule_key",
        "no_schedule_taints",
        "node",
        "nz_cpu",
        "nz_memory",
        "owner_counts",
        "pods",
        "prefer_no_schedule_taints",
        "req_cpu",
        "req_memory",
        "req_other",
        "unschedulable",
        "used_ports",
    )

    def __init__(self, name: str, node: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.node: Mapping[str, Any] | None = None
        self.labels: Mapping[str, str] = {}
        self.unschedulable = False
        self.no_schedule_taints: list[dict[str, Any]] = []
        self.no_schedule_key: tuple = ()  # the taints' content, a key for verdicts on them
        self.prefer_no_schedule_taints: list[dict[str, Any]] = []
        self.alloc_cpu = self.alloc_memory = self.alloc_pods = 0
        self.alloc_other: dict[str, int] = {}
        self.req_cpu = self.req_memory = self.nz_cpu = self.nz_memory = 0
        self.req_other: dict[str, int] = {}
        self.used_ports: dict[tuple[str, int], dict[str, int]] = {}
        self.owner_counts: dict[Any, int] = {}
        self.pods: dict[str, PodInfo] = {}
        if node is not None:
            self.set_node(node)

    @property
    def pod_count(self) -> int:
        return len(self.pods)

    def set_node(self, node: Mapping[str, Any]) -> None:
        """Take the node-derived fields from a (new version of the) Node object."""
        self.node = node
        md, spec = node.get("metadata") or {}, node.get("spec") or {}
        status = node.get("status") or {}
        self.labels = md.get("labels") or {}
        self.unschedulable = bool(spec.get("unschedulable"))
        taints = effective_taints(node)
        self.no_schedule_taints = [
            t for t in taints if t.get("effect") in (NO_SCHEDULE, NO_EXECUTE)
        ]
        self.no_schedule_key = tuple(
            (t.get("key"), t.get("value"), t.get("effect")) for t in self.no_schedule_taints
        )
        self.prefer_no_schedule_taints = [
            t for t in taints if t.get("effect") == PREFER_NO_SCHEDULE
        ]
        alloc = parse_resource_list(status.get("allocatable") or status.get("capacity"))
        self.alloc_cpu = alloc.pop(CPU, 0)
        self.alloc_memory = alloc.pop(MEMORY, 0)
        self.alloc_pods = alloc.pop(PODS, 0)
        self.alloc_other = alloc

    def clone(self) -> NodeInfo:
        """A copy whose pods can be added and removed without touching this one (what
        preemption simulates on, and filtering with nominated pods)."""
        other = NodeInfo.__new__(NodeInfo)
        for slot in NodeInfo.__slots__:
            setattr(other, slot, getattr(self, slot))
        other.alloc_other = dict(self.alloc_other)
        other.req_other = dict(self.req_other)
        other.used_ports = {k: dict(v) for k, v in self.used_ports.items()}
        other.owner_counts = dict(self.owner_counts)
        other.pods = dict(self.pods)
        return other

    def add_pod(self, pod: PodInfo) -> None:
        if pod.key in self.pods:
            self.remove_pod(pod.key)
        self.pods[pod.key] = pod
        self._account(pod, 1)

    def remove_pod(self, key: str) -> PodInfo | None:
        pod = self.pods.pop(key, None)
        if pod is not None:
            self._account(pod, -1)
        return pod

    def _account(self, pod: PodInfo, sign: int) -> None:
        self.req_cpu += sign * pod.cpu
        self.req_memory += sign * pod.memory
        self.nz_cpu += sign * pod.non_zero_cpu
        self.nz_memory += sign * pod.non_zero_memory
        for name, value in pod.other_requests.items():
            self.req_other[name] = self.req_other.get(name, 0) + sign * value
        for ip, protocol, port in pod.host_ports:
            ips = self.used_ports.setdefault((protocol, port), {})
            ips[ip] = ips.get(ip, 0) + sign
            if ips[ip] <= 0:
                del ips[ip]
                if not ips:
                    del self.used_ports[(protocol, port)]
        if pod.owner_key is not None:
            count = self.owner_counts.get(pod.owner_key, 0) + sign
            if count > 0:
                self.owner_counts[pod.owner_key] = count
            else:
                self.owner_counts.pop(pod.owner_key, None)

    def port_in_use(self, port: HostPort) -> bool:
        """Kubernetes' HostPortInfo.CheckConflict: 0.0.0.0 conflicts with every IP."""
        ip, protocol, number = port
        ips = self.used_ports.get((protocol, number))
        if not ips:
            return False
        return ip == ALL_IPS or ALL_IPS in ips or ip in ips
