"""The ingress controller's request counts, under ingress-nginx's metric name.

The proxy's hot path adds one to a plain Counter per answered request (a dict
update: the fast path's budget has no room for prometheus_client's locks and label
lookups); a collector turns the counts into `nginx_ingress_controller_requests` when
/metrics is read. Labels are ingress-nginx's where minik knows them: the backend
Service's namespace and name (empty for a request no rule matched), the method and
the status sent to the client. An upgraded connection (WebSocket) is counted only
when refused here (502): the backend's answer to it is spliced through unread."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from ingress.routing import Backend

RequestKey = tuple[str, str, str, int]  # namespace, service, method, status

LABELS = ["namespace", "service", "method", "status"]

# The ingress controller's own families, apart from the process-wide ones: beside the
# metrics server in `python -m addons`, each /metrics shows only its own component's.
OWN_REGISTRY = CollectorRegistry()


class RequestCounts:
    """Answered requests by backend Service, method and status."""

    def __init__(self) -> None:
        self.counts: Counter[RequestKey] = Counter()

    def add(self, backend: Backend | None, method: str, status: int) -> None:
        if backend is None:
            self.counts["", "", method, status] += 1
        else:
            self.counts[backend.namespace, backend.service, method, status] += 1


class RequestCollector(Collector):
    """Reads a RequestCounts at scrape time."""

    def __init__(self, requests: RequestCounts) -> None:
        self.requests = requests

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "nginx_ingress_controller_requests",
            "The total number of client requests, by backend Service, method and status.",
            labels=LABELS,
        )
        for (namespace, service, method, status), count in sorted(self.requests.counts.items()):
            family.add_metric([namespace, service, method, str(status)], count)
        yield family


def register(requests: RequestCounts, registry: CollectorRegistry = OWN_REGISTRY) -> Collector:
    """Expose `requests` in `registry`; returns the collector (to unregister it)."""
    collector = RequestCollector(requests)
    registry.register(collector)
    return collector
