"""The HorizontalPodAutoscaler on real Docker: a busybox Deployment burns CPU while a
ConfigMap says so; the real metrics server (1 s resolution) feeds the real
controller manager's HPA controller (1 s sync, 5 s downscale stabilization), which
scales the Deployment out through its /scale subresource under load and back in
when the load stops, and never flaps (its SuccessfulRescale events go up, then down)."""

from __future__ import annotations

import re
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer
from tests.e2e.conftest import KubeletProcess
from tests.support.components import spawn_scheduler
from tests.support.controllermanager import ManagerProcess
from tests.support.kubectl import Kubectl
from tests.support.wait import eventually

# Busy while /etc/load/on says 1 (a ConfigMap the kubelet keeps up to date), idle else.
LOAD = 'while true; do if [ "$(cat /etc/load/on)" = 1 ]; then :; else sleep 1; fi; done'
MAX = 3


@pytest.fixture(scope="module")
def hpa_env(
    apiserver: ApiServer,
    kubelet: KubeletProcess,
    busybox: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str]]:
    """(namespace, node): the scheduler, the controllers the test needs with short HPA
    periods, and the metrics server; all stopped and unregistered afterwards."""
    workdir = tmp_path_factory.mktemp("hpa")
    scheduler_name = f"hpa-{secrets.token_hex(3)}"
    manager = ManagerProcess(
        apiserver,
        workdir,
        "--controllers",
        "deployment,replicaset,horizontalpodautoscaling",
        "--horizontal-pod-autoscaler-sync-period",
        "1s",
        "--horizontal-pod-autoscaler-downscale-stabilization",
        "5s",
        "--leader-elect=false",
    ).start()
    scheduler = spawn_scheduler(apiserver, workdir, scheduler_name)
    metrics = processes.spawn(
        "metrics",
        [
            sys.executable,
            "-m",
            "metrics",
            "--kubeconfig",
            str(apiserver.kubeconfig),
            "--port",
            "0",
            "--metric-resolution",
            "1s",
        ],
        workdir / "metrics.log",
    )
    namespace = f"hpa-{secrets.token_hex(3)}"
    with apiserver.http() as api:
        r = api.post("/api/v1/namespaces", json={"metadata": {"name": namespace}})
        assert r.status_code == 201, r.text
        try:
            yield namespace, scheduler_name
        finally:
            metrics.stop()
            scheduler.stop()
            manager.stop()
            api.delete(f"/api/v1/namespaces/{namespace}")
            api.delete("/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io")
            api.delete("/api/v1/namespaces/kube-system/services/metrics-server")
            api.delete("/api/v1/namespaces/kube-system/endpoints/metrics-server")


def _load(api: httpx.Client, namespace: str, on: bool) -> None:
    body = {"metadata": {"name": "load"}, "data": {"on": "1" if on else "0"}}
    r = api.put(f"/api/v1/namespaces/{namespace}/configmaps/load", json=body)
    if r.status_code == 404:
        r = api.post(f"/api/v1/namespaces/{namespace}/configmaps", json=body)
    assert r.status_code in (200, 201), r.text


def _deployment(namespace: str, node: str, scheduler: str, image: str) -> dict:
    return {
        "metadata": {"name": "burner"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "burner"}},
            "template": {
                "metadata": {"labels": {"app": "burner"}},
                "spec": {
                    "schedulerName": scheduler,
                    "nodeSelector": {"kubernetes.io/hostname": node},
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            "name": "burn",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", LOAD],
                            "resources": {"requests": {"cpu": "100m"}},
                            "volumeMounts": [{"name": "load", "mountPath": "/etc/load"}],
                        }
                    ],
                    "volumes": [{"name": "load", "configMap": {"name": "load"}}],
                },
            },
        },
    }


def _rescales(api: httpx.Client, namespace: str) -> list[int]:
    """The sizes of the HPA's SuccessfulRescale events, oldest first."""
    events = api.get(
        f"/api/v1/namespaces/{namespace}/events",
        params={"fieldSelector": "reason=SuccessfulRescale"},
    ).json()["items"]
    events.sort(key=lambda e: e.get("firstTimestamp") or e.get("eventTime") or "")
    sizes = []
    for e in events:
        m = re.match(r"New size: (\d+);", e.get("message", ""))
        if m:
            sizes += [int(m.group(1))] * max(1, int(e.get("count") or 1))
    return sizes


def test_scales_out_under_load_and_back_in_without_flapping(
    apiserver: ApiServer,
    kubelet: KubeletProcess,
    busybox: str,
    hpa_env: tuple[str, str],
    tmp_path: Path,
) -> None:
    namespace, scheduler = hpa_env
    kubectl = Kubectl(apiserver.kubeconfig, tmp_path / "cache")
    started = time.monotonic()
    with apiserver.http() as api:
        _load(api, namespace, on=True)
        r = api.post(
            f"/apis/apps/v1/namespaces/{namespace}/deployments",
            json=_deployment(namespace, kubelet.node, scheduler, busybox),
        )
        assert r.status_code == 201, r.text
        kubectl.run(
            "-n", namespace, "autoscale", "deployment", "burner", "--cpu-percent=50", f"--max={MAX}"
        )

        def scaled_out() -> str:
            out = kubectl.run("-n", namespace, "get", "hpa", "burner").stdout
            row = out.splitlines()[1].split()
            assert row[-2] == str(MAX), out  # REPLICAS
            return out

        out = eventually(scaled_out, timeout=60, interval=1, message=f"{MAX} replicas")
        assert re.search(r"cpu: \d+%/50%", out), out
        described = kubectl.run("-n", namespace, "describe", "hpa", "burner").stdout
        assert "SuccessfulRescale" in described, described
        assert "ScalingLimited" in described and "TooManyReplicas" in described, described

        _load(api, namespace, on=False)

        def scaled_in() -> dict:
            hpa = api.get(
                f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/burner"
            ).json()
            assert hpa["status"].get("currentReplicas") == 1, hpa["status"]
            return hpa

        hpa = eventually(scaled_in, timeout=60, interval=1, message="back to 1 replica")
        conditions = {c["type"]: c for c in hpa["status"]["conditions"]}
        assert conditions["ScalingActive"]["status"] == "True"
        assert conditions["ScalingActive"]["reason"] == "ValidMetricFound"
        assert conditions["AbleToScale"]["status"] == "True"
        sizes = _rescales(api, namespace)
    peak = sizes.index(max(sizes))
    assert sizes[-1] == 1, sizes
    assert sizes[: peak + 1] == sorted(sizes[: peak + 1]), sizes  # only up, then
    assert sizes[peak:] == sorted(sizes[peak:], reverse=True), sizes  # only down
    assert time.monotonic() - started < 120
