"""Lock-free metric families: what a scrape of them says, parsed by Prometheus' own
parser, equals what prometheus_client's classes would say."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from componentbase.loopmetrics import Counter, Gauge, Histogram, register


def test_families_scrape_as_prometheus_text():
    registry = CollectorRegistry()
    requests = Counter("req_total", "Requests.", ["verb", "code"])
    inflight = Gauge("inflight", "In flight.", ["kind"])
    latency = Histogram("lat_seconds", "Latency.", ["verb"], buckets=(0.1, 1))
    register(requests, inflight, latency, registry=registry)
    requests.labels("GET", "200").inc()
    requests.labels("GET", "200").inc(2)
    gauge = inflight.labels("readOnly")
    gauge.inc()
    gauge.inc()
    gauge.dec()
    for value in (0.05, 0.1, 0.5, 3.0):
        latency.labels("GET").observe(value)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }
    assert samples[("req_total", (("code", "200"), ("verb", "GET")))] == 3
    assert samples[("inflight", (("kind", "readOnly"),))] == 1
    bucket = "lat_seconds_bucket"
    assert samples[(bucket, (("le", "0.1"), ("verb", "GET")))] == 2  # le is inclusive
    assert samples[(bucket, (("le", "1.0"), ("verb", "GET")))] == 3
    assert samples[(bucket, (("le", "+Inf"), ("verb", "GET")))] == 4
    assert samples[("lat_seconds_count", (("verb", "GET"),))] == 4
    assert samples[("lat_seconds_sum", (("verb", "GET"),))] == 3.65
