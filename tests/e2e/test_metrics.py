"""The resource metrics pipeline on real Docker: a real kubelet reads its containers'
cgroups and serves /metrics/resource and /stats/summary; the real metrics server
scrapes it and, behind the apiserver's aggregation layer, answers `kubectl top` (the
machine's kubectl, 1.27 and 1.33). A busy-looping container shows real CPU use, an
idle one next to none."""

from __future__ import annotations

import secrets
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy import processes
from deploy.controlplane import ApiServer
from metrics.textformat import parse
from tests.e2e.conftest import KubeletProcess, create_pod, is_ready, pod_manifest, wait_pod
from tests.support.kubectl import MINORS, installed_kubectl
from tests.support.scrape import scrape
from tests.support.wait import eventually

BURN = "while true; do :; done"


@pytest.fixture(scope="module")
def metrics_ns(
    apiserver: ApiServer,
    kubelet: KubeletProcess,
    busybox: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """A namespace with a CPU-burning pod and an idle one on the session's kubelet,
    and the metrics server scraping every second; its registration is removed after."""
    name = f"metrics-{secrets.token_hex(3)}"
    workdir = tmp_path_factory.mktemp("metrics")
    argv = [
        sys.executable,
        "-m",
        "metrics",
        "--kubeconfig",
        str(apiserver.kubeconfig),
        "--port",
        "0",
        "--metric-resolution",
        "1s",
    ]
    proc = processes.spawn("metrics", argv, workdir / "metrics.log")
    with apiserver.http() as api:
        try:
            r = api.post("/api/v1/namespaces", json={"metadata": {"name": name}})
            assert r.status_code == 201, r.text
            for pod, command in (("burn", BURN), ("idle", "sleep 3600")):
                container = {"name": "main", "image": busybox, "command": ["sh", "-c", command]}
                create_pod(api, name, pod_manifest(pod, kubelet.node, [container]))
            for pod in ("burn", "idle"):
                wait_pod(api, name, pod, is_ready, 60, "Ready")
            yield name
        finally:  # also when the pods never got Ready: the metrics server stops here
            proc.stop()
            api.delete(f"/api/v1/namespaces/{name}")
            api.delete("/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io")
            api.delete("/api/v1/namespaces/kube-system/services/metrics-server")
            api.delete("/api/v1/namespaces/kube-system/endpoints/metrics-server")


def _millicores(text: str) -> int:
    return int(text.removesuffix("m")) if text.endswith("m") else int(float(text) * 1000)


def test_kubelet_serves_resource_metrics_and_summary(
    apiserver: ApiServer, kubelet: KubeletProcess, metrics_ns: str
) -> None:
    with kubelet.http() as anonymous:
        assert anonymous.get("/metrics/resource", timeout=10).status_code == 401
    admin = kubelet.http(apiserver.token)
    text = admin.get("/metrics/resource", timeout=10).text
    samples = {(s.name, s.labels.get("pod")): s for s in parse(text)}
    burn = samples[("container_cpu_usage_seconds_total", "burn")]
    assert burn.labels == {"container": "main", "namespace": metrics_ns, "pod": "burn"}
    assert burn.value > 0 and burn.timestamp is not None
    assert samples[("container_memory_working_set_bytes", "idle")].value > 0
    assert samples[("node_cpu_usage_seconds_total", None)].value > burn.value
    assert samples[("resource_scrape_error", None)].value == 0

    def summary_with_rates() -> dict:
        doc = admin.get("/stats/summary", timeout=10).json()
        pod = next(p for p in doc["pods"] if p["podRef"]["name"] == "burn")
        assert "usageNanoCores" in pod["containers"][0]["cpu"], pod
        return doc

    doc = eventually(summary_with_rates, timeout=10, message="a summary with CPU rates")
    assert doc["node"]["nodeName"] == kubelet.node
    assert doc["node"]["memory"]["workingSetBytes"] > 0
    burn_pod = next(p for p in doc["pods"] if p["podRef"]["name"] == "burn")
    assert burn_pod["podRef"]["namespace"] == metrics_ns
    assert burn_pod["containers"][0]["name"] == "main"
    idle_pod = next(p for p in doc["pods"] if p["podRef"]["name"] == "idle")
    burning = burn_pod["containers"][0]["cpu"]["usageNanoCores"]
    # Relative, not absolute: on a loaded 2-core machine a busy loop may get 5% of a core.
    assert burning > 10_000_000, burn_pod
    assert burning > 10 * idle_pod["containers"][0]["cpu"].get("usageNanoCores", 0), doc["pods"]


def test_kubelet_serves_its_own_prometheus_metrics(
    apiserver: ApiServer, kubelet: KubeletProcess, metrics_ns: str
) -> None:
    """/metrics beside /metrics/resource: the kubelet's own work, Kubernetes' names,
    parsed with Prometheus' parser; the same token check."""
    with kubelet.http() as anonymous:
        assert anonymous.get("/metrics", timeout=10).status_code == 401
    with kubelet.http("nope") as wrong:
        assert wrong.get("/metrics", timeout=10).status_code == 401
    verify = ssl.create_default_context(cafile=str(apiserver.ca_file))
    metrics = scrape(f"{kubelet.url}/metrics", apiserver.token, verify)
    assert metrics.value("kubelet_running_pods") >= 2  # burn and idle, at least
    assert metrics.value("kubelet_pod_start_sli_duration_seconds_count") >= 2
    # both pods started within a minute of their creation (Ready was waited for)
    assert metrics.value("kubelet_pod_start_sli_duration_seconds_bucket", le="60.0") >= 2
    assert metrics.value("kubelet_pleg_relist_duration_seconds_count") >= 1
    for operation in ("list_containers", "container_status", "create_container", "start_container"):
        assert (
            metrics.value(
                "kubelet_runtime_operations_duration_seconds_count", operation_type=operation
            )
            >= 1
        ), operation
        assert metrics.value("kubelet_runtime_operations_total", operation_type=operation) >= 1


@pytest.mark.parametrize("minor", MINORS)
def test_kubectl_top(
    apiserver: ApiServer,
    kubelet: KubeletProcess,
    metrics_ns: str,
    minor: str | None,
    tmp_path: Path,
) -> None:
    kubectl = installed_kubectl(minor, apiserver.kubeconfig, tmp_path / "cache")

    def top_pods() -> dict[str, list[str]]:
        result = kubectl.run("top", "pod", "-n", metrics_ns, check=False)
        assert result.ok, result
        rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
        assert {"burn", "idle"} <= set(rows), result.stdout
        return rows

    rows = eventually(top_pods, timeout=30, message="kubectl top pod")
    # A busy loop: a whole core on a quiet machine, its share of two on a busy one (CI
    # once saw 178-192m at a load average of 8); the idle pod stays near zero.
    assert _millicores(rows["burn"][1]) > 100, rows
    assert _millicores(rows["idle"][1]) < 50, rows
    assert rows["idle"][2].endswith("Mi") or rows["idle"][2].endswith("Ki"), rows

    out = kubectl.run("top", "pod", "-A", "--containers").stdout
    assert out.splitlines()[0].split()[:3] == ["NAMESPACE", "POD", "NAME"], out
    assert any(line.split()[:3] == [metrics_ns, "burn", "main"] for line in out.splitlines())

    out = kubectl.run("top", "node", kubelet.node).stdout
    row = out.splitlines()[1].split()
    assert row[0] == kubelet.node and _millicores(row[1]) > 100, out
