"""The docker-compose lab: three nodes and a control plane in containers. The
examples apply with minikctl, pods spread over the nodes, the LoadBalancer answers on
the nodes' addresses (and each node's ingress controller on 8080), pods find Services
by name, and stopping a node container moves its pods."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest
import yaml

from tests.support.kubectl import DEFAULT_KUBECTL
from tests.support.wait import eventually

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "deploy" / "compose"
PROJECT = "minik-lab-test"
MINIKCTL = str(Path(sys.executable).parent / "minikctl")
NODE_IPS = {"lab-node-1": "10.250.0.11", "lab-node-2": "10.250.0.12", "lab-node-3": "10.250.0.13"}
SERVICES = {"lab-node-1": "node1", "lab-node-2": "node2", "lab-node-3": "node3"}
ETCD = "10.250.0.2"

pytestmark = pytest.mark.slow


def run(argv: list[str], timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, f"{argv}:\n{result.stdout}\n{result.stderr}"
    return result


def compose(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return run(
        ["docker-compose", "-p", PROJECT, "-f", str(LAB / "docker-compose.yml"), *args],
        timeout=timeout,
    )


def kubectl(*args: str) -> str:
    return run(
        [
            DEFAULT_KUBECTL,
            "--kubeconfig",
            str(LAB / "kubeconfig"),
            "--cache-dir",
            str(LAB / "generated" / "kubectl-cache"),
            *args,
        ]
    ).stdout


def ready_pods() -> list[dict]:
    pods = json.loads(kubectl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
    return [
        p
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p.get("status", {}).get("conditions", [])
        )
    ]


def ready_nodes() -> list[str]:
    nodes = json.loads(kubectl("get", "nodes", "-o", "json"))["items"]
    return [
        n["metadata"]["name"]
        for n in nodes
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in n["status"].get("conditions", [])
        )
    ]


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    run(["bash", str(LAB / "build.sh")], timeout=900)
    run(["docker", "build", "-q", "-t", "my-image:v1", str(ROOT / "examples" / "web")], timeout=300)
    try:
        compose("up", "-d")
        eventually(
            lambda: len(ready_nodes()) == 3, timeout=120, interval=1, message="3 Ready nodes"
        )
        yield
    finally:
        subprocess.run(
            ["bash", str(LAB / "down.sh")],
            capture_output=True,
            timeout=300,
            env={**os.environ, "COMPOSE_PROJECT_NAME": PROJECT},
        )


def test_the_lab_etcd_refuses_callers_without_its_client_certificate(lab) -> None:
    """Issue #11: the lab's etcd listened on the lab network with no authentication.
    From the host (on the lab's bridge): plain http gets no data, TLS with no client
    certificate is refused; the apiserver's certificate gets in."""
    generated = LAB / "generated"
    try:
        plain = httpx.get(f"http://{ETCD}:2379/health", timeout=5)
    except httpx.HTTPError:
        plain = None
    assert plain is None or plain.status_code != 200
    ctx = ssl.create_default_context(cafile=str(generated / "etcd" / "ca.crt"))
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"https://{ETCD}:2379/health", verify=ctx, timeout=5)
    api = generated / "apiserver"
    ctx.load_cert_chain(str(api / "etcd-client.crt"), str(api / "etcd-client.key"))
    assert httpx.get(f"https://{ETCD}:2379/health", verify=ctx, timeout=5).status_code == 200


def test_kubectl_get_componentstatuses_sees_the_lab_control_plane(lab) -> None:
    """The apiserver probes the scheduler's and the controller manager's /healthz in
    their own containers, and its etcd."""
    rows = [line.split() for line in kubectl("get", "cs").splitlines()[1:]]
    assert sorted(rows) == [
        ["controller-manager", "Healthy", "ok"],
        ["etcd-0", "Healthy", "ok"],
        ["scheduler", "Healthy", "ok"],
    ]


def test_each_lab_container_mounts_only_its_own_credentials_read_only(lab) -> None:
    """Issue #11: every container mounted all of generated/ (with ca.key), the hostproxy
    the host's /run. As Docker ran them: one read-only credentials directory each."""
    client = docker.from_env()
    containers = client.containers.list(
        ignore_removed=True, filters={"label": f"com.docker.compose.project={PROJECT}"}
    )
    assert len(containers) >= 9
    generated = str(LAB / "generated")
    for container in containers:
        mounts = container.attrs["Mounts"]
        ours = [m for m in mounts if m["Source"].startswith(generated)]
        assert len(ours) == 1, (container.name, ours)
        assert ours[0]["Source"] != generated and not ours[0]["RW"], container.name
        assert all(m["Source"] not in ("/run", "/var/run") for m in mounts), container.name


