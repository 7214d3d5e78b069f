"""What the metrics server knows: the last two scrapes of each node and container,
and the `metrics.k8s.io/v1beta1` objects computed from them (pure).

As Kubernetes' metrics-server: CPU usage is the rate of the cumulative counter
between the two latest points (so an object needs two scrapes before it has
metrics), memory is the latest working set, `window` is the time between the
points; a pod is listed only when every one of its running containers has metrics.
A counter that went down (a restarted container) starts over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.timefmt import rfc3339
from metrics.textformat import Sample

GROUP = "metrics.k8s.io"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"


@dataclass(frozen=True)
class Point:
    cpu_seconds: float
    timestamp: float
    working_set: int


@dataclass
class NodeScrape:
    """One kubelet's answer, reduced to points."""

    node: Point | None = None
    containers: dict[tuple[str, str, str], Point] = field(default_factory=dict)  # ns, pod, c


def from_samples(samples: list[Sample], scraped_at: float) -> NodeScrape:
    """Pair each cpu counter with its working set (the kubelet writes both)."""
    cpu: dict[tuple[str, str, str], tuple[float, float]] = {}
    mem: dict[tuple[str, str, str], float] = {}
    for s in samples:
        ts = s.timestamp or scraped_at
        if s.name in ("container_cpu_usage_seconds_total", "node_cpu_usage_seconds_total"):
            key = _key(s)
            if key is not None:
                cpu[key] = (s.value, ts)
        elif s.name in ("container_memory_working_set_bytes", "node_memory_working_set_bytes"):
            key = _key(s)
            if key is not None:
                mem[key] = s.value
    out = NodeScrape()
    for key, (seconds, ts) in cpu.items():
        if key not in mem:
            continue
        point = Point(seconds, ts, int(mem[key]))
        if key == ("", "", ""):
            out.node = point
        else:
            out.containers[key] = point
    return out


def _key(s: Sample) -> tuple[str, str, str] | None:
    if s.name.startswith("node_"):
        return ("", "", "")
    ns, pod, c = s.labels.get("namespace"), s.labels.get("pod"), s.labels.get("container")
    return (ns, pod, c) if ns and pod and c else None


@dataclass(frozen=True)
class Usage:
    nano_cores: int
    working_set: int
    timestamp: float
    window: float


def usage(previous: Point | None, current: Point) -> Usage | None:
    if previous is None or current.timestamp <= previous.timestamp:
        return None
    delta = current.cpu_seconds - previous.cpu_seconds
    if delta < 0:
        return None
    window = current.timestamp - previous.timestamp
    return Usage(int(delta / window * 1e9), current.working_set, current.timestamp, window)


def cpu_quantity(nano_cores: int) -> str:
    return f"{nano_cores}n"


def memory_quantity(working_set: int) -> str:
    """BinarySI, as resource.NewQuantity prints bytes: Ki when it divides, else bytes."""
    return (
        f"{working_set // 1024}Ki" if working_set and working_set % 1024 == 0 else str(working_set)
    )


def _window(seconds: float) -> str:
    """A Go duration, as metav1.Duration prints it ("15.002s")."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"{text}s"


class MetricsStore:
    """The last two scrapes per node (by node name)."""

    def __init__(self) -> None:
        self._nodes: dict[str, tuple[NodeScrape | None, NodeScrape]] = {}

    def store(self, node: str, scrape: NodeScrape) -> None:
        previous = self._nodes.get(node)
        self._nodes[node] = (previous[1] if previous else None, scrape)

    def forget(self, keep: set[str]) -> None:
        for name in [n for n in self._nodes if n not in keep]:
            del self._nodes[name]

    def point_counts(self) -> tuple[int, int]:
        """(node points, container points) of the latest scrapes."""
        latest = [current for _, current in self._nodes.values()]
        return (
            sum(1 for scrape in latest if scrape.node is not None),
            sum(len(scrape.containers) for scrape in latest),
        )

    def node_usage(self, node: str) -> Usage | None:
        pair = self._nodes.get(node)
        if pair is None or pair[1].node is None:
            return None
        return usage(pair[0].node if pair[0] else None, pair[1].node)

    def container_usage(self) -> dict[tuple[str, str], dict[str, Usage]]:
        """(namespace, pod) → container → usage, over every node."""
        out: dict[tuple[str, str], dict[str, Usage]] = {}
        for previous, current in self._nodes.values():
            for key, point in current.containers.items():
                before = previous.containers.get(key) if previous else None
                u = usage(before, point)
                if u is not None:
                    out.setdefault((key[0], key[1]), {})[key[2]] = u
        return out


def node_metrics(node: dict[str, Any], u: Usage) -> dict[str, Any]:
    md = node.get("metadata") or {}
    return {
        "kind": "NodeMetrics",
        "apiVersion": API_VERSION,
        "metadata": {
            "name": md.get("name", ""),
            "creationTimestamp": rfc3339(),
            "labels": dict(md.get("labels") or {}),
        },
        "timestamp": rfc3339(u.timestamp),
        "window": _window(u.window),
        "usage": {"cpu": cpu_quantity(u.nano_cores), "memory": memory_quantity(u.working_set)},
    }


def pod_metrics(pod: dict[str, Any], containers: dict[str, Usage]) -> dict[str, Any] | None:
    """The pod's metrics, or None unless every running container has some."""
    md = pod.get("metadata") or {}
    running = [
        s.get("name", "")
        for s in (pod.get("status") or {}).get("containerStatuses") or []
        if "running" in (s.get("state") or {})
    ]
    if not running or any(name not in containers for name in running):
        return None
    entries = [
        {
            "name": name,
            "usage": {
                "cpu": cpu_quantity(containers[name].nano_cores),
                "memory": memory_quantity(containers[name].working_set),
            },
        }
        for name in running
    ]
    newest = max(containers[name].timestamp for name in running)
    window = max(containers[name].window for name in running)
    return {
        "kind": "PodMetrics",
        "apiVersion": API_VERSION,
        "metadata": {
            "name": md.get("name", ""),
            "namespace": md.get("namespace", ""),
            "creationTimestamp": rfc3339(),
            "labels": dict(md.get("labels") or {}),
        },
        "timestamp": rfc3339(newest),
        "window": _window(window),
        "containers": entries,
    }
