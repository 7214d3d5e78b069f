"""From two scrapes to NodeMetrics and PodMetrics."""

from __future__ import annotations

from metrics.storage import (
    MetricsStore,
    NodeScrape,
    Point,
    from_samples,
    memory_quantity,
    node_metrics,
    pod_metrics,
)
from metrics.textformat import parse

NODE = {"metadata": {"name": "n1", "labels": {"a": "b"}}}
POD = {
    "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
    "status": {
        "containerStatuses": [
            {"name": "app", "state": {"running": {}}},
            {"name": "done", "state": {"terminated": {}}},
        ]
    },
}


def _scrape(t: float, node_cpu: float, app_cpu: float) -> NodeScrape:
    ms = int(t * 1000)
    return from_samples(
        parse(
            f'container_cpu_usage_seconds_total{{container="app",namespace="ns",pod="web"}} '
            f"{app_cpu} {ms}\n"
            f'container_memory_working_set_bytes{{container="app",namespace="ns",pod="web"}} '
            f"2048 {ms}\n"
            f"node_cpu_usage_seconds_total {node_cpu} {ms}\n"
            f"node_memory_working_set_bytes 1048576 {ms}\n"
        ),
        t,
    )


def test_one_scrape_gives_no_rates_two_do() -> None:
    store = MetricsStore()
    store.store("n1", _scrape(100.0, 10.0, 1.0))
    assert store.node_usage("n1") is None
    assert store.container_usage() == {}
    store.store("n1", _scrape(110.0, 25.0, 3.5))
    node = store.node_usage("n1")
    assert node is not None and node.nano_cores == 1_500_000_000 and node.window == 10.0
    metrics = node_metrics(NODE, node)
    assert metrics["usage"] == {"cpu": "1500000000n", "memory": "1024Ki"}
    assert metrics["window"] == "10s"
    assert metrics["metadata"]["labels"] == {"a": "b"}
    containers = store.container_usage()[("ns", "web")]
    pod = pod_metrics(POD, containers)
    assert pod is not None
    assert pod["containers"] == [{"name": "app", "usage": {"cpu": "250000000n", "memory": "2Ki"}}]


def test_a_restarted_counter_starts_over() -> None:
    store = MetricsStore()
    store.store("n1", _scrape(100.0, 10.0, 5.0))
    store.store("n1", _scrape(110.0, 20.0, 1.0))
    assert store.container_usage() == {}


def test_a_pod_needs_every_running_container() -> None:
    store = MetricsStore()
    store.store("n1", _scrape(100.0, 10.0, 1.0))
    store.store("n1", _scrape(110.0, 20.0, 2.0))
    usage = store.container_usage()[("ns", "web")]
    two = {
        **POD,
        "status": {
            "containerStatuses": [
                {"name": "app", "state": {"running": {}}},
                {"name": "other", "state": {"running": {}}},
            ]
        },
    }
    assert pod_metrics(two, usage) is None


def test_forgotten_nodes_and_memory_quantities() -> None:
    store = MetricsStore()
    store.store("gone", NodeScrape(Point(1, 1, 1)))
    store.forget({"n1"})
    assert store.node_usage("gone") is None
    assert memory_quantity(3072) == "3Ki"
    assert memory_quantity(1000) == "1000"
    assert memory_quantity(0) == "0"
