"""Every control-plane component's /metrics, scraped and parsed with Prometheus' own
text parser after real work: the session's real apiserver on etcd, the real
scheduler and controller manager as processes with their metrics listeners on free
loopback ports, and a Ready node of the test's own (API-only; its pods stay
Pending). A ReplicaSet makes the controller manager create a pod, which the
scheduler binds: each component's counters must show it."""

from __future__ import annotations

import csv
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer
from tests.support.controllermanager import ManagerProcess
from tests.support.scrape import Scrape, scrape
from tests.support.wait import eventually


@dataclass
class Cluster:
    api: ApiServer
    namespace: str
    node: str
    scheduler_name: str
    scheduler_url: str
    manager_url: str


def component_metrics(cluster: Cluster, url: str) -> Scrape:
    """The scheduler's or the controller manager's secure port: a self-signed
    certificate, the caller checked with the apiserver (the admin may)."""
    return scrape(url, cluster.api.token, verify=False)


def viewer_token(api: ApiServer) -> str:
    """A token of a user in no group but system:authenticated."""
    for row in csv.reader(api.token_file.read_text().splitlines()):
        if row and row[1] == "viewer":
            return row[0]
    raise AssertionError("no viewer token")


@pytest.fixture(scope="module")
def cluster(apiserver: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("prom")
    suffix = secrets.token_hex(3)
    namespace, node, name = f"prom-{suffix}", f"prom-node-{suffix}", f"prom-sched-{suffix}"
    scheduler_port, manager_port = processes.free_port(), processes.free_port()
    argv = [sys.executable, "-m", "scheduler", "--kubeconfig", str(apiserver.kubeconfig)]
    scheduler = processes.spawn(
        "scheduler",
        [*argv, "--scheduler-name", name, "--secure-port", str(scheduler_port)],
        workdir / "scheduler.log",
    )
    # only the controllers this test needs: no node lifecycle to fail the API-only node
    manager = ManagerProcess(
        apiserver,
        workdir,
        "--controllers",
        "replicaset,deployment",
        "--secure-port",
        str(manager_port),
    ).start()
    with apiserver.http() as http:
        r = http.post("/api/v1/namespaces", json={"metadata": {"name": namespace}})
        assert r.status_code == 201, r.text
        r = http.post("/api/v1/nodes", json=ready_node(node))
        assert r.status_code == 201, r.text
        try:
            yield Cluster(
                apiserver,
                namespace,
                node,
                name,
                f"https://127.0.0.1:{scheduler_port}/metrics",
                f"https://127.0.0.1:{manager_port}/metrics",
            )
        finally:
            scheduler.stop()
            manager.stop()
            http.delete(f"/api/v1/namespaces/{namespace}")
            http.delete(f"/api/v1/nodes/{node}")


def ready_node(name: str) -> dict:
    allocatable = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "capacity": allocatable,
            "allocatable": allocatable,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        },
    }


def replicaset(cluster: Cluster, name: str) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "schedulerName": cluster.scheduler_name,
                    "nodeSelector": {"kubernetes.io/hostname": cluster.node},
                    "containers": [{"name": "app", "image": "busybox"}],
                },
            },
        },
    }


def apiserver_metrics(cluster: Cluster, token: str | None = None) -> Scrape:
    return scrape(
        f"{cluster.api.url}/metrics", token or cluster.api.token, cluster.api.ssl_context()
    )


@pytest.fixture(scope="module")
def bound_pod(cluster: Cluster) -> str:
    """A ReplicaSet's pod, created by the controller manager and bound by the
    scheduler; its name."""
    with cluster.api.http() as http:
        r = http.post(
            f"/apis/apps/v1/namespaces/{cluster.namespace}/replicasets",
            json=replicaset(cluster, "web"),
        )
        assert r.status_code == 201, r.text

        def bound() -> str | None:
            pods = http.get(f"/api/v1/namespaces/{cluster.namespace}/pods").json()["items"]
            for pod in pods:
                if pod["spec"].get("nodeName") == cluster.node:
                    return str(pod["metadata"]["name"])
            return None

        return eventually(bound, timeout=30, message="the ReplicaSet's pod is bound")


def test_apiserver_counts_requests_by_verb_resource_and_code(cluster, bound_pod):
    metrics = apiserver_metrics(cluster)
    post_pods = {"verb": "POST", "resource": "pods", "code": "201", "group": "", "version": "v1"}
    assert metrics.value("apiserver_request_total", **post_pods) >= 1
    assert metrics.value("apiserver_request_total", verb="POST", subresource="binding") >= 1
    assert metrics.value("apiserver_request_total", verb="LIST", resource="pods") >= 1
    assert (
        metrics.value(
            "apiserver_request_duration_seconds_count",
            verb="POST",
            group="apps",
            resource="replicasets",
        )
        >= 1
    )
    # the scheduler's and the controller manager's informers watch pods right now
    assert metrics.value("apiserver_longrunning_requests", verb="WATCH", resource="pods") >= 2
    # this scrape is the one read-only request in flight that is not long-running
    assert metrics.value("apiserver_current_inflight_requests", request_kind="readOnly") >= 1
    assert metrics.has("apiserver_current_inflight_requests")
    assert (
        metrics.value("etcd_request_duration_seconds_count", operation="create", type="pods") >= 1
    )
    assert metrics.value("etcd_request_duration_seconds_count", operation="list") >= 1


