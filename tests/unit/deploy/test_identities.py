from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from deploy.identities import (
    COMPONENT_USERS,
    admin_only,
    component_identities,
    ensure_client_certs,
    ensure_tokens,
    identities,
    identity_of,
    read_token_file,
)


def test_every_kubelet_is_its_node(tmp_path: Path) -> None:
    wanted = identities(["n1", "n2"])
    assert wanted["kubelet-n1"] == ("system:node:n1", "system:nodes")
    assert wanted["kube-scheduler"] == ("system:kube-scheduler", "")
    assert [name for name, (_, groups) in wanted.items() if "system:masters" in groups] == ["admin"]


def test_tokens_are_kept_and_new_identities_added(tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    first = ensure_tokens(path, identities(["n1"]))
    assert path.stat().st_mode & 0o777 == 0o600
    assert set(first) == {*COMPONENT_USERS, "kubelet-n1"}
    line = next(x for x in path.read_text().splitlines() if ",system:node:n1," in x)
    assert line.endswith(',"system:nodes"')
    second = ensure_tokens(path, identities(["n1", "n2"]))
    assert {k: second[k] for k in first} == first  # a running apiserver's tokens stay
    assert second["kubelet-n2"] not in first.values()
    assert read_token_file(path)["system:node:n2"] == second["kubelet-n2"]


def test_tokens_no_longer_wanted_are_dropped(tmp_path: Path) -> None:
    """An older minik gave every component a token; now only the admin has one, and
    the others must stop opening the apiserver."""
    path = tmp_path / "tokens.csv"
    everyone = ensure_tokens(path, identities(["n1"]))
    admin = ensure_tokens(path, admin_only(identities(["n1"])))
    assert admin == {"admin": everyone["admin"]}
    assert set(read_token_file(path)) == {"admin"}


def test_components_are_x509_users_of_the_cluster_ca(tmp_path: Path) -> None:
    """Issue 10: each component's client certificate says who it is as Kubernetes'
    X.509 authenticator reads it (CN the user, O the groups); made once, then kept."""
    wanted = component_identities(identities(["n1"]))
    assert "admin" not in wanted
    pairs = ensure_client_certs(tmp_path / "pki", wanted)
    assert set(pairs) == set(wanted)
    cert = x509.load_pem_x509_certificate(pairs["kubelet-n1"][0].read_bytes())
    name = cert.subject
    assert [a.value for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)] == ["system:node:n1"]
    assert [a.value for a in name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "system:nodes"
    ]
    assert pairs["kubelet-n1"][1].stat().st_mode & 0o777 == 0o600
    again = ensure_client_certs(tmp_path / "pki", wanted)
    assert again["kubelet-n1"][0].read_bytes() == pairs["kubelet-n1"][0].read_bytes()


def test_identity_of_a_kubeconfig_name() -> None:
    assert identity_of("kubelet-n7") == ("system:node:n7", "system:nodes")
    assert identity_of("kube-scheduler") == ("system:kube-scheduler", "")
    with pytest.raises(ValueError, match="no minik component is named 'kube-nothing'"):
        identity_of("kube-nothing")
