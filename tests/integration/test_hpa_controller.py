"""The HPA controller against a real etcd and apiserver, without Docker: the real
controller manager (deployment, replicaset and HPA controllers, 1 s sync, 3 s
downscale stabilization) and the real metrics server (1 s resolution) scraping a
stand-in kubelet whose pods use CPU at rates the test sets; FakeCluster binds and
runs the pods. The Deployment scales out through /scale when its pods burn CPU,
stops at maxReplicas (ScalingLimited), and scales back in when they idle."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

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
from tests.support.controllermanager import ManagerProcess
from tests.support.fakekubelet import FakeKubelet
from tests.support.fakenode import FakeCluster
from tests.support.kubectl import Kubectl
from tests.support.wait import eventually

NAMESPACE = "hpa-it"
HPA = f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers"


@pytest.fixture(scope="module")
def control_plane() -> Iterator[tuple[ApiServer, Path]]:
    """Its own etcd and apiserver: the metrics APIService must not reach other tests."""
    workdir = make_workdir("minik-hpa-it-")
    etcd = start_etcd(workdir)
    api = start_apiserver(etcd, workdir / "apiserver")
    try:
        yield api, workdir
    finally:
        api.stop()
        etcd.stop()
        remove_workdir(workdir)


class Load:
    """Sets every running pod's CPU use on the stand-in kubelet."""

    def __init__(self, http: httpx.Client, kubelet: FakeKubelet) -> None:
        self.http = http
        self.kubelet = kubelet
        self.cores = 0.0
        self.known: set[str] = set()

    def apply(self, cores: float | None = None) -> None:
        if cores is not None:
            self.cores = cores
            self.known.clear()
        pods = self.http.get(f"/api/v1/namespaces/{NAMESPACE}/pods").json()["items"]
        for pod in pods:
            name = pod["metadata"]["name"]
            if (pod.get("status") or {}).get("phase") == "Running" and name not in self.known:
                self.kubelet.set_usage(NAMESPACE, name, "burn", self.cores, 10 * 1024 * 1024)
                self.known.add(name)


def _rescales(http: httpx.Client) -> list[int]:
    events = http.get(
        f"/api/v1/namespaces/{NAMESPACE}/events",
        params={"fieldSelector": "reason=SuccessfulRescale"},
    ).json()["items"]
    events.sort(key=lambda e: e.get("firstTimestamp") or "")
    return [
        int(m.group(1))
        for e in events
        if (m := re.match(r"New size: (\d+);", e.get("message", "")))
    ]


def test_hpa_scales_out_and_in(control_plane: tuple[ApiServer, Path], tmp_path: Path) -> None:
    api, workdir = control_plane
    kubelet = FakeKubelet()
    manager = ManagerProcess(
        api,
        workdir,
        "--controllers",
        "deployment,replicaset,horizontalpodautoscaling",
        "--horizontal-pod-autoscaler-sync-period",
        "1s",
        "--horizontal-pod-autoscaler-downscale-stabilization",
        "3s",
        "--leader-elect=false",
    ).start()
    metrics = processes.spawn(
        "metrics",
        [
            sys.executable,
            "-m",
            "metrics",
            "--kubeconfig",
            str(api.kubeconfig),
            "--port",
            "0",
            "--metric-resolution",
            "1s",
            "--kubelet-insecure-tls",  # the stand-in kubelet's certificate is self-signed
        ],
        workdir / "metrics.log",
    )
    kubectl = Kubectl(api.kubeconfig, tmp_path / "cache")
    with api.http() as http:
        r = http.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}})
        assert r.status_code == 201, r.text
        cluster = FakeCluster(http, NAMESPACE, ["a"])
        try:
            cluster.start()
            node = cluster.node_name("a")
            live = http.get(f"/api/v1/nodes/{node}").json()
            live["status"]["addresses"] = [{"type": "InternalIP", "address": "127.0.0.1"}]
            live["status"]["daemonEndpoints"] = {"kubeletEndpoint": {"Port": kubelet.port}}
            r = http.put(f"/api/v1/nodes/{node}/status", json=live)
            assert r.status_code == 200, r.text
            deployment = {
                "metadata": {"name": "web"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {
                            "containers": [
                                {
                                    "name": "burn",
                                    "image": "busybox:1",
                                    "resources": {"requests": {"cpu": "100m"}},
                                }
                            ]
                        },
                    },
                },
            }
            r = http.post(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", json=deployment)
            assert r.status_code == 201, r.text
            load = Load(http, kubelet)
            load.apply(0.3)  # 300% of the request
            kubectl.run(
                "-n", NAMESPACE, "autoscale", "deployment", "web", "--cpu-percent=50", "--max=4"
            )

            def scaled_out() -> dict:
                load.apply()
                hpa = http.get(f"{HPA}/web").json()
                assert (hpa.get("status") or {}).get("currentReplicas") == 4, hpa.get("status")
                return hpa

            hpa = eventually(scaled_out, timeout=60, interval=0.5, message="4 replicas")
            conditions = {c["type"]: c for c in hpa["status"]["conditions"]}
            assert conditions["ScalingActive"]["reason"] == "ValidMetricFound"
            assert conditions["ScalingLimited"]["status"] == "True"
            assert conditions["ScalingLimited"]["reason"] == "TooManyReplicas"
            current = hpa["status"]["currentMetrics"][0]["resource"]["current"]
            assert current["averageUtilization"] >= 250, current
            scale = http.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/web/scale")
            assert scale.json()["spec"]["replicas"] == 4
            row = kubectl.run("-n", NAMESPACE, "get", "hpa", "web").stdout.splitlines()[1]
            assert re.search(r"Deployment/web\s+cpu: \d+%/50%\s+1\s+4\s+4", row), row

            load.apply(0.01)  # 10%: below target

            def scaled_in() -> dict:
                load.apply()
                hpa = http.get(f"{HPA}/web").json()
                assert hpa["status"]["desiredReplicas"] == 1, hpa["status"]
                return hpa

            eventually(scaled_in, timeout=60, interval=0.5, message="back to 1")
            sizes = _rescales(http)
            assert sizes[-1] == 1, sizes
            peak = sizes.index(4)
            assert sizes[: peak + 1] == sorted(sizes[: peak + 1]), sizes
            assert sizes[peak:] == sorted(sizes[peak:], reverse=True), sizes
            events = http.get(
                f"/api/v1/namespaces/{NAMESPACE}/events",
                params={"fieldSelector": "involvedObject.kind=HorizontalPodAutoscaler"},
            ).json()["items"]
            reasons = {e["reason"] for e in events}
            assert "SuccessfulRescale" in reasons
            messages = [e["message"] for e in events if e["reason"] == "SuccessfulRescale"]
            assert any(
                "reason: cpu resource utilization (percentage of request) above target" in m
                for m in messages
            ), messages
            assert any("reason: All metrics below target" in m for m in messages), messages
        finally:
            cluster.stop()
            metrics.stop()
            manager.stop()
            kubelet.shutdown()
