"""A machine joins: a real kubelet (`python -m kubelet`) given only a bootstrap token
(--bootstrap-kubeconfig) and a --kubeconfig path that does not exist yet, against a
control plane set up as kubeadm sets one up (Node,RBAC; tests/support/bootstrapcluster).
It gets its client certificate through a CertificateSigningRequest that csrapproving
approves and csrsigning signs, writes its kubeconfig, registers its Node as
`system:node:<name>` and runs a pod bound to it, all under the Node authorizer."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from client.kubeconfig import load as load_kubeconfig
from client.kubeconfig import write_kubeconfig
from deploy import processes
from deploy.controlplane import make_workdir, remove_workdir
from kubelet import certbootstrap
from tests.e2e.conftest import KubeletProcess, pod_manifest, remove_node_containers
from tests.support.bootstrapcluster import TOKEN_ID, TOKEN_SECRET, Cluster, bootstrap_cluster
from tests.support.wait import eventually


class JoiningKubelet(KubeletProcess):
    """A kubelet whose --kubeconfig is its own (written by its TLS bootstrap), not
    the admin's."""

    kubeconfig: Path

    def argv(self) -> list[str]:
        argv = super().argv()
        argv[argv.index("--kubeconfig") + 1] = str(self.kubeconfig)
        return argv


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with bootstrap_cluster() as c:
        yield c


@pytest.fixture
def joined(cluster: Cluster, pod_network: str, busybox: str) -> Iterator[JoiningKubelet]:
    workdir = make_workdir("minik-join-")
    node = f"join-{secrets.token_hex(3)}"
    bootstrap = workdir / "bootstrap-kubelet.conf"
    write_kubeconfig(
        bootstrap, cluster.api.url, f"{TOKEN_ID}.{TOKEN_SECRET}", ca_file=cluster.api.ca_file
    )
    kubelet = JoiningKubelet(
        cluster.api,
        node,
        workdir / node,
        processes.free_port(),
        pod_network,
        workdir,
        ["--bootstrap-kubeconfig", str(bootstrap)],
    )
    kubelet.kubeconfig = workdir / "kubelet.conf"
    try:
        kubelet.start()
        yield kubelet
    finally:
        kubelet.stop()
        remove_node_containers(node)
        remove_workdir(workdir)


def test_kubelet_joins_with_a_bootstrap_token(
    cluster: Cluster, joined: JoiningKubelet, busybox: str
):
    config = load_kubeconfig(joined.kubeconfig)
    assert config.token is None and config.client_certificate
    assert Path(config.client_certificate).name == certbootstrap.CURRENT
    with cluster.http() as http:

        def ready() -> dict:
            r = http.get(f"/api/v1/nodes/{joined.node}")
            assert r.status_code == 200, r.text
            conditions = {c["type"]: c["status"] for c in r.json()["status"]["conditions"]}
            assert conditions.get("Ready") == "True", conditions
            return r.json()

        eventually(ready, timeout=60, message=f"node {joined.node} registers and is Ready")
        csrs = http.get("/apis/certificates.k8s.io/v1/certificatesigningrequests").json()
        mine = [
            c
            for c in csrs["items"]
            if c["spec"]["username"] == f"system:bootstrap:{TOKEN_ID}"
            and (c.get("status") or {}).get("certificate")
        ]
        assert len(mine) == 1, [c["metadata"]["name"] for c in csrs["items"]]
        assert mine[0]["metadata"]["name"].startswith("node-csr-")
        assert http.post(
            "/api/v1/namespaces", json={"metadata": {"name": "joined"}}
        ).status_code in (
            201,
            409,
        )
        container = {
            "name": "main",
            "image": busybox,
            "imagePullPolicy": "Never",
            "command": ["sh", "-c", "echo joined; sleep 3600"],
        }
        pod = pod_manifest("on-joined-node", joined.node, [container])
        r = http.post("/api/v1/namespaces/joined/pods", json=pod)
        assert r.status_code == 201, r.text

        def running() -> dict:
            r = http.get("/api/v1/namespaces/joined/pods/on-joined-node")
            assert r.json()["status"].get("phase") == "Running", r.json()["status"]
            return r.json()

        eventually(running, timeout=60, message="the joined node runs its pod")
        http.delete("/api/v1/namespaces/joined/pods/on-joined-node?gracePeriodSeconds=0")
