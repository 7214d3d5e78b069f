"""Liveness, readiness and startup probes — httpGet, tcpSocket and exec — passing and
failing, against real containers. One pod holds a container per case (they share
the pod's network namespace, so each listens on its own port)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deploy.controlplane import ApiServer
from tests.e2e.conftest import (
    KubeletProcess,
    container_status,
    create_pod,
    events_for,
    phase,
    pod_manifest,
    wait_pod,
)

FAST = {"periodSeconds": 1, "failureThreshold": 1, "timeoutSeconds": 1}


def httpd(name: str, image: str, port: int, **probes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "command": ["sh", "-c", f"mkdir -p /w && echo ok > /w/ok && httpd -f -p {port} -h /w"],
        **probes,
    }


def sleeper(name: str, image: str, script: str = "", **probes: Any) -> dict[str, Any]:
    return {"name": name, "image": image, "command": ["sh", "-c", f"{script} sleep 3600"], **probes}


@pytest.fixture(scope="module")
def probed(
    apiserver: ApiServer, kubelet: KubeletProcess, busybox: str
) -> Iterator[tuple[httpx.Client, str, dict[str, Any]]]:
    """A pod with one container per probe case, observed until every case settled."""
    namespace = f"probes-{secrets.token_hex(3)}"
    containers = [
        httpd(
            "http-ok",
            busybox,
            8081,
            readinessProbe={"httpGet": {"path": "/ok", "port": 8081}, **FAST},
        ),
        httpd(
            "http-bad",
            busybox,
            8082,
            readinessProbe={"httpGet": {"path": "/nope", "port": 8082}, **FAST},
        ),
        httpd(
            "tcp-ok",
            busybox,
            8083,
            livenessProbe={"tcpSocket": {"port": 8083}, **FAST, "initialDelaySeconds": 1},
        ),
        sleeper("tcp-bad", busybox, livenessProbe={"tcpSocket": {"port": 8084}, **FAST}),
        sleeper(
            "exec-ok",
            busybox,
            "touch /tmp/ready;",
            readinessProbe={"exec": {"command": ["cat", "/tmp/ready"]}, **FAST},
        ),
        sleeper("exec-bad", busybox, livenessProbe={"exec": {"command": ["false"]}, **FAST}),
        sleeper(
            "startup-ok",
            busybox,
            "(sleep 2; touch /tmp/started) &",
            startupProbe={
                "exec": {"command": ["cat", "/tmp/started"]},
                "periodSeconds": 1,
                "failureThreshold": 10,
            },
            livenessProbe={"exec": {"command": ["cat", "/tmp/started"]}, **FAST},
        ),
        sleeper(
            "startup-bad",
            busybox,
            startupProbe={
                "exec": {"command": ["false"]},
                "periodSeconds": 1,
                "failureThreshold": 2,
            },
        ),
    ]
    with apiserver.http() as api:
        r = api.post("/api/v1/namespaces", json={"metadata": {"name": namespace}})
        assert r.status_code == 201, r.text
        create_pod(api, namespace, pod_manifest("probed", kubelet.node, containers))

        def settled(pod: dict[str, Any]) -> bool:
            return (
                container_status(pod, "http-ok").get("ready") is True
                and container_status(pod, "exec-ok").get("ready") is True
                and container_status(pod, "startup-ok").get("ready") is True
                and container_status(pod, "tcp-bad").get("restartCount", 0) >= 1
                and container_status(pod, "exec-bad").get("restartCount", 0) >= 1
                and container_status(pod, "startup-bad").get("restartCount", 0) >= 1
            )

        pod = wait_pod(api, namespace, "probed", settled, 40, "every probe case settled")
        yield api, namespace, pod
        api.delete(f"/api/v1/namespaces/{namespace}")


def _killing(api: httpx.Client, namespace: str) -> list[str]:
    return [e["message"] for e in events_for(api, namespace, "probed") if e["reason"] == "Killing"]


def test_http_readiness_passing_and_failing(probed: tuple[httpx.Client, str, dict]) -> None:
    api, namespace, pod = probed
    assert container_status(pod, "http-ok")["ready"] is True
    bad = container_status(pod, "http-bad")
    assert bad["ready"] is False and "running" in bad["state"] and bad["restartCount"] == 0
    assert phase(pod) == "Running"
    conditions = {c["type"]: c for c in pod["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "False"
    assert conditions["ContainersReady"]["status"] == "False"
    assert "http-bad" in conditions["Ready"]["message"]
    assert "http-ok" not in conditions["Ready"]["message"]
    messages = [e["message"] for e in events_for(api, namespace, "probed")]
    assert any(
        m.startswith("Readiness probe failed: HTTP probe failed with statuscode: 404")
        for m in messages
    ), messages


def test_tcp_liveness_passing_and_failing(probed: tuple[httpx.Client, str, dict]) -> None:
    api, namespace, pod = probed
    ok = container_status(pod, "tcp-ok")
    assert ok["restartCount"] == 0 and ok["ready"] is True and "running" in ok["state"]
    bad = container_status(pod, "tcp-bad")
    assert bad["restartCount"] >= 1
    events = events_for(api, namespace, "probed")
    assert any(
        e["reason"] == "Killing"
        and e["message"] == "Container tcp-bad failed liveness probe, will be restarted"
        for e in events
    ), [e["message"] for e in events]
    assert any(
        e["reason"] == "Unhealthy"
        and e["message"].startswith("Liveness probe failed: dial tcp")
        and "8084" in e["message"]
        for e in events
    )


def test_exec_probes_passing_and_failing(probed: tuple[httpx.Client, str, dict]) -> None:
    api, namespace, pod = probed
    ok = container_status(pod, "exec-ok")
    assert ok["ready"] is True and ok["restartCount"] == 0
    bad = container_status(pod, "exec-bad")
    assert bad["restartCount"] >= 1
    killing = _killing(api, namespace)
    assert "Container exec-bad failed liveness probe, will be restarted" in killing


def test_startup_probe_gates_and_restarts(probed: tuple[httpx.Client, str, dict]) -> None:
    api, namespace, pod = probed
    ok = container_status(pod, "startup-ok")
    # liveness (which fails until /tmp/started exists) did not run before startup passed
    assert ok["started"] is True and ok["ready"] is True and ok["restartCount"] == 0
    bad = container_status(pod, "startup-bad")
    assert bad["restartCount"] >= 1 and bad["started"] is False
    killing = _killing(api, namespace)
    assert "Container startup-bad failed startup probe, will be restarted" in killing


def test_probe_results_hold(probed: tuple[httpx.Client, str, dict]) -> None:
    """A little later nothing healthy has been restarted and nothing unready became
    ready: results are steady, not flapping."""
    api, namespace, _ = probed
    time.sleep(2)
    pod = api.get(f"/api/v1/namespaces/{namespace}/pods/probed").json()
    for name in ("http-ok", "tcp-ok", "exec-ok", "startup-ok", "http-bad"):
        assert container_status(pod, name)["restartCount"] == 0, name
    assert container_status(pod, "http-bad")["ready"] is False