def test_apiserver_counts_a_missing_object_and_an_apply(cluster):
    before = apiserver_metrics(cluster)
    with cluster.api.http() as http:
        assert (
            http.get(f"/api/v1/namespaces/{cluster.namespace}/configmaps/nope").status_code == 404
        )
        r = http.patch(
            f"/api/v1/namespaces/{cluster.namespace}/configmaps/applied",
            params={"fieldManager": "test"},
            content=b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"}}',
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        assert r.status_code == 201, r.text
    after = apiserver_metrics(cluster)
    for labels in (
        {"verb": "GET", "resource": "configmaps", "code": "404", "scope": "resource"},
        {"verb": "APPLY", "resource": "configmaps", "code": "201"},
    ):
        assert after.value("apiserver_request_total", **labels) == (
            before.value("apiserver_request_total", **labels) + 1
        ), labels


def test_apiserver_metrics_need_the_monitoring_role(cluster):
    # RBAC's bootstrap `system:monitoring` grants nonResourceURL /metrics to that group
    # (the harness's `viewer`); an anonymous caller is refused, an unknown token is 401
    assert apiserver_metrics(cluster, viewer_token(cluster.api)).has("apiserver_request_total")
    ssl = cluster.api.ssl_context()
    anonymous = httpx.get(f"{cluster.api.url}/metrics", verify=ssl)
    assert anonymous.status_code == 403
    wrong = httpx.get(
        f"{cluster.api.url}/metrics", verify=ssl, headers={"Authorization": "Bearer x"}
    )
    assert wrong.status_code == 401
    refused = apiserver_metrics(cluster)
    assert refused.value("apiserver_request_total", code="401") >= 1
    assert refused.value("apiserver_request_total", code="403") >= 1


def test_scheduler_counts_the_bound_pod(cluster, bound_pod):
    metrics = component_metrics(cluster, cluster.scheduler_url)
    profile = cluster.scheduler_name
    assert (
        metrics.value("scheduler_schedule_attempts_total", result="scheduled", profile=profile) >= 1
    )
    assert (
        metrics.value(
            "scheduler_scheduling_attempt_duration_seconds_count",
            result="scheduled",
            profile=profile,
        )
        >= 1
    )
    for queue in ("active", "backoff", "unschedulable", "gated"):
        assert metrics.has("scheduler_pending_pods")
        assert metrics.value("scheduler_pending_pods", queue=queue) == 0, queue
    assert metrics.has("process_cpu_seconds_total")


def test_scheduler_counts_an_unschedulable_and_a_gated_pod(cluster):
    def pod(name: str, **spec: object) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "schedulerName": cluster.scheduler_name,
                "containers": [{"name": "app", "image": "busybox"}],
                **spec,
            },
        }

    with cluster.api.http() as http:
        base = f"/api/v1/namespaces/{cluster.namespace}/pods"
        nowhere = pod("nowhere", nodeSelector={"kubernetes.io/hostname": "no-such-node"})
        assert http.post(base, json=nowhere).status_code == 201
        gated = pod("gated", schedulingGates=[{"name": "example.com/wait"}])
        assert http.post(base, json=gated).status_code == 201
    profile = cluster.scheduler_name

    def counted() -> Scrape | None:
        metrics = component_metrics(cluster, cluster.scheduler_url)
        unschedulable = metrics.value(
            "scheduler_schedule_attempts_total", result="unschedulable", profile=profile
        )
        # the informer may hand the scheduler the gated pod after its try at the other
        gated = metrics.value("scheduler_pending_pods", queue="gated")
        return metrics if unschedulable >= 1 and gated >= 1 else None

    metrics = eventually(counted, timeout=15)
    assert metrics.value("scheduler_pending_pods", queue="gated") == 1
    assert metrics.value("scheduler_pending_pods", queue="unschedulable") == 1


def test_controller_manager_reports_its_work_queues(cluster, bound_pod):
    metrics = component_metrics(cluster, cluster.manager_url)
    assert metrics.value("workqueue_adds_total", name="replicaset") >= 1
    assert metrics.value("workqueue_work_duration_seconds_count", name="replicaset") >= 1
    assert metrics.value("workqueue_queue_duration_seconds_count", name="replicaset") >= 1
    assert metrics.has("workqueue_depth")
    assert metrics.has("workqueue_longest_running_processor_seconds")
    health = httpx.get(cluster.manager_url.replace("/metrics", "/healthz"), verify=False)
    assert (health.status_code, health.text) == (200, "ok")
