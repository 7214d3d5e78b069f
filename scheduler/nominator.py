"""The nominator, as kube-scheduler's: which pending pods are nominated to which node
(`status.nominatedNodeName`, set after a preemption). Filtering counts a node's
nominated pods of equal or higher priority as if they ran there, so the room that
preemption freed for a pod is not taken by a less important one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scheduler.podinfo import PodInfo, pod_key


class Nominator:
    def __init__(self) -> None:
        self._node_of: dict[str, str] = {}
        self._pods: dict[str, dict[str, PodInfo]] = {}  # node -> pod key -> pod

    def __len__(self) -> int:
        return len(self._node_of)

    def nominated_node(self, key: str) -> str | None:
        return self._node_of.get(key)

    def pods_on(self, node: str) -> list[PodInfo] | tuple[()]:
        pods = self._pods.get(node)
        return list(pods.values()) if pods else ()

    def add(self, pod: PodInfo, node: str) -> None:
        self.delete(pod.key)
        self._node_of[pod.key] = node
        self._pods.setdefault(node, {})[pod.key] = pod

    def delete(self, key: str) -> None:
        node = self._node_of.pop(key, None)
        if node is not None:
            pods = self._pods.get(node) or {}
            pods.pop(key, None)
            if not pods:
                self._pods.pop(node, None)

    def observe(self, pod: Mapping[str, Any]) -> None:
        """A pending pod from the informer: its API nomination, if any, is recorded.
        One without a nomination keeps the one made in memory (its status write may
        not have landed yet), as kube-scheduler's UpdateNominatedPod does."""
        node = (pod.get("status") or {}).get("nominatedNodeName")
        if node:
            self.add(PodInfo(pod), node)
        elif pod_key(pod) in self._node_of:
            info = PodInfo(pod)
            self.add(info, self._node_of[info.key])
