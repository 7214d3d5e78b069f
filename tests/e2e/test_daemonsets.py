"""A DaemonSet on real Docker (issue 12): two kubelets run its pods, a third kubelet
joins and gets its own. The cluster is this module's own (etcd, apiserver, scheduler,
controller manager and kubelets with the `ds-` node prefix), so the DaemonSet counts
no other test's nodes and puts no pod on them."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer
from tests.e2e.conftest import KubeletProcess, remove_network, remove_node_containers
from tests.support.components import private_control_plane
from tests.support.images import ensure_busybox_image
from tests.support.wait import eventually

DS_PATH = "/apis/apps/v1/namespaces/default/daemonsets"


@dataclass
class Cluster:
    apiserver: ApiServer
    http: httpx.Client
    network: str
    workdir: Path
    kubelets: list[KubeletProcess] = field(default_factory=list)

    def add_kubelet(self) -> KubeletProcess:
        node = f"ds-{secrets.token_hex(3)}"
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
    network = f"minik-e2e-ds-{secrets.token_hex(3)}"
    with private_control_plane("minik-e2e-daemonsets-") as (server, workdir), server.http() as http:
        c = Cluster(server, http, network, workdir)
        try:
            yield c
        finally:
            for kubelet in c.kubelets:
                kubelet.stop()
            for kubelet in c.kubelets:
                remove_node_containers(kubelet.node)
            remove_network(network)


def daemonset(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            "name": "agent",
                            "image": image,
                            "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
                        }
                    ],
                },
            },
        },
    }


def running_nodes(http: httpx.Client) -> list[str]:
    r = http.get("/api/v1/namespaces/default/pods", params={"labelSelector": "app=agent"})
    r.raise_for_status()
    return sorted(
        p["spec"]["nodeName"]
        for p in r.json()["items"]
        if (p.get("status") or {}).get("phase") == "Running"
        and not p["metadata"].get("deletionTimestamp")
    )


def ds_status(http: httpx.Client) -> dict[str, Any]:
    return http.get(f"{DS_PATH}/agent").json().get("status") or {}


def test_daemonset_across_two_kubelets_then_a_third_joins(cluster):
    first, second = cluster.add_kubelet(), cluster.add_kubelet()
    r = cluster.http.post(DS_PATH, json=daemonset(ensure_busybox_image()))
    assert r.status_code == 201, r.text
    two = sorted([first.node, second.node])
    eventually(lambda: running_nodes(cluster.http) == two, timeout=60, interval=0.3)
    eventually(lambda: ds_status(cluster.http).get("numberReady") == 2, timeout=30)

    third = cluster.add_kubelet()
    three = sorted([*two, third.node])
    eventually(lambda: running_nodes(cluster.http) == three, timeout=60, interval=0.3)
    status = eventually(
        lambda: (s := ds_status(cluster.http)).get("numberAvailable") == 3 and s, timeout=30
    )
    assert status["desiredNumberScheduled"] == status["currentNumberScheduled"] == 3
    assert status["updatedNumberScheduled"] == 3
