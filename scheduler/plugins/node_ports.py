"""NodePorts: two pods cannot claim the same host port (protocol and IP; 0.0.0.0
overlaps every IP) on one node."""

from __future__ import annotations

from scheduler.framework import Status, unschedulable
from scheduler.nodeinfo import NodeInfo
from scheduler.podinfo import PodInfo

REASON = "node(s) didn't have free ports for the requested pod ports"


class NodePorts:
    name = "NodePorts"

    def filter_applies(self, pod: PodInfo) -> bool:
        return bool(pod.host_ports)

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status | None:
        if any(node.port_in_use(port) for port in pod.host_ports):
            return unschedulable(self.name, REASON)
        return None
