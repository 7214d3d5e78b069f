"""Work queue metrics in Prometheus, with client-go's names (label `name`: the queue's):
workqueue_depth, workqueue_adds_total, workqueue_queue_duration_seconds,
workqueue_work_duration_seconds, workqueue_retries_total, and, computed when scraped,
workqueue_unfinished_work_seconds and workqueue_longest_running_processor_seconds.

`install()` makes every `client.workqueue.WorkQueue` made afterwards report here
(client-go's workqueue.SetProvider, which kube-controller-manager calls at start).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Hashable, Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from client import workqueue

# client-go: prometheus.ExponentialBuckets(10e-9, 10, 12)
BUCKETS = tuple(10e-9 * 10**i for i in range(12))

DEPTH = Gauge("workqueue_depth", "Current depth of workqueue", ["name"])
ADDS = Counter("workqueue_adds_total", "Total number of adds handled by workqueue", ["name"])
QUEUE_DURATION = Histogram(
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested.",
    ["name"],
    buckets=BUCKETS,
)
WORK_DURATION = Histogram(
    "workqueue_work_duration_seconds",
    "How long in seconds processing an item from workqueue takes.",
    ["name"],
    buckets=BUCKETS,
)
RETRIES = Counter(
    "workqueue_retries_total", "Total number of retries handled by workqueue", ["name"]
)


class PrometheusQueueMetrics:
    """One queue's reporting; the clock is a parameter for the unit tests."""

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.clock = clock
        self.depth = DEPTH.labels(name)
        self.adds = ADDS.labels(name)
        self.queue_duration = QUEUE_DURATION.labels(name)
        self.work_duration = WORK_DURATION.labels(name)
        self.retries = RETRIES.labels(name)
        self.added_at: dict[Hashable, float] = {}
        self.processing_since: dict[Hashable, float] = {}

    def add(self, key: Hashable) -> None:
        self.adds.inc()
        self.depth.inc()
        self.added_at.setdefault(key, self.clock())

    def get(self, key: Hashable) -> None:
        self.depth.dec()
        now = self.clock()
        self.processing_since[key] = now
        added = self.added_at.pop(key, None)
        if added is not None:
            self.queue_duration.observe(now - added)

    def done(self, key: Hashable) -> None:
        began = self.processing_since.pop(key, None)
        if began is not None:
            self.work_duration.observe(self.clock() - began)

    def retry(self) -> None:
        self.retries.inc()

    def unfinished(self) -> tuple[float, float]:
        """(seconds of work in progress summed over keys, the longest one)."""
        now = self.clock()
        ages = [now - t for t in self.processing_since.values()]
        return sum(ages), max(ages, default=0.0)


class _Provider:
    def __init__(self) -> None:
        self.queues: weakref.WeakSet[PrometheusQueueMetrics] = weakref.WeakSet()

    def new_queue_metrics(self, name: str) -> PrometheusQueueMetrics:
        metrics = PrometheusQueueMetrics(name)
        self.queues.add(metrics)
        return metrics


class _InProgress(Collector):
    """The two gauges client-go refreshes twice a second, computed when scraped."""

    def __init__(self, provider: _Provider) -> None:
        self.provider = provider

    def collect(self) -> Iterator[GaugeMetricFamily]:
        unfinished = GaugeMetricFamily(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been "
            "observed by work_duration.",
            labels=["name"],
        )
        longest = GaugeMetricFamily(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            labels=["name"],
        )
        by_name: dict[str, tuple[float, float]] = {}
        for queue in list(self.provider.queues):
            total, top = queue.unfinished()
            seen_total, seen_top = by_name.get(queue.name, (0.0, 0.0))
            by_name[queue.name] = (seen_total + total, max(seen_top, top))
        for name, (total, top) in sorted(by_name.items()):
            unfinished.add_metric([name], total)
            longest.add_metric([name], top)
        yield unfinished
        yield longest


_installed: _Provider | None = None


def install() -> None:
    """Report every work queue made from now on (idempotent)."""
    global _installed
    if _installed is None:
        _installed = _Provider()
        REGISTRY.register(_InProgress(_installed))
    workqueue.set_metrics_provider(_installed)
