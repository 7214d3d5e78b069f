"""Kubernetes' PrioritySort, the QueueSort plugin: the active queue pops the pod with
the highest `spec.priority` first and, among equals, the one queued earliest (its
timestamp: when it was added, or when its last attempt failed)."""

from __future__ import annotations


class PrioritySort:
    name = "PrioritySort"

    def key(self, priority: int, timestamp: float) -> tuple[int, float]:
        """The heap key: smaller pops first."""
        return (-priority, timestamp)

    def less(self, a: tuple[int, float], b: tuple[int, float]) -> bool:
        """Kubernetes' Less(podInfo1, podInfo2) on (priority, timestamp) pairs."""
        return self.key(*a) < self.key(*b)
