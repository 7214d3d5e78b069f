"""The seed article's walkthrough, end to end, on a `minik up --nodes 2` cluster:
build the image, apply deployment.yaml and service.yaml, see two pods on two nodes,
reach the LoadBalancer (and, beside it, the same pods through an Ingress on minik up's
ingress controller at 8080), scale, roll out with zero failed requests, undo, self-heal
after a pod deletion and after a node's kubelet dies, and `minik down` cleans up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx
import pytest

from deploy import processes
from tests.support.kubectl import DEFAULT_KUBECTL as KUBECTL
from tests.support.wait import eventually
from tests.support.walkthrough import ROOT, Hammer, build_images, describe, running_ready
from tests.support.walkthrough import answers as answers_at

VENV_BIN = Path(sys.executable).parent
MINIK = str(VENV_BIN / "minik")
MINIKCTL = str(VENV_BIN / "minikctl")
NODES = ("minik-node-1", "minik-node-2")
LB_URL = "http://127.0.0.1:80/"
INGRESS_URL = "http://127.0.0.1:8080/"  # minik up's ingress controller, by default

pytestmark = pytest.mark.slow


@dataclass
class Cluster:
    data_dir: Path
    kubeconfig: Path
    cache_dir: Path

    def minikctl(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        return _run([MINIKCTL, "--kubeconfig", str(self.kubeconfig), *args], check, timeout)

    def kubectl(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        return _run(
            [
                KUBECTL,
                "--kubeconfig",
                str(self.kubeconfig),
                "--cache-dir",
                str(self.cache_dir),
                *args,
            ],
            check,
            timeout,
        )

    def pods(self) -> list[dict]:
        out = self.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout
        return json.loads(out)["items"]

    def pids(self) -> dict[str, dict]:
        return json.loads((self.data_dir / "pids.json").read_text())


def _run(argv: list[str], check: bool, timeout: float) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{argv} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def answers(n: int = 30) -> set[str]:
    return answers_at(LB_URL, n)


def node_containers() -> list:
    client = docker.from_env()
    return [
        c
        for node in NODES
        for c in client.containers.list(
            all=True, ignore_removed=True, filters={"label": f"io.minik.node={node}"}
        )
    ]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    data_dir = tmp_path_factory.mktemp("minik-up")
    build_images()
    port = processes.free_port()
    env = {**os.environ, "HOME": str(data_dir / "home")}
    up = subprocess.run(
        [
            MINIK,
            "up",
            "--nodes",
            "2",
            "--data-dir",
            str(data_dir),
            "--api-port",
            str(port),
            "--node-grace-period",
            "15",
            "--toleration-seconds",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    try:
        assert up.returncode == 0, f"minik up failed:\n{up.stdout}\n{up.stderr}"
        assert "minik is up" in up.stdout
        again = subprocess.run(
            [MINIK, "up", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
        )
        # `up` on a running cluster repairs it: here there is nothing to repair
        assert again.returncode == 0, again.stderr
        assert "repaired by starting: nothing" in again.stdout
        yield Cluster(data_dir, data_dir / "kubeconfig", data_dir / "kubectl-cache")
    finally:
        down = subprocess.run(
            [MINIK, "down", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
        )
        assert down.returncode == 0, down.stderr
        assert node_containers() == []


def test_walkthrough_with_minikctl(cluster: Cluster) -> None:
    out = cluster.minikctl("apply", "-f", str(ROOT / "examples" / "deployment.yaml")).stdout
    assert "deployment.apps/my-webapp created" in out
    out = cluster.minikctl("apply", "-f", str(ROOT / "examples" / "service.yaml")).stdout
    assert "service/web-service created" in out

    pods = eventually(
        lambda: (r := running_ready(cluster.pods())) and len(r) == 2 and r,
        timeout=90,
        interval=0.5,
        message="2 Running pods",
    )
    assert {p["spec"]["nodeName"] for p in pods} == set(NODES), "spread over both nodes"
    table = cluster.minikctl("get", "pods").stdout
    assert table.count("Running") == 2

    svc = eventually(
        lambda: "127.0.0.1" in (s := cluster.minikctl("get", "services").stdout) and s,
        timeout=90,
        interval=0.5,
        message="an EXTERNAL-IP",
    )
    assert "web-service" in svc and "LoadBalancer" in svc
    served = eventually(
        lambda: len(a := answers()) == 2 and a,
        timeout=90,
        interval=0.5,
        message="both replicas answering",
    )
    assert served == {p["metadata"]["name"] for p in pods}

    cluster.minikctl("scale", "deploy/my-webapp", "--replicas=5")
    eventually(
        lambda: len(running_ready(cluster.pods())) == 5,
        timeout=90,
        interval=0.5,
        message="5 ready pods",
    )

    with Hammer(LB_URL) as hammer:
        cluster.minikctl("set", "image", "deploy/my-webapp", "web-container=my-image:v2")
        cluster.minikctl("rollout", "status", "deploy/my-webapp", timeout=180)
        eventually(
            lambda: "(v2)" in hammer.bodies, timeout=30, interval=0.5, message="v2 answering"
        )
    assert hammer.failures == [], hammer.failures[:5]
    assert hammer.ok > 20

    cluster.minikctl("rollout", "undo", "deploy/my-webapp")
    cluster.minikctl("rollout", "status", "deploy/my-webapp", timeout=180)
    images = {p["spec"]["containers"][0]["image"] for p in running_ready(cluster.pods())}
    assert images == {"my-image:v1"}

    victim = running_ready(cluster.pods())[0]["metadata"]["name"]
    cluster.minikctl("delete", "pod", victim)
    eventually(
        lambda: (
            len(r := running_ready(cluster.pods())) == 5
            and victim not in {p["metadata"]["name"] for p in r}
        ),
        timeout=90,
        interval=0.5,
        message="a replacement pod",
    )

    # a hung node: the supervisor would restart a killed kubelet within a second, so
    # freeze it instead (alive to the supervisor, silent to the apiserver)
    kubelet = cluster.pids()["kubelet-2"]
    os.kill(int(kubelet["pid"]), signal.SIGSTOP)
    try:

        def back_on_node_1() -> list[dict]:
            pods = cluster.pods()
            r = running_ready(pods)
            if len(r) == 5 and {p["spec"]["nodeName"] for p in r} == {"minik-node-1"}:
                return r
            nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
            raise AssertionError(describe(pods, nodes))

        moved = eventually(
            back_on_node_1,
            timeout=150,
            interval=0.5,
            retry_on=(AssertionError,),
            message="all pods back on minik-node-1",
        )
        assert len(moved) == 5
        assert len(answers(10)) >= 2
    finally:
        os.kill(int(kubelet["pid"]), signal.SIGCONT)

    cluster.minikctl("delete", "-f", str(ROOT / "examples" / "service.yaml"))
    cluster.minikctl("delete", "-f", str(ROOT / "examples" / "deployment.yaml"))
    eventually(lambda: cluster.pods() == [], timeout=90, interval=0.5, message="pods gone")


def test_walkthrough_with_kubectl(cluster: Cluster) -> None:
    out = cluster.kubectl("apply", "-f", str(ROOT / "examples" / "deployment.yaml")).stdout
    assert "deployment.apps/my-webapp created" in out
    cluster.kubectl("apply", "-f", str(ROOT / "examples" / "service.yaml"))
    eventually(
        lambda: len(running_ready(cluster.pods())) == 2,
        timeout=90,
        interval=0.5,
        message="2 Running pods",
    )
    out = cluster.kubectl("get", "services").stdout
    eventually(
        lambda: "127.0.0.1" in cluster.kubectl("get", "svc", "web-service").stdout,
        timeout=90,
        interval=0.5,
        message="an EXTERNAL-IP",
    )
    assert "web-service" in out
    eventually(
        lambda: len(answers(10)) >= 1,
        timeout=90,
        interval=0.5,
        message="the LoadBalancer answering",
    )
    # minik up's ingress controller beside it: 8080, so the LoadBalancer keeps 80
    cluster.kubectl("create", "ingress", "web", "--rule=web.local/*=web-service:80")

    def through_the_ingress() -> str:
        r = httpx.get(INGRESS_URL, headers={"Host": "web.local"}, timeout=5)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.text

    eventually(
        through_the_ingress,
        timeout=60,
        interval=0.5,
        message="the pods through the ingress",
        retry_on=(httpx.HTTPError,),
    )
    assert httpx.get(INGRESS_URL, headers={"Host": "other.local"}, timeout=5).status_code == 404
    assert answers(3)  # the LoadBalancer on 80 still answers
    eventually(
        lambda: "127.0.0.1" in cluster.kubectl("get", "ingress", "web").stdout,
        timeout=30,
        interval=0.5,
        message="the ingress's address",
    )
    cluster.kubectl("delete", "ingress", "web")
    cluster.kubectl("scale", "deployment/my-webapp", "--replicas=3")
    cluster.kubectl("set", "image", "deployment/my-webapp", "web-container=my-image:v2")
    cluster.kubectl("rollout", "status", "deployment/my-webapp", "--timeout=180s", timeout=200)
    cluster.kubectl("rollout", "undo", "deployment/my-webapp")
    cluster.kubectl("rollout", "status", "deployment/my-webapp", "--timeout=180s", timeout=200)
    images = {p["spec"]["containers"][0]["image"] for p in running_ready(cluster.pods())}
    assert images == {"my-image:v1"}

    def top() -> str:  # minik up's metrics server, behind the aggregation layer
        nodes = cluster.kubectl("top", "node", check=False)
        assert nodes.returncode == 0 and all(n in nodes.stdout for n in NODES), nodes
        pods = cluster.kubectl("top", "pod", "-l", "app=web", check=False)
        assert pods.returncode == 0 and "my-webapp" in pods.stdout, pods
        return pods.stdout

    eventually(top, timeout=60, interval=1, message="kubectl top")
    cluster.kubectl(
        "delete",
        "-f",
        str(ROOT / "examples" / "deployment.yaml"),
        "-f",
        str(ROOT / "examples" / "service.yaml"),
    )
