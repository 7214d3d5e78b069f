"""The resource metrics pipeline against a real etcd and apiserver, without Docker:
the real metrics server (`python -m metrics`) scrapes a stand-in kubelet (an HTTP
server answering `/metrics/resource` with counters that grow at known rates) and
serves metrics.k8s.io/v1beta1 through the apiserver's aggregation layer, which
authenticates itself with the shared request-header secret. Read with kubectl top
(1.27, the machine's and 1.33), the official Python client and plain HTTP."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy import processes
from deploy.controlplane import (
    ApiServer,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)
from tests.support.fakekubelet import FakeKubelet, node_manifest
from tests.support.kubectl import MINORS, Kubectl, installed_kubectl
from tests.support.scrape import Scrape, scrape
from tests.support.wait import eventually

NODE_CPU_CORES = 1.5
CONTAINER_CPU_CORES = 0.25
NODE_MEMORY = 2048 * 1024 * 1024
CONTAINER_MEMORY = 30 * 1024 * 1024


class Cluster:
    def __init__(
        self, api: ApiServer, node: str, namespace: str, workdir: Path, metrics_port: int
    ) -> None:
        self.api = api
        self.node = node
        self.namespace = namespace
        self.workdir = workdir
        self.metrics_port = metrics_port  # the metrics server's own /metrics


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """Its own etcd (the APIService must not reach other tests' apiservers), an
    apiserver with a request-header secret, a Node and a running Pod on the stand-in
    kubelet, and the metrics server scraping every second."""
    workdir = make_workdir("minik-metrics-it-")
    secret = workdir / "requestheader-secret"
    secret.write_text(secrets.token_hex(16) + "\n")
    etcd = start_etcd(workdir)
    api = start_apiserver(etcd, workdir / "apiserver", ["--requestheader-secret-file", str(secret)])
    node, namespace = f"mnode-{secrets.token_hex(3)}", "metrics-it"
    kubelet = FakeKubelet(NODE_CPU_CORES, NODE_MEMORY)
    kubelet.set_usage(namespace, "web", "app", CONTAINER_CPU_CORES, CONTAINER_MEMORY)
    proc = None
    metrics_port = processes.free_port()
    try:
        with api.http() as http:
            _create_objects(http, node, namespace, kubelet.port)
        argv = [
            sys.executable,
            "-m",
            "metrics",
            "--kubeconfig",
            str(api.kubeconfig),
            "--port",
            "0",
            "--metric-resolution",
            "1s",
            "--requestheader-secret-file",
            str(secret),
            "--metrics-bind-address",
            f"127.0.0.1:{metrics_port}",
            "--kubelet-insecure-tls",  # the stand-in kubelet's certificate is self-signed
        ]
        proc = processes.spawn("metrics", argv, workdir / "metrics.log")
        yield Cluster(api, node, namespace, workdir, metrics_port)
    finally:
        if proc is not None:
            proc.stop()
        kubelet.shutdown()
        api.stop()
        etcd.stop()
        remove_workdir(workdir)


def _create_objects(http: httpx.Client, node: str, namespace: str, port: int) -> None:
    r = http.post("/api/v1/nodes", json=node_manifest(node, port, {"tier": "metrics-test"}))
    assert r.status_code == 201, r.text
    r = http.post("/api/v1/namespaces", json={"metadata": {"name": namespace}})
    assert r.status_code == 201, r.text
    pod = {
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "busybox:1"}]},
    }
    r = http.post(f"/api/v1/namespaces/{namespace}/pods", json=pod)
    assert r.status_code == 201, r.text
    live = r.json()
    live["status"] = {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "app",
                "ready": True,
                "restartCount": 0,
                "image": "busybox:1",
                "imageID": "",
                "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
            }
        ],
    }
    r = http.put(f"/api/v1/namespaces/{namespace}/pods/web/status", json=live)
    assert r.status_code == 200, r.text


def _node_metrics(cluster: Cluster) -> dict[str, Any]:
    with cluster.api.http() as http:

        def ready() -> dict[str, Any]:
            r = http.get(f"/apis/metrics.k8s.io/v1beta1/nodes/{cluster.node}")
            assert r.status_code == 200, r.text
            return r.json()

        return eventually(ready, timeout=30, message="node metrics")


def test_apiservice_is_registered_and_available(cluster: Cluster, tmp_path: Path) -> None:
    _node_metrics(cluster)
    kubectl = Kubectl(cluster.api.kubeconfig, tmp_path / "cache")

    def available() -> str:
        out = kubectl.run("get", "apiservice", "v1beta1.metrics.k8s.io").stdout
        assert "kube-system/metrics-server" in out and "True" in out, out
        return out

    out = eventually(available, timeout=20, message="Available APIService")
    assert out.split()[:4] == ["NAME", "SERVICE", "AVAILABLE", "AGE"]
    with cluster.api.http() as http:
        ep = http.get("/api/v1/namespaces/kube-system/endpoints/metrics-server").json()
        svc = http.get("/api/v1/namespaces/kube-system/services/metrics-server").json()
    assert "selector" not in svc["spec"]
    assert ep["subsets"][0]["addresses"][0]["ip"] == "127.0.0.1"


def test_node_metrics_rates_and_shape(cluster: Cluster) -> None:
    metrics = _node_metrics(cluster)
    assert metrics["kind"] == "NodeMetrics"
    assert metrics["apiVersion"] == "metrics.k8s.io/v1beta1"
    assert metrics["metadata"]["labels"]["tier"] == "metrics-test"
    cpu = int(metrics["usage"]["cpu"].removesuffix("n"))
    assert abs(cpu / 1e9 - NODE_CPU_CORES) < 0.1, metrics
    assert metrics["usage"]["memory"] == f"{NODE_MEMORY // 1024}Ki"
    assert metrics["window"].endswith("s")


def test_discovery_lists_the_aggregated_group(cluster: Cluster, tmp_path: Path) -> None:
    _node_metrics(cluster)
    kubectl = Kubectl(cluster.api.kubeconfig, tmp_path / "cache")
    out = kubectl.run("api-resources", "--api-group=metrics.k8s.io").stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["nodes"][1:] == ["metrics.k8s.io/v1beta1", "false", "NodeMetrics"], out
    assert rows["pods"][1:] == ["metrics.k8s.io/v1beta1", "true", "PodMetrics"], out
    with cluster.api.http() as http:
        legacy = http.get("/apis").json()
        names = [g["name"] for g in legacy["groups"]]
        assert "metrics.k8s.io" in names
        group = http.get("/apis/metrics.k8s.io").json()
        assert group["preferredVersion"]["groupVersion"] == "metrics.k8s.io/v1beta1"
        resources = http.get("/apis/metrics.k8s.io/v1beta1").json()
        assert {r["name"] for r in resources["resources"]} == {"nodes", "pods"}
        accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        aggregated = http.get("/apis", headers={"Accept": accept}).json()
    item = next(i for i in aggregated["items"] if i["metadata"]["name"] == "metrics.k8s.io")
    version = item["versions"][0]
    assert version["version"] == "v1beta1"
    assert {r["resource"]: r["scope"] for r in version["resources"]} == {
        "nodes": "Cluster",
        "pods": "Namespaced",
    }


def test_pod_metrics_list_get_and_label_selectors(cluster: Cluster) -> None:
    _node_metrics(cluster)
    base = "/apis/metrics.k8s.io/v1beta1"
    with cluster.api.http() as http:
        pod = eventually(
            lambda: (
                http.get(f"{base}/namespaces/{cluster.namespace}/pods/web").json()
                if http.get(f"{base}/namespaces/{cluster.namespace}/pods/web").status_code == 200
                else None
            ),
            timeout=20,
            message="pod metrics",
        )
        assert pod["containers"][0]["name"] == "app"
        cpu = int(pod["containers"][0]["usage"]["cpu"].removesuffix("n"))
        assert abs(cpu / 1e9 - CONTAINER_CPU_CORES) < 0.05, pod
        everywhere = http.get(f"{base}/pods").json()
        assert [p["metadata"]["name"] for p in everywhere["items"]] == ["web"]
        matched = http.get(f"{base}/pods", params={"labelSelector": "app=web"}).json()
        assert len(matched["items"]) == 1
        unmatched = http.get(f"{base}/pods", params={"labelSelector": "app=other"}).json()
        assert unmatched["items"] == []
        nodes = http.get(f"{base}/nodes", params={"labelSelector": "tier=none"}).json()
        assert nodes["kind"] == "NodeMetricsList" and nodes["items"] == []
        missing = http.get(f"{base}/namespaces/{cluster.namespace}/pods/nope")
        assert missing.status_code == 404
        assert missing.json()["message"] == 'pods.metrics.k8s.io "nope" not found'


def test_backend_refuses_callers_without_the_apiserver_secret(cluster: Cluster) -> None:
    _node_metrics(cluster)
    with cluster.api.http() as http:
        ep = http.get("/api/v1/namespaces/kube-system/endpoints/metrics-server").json()
    port = ep["subsets"][0]["ports"][0]["port"]
    url = f"http://127.0.0.1:{port}/apis/metrics.k8s.io/v1beta1/nodes"
    forged = httpx.get(url, headers={"X-Remote-User": "someone"}, timeout=5)
    assert forged.status_code == 401
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200


def test_unauthenticated_callers_are_refused_by_the_apiserver(cluster: Cluster) -> None:
    """A token nobody knows is 401; no credential is `system:anonymous`, whom RBAC
    refuses: neither reaches the metrics server."""
    url = f"{cluster.api.url}/apis/metrics.k8s.io/v1beta1/nodes"
    verify = cluster.api.ssl_context()
    bad = httpx.get(url, verify=verify, timeout=5, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    anonymous = httpx.get(url, verify=verify, timeout=5)
    assert anonymous.status_code == 403
    assert 'User "system:anonymous" cannot list resource "nodes"' in anonymous.json()["message"]


@pytest.mark.parametrize("minor", MINORS)
def test_kubectl_top(cluster: Cluster, tmp_path: Path, minor: str | None) -> None:
    _node_metrics(cluster)
    kubectl = installed_kubectl(minor, cluster.api.kubeconfig, tmp_path / "cache")
    out = kubectl.run("top", "node", cluster.node).stdout
    header, row = out.splitlines()[:2]
    assert header.split()[:2] == ["NAME", "CPU(cores)"], out  # "CPU%" or "CPU(%)"
    cells = row.split()
    assert cells[0] == cluster.node, out
    assert abs(int(cells[1].removesuffix("m")) - 1500) <= 20, out
    assert cells[2] == "37%", out  # of the node's 4 allocatable cores
    assert cells[3] == "2048Mi", out

    def pods() -> str:
        text = kubectl.run("top", "pod", "-n", cluster.namespace).stdout
        assert "web" in text, text
        return text

    out = eventually(pods, timeout=20, message="kubectl top pod")
    name, cpu, memory = out.splitlines()[1].split()
    assert (name, memory) == ("web", "30Mi"), out
    assert abs(int(cpu.removesuffix("m")) - 250) <= 5, out
    out = kubectl.run("top", "pod", "-A", "--containers").stdout
    header = out.splitlines()[0].split()
    assert header == ["NAMESPACE", "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"], out
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [r[:3] + r[4:] for r in rows] == [[cluster.namespace, "web", "app", "30Mi"]], out


def test_official_python_client_reads_metrics(cluster: Cluster) -> None:
    _node_metrics(cluster)
    from kubernetes import client, config

    api_client = config.new_client_from_config(str(cluster.api.kubeconfig))
    custom = client.CustomObjectsApi(api_client)
    nodes = custom.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    assert cluster.node in [n["metadata"]["name"] for n in nodes["items"]]
    pods = custom.list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", cluster.namespace, "pods"
    )
    assert [p["metadata"]["name"] for p in pods["items"]] == ["web"]


def _registered(cluster: Cluster) -> None:
    """The metrics server has registered its APIService and the aggregator reaches it."""
    _node_metrics(cluster)


def test_openapi_v3_serves_the_aggregated_group(cluster: Cluster) -> None:
    _registered(cluster)
    with cluster.api.http() as http:

        def listed() -> str:
            paths = http.get("/openapi/v3").json()["paths"]
            assert "apis/metrics.k8s.io/v1beta1" in paths, sorted(paths)
            return paths["apis/metrics.k8s.io/v1beta1"]["serverRelativeURL"]

        url = eventually(listed, timeout=20, retry_on=(AssertionError,))
        assert "api/v1" in http.get("/openapi/v3").json()["paths"]  # the built-ins stay
        r = http.get(url)
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "public, immutable"  # the hash is its content's
        doc = r.json()
        assert "/apis/metrics.k8s.io/v1beta1/nodes/{name}" in doc["paths"]
        schemas = doc["components"]["schemas"]
        node = schemas["io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics"]
        assert node["x-kubernetes-group-version-kind"] == [
            {"group": "metrics.k8s.io", "version": "v1beta1", "kind": "NodeMetrics"}
        ]
        assert set(node["properties"]) >= {"metadata", "timestamp", "window", "usage"}
        # ObjectMeta is the apiserver's full one, not the backend's short copy.
        meta = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]
        assert "ownerReferences" in meta and "managedFields" in meta
        missing = http.get("/openapi/v3/apis/nothing.example/v1")
        assert missing.status_code == 404


def test_openapi_v2_merges_the_aggregated_paths_and_definitions(cluster: Cluster) -> None:
    _registered(cluster)
    with cluster.api.http() as http:

        def merged() -> dict[str, Any]:
            doc = http.get("/openapi/v2").json()
            assert "/apis/metrics.k8s.io/v1beta1/nodes" in doc["paths"]
            return doc

        doc = eventually(merged, timeout=20, retry_on=(AssertionError,))
        assert "/api/v1/namespaces/{namespace}/pods" in doc["paths"]
        definitions = doc["definitions"]
        assert "io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics" in definitions
        assert "io.k8s.api.core.v1.Pod" in definitions
        meta = definitions["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]
        assert "ownerReferences" in meta
        proto = http.get(
            "/openapi/v2",
            headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"},
        )
        assert proto.status_code == 200
        assert b"io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics" in proto.content


@pytest.mark.parametrize("minor", MINORS)
def test_kubectl_explain_nodemetrics(cluster: Cluster, tmp_path: Path, minor: str | None) -> None:
    _registered(cluster)
    kubectl = installed_kubectl(minor, cluster.api.kubeconfig, tmp_path / "cache")

    def explained() -> str:
        return kubectl.run("explain", "nodemetrics").stdout

    out = eventually(explained, timeout=20, retry_on=(AssertionError,))
    assert "KIND:" in out and "NodeMetrics" in out, out
    assert "metrics.k8s.io" in out, out
    assert "usage" in out and "NodeMetrics sets resource usage metrics of a node." in out, out
    out = kubectl.run("explain", "podmetrics.containers.usage").stdout
    assert "The memory and CPU usage of the container." in out, out
    # kubectl apply validates against the merged documents (1.27: v2 as protobuf)
    name = f"explained-{(minor or 'default').replace('.', '-')}"
    manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{a: b}}\n"
    out = kubectl.run("apply", "-n", cluster.namespace, "-f", "-", input=manifest).stdout
    assert f"configmap/{name} created" in out, out
    bad = manifest.replace("data: {a", "dataa: {a")
    failed = kubectl.fails("apply", "-n", cluster.namespace, "-f", "-", input=bad)
    assert "dataa" in failed.stderr, failed.stderr


def test_the_metrics_server_counts_its_own_scrapes(cluster: Cluster) -> None:
    """Its own /metrics, under metrics-server's names: kubelet scrapes by success and
    duration, scrape rounds, and the points it holds (one node, one container)."""
    url = f"http://127.0.0.1:{cluster.metrics_port}/metrics"

    def scraped() -> Scrape:
        found = scrape(url)
        assert found.value("metrics_server_kubelet_request_total", success="true") >= 2
        return found

    found = eventually(scraped, timeout=20, retry_on=(OSError, httpx.HTTPError, AssertionError))
    assert found.value("metrics_server_kubelet_request_total", success="false") == 0
    assert (
        found.value("metrics_server_kubelet_request_duration_seconds_count", node=cluster.node) >= 2
    )
    assert found.value("metrics_server_manager_tick_duration_seconds_count") >= 2
    assert found.value("metrics_server_storage_points", type="node") == 1
    assert found.value("metrics_server_storage_points", type="container") == 1
