"""Joining without a kubelet: `minik token create|list|delete` against a control plane
set up as kubeadm sets one up, the objects `minik up` reconciles for joining
(deploy/kubeadmbootstrap, applied twice: idempotent), the bootstrapsigner's JWS per
signing token in cluster-info, and `minik join`'s discovery: cluster-info readable
anonymously, its signature for the token checked (also with
--discovery-token-unsafe-skip-ca-verification), its CA accepted only when pinned; a
wrong or missing pin or signature refused in one line with exit 1. The join itself (a
kubelet): tests/e2e/test_join.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.bootstrapjws import detached_token_is_valid
from client.kubeconfig import load
from client.rest import Client
from deploy import kubeadmbootstrap
from deploy.controlplane import make_workdir, remove_workdir
from deploy.discovery import discover_ca
from deploy.jointoken import JoinError, ca_cert_hash
from deploy.nodefiles import proxy_token
from tests.support.bootstrapcluster import (
    TOKEN_ID,
    TOKEN_SECRET,
    Cluster,
    bootstrap_secret,
    joinable_cluster,
    minik,
    printed_join_args,
)
from tests.support.wait import eventually

CLUSTER_INFO = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
SECRETS = "/api/v1/namespaces/kube-system/secrets"


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


def _signatures(cluster: Cluster) -> dict[str, str]:
    with cluster.http() as http:
        data = http.get(CLUSTER_INFO).json()["data"]
    return {k.removeprefix("jws-kubeconfig-"): v for k, v in data.items() if k != "kubeconfig"}


def test_cluster_info_is_signed_per_signing_token(cluster: Cluster):
    def signed(token_id: str) -> bool:
        return token_id in _signatures(cluster)

    eventually(lambda: signed(TOKEN_ID), message="the fixture's token signs cluster-info")
    with cluster.http() as http:
        data = http.get(CLUSTER_INFO).json()["data"]
        sig = data[f"jws-kubeconfig-{TOKEN_ID}"]
        assert detached_token_is_valid(sig, data["kubeconfig"], TOKEN_ID, TOKEN_SECRET)
        # a token without usage-bootstrap-signing gets no signature; with it, one that
        # goes with the token; an expired one none
        unsigned = bootstrap_secret("nosign", "0123456789abcdef")
        unsigned["stringData"]["usage-bootstrap-signing"] = "false"
        signing = bootstrap_secret("signs1", "0123456789abcdef")
        expired = bootstrap_secret("expird", "0123456789abcdef", "2020-01-01T00:00:00Z")
        for secret in (unsigned, signing, expired):
            assert http.post(SECRETS, json=secret).status_code == 201
        eventually(lambda: signed("signs1"), message="the new signing token signs")
        assert not signed("nosign") and not signed("expird")
        assert http.delete(f"{SECRETS}/bootstrap-token-signs1").status_code == 200
        eventually(lambda: not signed("signs1"), message="a deleted token's signature goes")
        # one that expires in 3 s: signed, then unsigned when it expires
        soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
        r = http.post(SECRETS, json=bootstrap_secret("soonxx", "0123456789abcdef", soon))
        assert r.status_code == 201, r.text
        eventually(lambda: signed("soonxx"), message="the short-lived token signs")
        eventually(lambda: not signed("soonxx"), timeout=15, message="expiry unsigns it")
        for name in ("nosign", "expird", "soonxx"):
            http.delete(f"{SECRETS}/bootstrap-token-{name}")


def test_a_new_kubeconfig_is_signed_again(cluster: Cluster):
    """`minik up` rewriting cluster-info (a new server address) keeps the signatures'
    keys and the signer signs the new content."""
    eventually(lambda: TOKEN_ID in _signatures(cluster), message="signed")
    ca = cluster.api.ca_file.read_bytes()
    with Client(load(str(cluster.api.kubeconfig))) as api:
        kubeadmbootstrap.ensure(api, "https://example.invalid:6443", ca)

    def resigned() -> bool:
        with cluster.http() as http:
            data = http.get(CLUSTER_INFO).json()["data"]
        sig = data.get(f"jws-kubeconfig-{TOKEN_ID}", "")
        return "example.invalid" in data["kubeconfig"] and detached_token_is_valid(
            sig, data["kubeconfig"], TOKEN_ID, TOKEN_SECRET
        )

    try:
        eventually(resigned, message="the new kubeconfig is signed")
    finally:
        with Client(load(str(cluster.api.kubeconfig))) as api:
            kubeadmbootstrap.ensure(api, cluster.api.url, ca)
    eventually(
        lambda: discover_ca(cluster.api.url, TOKEN, [ca_cert_hash(ca)], False),
        retry_on=(JoinError,),
    )


TOKEN = f"{TOKEN_ID}.{TOKEN_SECRET}"


def test_discovery_trusts_the_pinned_ca(cluster: Cluster):
    ca = cluster.api.ca_file.read_bytes()
    assert discover_ca(cluster.api.url, TOKEN, [ca_cert_hash(ca)], False) == ca
    with pytest.raises(JoinError, match="does not match"):
        discover_ca(cluster.api.url, TOKEN, ["sha256:" + "0" * 64], False)


def test_discovery_checks_the_signature_before_anything(cluster: Cluster):
    """A token the server does not know (same id, other secret) fails the signature,
    pinned or not, as kubeadm; a token it holds no signature for fails after the
    discovery timeout."""
    ca = cluster.api.ca_file.read_bytes()
    wrong = f"{TOKEN_ID}.ffffffffffffffff"
    for pins, skip in (([ca_cert_hash(ca)], False), ([], True)):
        with pytest.raises(JoinError, match="failed to verify the JWS signature"):
            discover_ca(cluster.api.url, wrong, pins, skip)
    began = time.monotonic()
    with pytest.raises(JoinError, match="invalid for this cluster or it has expired"):
        discover_ca(cluster.api.url, "zzzzzz.0123456789abcdef", [ca_cert_hash(ca)], False, 2)
    assert 2 <= time.monotonic() - began < 10


def test_wrong_signature_is_refused_in_one_line(cluster: Cluster, workdir: Path):
    args = printed_join_args(cluster)
    i = args.index("--token") + 1
    args[i] = args[i][:7] + "f" * 16
    data_dir = workdir / "badsig"
    for extra in ((), ("--discovery-token-unsafe-skip-ca-verification",)):
        done = minik(*args, *extra, "--node-name", "never", "--data-dir", str(data_dir),
                     "--discovery-timeout", "5", timeout=30)  # fmt: skip
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "failed to verify the JWS signature" in lines[0], done.stderr
    assert not (data_dir / "bootstrap-kubelet.conf").exists()


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


def test_the_proxy_credential_is_kube_proxys_service_account(cluster: Cluster, workdir: Path):
    """`minik join` asks, with the bootstrap token, for a token of kube-system's
    kube-proxy ServiceAccount (kubeadm's node-proxier binding): it may watch Services and
    EndpointSlices and read Nodes, and nothing more (no Secrets); the bootstrap token may
    ask for no other ServiceAccount's token."""
    ca_file = workdir / "ca.crt"
    ca_file.write_bytes(cluster.api.ca_file.read_bytes())
    token = proxy_token(cluster.api.url, ca_file, TOKEN)
    with cluster.http(token) as http:
        review = http.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        ).json()["status"]["userInfo"]
        assert review["username"] == "system:serviceaccount:kube-system:kube-proxy"
        assert http.get("/apis/discovery.k8s.io/v1/endpointslices").status_code == 200
        assert http.get("/api/v1/services?watch=false").status_code == 200
        assert http.get("/api/v1/nodes").status_code == 200
        assert http.get("/api/v1/secrets").status_code == 403
    with cluster.http(TOKEN) as http:
        r = http.post(
            "/api/v1/namespaces/kube-system/serviceaccounts/default/token",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
        )
        assert r.status_code == 403, r.text