def test_examples_run_across_nodes_and_move_when_a_node_stops(lab) -> None:
    out = run(
        [
            MINIKCTL,
            "--kubeconfig",
            str(LAB / "kubeconfig"),
            "apply",
            "-f",
            str(ROOT / "examples" / "deployment.yaml"),
            "-f",
            str(ROOT / "examples" / "service.yaml"),
        ]
    ).stdout
    assert "deployment.apps/my-webapp created" in out and "service/web-service created" in out
    pods = eventually(
        lambda: len(r := ready_pods()) == 2 and r, timeout=120, interval=1, message="2 ready pods"
    )
    assert len({p["spec"]["nodeName"] for p in pods}) == 2
    # the dashboard container sees the same cluster (its page is tested in a browser in
    # tests/integration/test_dashboard.py): its stream's snapshot names the three nodes
    nodes = eventually(_dashboard_nodes, timeout=60, interval=1, retry_on=(httpx.HTTPError,))
    assert set(NODE_IPS) <= set(nodes)

    svc = eventually(
        lambda: (
            (s := json.loads(kubectl("get", "svc", "web-service", "-o", "json")))["status"][
                "loadBalancer"
            ].get("ingress")
            and s
        ),
        timeout=120,
        interval=1,
        message="LoadBalancer ingress",
    )
    ips = {i["ip"] for i in svc["status"]["loadBalancer"]["ingress"]}
    assert set(NODE_IPS.values()) <= ips
    for ip in NODE_IPS.values():  # every node's address answers, wherever the pods are
        body = eventually(
            lambda ip=ip: _get(f"http://{ip}/"),
            timeout=120,
            interval=1,
            message=f"an answer on {ip}",
        )
        assert body.startswith("hello from my-webapp-")
    # each node's ingress controller (8080, beside the LoadBalancer on 80) routes too
    kubectl("create", "ingress", "web", "--rule=web.lab/*=web-service:80")
    for ip in NODE_IPS.values():
        body = eventually(
            lambda ip=ip: _get(f"http://{ip}:8080/", {"Host": "web.lab"}),
            timeout=60,
            interval=1,
            message=f"the ingress on {ip}",
        )
        assert body.startswith("hello from my-webapp-")
    assert _get(f"http://{NODE_IPS['lab-node-1']}:8080/", {"Host": "other.lab"}) is None  # 404
    kubectl("delete", "ingress", "web")

    kubectl(
        "run",
        "client",
        "--image=my-image:v1",
        "--image-pull-policy=IfNotPresent",
        "--restart=Never",
        "--",
        "sleep",
        "300",
    )
    eventually(
        lambda: "Running" in kubectl("get", "pod", "client", "-o", "jsonpath={.status.phase}"),
        timeout=120,
        interval=1,
        message="the client pod running",
    )
    out = eventually(
        lambda: _exec_in_pod("client", ["wget", "-q", "-O-", "http://web-service/"]),
        timeout=120,
        interval=1,
        message="the Service by name from a pod",
    )
    assert "hello from my-webapp-" in out

    victim = pods[0]["spec"]["nodeName"]
    compose("stop", SERVICES[victim])
    moved = eventually(
        lambda: (
            len(r := ready_pods()) == 2 and victim not in {p["spec"]["nodeName"] for p in r} and r
        ),
        # 20 s grace + 30 s toleration + a restart; CI once saw it take over 180 s
        # (cause not found; a second node late with its heartbeat halts evictions)
        timeout=300,
        interval=1,
        message="the pods off the stopped node",
    )
    assert all(p["spec"]["nodeName"] != victim for p in moved)


def _get(url: str, headers: dict[str, str] | None = None) -> str | None:
    try:
        r = httpx.get(url, headers=headers, timeout=3)
    except httpx.HTTPError:
        return None
    return r.text if r.status_code == 200 else None


def _exec_in_pod(pod: str, command: list[str]) -> str | None:
    token = yaml.safe_load((LAB / "kubeconfig").read_text())["users"][0]["user"]["token"]
    params = [("command", c) for c in command]
    ctx = ssl.create_default_context(cafile=str(LAB / "generated" / "pki" / "ca.crt"))
    r = httpx.post(
        f"https://127.0.0.1:16443/api/v1/namespaces/default/pods/{pod}/exec",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        verify=ctx,
        timeout=30,
    )
    return r.text if r.status_code == 200 and "hello" in r.text else None


def _dashboard_nodes() -> list[str]:
    """The nodes in the first message of the lab dashboard's event stream."""
    with httpx.stream("GET", "http://127.0.0.1:19090/api/stream", timeout=10) as resp:
        for line in resp.iter_lines():
            if line.startswith("data: "):
                return sorted(json.loads(line[6:])["views"]["nodes"])
    return []
