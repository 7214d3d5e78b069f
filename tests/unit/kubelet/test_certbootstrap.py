"""kubelet.certbootstrap's pure parts: the request's digest name, the request it
posts, what a denied or failed request means, which kubeconfigs are still usable,
and where the certificate is kept."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api import certificates as certs
from client.kubeconfig import load as load_kubeconfig
from client.kubeconfig import write_kubeconfig
from kubelet import certbootstrap

NOW = datetime.datetime.now(datetime.UTC)


def self_signed(
    key: ec.EllipticCurvePrivateKey, start: datetime.datetime, end: datetime.datetime
) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "system:node:n1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_request_name_is_a_digest_of_key_subject_and_usages():
    key = ec.generate_private_key(ec.SECP256R1())
    name = certbootstrap.request_name(key.public_key(), "system:node:n1", ["system:nodes"])
    assert name.startswith("node-csr-") and len(name) == len("node-csr-") + 43
    assert name == certbootstrap.request_name(key.public_key(), "system:node:n1", ["system:nodes"])
    assert name != certbootstrap.request_name(key.public_key(), "system:node:n2", ["system:nodes"])
    other = ec.generate_private_key(ec.SECP256R1())
    assert name != certbootstrap.request_name(
        other.public_key(), "system:node:n1", ["system:nodes"]
    )


def test_the_request_is_what_csrapproving_recognizes():
    key = ec.generate_private_key(ec.SECP256R1())
    body = certbootstrap.csr_object(key, "n1")
    assert body["spec"]["signerName"] == certs.KUBE_APISERVER_CLIENT_KUBELET
    request = certs.parse_request(body)
    assert certs.kubelet_client_error(request, body["spec"]["usages"]) is None
    assert certs.common_name(request) == "system:node:n1"


def test_outcome():
    pending = {"metadata": {"name": "c"}, "status": {}}
    assert certbootstrap._outcome(pending) is None
    issued = {
        "metadata": {"name": "c"},
        "status": {
            "conditions": [{"type": "Approved", "status": "True"}],
            "certificate": base64.b64encode(b"PEM").decode(),
        },
    }
    assert certbootstrap._outcome(issued) == b"PEM"
    denied = {
        "metadata": {"name": "c"},
        "status": {"conditions": [{"type": "Denied", "reason": "No", "message": "go away"}]},
    }
    with pytest.raises(certbootstrap.BootstrapError, match="is denied, reason: No"):
        certbootstrap._outcome(denied)


def test_kubeconfig_validity_and_store(tmp_path: Path):
    key = ec.generate_private_key(ec.SECP256R1())
    assert not certbootstrap.kubeconfig_still_valid(tmp_path / "missing.conf")
    expired = self_signed(key, NOW - datetime.timedelta(days=2), NOW - datetime.timedelta(days=1))
    current = certbootstrap.store(tmp_path / "pki", key, expired)
    assert not certbootstrap.certificate_valid(current)
    bootstrap = tmp_path / "bootstrap.conf"
    ca = tmp_path / "ca.crt"
    ca.write_bytes(expired)
    write_kubeconfig(bootstrap, "https://127.0.0.1:6443", "abcdef.0123456789abcdef", ca_file=ca)
    kubeconfig = tmp_path / "kubelet.conf"
    certbootstrap.write_node_kubeconfig(kubeconfig, load_kubeconfig(bootstrap), current)
    assert not certbootstrap.kubeconfig_still_valid(kubeconfig)  # its certificate expired
    valid = self_signed(key, NOW - datetime.timedelta(hours=1), NOW + datetime.timedelta(days=1))
    current = certbootstrap.store(tmp_path / "pki", key, valid)
    assert certbootstrap.kubeconfig_still_valid(kubeconfig)
    config = load_kubeconfig(kubeconfig)
    assert config.server == "https://127.0.0.1:6443" and config.token is None
    assert config.client_certificate == config.client_key == str(current)
    assert (kubeconfig.stat().st_mode & 0o777) == 0o600
    assert current.resolve().read_bytes().startswith(valid)
