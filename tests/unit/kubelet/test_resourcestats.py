"""The kubelet's /metrics/resource text and /stats/summary JSON from a snapshot."""

from __future__ import annotations

from kubelet.cgroupstats import Usage
from kubelet.resourcestats import (
    ContainerStats,
    PodStats,
    Snapshot,
    nano_cores,
    prometheus_text,
    summary,
)


def _snapshot() -> Snapshot:
    app = ContainerStats("ns", "web", "uid-1", "app", 50.0, Usage(2.5, 1024, 100.0, 10, 2048), 5)
    side = ContainerStats("ns", "web", "uid-1", "side", 60.0, Usage(0.5, 512, 100.5, 0, 512), 7)
    pod = PodStats("ns", "web", "uid-1", 40.0, [app, side])
    return Snapshot("n1", 10.0, Usage(9.0, 4096, 101.0, 0, 8192), 3, 1 << 20, [pod])


def test_nano_cores_is_the_rate_between_samples() -> None:
    assert nano_cores(None, Usage(1, 0, 10)) is None
    assert nano_cores(Usage(1.0, 0, 10.0), Usage(1.5, 0, 12.0)) == 250_000_000
    assert nano_cores(Usage(2.0, 0, 10.0), Usage(1.0, 0, 12.0)) is None  # counter restarted
    assert nano_cores(Usage(1.0, 0, 10.0), Usage(2.0, 0, 10.0)) is None  # same instant


def test_prometheus_text_has_kubernetes_names_labels_and_ms_timestamps() -> None:
    text = prometheus_text(_snapshot())
    lines = text.splitlines()
    assert "# TYPE container_cpu_usage_seconds_total counter" in lines
    assert (
        'container_cpu_usage_seconds_total{container="app",namespace="ns",pod="web"} 2.5 100000'
        in lines
    )
    assert (
        'container_memory_working_set_bytes{container="side",namespace="ns",pod="web"} 512 100500'
        in lines
    )
    assert 'pod_cpu_usage_seconds_total{namespace="ns",pod="web"} 3 100500' in lines
    assert 'pod_memory_working_set_bytes{namespace="ns",pod="web"} 1536 100500' in lines
    assert "node_cpu_usage_seconds_total 9 101000" in lines
    assert "node_memory_working_set_bytes 4096 101000" in lines
    assert "resource_scrape_error 0" in lines
    assert text.endswith("\n")


def test_summary_shape() -> None:
    doc = summary(_snapshot())
    node = doc["node"]
    assert node["nodeName"] == "n1"
    assert node["cpu"]["usageNanoCores"] == 3
    assert node["cpu"]["usageCoreNanoSeconds"] == 9_000_000_000
    assert node["memory"]["workingSetBytes"] == 4096
    assert node["memory"]["availableBytes"] == (1 << 20) - 4096
    (pod,) = doc["pods"]
    assert pod["podRef"] == {"name": "web", "namespace": "ns", "uid": "uid-1"}
    assert [c["name"] for c in pod["containers"]] == ["app", "side"]
    assert pod["cpu"]["usageNanoCores"] == 12
    assert pod["memory"]["workingSetBytes"] == 1536
    assert pod["containers"][0]["memory"]["usageBytes"] == 2048
