"""The kubelet's Prometheus metrics (`GET /metrics`), with Kubernetes' names:

- `kubelet_pod_start_sli_duration_seconds`: from the pod's creationTimestamp to the
  first status this kubelet reports with every container started (Kubernetes' pod
  start SLI). Kubernetes subtracts the time spent pulling images; minik's kubelet
  runs local images and does not subtract it;
- `kubelet_running_pods`: pods with a running sandbox (a solo pod's one container is
  its own sandbox), read from the PLEG's cache when scraped;
- `kubelet_pleg_relist_duration_seconds`: one relist of Docker (`Pleg.relist`);
- `kubelet_runtime_operations_duration_seconds{operation_type}` (with
  `kubelet_runtime_operations_total` and `..._errors_total`): each Docker call, named
  as the CRI operation it stands for (`container_status` for an inspect, ...).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from api.timefmt import parse_time

# Kubernetes' buckets for the pod start SLI (pkg/kubelet/metrics)
POD_START_BUCKETS = (
    0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900,
    1200, 1800, 2700, 3600,
)  # fmt: skip

POD_START_SLI = Histogram(
    "kubelet_pod_start_sli_duration_seconds",
    "Duration in seconds to start a pod, excluding time to pull images and run init "
    "containers, measured from pod creation timestamp to when all its containers are "
    "reported as started and observed via watch",
    buckets=POD_START_BUCKETS,
)
RUNNING_PODS = Gauge("kubelet_running_pods", "Number of pods that have a running pod sandbox")
PLEG_RELIST = Histogram(
    "kubelet_pleg_relist_duration_seconds", "Duration in seconds for relisting pods in PLEG."
)
RUNTIME_DURATION = Histogram(
    "kubelet_runtime_operations_duration_seconds",
    "Duration in seconds of runtime operations. Broken down by operation type.",
    ["operation_type"],
    buckets=tuple(0.005 * 2.5**i for i in range(14)),  # Kubernetes': (.005, 2.5, 14)
)
RUNTIME_TOTAL = Counter(
    "kubelet_runtime_operations_total",
    "Cumulative number of runtime operations by operation type.",
    ["operation_type"],
)
RUNTIME_ERRORS = Counter(
    "kubelet_runtime_operations_errors_total",
    "Cumulative number of runtime operation errors by operation type.",
    ["operation_type"],
)

# Docker calls by the CRI operation they stand for.
OPERATIONS = {
    "version": "version",
    "containers": "list_containers",
    "inspect_container": "container_status",
    "stats": "container_stats",
    "_create_sync": "create_container",
    "start": "start_container",
    "stop": "stop_container",
    "remove_container": "remove_container",
    "inspect_image": "image_status",
    "pull": "pull_image",
    "exec_sync": "exec_sync",
    "exec_open": "exec",
    "attach_open": "attach",
    "exec_resize": "exec_resize",
    "exec_inspect": "exec_status",
    "resize": "resize",
    "_ensure_network_sync": "ensure_network",
}


def operation_type(fn: Callable[..., object]) -> str:
    name = getattr(fn, "__name__", "") or "unknown"
    return OPERATIONS.get(name) or name.lstrip("_")


def report_running_pods(count: Callable[[], int]) -> None:
    RUNNING_PODS.set_function(count)


def all_started(status: Mapping[str, Any]) -> bool:
    """Running, with every container's state running (Kubernetes' "all containers
    reported as started")."""
    statuses = status.get("containerStatuses") or []
    return (
        status.get("phase") == "Running"
        and bool(statuses)
        and all("running" in (cs.get("state") or {}) for cs in statuses)
    )


class PodStartTracker:
    """Observes each pod's start once: the first status this kubelet computes with
    every container started. A pod that was started already when first seen (a
    restarted kubelet adopting it) is not observed."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._done: set[str] = set()

    def status_computed(self, pod: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        md = pod.get("metadata") or {}
        uid = md.get("uid", "")
        if uid in self._done:
            return
        if all_started(pod.get("status") or {}):
            self._done.add(uid)  # started before we looked
            return
        if not all_started(status):
            return
        self._done.add(uid)
        created = parse_time(md.get("creationTimestamp") or "")
        if created is not None:
            POD_START_SLI.observe(max(0.0, self.clock() - created))

    def forget(self, uid: str) -> None:
        self._done.discard(uid)
