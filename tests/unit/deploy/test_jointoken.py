"""Bootstrap tokens, the CA pin and the join command (deploy/jointoken), and the
objects `minik up` reconciles for joining machines (deploy/kubeadmbootstrap)."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from api import bootstraptoken as bt
from componentbase.pki import ensure_ca
from deploy import kubeadmbootstrap
from deploy.jointoken import (
    NODE_TOKEN_GROUP,
    JoinError,
    ca_cert_hash,
    check_hash_format,
    generate_token,
    join_command,
    split_token,
    token_secret,
    verify_pin,
)


def test_generated_tokens_have_kubeadms_format_and_differ():
    tokens = {generate_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", token)
        assert bt.parse_token(token) is not None


@pytest.mark.parametrize("bad", ["abcdef.0123456789abcde", "ABCDEF.0123456789abcdef", "abc"])
def test_malformed_tokens_are_refused(bad: str):
    with pytest.raises(JoinError):
        split_token(bad)


def test_token_secret_is_kubeadms():
    secret = token_secret("abcdef.0123456789abcdef", 3600, 1_000_000_000.0)
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    assert secret["metadata"] == {"name": "bootstrap-token-abcdef", "namespace": "kube-system"}
    assert secret["stringData"] == {
        "token-id": "abcdef",
        "token-secret": "0123456789abcdef",
        "usage-bootstrap-authentication": "true",
        "usage-bootstrap-signing": "true",
        "auth-extra-groups": NODE_TOKEN_GROUP,
        "expiration": "2001-09-09T02:46:40Z",
    }
    # the authenticator's reading of it: the node-token group
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in secret["stringData"].items()}
    assert bt.groups({"data": encoded}) == ["system:bootstrappers", NODE_TOKEN_GROUP]


def test_ttl_zero_never_expires():
    secret = token_secret("abcdef.0123456789abcdef", 0, 1_000_000_000.0)
    assert "expiration" not in secret["stringData"]


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cert, _ = ensure_ca(tmp_path_factory.mktemp("ca"))
    return Path(cert)


def test_ca_hash_is_sha256_of_the_subject_public_key_info(ca: Path):
    # kubeadm's documented recipe: openssl x509 -pubkey | openssl pkey -pubin -outform der
    pub = subprocess.run(
        ["openssl", "x509", "-pubkey", "-noout", "-in", str(ca)], check=True, capture_output=True
    ).stdout
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, check=True, capture_output=True
    ).stdout
    assert ca_cert_hash(ca.read_bytes()) == "sha256:" + hashlib.sha256(der).hexdigest()


def test_pin_matches_only_its_ca(ca: Path, tmp_path: Path):
    pem = ca.read_bytes()
    verify_pin(pem, [ca_cert_hash(pem).upper().replace("SHA256", "sha256")])
    other, _ = ensure_ca(tmp_path / "other")
    with pytest.raises(JoinError, match="does not match any --ca-cert-hash"):
        verify_pin(pem, [ca_cert_hash(Path(other).read_bytes())])


@pytest.mark.parametrize("bad", ["md5:abcd", "sha256:xyz", "sha256:" + "a" * 63, "a" * 64])
def test_malformed_pins_are_refused(bad: str):
    with pytest.raises(JoinError, match="invalid --ca-cert-hash"):
        check_hash_format(bad)


def test_join_command():
    line = join_command("https://10.0.0.1:6443", "abcdef.0123456789abcdef", "sha256:" + "0" * 64)
    assert line == (
        "minik join --server https://10.0.0.1:6443 --token abcdef.0123456789abcdef "
        "--ca-cert-hash sha256:" + "0" * 64
    )


def test_kubeadm_bindings():
    wanted = {
        b["metadata"]["name"]: (
            b["roleRef"]["name"],
            b["subjects"][0]["kind"],
            b["subjects"][0]["name"],
        )
        for b in kubeadmbootstrap.node_bindings()
    }
    assert wanted == {
        "kubeadm:kubelet-bootstrap": ("system:node-bootstrapper", "Group", NODE_TOKEN_GROUP),
        "kubeadm:node-autoapprove-bootstrap": (
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            "Group",
            NODE_TOKEN_GROUP,
        ),
        "kubeadm:node-autoapprove-certificate-rotation": (
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            "Group",
            "system:nodes",
        ),
    }


def test_cluster_info_carries_server_and_ca_only(ca: Path):
    cm = kubeadmbootstrap.cluster_info("https://127.0.0.1:6443", ca.read_bytes())
    assert cm["metadata"] == {"name": "cluster-info", "namespace": "kube-public"}
    doc = yaml.safe_load(cm["data"]["kubeconfig"])
    cluster = doc["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(cluster["certificate-authority-data"]) == ca.read_bytes()
    assert not doc.get("users")
    (_, role), (_, binding) = kubeadmbootstrap.cluster_info_rbac()
    assert role["rules"] == [
        {
            "verbs": ["get"],
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["cluster-info"],
        }
    ]
    assert binding["subjects"][0]["name"] == "system:anonymous"
