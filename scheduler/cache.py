"""The scheduler's cache: every node as a NodeInfo, with the pods counted on it.

A pod is counted as soon as this scheduler *assumes* it onto a node (before the
binding POST returns), so a burst of pods sees each earlier decision and spreads.
The informer's update showing the pod bound *confirms* the assumption (or moves the
pod if it was bound elsewhere); a failed bind *forgets* it. Pods of nodes not (yet
or any more) known are kept on a node-less NodeInfo, not offered for scheduling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scheduler.nodeinfo import NodeInfo
from scheduler.podinfo import PodInfo, pod_key


class SchedulerCache:
    def __init__(self) -> None:
        self._nodes: dict[str, NodeInfo] = {}
        self._pod_node: dict[str, str] = {}  # pod key -> node it is counted on
        self._assumed: set[str] = set()
        self._schedulable: list[NodeInfo] | None = None

    # ---- reading ------------------------------------------------------------------
    def nodes(self) -> list[NodeInfo]:
        """The NodeInfos of existing nodes, in a stable order (rebuilt on add/remove)."""
        if self._schedulable is None:
            self._schedulable = [
                info for name, info in sorted(self._nodes.items()) if info.node is not None
            ]
        return self._schedulable

    def node(self, name: str) -> NodeInfo | None:
        return self._nodes.get(name)

    def node_of(self, key: str) -> str | None:
        return self._pod_node.get(key)

    def is_assumed(self, key: str) -> bool:
        return key in self._assumed

    # ---- nodes --------------------------------------------------------------------
    def add_node(self, node: Mapping[str, Any]) -> None:
        name = (node.get("metadata") or {}).get("name", "")
        info = self._nodes.get(name)
        if info is None:
            self._nodes[name] = NodeInfo(name, node)
            self._schedulable = None
        else:
            if info.node is None:
                self._schedulable = None
            info.set_node(node)

    update_node = add_node

    def remove_node(self, name: str) -> None:
        info = self._nodes.get(name)
        if info is None:
            return
        self._schedulable = None
        if info.pods:
            info.node = None  # its pods stay counted until they are deleted
        else:
            del self._nodes[name]

    # ---- pods ---------------------------------------------------------------------
    def add_pod(self, pod: Mapping[str, Any]) -> None:
        """A bound pod from the API. Confirms our assumption when it agrees with it."""
        key = pod_key(pod)
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        if key in self._assumed and self._pod_node.get(key) == node_name:
            self._assumed.discard(key)
            return
        self._count(PodInfo(pod), node_name)

    update_pod = add_pod

    def remove_pod(self, key: str) -> bool:
        """Stop counting the pod; False if it was not counted."""
        self._assumed.discard(key)
        node_name = self._pod_node.pop(key, None)
        if node_name is None:
            return False
        info = self._nodes.get(node_name)
        if info is not None:
            info.remove_pod(key)
            if info.node is None and not info.pods:
                del self._nodes[node_name]
        return True

    def assume(self, pod: PodInfo, node_name: str) -> None:
        """Count a pod we are about to bind to node_name."""
        self._count(pod, node_name)
        self._assumed.add(pod.key)

    def forget(self, key: str) -> None:
        """The bind failed: uncount the pod, if it is still only assumed."""
        if key in self._assumed:
            self.remove_pod(key)

    def _count(self, pod: PodInfo, node_name: str) -> None:
        if self._pod_node.get(pod.key) not in (None, node_name):
            self.remove_pod(pod.key)
        self._assumed.discard(pod.key)
        info = self._nodes.get(node_name)
        if info is None:
            info = self._nodes[node_name] = NodeInfo(node_name)
        info.add_pod(pod)
        self._pod_node[pod.key] = node_name
