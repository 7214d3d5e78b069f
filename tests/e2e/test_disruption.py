"""A PodDisruptionBudget on real Docker (issue 12): a Deployment of 2 across two
kubelets and a budget of minAvailable 2; `kubectl drain` of one node is refused by the
eviction API (429) and kubectl retries until its --timeout, naming the budget; a
second drain waits likewise until the budget is relaxed, then evicts and finishes. The
cluster is this module's own (etcd, apiserver, scheduler, controller manager and two
kubelets with the `pdb-` node prefix)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer
from tests.e2e.conftest import KubeletProcess, remove_network, remove_node_containers
from tests.support.components import private_control_plane
from tests.support.images import ensure_busybox_image
from tests.support.kubectl import Kubectl, Stream
from tests.support.wait import eventually

PDB = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
REFUSED = "Cannot evict pod as it would violate the pod's disruption budget."


class Cluster:
    def __init__(self, apiserver: ApiServer, http: httpx.Client, workdir: Path) -> None:
        self.apiserver, self.http, self.workdir = apiserver, http, workdir
        self.network = f"minik-e2e-pdb-{secrets.token_hex(3)}"
        self.kubelets: list[KubeletProcess] = []

    def add_kubelet(self) -> KubeletProcess:
        node = f"pdb-{secrets.token_hex(3)}"
        kubelet = KubeletProcess(
            self.apiserver, node, self.workdir / node, processes.free_port(), self.network,
            self.workdir,
        )  # fmt: skip
        self.kubelets.append(kubelet)
        kubelet.start()
        return kubelet


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    ensure_busybox_image()
    with private_control_plane("minik-e2e-disruption-") as (server, workdir), server.http() as h:
        c = Cluster(server, h, workdir)
        try:
            yield c
        finally:
            for kubelet in c.kubelets:
                kubelet.stop()
            for kubelet in c.kubelets:
                remove_node_containers(kubelet.node)
            remove_network(c.network)


def deployment(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
                        }
                    ],
                },
            },
        },
    }


def budget_status(http: httpx.Client, **want: int) -> dict[str, Any]:
    def check() -> dict[str, Any]:
        status = http.get(f"{PDB}/web").json().get("status") or {}
        assert all(status.get(k) == v for k, v in want.items()), status
        return status

    return eventually(check, timeout=30, message=f"budget status {want}")


def running(http: httpx.Client) -> dict[str, str]:
    """Running, ready pods of the Deployment: name -> node."""
    pods = http.get("/api/v1/namespaces/default/pods", params={"labelSelector": "app=web"}).json()[
        "items"
    ]
    return {
        p["metadata"]["name"]: p["spec"]["nodeName"]
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p["status"].get("conditions") or []
        )
    }


def test_drain_waits_for_the_budget(cluster: Cluster, tmp_path: Path):
    first, second = cluster.add_kubelet(), cluster.add_kubelet()
    http = cluster.http
    http.post(DEPLOY, json=deployment(ensure_busybox_image())).raise_for_status()
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
    }
    http.post(PDB, json=budget).raise_for_status()
    pods = eventually(lambda: len(r := running(http)) == 2 and r, timeout=60, interval=0.3)
    budget_status(http, currentHealthy=2, desiredHealthy=2, expectedPods=2, disruptionsAllowed=0)
    node = next(iter(pods.values()))
    victims = sorted(name for name, on in pods.items() if on == node)
    kubectl = Kubectl(cluster.apiserver.kubeconfig, tmp_path / "kubectl-cache")

    blocked = kubectl.fails("drain", node, "--ignore-daemonsets", "--timeout=6s")
    for victim in victims:
        assert (
            f'error when evicting pods/"{victim}" -n "default" (will retry after 5s): {REFUSED}'
            in blocked.stderr
        ), blocked
        assert (
            f'error when evicting pods/"{victim}" -n "default": global timeout reached: 6s'
            in blocked.stderr
        ), blocked
    assert f"node/{node} cordoned" in blocked.stdout
    assert set(running(http)) == set(pods)  # nothing was evicted

    with Stream(kubectl.command("drain", node, "--ignore-daemonsets")) as drain:
        eventually(
            lambda: any(REFUSED in line for line in drain.stderr),
            timeout=15,
            message="a refused eviction",
        )
        http.patch(
            f"{PDB}/web",
            json={"spec": {"minAvailable": 1}},
            headers={"Content-Type": "application/merge-patch+json"},
        ).raise_for_status()
        drain.wait_for(lambda line: line == f"node/{node} drained", timeout=45)
        assert drain.popen.wait(10) == 0
        for victim in victims:
            assert f"pod/{victim} evicted" in drain.lines
    # the replacements run on the other node, and the budget is healthy again
    other = second.node if node == first.node else first.node
    eventually(
        lambda: len(r := running(http)) == 2 and set(r.values()) == {other},
        timeout=60,
        interval=0.3,
        message="both pods on the other node",
    )
    budget_status(http, currentHealthy=2, desiredHealthy=1, disruptionsAllowed=1)
