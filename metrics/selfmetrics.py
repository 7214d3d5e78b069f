"""The metrics server's own /metrics, under metrics-server's names: how its kubelet
scrapes go (`metrics_server_kubelet_request_total` by success,
`metrics_server_kubelet_request_duration_seconds`), how long a whole scrape round
takes (`metrics_server_manager_tick_duration_seconds`) and how many points it holds
(`metrics_server_storage_points` by type)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from metrics.storage import MetricsStore

# The metrics server's own families, apart from the process-wide ones: beside the
# ingress controller in `python -m addons`, each /metrics shows only its own component's.
OWN_REGISTRY = CollectorRegistry()

KUBELET_REQUESTS = Counter(
    "metrics_server_kubelet_request_total",
    "Kubelet scrapes, by whether they succeeded.",
    ["success"],
    registry=OWN_REGISTRY,
)
KUBELET_REQUEST_SECONDS = Histogram(
    "metrics_server_kubelet_request_duration_seconds",
    "How long a kubelet scrape took, by node.",
    ["node"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=OWN_REGISTRY,
)
TICK_SECONDS = Histogram(
    "metrics_server_manager_tick_duration_seconds",
    "How long a scrape round over every node took.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=OWN_REGISTRY,
)


class StoragePoints(Collector):
    """The store's latest points at scrape time: one per node, one per container."""

    def __init__(self, store: MetricsStore) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        nodes, containers = self.store.point_counts()
        family = GaugeMetricFamily(
            "metrics_server_storage_points", "Metric points held, by type.", labels=["type"]
        )
        family.add_metric(["node"], nodes)
        family.add_metric(["container"], containers)
        yield family


def register_storage(store: MetricsStore, registry: CollectorRegistry = OWN_REGISTRY) -> Collector:
    collector = StoragePoints(store)
    registry.register(collector)
    return collector
