"""Kubernetes' FailedScheduling wording: `0/3 nodes are available: 1 Insufficient
cpu, 2 node(s) didn't match Pod's node affinity/selector.` — each reason once with
the number of nodes that gave it, sorted as strings, as kube-scheduler's FitError."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from scheduler.framework import Status

NO_NODES_AVAILABLE = "no nodes available to schedule pods"


def fit_error_message(num_all_nodes: int, statuses: Iterable[Status]) -> str:
    if num_all_nodes == 0:
        return NO_NODES_AVAILABLE
    counts = Counter(reason for status in statuses for reason in status.reasons)
    histogram = sorted(f"{count} {reason}" for reason, count in counts.items())
    return f"0/{num_all_nodes} nodes are available: {', '.join(histogram)}."
