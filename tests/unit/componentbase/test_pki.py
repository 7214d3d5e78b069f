"""Certificates for the kubelets (componentbase/pki.py): signed by the cluster CA for
the node's names, kept while valid, made anew when the CA or the names change."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from cryptography import x509

from componentbase.delegatedauth import caller_from_peer_cert
from componentbase.pki import ensure_self_signed, issue_client_cert, issue_serving_cert


def test_kubelet_serving_cert_from_the_ca(tmp_path: Path) -> None:
    hosts = ("10.0.0.7", "n1")
    files = issue_serving_cert(tmp_path / "ca", tmp_path / "n1", "kubelet", "n1", hosts)
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    context.load_cert_chain(files.cert, files.key)  # the pair matches
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(files.ca_cert.read_bytes()))
    assert os.stat(files.key).st_mode & 0o777 == 0o600
    first = files.cert.read_bytes()
    again = issue_serving_cert(tmp_path / "ca", tmp_path / "n1", "kubelet", "n1", ("10.0.0.7",))
    assert again.cert.read_bytes() == first  # still covers: kept
    moved = issue_serving_cert(tmp_path / "ca", tmp_path / "n1", "kubelet", "n1", ("10.0.0.8",))
    second = moved.cert.read_bytes()
    assert second != first
    # a new CA in another dir: the certificate it did not sign is replaced
    other = issue_serving_cert(tmp_path / "ca2", tmp_path / "n1", "kubelet", "n1", ("10.0.0.8",))
    assert other.cert.read_bytes() != second


def test_self_signed_kept_in_the_cert_dir(tmp_path: Path) -> None:
    cert, key = ensure_self_signed(tmp_path / "pki", "kubelet", "n1", ("127.0.0.1", "n1"))
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert ensure_self_signed(tmp_path / "pki", "kubelet", "n1", ("n1",))[0].read_bytes() == (
        cert.read_bytes()
    )


def test_client_certificate_identity(tmp_path: Path) -> None:
    """What a kubelet sees of the apiserver's certificate (CN user, O groups)."""
    cert_path, _ = issue_client_cert(
        tmp_path, tmp_path, "kube-apiserver-kubelet-client", ("system:masters",)
    )
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    subject = tuple(((attr.oid._name, attr.value),) for attr in cert.subject)
    caller = caller_from_peer_cert({"subject": subject})
    assert caller is not None
    assert caller.name == "kube-apiserver-kubelet-client"
    assert caller.groups == ("system:masters", "system:authenticated")
    assert caller_from_peer_cert(None) is None
    assert caller_from_peer_cert({"subject": ((("organizationName", "x"),),)}) is None
