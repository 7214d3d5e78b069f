"""NodeUnschedulable: a cordoned node (`spec.unschedulable`) takes only pods that
tolerate the node.kubernetes.io/unschedulable:NoSchedule taint (DaemonSet pods)."""

from __future__ import annotations

from api.taints import NO_SCHEDULE, UNSCHEDULABLE, tolerated
from scheduler.framework import Status, unresolvable
from scheduler.nodeinfo import NodeInfo
from scheduler.plugins.taint_toleration import pod_tolerations
from scheduler.podinfo import PodInfo

UNSCHEDULABLE_TAINT = {"key": UNSCHEDULABLE, "effect": NO_SCHEDULE}
REASON = "node(s) were unschedulable"


class NodeUnschedulable:
    name = "NodeUnschedulable"

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status | None:
        if not node.unschedulable or tolerated(pod_tolerations(pod), UNSCHEDULABLE_TAINT):
            return None
        return unresolvable(self.name, REASON)
