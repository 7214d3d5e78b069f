"""`kubectl get componentstatuses` (v1 ComponentStatus, deprecated and still served):
an apiserver of the module's own probes a real scheduler's /healthz, a controller
manager that is not running (a port nobody listens on) and its etcd, each time it is
asked, and answers as kube-apiserver does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer, etcd_and_apiserver
from tests.support.components import spawn_scheduler
from tests.support.kubectl import Kubectl

CS = "/api/v1/componentstatuses"
DEPRECATION = "v1 ComponentStatus is deprecated in v1.19+"


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[ApiServer, int]]:
    scheduler_port, nobody = processes.free_port(), processes.free_port()
    args = [
        "--component-status-scheduler-url",
        f"https://127.0.0.1:{scheduler_port}/healthz",
        "--component-status-controller-manager-url",
        f"https://127.0.0.1:{nobody}/healthz",
    ]
    with etcd_and_apiserver("minik-cs-", args) as server:
        scheduler = spawn_scheduler(
            server,
            server.workdir.parent,
            "default-scheduler",
            extra=("--secure-port", str(scheduler_port)),
        )
        try:
            deadline = time.monotonic() + 30
            while True:  # its secure port serves once the scheduler has started
                try:
                    httpx.get(f"https://127.0.0.1:{scheduler_port}/healthz", verify=False)
                    break
                except httpx.HTTPError:
                    assert scheduler.alive() and time.monotonic() < deadline, scheduler.log_tail()
                    time.sleep(0.2)
            yield server, nobody
        finally:
            scheduler.stop()


def _conditions(items: list[dict]) -> dict[str, dict]:
    return {i["metadata"]["name"]: i["conditions"][0] for i in items}


def test_a_list_probes_the_scheduler_the_controller_manager_and_etcd(
    cluster: tuple[ApiServer, int],
) -> None:
    server, nobody = cluster
    with server.http() as http:
        answer = http.get(CS)
    assert answer.status_code == 200, answer.text
    assert DEPRECATION in answer.headers["warning"]
    body = answer.json()
    assert body["kind"] == "ComponentStatusList" and body["apiVersion"] == "v1"
    found = _conditions(body["items"])
    assert set(found) == {"scheduler", "controller-manager", "etcd-0"}
    assert found["scheduler"] == {"type": "Healthy", "status": "True", "message": "ok"}
    assert found["etcd-0"] == {"type": "Healthy", "status": "True", "message": "ok"}
    down = found["controller-manager"]
    assert down["status"] == "Unknown" and "message" not in down
    assert down["error"] == (
        f'Get "https://127.0.0.1:{nobody}/healthz": dial tcp 127.0.0.1:{nobody}: '
        "connect: connection refused"
    )


def test_one_by_name_a_field_selector_and_what_is_not_served(
    cluster: tuple[ApiServer, int],
) -> None:
    server, _ = cluster
    with server.http() as http:
        one = http.get(f"{CS}/scheduler")
        assert one.status_code == 200 and one.json()["kind"] == "ComponentStatus"
        assert one.json()["conditions"][0]["status"] == "True"
        missing = http.get(f"{CS}/nosuch")
        assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"
        assert DEPRECATION in missing.headers["warning"]
        selected = http.get(CS, params={"fieldSelector": "metadata.name=etcd-0"}).json()
        assert [i["metadata"]["name"] for i in selected["items"]] == ["etcd-0"]
        labelled = http.get(CS, params={"labelSelector": "app=x"}).json()
        assert labelled["items"] == []
        assert http.get(CS, params={"watch": "1"}).status_code == 405
        assert http.delete(f"{CS}/scheduler").status_code == 405


def test_kubectl_get_cs(cluster: tuple[ApiServer, int], tmp_path: Path) -> None:
    server, nobody = cluster
    kubectl = Kubectl(server.kubeconfig, tmp_path / "cache")
    out = kubectl.run("get", "cs")
    assert "Warning: v1 ComponentStatus is deprecated in v1.19+" in out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[1:]}
    assert out.stdout.split()[:4] == ["NAME", "STATUS", "MESSAGE", "ERROR"]
    assert rows["scheduler"][1:] == ["Healthy", "ok"]
    assert rows["etcd-0"][1:] == ["Healthy", "ok"]
    assert rows["controller-manager"][1] == "Unhealthy"
    assert f"127.0.0.1:{nobody}: connect: connection refused" in out.stdout
    resources = kubectl.run("api-resources", "--api-group=").stdout
    assert any(line.split()[:2] == ["componentstatuses", "cs"] for line in resources.splitlines())
    yaml_out = kubectl.run("get", "componentstatus", "etcd-0", "-o", "yaml").stdout
    assert "kind: ComponentStatus" in yaml_out and "message: ok" in yaml_out
