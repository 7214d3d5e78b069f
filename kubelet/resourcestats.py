"""The kubelet's resource metrics: `/metrics/resource` (Prometheus text) and
`/stats/summary` (the Summary API's JSON), from one snapshot of cgroup samples.

Pure: `Snapshot` is built from container records and their samples; the rendering
follows Kubernetes' kubelet (metric names, HELP texts, labels, millisecond
timestamps; Summary's `node`/`pods` shape, `usageNanoCores` from the previous sample).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.timefmt import rfc3339
from kubelet.cgroupstats import Usage


@dataclass(frozen=True)
class ContainerStats:
    namespace: str
    pod: str
    pod_uid: str
    name: str
    start_time: float | None
    usage: Usage
    nano_cores: int | None = None


@dataclass
class PodStats:
    namespace: str
    name: str
    uid: str
    start_time: float | None
    containers: list[ContainerStats] = field(default_factory=list)

    @property
    def cpu_seconds(self) -> float:
        return sum(c.usage.cpu_seconds for c in self.containers)

    @property
    def working_set(self) -> int:
        return sum(c.usage.working_set_bytes for c in self.containers)

    @property
    def timestamp(self) -> float:
        return max((c.usage.timestamp for c in self.containers), default=0.0)

    @property
    def nano_cores(self) -> int | None:
        rates = [c.nano_cores for c in self.containers]
        return None if any(r is None for r in rates) else sum(r or 0 for r in rates)


@dataclass
class Snapshot:
    node_name: str
    node_start: float
    node: Usage | None
    node_nano_cores: int | None
    memory_capacity: int
    pods: list[PodStats]
    error: bool = False


def nano_cores(previous: Usage | None, current: Usage) -> int | None:
    """The CPU rate between two samples, in billionths of a core (as cAdvisor)."""
    if previous is None or current.timestamp <= previous.timestamp:
        return None
    delta = current.cpu_seconds - previous.cpu_seconds
    if delta < 0:  # the counter restarted (a new container with the same id: never)
        return None
    return int(delta / (current.timestamp - previous.timestamp) * 1e9)


# ---- /metrics/resource ------------------------------------------------------------
_HELP = {
    "container_cpu_usage_seconds_total": (
        "counter",
        "[STABLE] Cumulative cpu time consumed by the container in core-seconds",
    ),
    "container_memory_working_set_bytes": (
        "gauge",
        "[STABLE] Current working set of the container in bytes",
    ),
    "container_start_time_seconds": (
        "gauge",
        "[STABLE] Start time of the container since unix epoch in seconds",
    ),
    "node_cpu_usage_seconds_total": (
        "counter",
        "[STABLE] Cumulative cpu time consumed by the node in core-seconds",
    ),
    "node_memory_working_set_bytes": ("gauge", "[STABLE] Current working set of the node in bytes"),
    "pod_cpu_usage_seconds_total": (
        "counter",
        "[STABLE] Cumulative cpu time consumed by the pod in core-seconds",
    ),
    "pod_memory_working_set_bytes": ("gauge", "[STABLE] Current working set of the pod in bytes"),
    "resource_scrape_error": (
        "gauge",
        "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
    ),
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def _number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def prometheus_text(snap: Snapshot) -> str:
    """`/metrics/resource` as the kubelet answers it (text format 0.0.4)."""
    samples: dict[str, list[str]] = {name: [] for name in _HELP}

    def add(name: str, value: float, ts: float | None, **labels: str) -> None:
        stamp = f" {int(ts * 1000)}" if ts else ""
        samples[name].append(f"{name}{_labels(**labels)} {_number(value)}{stamp}")

    for pod in snap.pods:
        for c in pod.containers:
            who = {"container": c.name, "namespace": c.namespace, "pod": c.pod}
            add("container_cpu_usage_seconds_total", c.usage.cpu_seconds, c.usage.timestamp, **who)
            add(
                "container_memory_working_set_bytes",
                c.usage.working_set_bytes,
                c.usage.timestamp,
                **who,
            )
            if c.start_time:
                add("container_start_time_seconds", c.start_time, c.usage.timestamp, **who)
        if pod.containers:
            who = {"namespace": pod.namespace, "pod": pod.name}
            add("pod_cpu_usage_seconds_total", pod.cpu_seconds, pod.timestamp, **who)
            add("pod_memory_working_set_bytes", pod.working_set, pod.timestamp, **who)
    if snap.node is not None:
        add("node_cpu_usage_seconds_total", snap.node.cpu_seconds, snap.node.timestamp)
        add("node_memory_working_set_bytes", snap.node.working_set_bytes, snap.node.timestamp)
    add("resource_scrape_error", 1 if snap.error else 0, None)
    lines: list[str] = []
    for name, (kind, text) in _HELP.items():
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(samples[name])
    return "\n".join(lines) + "\n"


# ---- /stats/summary ---------------------------------------------------------------
def _cpu(usage: Usage, rate: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "time": rfc3339(usage.timestamp),
        "usageCoreNanoSeconds": int(usage.cpu_seconds * 1e9),
    }
    if rate is not None:
        out["usageNanoCores"] = rate
    return out


def _memory(usage: Usage, capacity: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "time": rfc3339(usage.timestamp),
        "usageBytes": usage.usage_bytes,
        "workingSetBytes": usage.working_set_bytes,
        "rssBytes": usage.rss_bytes,
        "pageFaults": 0,
        "majorPageFaults": 0,
    }
    if capacity:
        out["availableBytes"] = max(0, capacity - usage.working_set_bytes)
    return out


def summary(snap: Snapshot) -> dict[str, Any]:
    """`/stats/summary`: Kubernetes' statsapi.Summary (cpu and memory only)."""
    node: dict[str, Any] = {
        "nodeName": snap.node_name,
        "startTime": rfc3339(snap.node_start),
        "systemContainers": [],
    }
    if snap.node is not None:
        node["cpu"] = _cpu(snap.node, snap.node_nano_cores)
        node["memory"] = _memory(snap.node, snap.memory_capacity)
    pods = []
    for pod in snap.pods:
        containers = []
        for c in pod.containers:
            entry: dict[str, Any] = {
                "name": c.name,
                "startTime": rfc3339(c.start_time or c.usage.timestamp),
                "cpu": _cpu(c.usage, c.nano_cores),
                "memory": _memory(c.usage),
            }
            containers.append(entry)
        item: dict[str, Any] = {
            "podRef": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
            "startTime": rfc3339(pod.start_time or pod.timestamp or snap.node_start),
            "containers": containers,
        }
        if pod.containers:
            ts = pod.timestamp
            cores = pod.nano_cores
            item["cpu"] = {
                "time": rfc3339(ts),
                "usageCoreNanoSeconds": int(pod.cpu_seconds * 1e9),
                **({"usageNanoCores": cores} if cores is not None else {}),
            }
            item["memory"] = {
                "time": rfc3339(ts),
                "usageBytes": sum(c.usage.usage_bytes for c in pod.containers),
                "workingSetBytes": pod.working_set,
                "rssBytes": sum(c.usage.rss_bytes for c in pod.containers),
            }
        pods.append(item)
    return {"node": node, "pods": pods}
