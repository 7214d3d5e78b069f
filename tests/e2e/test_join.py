"""`minik token create --print-join-command`, then the printed `minik join`: a machine
joins a control plane set up as kubeadm sets one up (tests/support/bootstrapcluster,
plus the cluster-info ConfigMap and bindings `minik up` reconciles:
deploy/kubeadmbootstrap). The join discovers the CA through cluster-info, pinned by the
printed hash, TLS-bootstraps a real kubelet under its own supervisor, and its Node
registers as system:node:<name> and is Ready; a proxy starts beside it as kube-system's
kube-proxy ServiceAccount and serves a new Service's ClusterIP on this host, and `minik
down --data-dir` stops both (the ClusterIP address and the host's proxy lock released).
One proxy per host: this control plane runs none, and the module runs under the e2e
lock, so the host's proxy lock is free (asserted first); were it held, `minik join`
would start no second proxy and say so. A wrong or missing pin is refused."""

from __future__ import annotations

import base64
import datetime
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from client.kubeconfig import load
from deploy import processes
from deploy.cluster import LocalCluster, proxy_lock_holder
from deploy.controlplane import make_workdir, remove_workdir
from deploy.jointoken import ca_cert_hash
from tests.e2e.conftest import remove_node_containers
from tests.support.bootstrapcluster import Cluster, joinable_cluster, minik, printed_join_args
from tests.support.hostsjoin import whoami
from tests.support.wait import eventually


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
    assert proxy_lock_holder() is None, "another proxy serves this host: run under the e2e lock"
    service = f"joined-{secrets.token_hex(3)}"
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
        assert whoami(config) == f"system:node:{node}"
        # the proxy: ours holds the host's lock and serves a new Service's ClusterIP
        assert "[proxy] proxy started as kube-system/kube-proxy" in done.stdout
        proxy_pid = LocalCluster(data_dir).recorded()["proxy"]["pid"]
        eventually(lambda: proxy_lock_holder() == proxy_pid, message="our proxy holds the lock")
        with cluster.http() as http:
            r = http.post(
                "/api/v1/namespaces/default/services",
                json={
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": service},
                    "spec": {"ports": [{"port": 80}], "selector": {"app": service}},
                },
            )
            assert r.status_code == 201, r.text
            cluster_ip = r.json()["spec"]["clusterIP"]
        eventually(lambda: cluster_ip in _lo_addresses(), timeout=20, message="ClusterIP on lo")
    finally:
        minik("down", "--data-dir", str(data_dir))
        remove_node_containers(node)
        with cluster.http() as http:
            http.delete(f"/api/v1/namespaces/default/services/{service}")
    assert proxy_lock_holder() is None
    assert cluster_ip not in _lo_addresses()


def _lo_addresses() -> set[str]:
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True, check=True
    ).stdout
    return {line.split()[3].split("/")[0] for line in out.splitlines()}


ROTATING_LIFETIME = 30  # seconds: that cluster's --cluster-signing-duration


def test_a_joined_kubelet_rotates_its_client_certificate(workdir: Path, pod_network: str):
    """With certificates that live 30 s, the joined kubelet (`--rotate-certificates`, as
    `minik join` runs it) asks for a new one as system:node:<name> before the first
    ends, has it approved as selfnodeclient, and, with no restart, keeps renewing its
    node Lease after the first certificate has expired."""
    node = f"joinrot-{secrets.token_hex(3)}"
    data_dir = workdir / "rotating"
    with joinable_cluster(signing_duration=f"{ROTATING_LIFETIME}s") as rotating:
        args = printed_join_args(rotating)
        try:
            done = minik(
                *args, "--node-name", node, "--data-dir", str(data_dir),
                "--pod-network", pod_network, "--kubelet-port", str(processes.free_port()),
                "--skip-proxy",
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
            local = LocalCluster(data_dir)
            kubelet_pid = local.recorded()["kubelet"]["pid"]
            current = data_dir / "nodes" / node / "pki" / "kubelet-client-current.pem"
            token_id = args[args.index("--token") + 1].split(".")[0]
            with rotating.http() as http:
                csrs = http.get("/apis/certificates.k8s.io/v1/certificatesigningrequests")
            bootstrap_csr = next(
                c for c in csrs.json()["items"]
                if c["spec"]["username"] == f"system:bootstrap:{token_id}"
            )  # fmt: skip
            first = x509.load_pem_x509_certificate(
                base64.b64decode(bootstrap_csr["status"]["certificate"])
            )

            def renewals() -> list[dict]:
                with rotating.http() as http:
                    items = http.get(
                        "/apis/certificates.k8s.io/v1/certificatesigningrequests"
                    ).json()["items"]
                return [
                    c for c in items
                    if c["spec"]["username"] == f"system:node:{node}"
                    and (c.get("status") or {}).get("certificate")
                ]  # fmt: skip

            left = (first.not_valid_after_utc - datetime.datetime.now(datetime.UTC)).total_seconds()
            mine = eventually(renewals, timeout=left + 5, message="a renewal issued")
            approved = next(c for c in mine[0]["status"]["conditions"] if c["type"] == "Approved")
            assert "self kubelet client" in approved["message"]
            eventually(
                lambda: (
                    x509.load_pem_x509_certificate(current.read_bytes()).serial_number
                    != first.serial_number
                ),
                message="the new one stored",
            )
            # past the first certificate's end, the same kubelet keeps its Lease fresh
            wait = (first.not_valid_after_utc - datetime.datetime.now(datetime.UTC)).total_seconds()
            time.sleep(max(0.0, wait) + 1)
            expired_at = first.not_valid_after_utc

            def renewed_after_expiry() -> bool:
                with rotating.http() as http:
                    lease = http.get(
                        f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}"
                    ).json()
                renew = datetime.datetime.fromisoformat(lease["spec"]["renewTime"])
                return renew > expired_at

            eventually(renewed_after_expiry, timeout=25, message="Lease renewed after expiry")
            assert local.recorded()["kubelet"]["pid"] == kubelet_pid  # no restart
            with rotating.http() as http:
                r = http.get(f"/api/v1/nodes/{node}").json()
            conditions = {c["type"]: c["status"] for c in r["status"]["conditions"]}
            assert conditions["Ready"] == "True", conditions
        finally:
            minik("down", "--data-dir", str(data_dir))
            remove_node_containers(node)
