"""`python -m addons`: the ingress controller, the metrics server and the dashboard in
one process against a real etcd and apiserver, each with its own credentials and
listeners; SIGTERM stops all three; one that cannot start ends the process with a
message naming it, so its supervisor restarts them together."""

from __future__ import annotations

import secrets
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from componentbase.addonsargv import command_line
from deploy import processes
from deploy.controlplane import ApiServer, etcd_and_apiserver
from tests.support.wait import eventually

APISERVICE = "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io"


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, Path]]:
    secret = tmp_path_factory.mktemp("addons") / "requestheader-secret"
    secret.write_text(secrets.token_hex(16) + "\n")
    with etcd_and_apiserver(
        "minik-addons-it-", ["--requestheader-secret-file", str(secret)]
    ) as server:
        yield server, secret


@contextmanager
def taken_port() -> Iterator[int]:
    """A loopback port some other process listens on while the block runs."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


@dataclass
class MetricsPorts:
    """The loopback ports of the ingress controller's and the metrics server's /metrics."""

    ingress: int = field(default_factory=processes.free_port)
    metrics_server: int = field(default_factory=processes.free_port)


def spawn(
    api: ApiServer,
    secret: Path,
    log: Path,
    dashboard_port: int,
    ingress_port: int = 0,
    metrics_ports: MetricsPorts | None = None,
) -> processes.Process:
    scrape = metrics_ports or MetricsPorts()
    parts = {
        "ingress": [
            "--kubeconfig",
            str(api.kubeconfig_as("ingress")),
            "--bind-address",
            "127.0.0.1",
            "--http-port",
            str(ingress_port or processes.free_port()),
            "--https-port",
            str(processes.free_port()),
            "--metrics-bind-address",
            f"127.0.0.1:{scrape.ingress}",
        ],
        "metrics": [
            "--kubeconfig",
            str(api.kubeconfig),
            "--port",
            "0",
            "--requestheader-secret-file",
            str(secret),
            "--metrics-bind-address",
            f"127.0.0.1:{scrape.metrics_server}",
        ],
        "dashboard": ["--kubeconfig", str(api.kubeconfig), "--port", str(dashboard_port)],
    }
    argv = [sys.executable, "-m", "addons", *command_line(parts)]
    return processes.spawn("addons", argv, log)


def families(port: int) -> set[str]:
    """The metric families a /metrics on a loopback port names (its # TYPE lines)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").raise_for_status().text
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def test_three_add_ons_serve_from_one_process_and_stop_together(
    apiserver: tuple[ApiServer, Path], tmp_path: Path
) -> None:
    api, secret = apiserver
    port, ingress_port, scrape = processes.free_port(), processes.free_port(), MetricsPorts()
    host = spawn(api, secret, tmp_path / "addons.log", port, ingress_port, scrape)
    try:
        eventually(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200,
            timeout=30,
            retry_on=(httpx.HTTPError,),
            message="the dashboard answers",
        )
        # the ingress controller serves its port: no Ingress yet, so its default backend
        unrouted = eventually(
            lambda: httpx.get(f"http://127.0.0.1:{ingress_port}/", headers={"Host": "x.test"}),
            timeout=30,
            retry_on=(httpx.HTTPError,),
            message="the ingress controller answers",
        )
        assert unrouted.status_code == 404, unrouted.text
        with api.http() as http:
            # the metrics server registered itself behind the aggregation layer
            eventually(lambda: http.get(APISERVICE).status_code == 200, timeout=30)
        # each /metrics shows its own component's families and the process's, not the
        # other add-on's
        ingress = families(scrape.ingress)
        assert "nginx_ingress_controller_requests_total" in ingress, sorted(ingress)
        assert not {f for f in ingress if f.startswith("metrics_server_")}, sorted(ingress)
        assert "process_resident_memory_bytes" in ingress
        metrics_server = eventually(
            lambda: families(scrape.metrics_server),
            timeout=30,
            retry_on=(httpx.HTTPError,),
            message="the metrics server's /metrics answers",
        )
        assert "metrics_server_storage_points" in metrics_server, sorted(metrics_server)
        assert "nginx_ingress_controller_requests_total" not in metrics_server
        assert "process_resident_memory_bytes" in metrics_server
        assert host.alive(), host.log_tail()
        host.popen.send_signal(signal.SIGTERM)
        assert host.popen.wait(15) == 0, host.log_tail()
    finally:
        host.stop()


def test_an_add_on_that_cannot_serve_ends_the_process_by_name(
    apiserver: tuple[ApiServer, Path], tmp_path: Path
) -> None:
    api, secret = apiserver
    with taken_port() as taken:
        host = spawn(api, secret, tmp_path / "addons.log", taken)
        try:
            assert host.popen.wait(30) == 1, host.log_tail()
        finally:
            host.stop()
    log = (tmp_path / "addons.log").read_text()
    assert "dashboard:" in log and "stopping the others" in log, log[-2000:]
