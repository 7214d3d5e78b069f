"""Resources: NodeResourcesFit keeps a pod off nodes whose allocatable minus what
the counted pods request cannot hold it, and prefers the least allocated nodes;
NodeResourcesBalancedAllocation prefers nodes whose cpu and memory use stay even."""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.framework import MAX_NODE_SCORE, Status, unschedulable
from scheduler.nodeinfo import NodeInfo
from scheduler.podinfo import PodInfo
from scheduler.resources import PODS

TOO_MANY_PODS = "Too many pods"


def insufficient(resource: str) -> str:
    return f"Insufficient {resource}"


class NodeResourcesFit:
    """Filter on requests; score LeastAllocated (Kubernetes' default strategy)."""

    name = "NodeResourcesFit"

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status | None:
        if (  # the usual answer, without building the reasons
            len(node.pods) < node.alloc_pods
            and pod.cpu <= node.alloc_cpu - node.req_cpu
            and pod.memory <= node.alloc_memory - node.req_memory
            and not pod.other_requests
        ):
            return None
        reasons = []
        if len(node.pods) + 1 > node.alloc_pods:
            reasons.append(TOO_MANY_PODS)
        if pod.cpu > 0 and pod.cpu > node.alloc_cpu - node.req_cpu:
            reasons.append(insufficient("cpu"))
        if pod.memory > 0 and pod.memory > node.alloc_memory - node.req_memory:
            reasons.append(insufficient("memory"))
        for name, wanted in pod.other_requests.items():
            if name == PODS:
                continue
            free = node.alloc_other.get(name, 0) - node.req_other.get(name, 0)
            if wanted > free:
                reasons.append(insufficient(name))
        return unschedulable(self.name, *reasons) if reasons else None

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        """Mean over cpu and memory of the free share left after placing the pod,
        counting request-less containers at Kubernetes' defaults (100m, 200Mi)."""
        cpu = _least_allocated(node.nz_cpu + pod.non_zero_cpu, node.alloc_cpu)
        memory = _least_allocated(node.nz_memory + pod.non_zero_memory, node.alloc_memory)
        return (cpu + memory) // 2

    def score_nodes(self, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        """`score` for every node, inlined (the scheduler's hottest loop)."""
        pod_cpu, pod_memory, top = pod.non_zero_cpu, pod.non_zero_memory, MAX_NODE_SCORE
        out = []
        for node in nodes:
            cap_cpu, cap_memory = node.alloc_cpu, node.alloc_memory
            cpu, memory = node.nz_cpu + pod_cpu, node.nz_memory + pod_memory
            cpu_score = (cap_cpu - cpu) * top // cap_cpu if cap_cpu > 0 and cpu <= cap_cpu else 0
            memory_score = (
                (cap_memory - memory) * top // cap_memory
                if cap_memory > 0 and memory <= cap_memory
                else 0
            )
            out.append((cpu_score + memory_score) // 2)
        return out


def _least_allocated(requested: int, capacity: int) -> int:
    if capacity <= 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


class NodeResourcesBalancedAllocation:
    name = "NodeResourcesBalancedAllocation"

    def score_applies(self, pod: PodInfo) -> bool:
        return pod.cpu > 0 or pod.memory > 0

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        """(1 - standard deviation of the cpu and memory fractions) · 100."""
        fractions = []
        for requested, capacity in (
            (node.req_cpu + pod.cpu, node.alloc_cpu),
            (node.req_memory + pod.memory, node.alloc_memory),
        ):
            if capacity > 0:
                fractions.append(min(requested / capacity, 1.0))
        if len(fractions) < 2:
            return MAX_NODE_SCORE
        std = abs(fractions[0] - fractions[1]) / 2
        return int((1 - std) * MAX_NODE_SCORE)

    def score_nodes(self, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        """`score` for every node, inlined; a node missing a capacity takes `score`."""
        pod_cpu, pod_memory, top = pod.cpu, pod.memory, MAX_NODE_SCORE
        out = []
        for node in nodes:
            cap_cpu, cap_memory = node.alloc_cpu, node.alloc_memory
            if cap_cpu <= 0 or cap_memory <= 0:
                out.append(self.score(pod, node))
                continue
            cpu = (node.req_cpu + pod_cpu) / cap_cpu
            memory = (node.req_memory + pod_memory) / cap_memory
            cpu, memory = (cpu if cpu < 1.0 else 1.0), (memory if memory < 1.0 else 1.0)
            out.append(int((1 - abs(cpu - memory) / 2) * top))
        return out
