"""`minik token create --print-join-command`, then the printed `minik join`: a machine
joins a control plane set up as kubeadm sets one up (tests/support/bootstrapcluster,
plus the cluster-info ConfigMap and bindings `minik up` reconciles:
deploy/kubeadmbootstrap). The join discovers the CA through cluster-info, pinned by the
printed hash, TLS-bootstraps a real kubelet under its own supervisor, and its Node
registers as system:node:<name> and is Ready. A wrong or missing pin is refused."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from client.kubeconfig import load
from client.rest import Client
from deploy import processes
from deploy.controlplane import make_workdir, remove_workdir
from deploy.jointoken import ca_cert_hash
from tests.e2e.conftest import remove_node_containers
from tests.support.bootstrapcluster import Cluster, joinable_cluster, minik, printed_join_args


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with joinable_cluster() as c:
        yield c


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = make_workdir("minik-joincmd-")
    yield path
    remove_workdir(path)


def test_printed_join_command_joins_a_ready_node(cluster: Cluster, workdir: Path, pod_network: str):
    args = printed_join_args(cluster)
    assert args[args.index("--ca-cert-hash") + 1] == ca_cert_hash(cluster.api.ca_file.read_bytes())
    token_id = args[args.index("--token") + 1].split(".")[0]
    node = f"joincmd-{secrets.token_hex(3)}"
    data_dir = workdir / "node"
    try:
        done = minik(
            *args,
            "--node-name",
            node,
            "--data-dir",
            str(data_dir),
            "--pod-network",
            pod_network,
            "--kubelet-port",
            str(processes.free_port()),
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"joined the cluster as system:node:{node}" in done.stdout
        with cluster.http() as http:
            r = http.get(f"/api/v1/nodes/{node}")
            assert r.status_code == 200, r.text
            conditions = {c["type"]: c["status"] for c in r.json()["status"]["conditions"]}
            assert conditions["Ready"] == "True", conditions
            csrs = http.get("/apis/certificates.k8s.io/v1/certificatesigningrequests").json()
            mine = [
                c for c in csrs["items"] if c["spec"]["username"] == f"system:bootstrap:{token_id}"
            ]
            assert len(mine) == 1 and mine[0]["status"].get("certificate")
        # the kubelet's own credentials, from its TLS bootstrap: system:node:<name>
        config = load(str(data_dir / "kubelet.conf"))
        assert config.token is None and config.client_certificate
        with Client(config) as api:
            review = api.request(
                "POST",
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
            ).json()
        assert review["status"]["userInfo"]["username"] == f"system:node:{node}"
    finally:
        minik("down", "--data-dir", str(data_dir))
        remove_node_containers(node)
