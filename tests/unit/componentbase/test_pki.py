"""Certificates for the kubelets (componentbase/pki.py): signed by the cluster CA for
the node's names, kept while valid, made anew when the CA or the names change."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from cryptography import x509

from componentbase.delegatedauth import caller_from_peer_cert
from componentbase.pki import (
    ensure_self_signed,
    ensure_serving_cert,
    issue_client_cert,
    issue_serving_cert,
)


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


def test_the_apiservers_certificate_names_the_kubernetes_service(tmp_path: Path) -> None:
    """In-cluster clients dial the `kubernetes` Service (10.96.0.1, or by name) and
    verify the certificate against that address, as kubeadm's apiserver certificate
    allows."""
    files = ensure_serving_cert(tmp_path)
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "10.96.0.1" in [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    assert "kubernetes.default.svc" in sans.get_values_for_type(x509.DNSName)


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


def test_leaves_live_a_year_and_renewal_keeps_their_names(tmp_path: Path) -> None:
    """kubeadm's lifetimes (leaf one year, CA ten) and its renewal: the same subject
    and extensions, a new key."""
    import datetime

    from componentbase.pki import ensure_ca, renew_certificate

    cert_path, key_path = issue_client_cert(tmp_path, tmp_path, "u", ("g1", "g2"))
    old = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert old.not_valid_after_utc - old.not_valid_before_utc <= datetime.timedelta(days=366)
    ca = x509.load_pem_x509_certificate(ensure_ca(tmp_path)[0].read_bytes())
    assert ca.not_valid_after_utc - ca.not_valid_before_utc >= datetime.timedelta(days=3650)
    old_key = key_path.read_bytes()
    renew_certificate(tmp_path, cert_path)
    new = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert new.subject == old.subject and new.serial_number != old.serial_number
    assert list(new.extensions) == list(old.extensions)
    assert key_path.read_bytes() != old_key
    assert os.stat(key_path).st_mode & 0o777 == 0o600
    new.verify_directly_issued_by(ca)


def test_ca_key_lives_apart_and_an_old_one_is_moved(tmp_path: Path) -> None:
    from componentbase.pki import ca_key_path, ensure_ca

    cert, key = ensure_ca(tmp_path / "pki")
    assert key == ca_key_path(tmp_path / "pki") and key.parent != cert.parent
    assert os.stat(key.parent).st_mode & 0o777 == 0o700
    os.replace(key, tmp_path / "pki" / "ca.key")  # where an older minik kept it
    assert ensure_ca(tmp_path / "pki") == (cert, key)  # moved, the same CA
    assert not (tmp_path / "pki" / "ca.key").exists()
