"""Joining without a kubelet: `minik token create|list|delete` against a control plane
set up as kubeadm sets one up, the objects `minik up` reconciles for joining
(deploy/kubeadmbootstrap, applied twice: idempotent), and `minik join`'s discovery:
cluster-info readable anonymously, its CA accepted only when pinned, a wrong or missing
pin refused in one line with exit 1. The join itself (a kubelet): tests/e2e/test_join.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client.kubeconfig import load
from client.rest import Client
from deploy import kubeadmbootstrap
from deploy.controlplane import make_workdir, remove_workdir
from deploy.join import discover_ca
from deploy.jointoken import JoinError, ca_cert_hash
from tests.support.bootstrapcluster import Cluster, joinable_cluster, minik, printed_join_args


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with joinable_cluster() as c:
        yield c


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = make_workdir("minik-joindisc-")
    yield path
    remove_workdir(path)


def test_bindings_are_kubeadms_and_reconciled(cluster: Cluster):
    with cluster.http() as http:
        url = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeadm:kubelet-bootstrap"
        binding = http.get(url).json()
        binding["subjects"] = [
            {"kind": "User", "name": "someone-else", "apiGroup": "rbac.authorization.k8s.io"}
        ]
        assert http.put(url, json=binding).status_code == 200
    with Client(load(str(cluster.api.kubeconfig))) as api:
        kubeadmbootstrap.ensure(api, cluster.api.url, cluster.api.ca_file.read_bytes())
    with cluster.http() as http:
        names = [s["name"] for s in http.get(url).json()["subjects"]]
    assert names == ["someone-else", "system:bootstrappers:kubeadm:default-node-token"]


def test_cluster_info_is_readable_anonymously(cluster: Cluster):
    with httpx.Client(base_url=cluster.api.url, verify=cluster.api.ssl_context()) as anon:
        r = anon.get("/api/v1/namespaces/kube-public/configmaps/cluster-info")
        assert r.status_code == 200, r.text
        other = anon.get("/api/v1/namespaces/kube-public/configmaps/other")
        assert other.status_code == 403


def test_token_create_list_delete(cluster: Cluster):
    kubeconfig = ["--kubeconfig", str(cluster.api.kubeconfig)]
    made = minik("token", "create", "--ttl", "1h", *kubeconfig)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    listed = minik("token", "list", *kubeconfig)
    line = next(x for x in listed.stdout.splitlines() if x.startswith(token))
    assert "authentication,signing" in line
    assert "system:bootstrappers:kubeadm:default-node-token" in line
    # the token authenticates as kubeadm's node-token group
    with cluster.http(token) as http:
        r = http.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        user = r.json()["status"]["userInfo"]
        assert user["username"] == f"system:bootstrap:{token[:6]}"
        assert "system:bootstrappers:kubeadm:default-node-token" in user["groups"]
    gone = minik("token", "delete", token[:6], *kubeconfig)
    assert gone.returncode == 0, gone.stderr
    assert token not in minik("token", "list", *kubeconfig).stdout
    again = minik("token", "delete", token[:6], *kubeconfig)
    assert again.returncode == 1 and "not found" in again.stderr


def test_discovery_trusts_the_pinned_ca(cluster: Cluster):
    ca = cluster.api.ca_file.read_bytes()
    assert discover_ca(cluster.api.url, [ca_cert_hash(ca)], False) == ca
    with pytest.raises(JoinError, match="does not match"):
        discover_ca(cluster.api.url, ["sha256:" + "0" * 64], False)


def test_wrong_ca_hash_is_refused(cluster: Cluster, workdir: Path):
    args = printed_join_args(cluster)
    i = args.index("--ca-cert-hash") + 1
    args[i] = "sha256:" + "0" * 64
    data_dir = workdir / "wrong"
    done = minik(*args, "--node-name", "never", "--data-dir", str(data_dir), timeout=30)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not match any --ca-cert-hash" in lines[0], done.stderr
    assert not (data_dir / "bootstrap-kubelet.conf").exists()  # nothing written, nothing run


def test_missing_pin_is_refused(cluster: Cluster, workdir: Path):
    args = printed_join_args(cluster)
    i = args.index("--ca-cert-hash")
    del args[i : i + 2]
    done = minik(*args, "--node-name", "never", "--data-dir", str(workdir / "x"), timeout=30)
    assert done.returncode == 1
    assert "was not validated" in done.stderr and len(done.stderr.strip().splitlines()) == 1
