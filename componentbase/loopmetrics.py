"""Metric families for code that runs on one event loop: counters, gauges and
histograms with no lock, read by a collector when scraped.

prometheus_client guards every value with a lock (its metrics may be touched from
any thread); an observation then costs microseconds. On a hot path that only ever
runs on the event loop's thread — the apiserver's request path, its etcd calls — a
plain integer add is enough, and the text a scrape answers is the same. Use these
there; prometheus_client's own classes everywhere else.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

Labels = tuple[str, ...]


class CounterValue:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class GaugeValue(CounterValue):
    __slots__ = ()

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount


class HistogramValue:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one: above every bound (+Inf)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value


class _Family:
    kind = ""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name, self.documentation = name, documentation
        self.labelnames = list(labelnames)
        self.children: dict[Labels, object] = {}

    def collect(self) -> Metric:
        raise NotImplementedError


class Counter(_Family):
    def labels(self, *values: str) -> CounterValue:
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = CounterValue()
        return child  # type: ignore[return-value]

    def collect(self) -> Metric:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, child in list(self.children.items()):
            family.add_metric(list(labels), child.value)  # type: ignore[attr-defined]
        return family


class Gauge(_Family):
    def labels(self, *values: str) -> GaugeValue:
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = GaugeValue()
        return child  # type: ignore[return-value]

    def collect(self) -> Metric:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, child in list(self.children.items()):
            family.add_metric(list(labels), child.value)  # type: ignore[attr-defined]
        return family


class Histogram(_Family):
    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]
    ) -> None:
        super().__init__(name, documentation, labelnames)
        self.bounds = tuple(sorted(float(b) for b in buckets))
        self._les = [floatToGoString(b) for b in self.bounds] + ["+Inf"]

    def labels(self, *values: str) -> HistogramValue:
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = HistogramValue(self.bounds)
        return child  # type: ignore[return-value]

    def collect(self) -> Metric:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, child in list(self.children.items()):
            running, buckets = 0, []
            for le, count in zip(self._les, child.counts, strict=True):  # type: ignore[attr-defined]
                running += count
                buckets.append((le, running))
            family.add_metric(list(labels), buckets, sum_value=child.sum)  # type: ignore[attr-defined]
        return family


class _Collector(Collector):
    def __init__(self, families: Iterable[_Family]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        for family in self.families:
            yield family.collect()


def register(*families: _Family, registry: CollectorRegistry = REGISTRY) -> None:
    """Serve these families from `registry` (once per process)."""
    registry.register(_Collector(families))
