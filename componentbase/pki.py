"""Certificates for serving the API over TLS: a cluster CA and a serving certificate
signed by it. kubectl (client-go) only sends bearer tokens over TLS, so a cluster a
user talks to with kubectl is served over HTTPS. The apiserver makes them from
`--cert-dir`; `minik up` and the compose lab make them before it starts."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

DEFAULT_HOSTS = (
    "127.0.0.1",
    "::1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class ServingFiles:
    ca_cert: Path
    cert: Path
    key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    """Created 0600 (never written and then chmodded: no moment readable by others)."""
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _validity() -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC)
    return now - datetime.timedelta(hours=1), now + datetime.timedelta(days=3650)


def ensure_ca(directory: Path, common_name: str = "minik-ca") -> tuple[Path, Path]:
    """The cluster CA in `directory` (made once, then reused); another CA by another
    `common_name` in another directory (etcd's, as kubeadm's `etcd/ca.crt`)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "ca.crt", directory / "ca.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    not_before, not_after = _validity()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def ensure_serving_cert(directory: Path, extra_hosts: tuple[str, ...] = ()) -> ServingFiles:
    """A serving certificate for the apiserver, valid for loopback, this host's
    names, the `kubernetes` Service names and `extra_hosts`."""
    hosts = tuple(dict.fromkeys((*DEFAULT_HOSTS, socket.gethostname(), *extra_hosts)))
    return issue_serving_cert(directory, directory, "apiserver", "kube-apiserver", hosts)


def _sans(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    return sans


def issue_serving_cert(
    ca_dir: Path,
    out_dir: Path,
    stem: str,
    common_name: str,
    hosts: tuple[str, ...],
    client_auth: bool = False,
) -> ServingFiles:
    """A serving certificate signed by the CA in `ca_dir`, valid for `hosts` (IPs and
    names), written to `out_dir` as `<stem>.crt`/`<stem>.key`; kept while it still
    covers `hosts`. The apiserver's, and each kubelet's as kubeadm's kubelets get one
    from the cluster CA; `client_auth` also lets it dial (etcd's: its gateway and peers
    call etcd with it, as kubeadm's `etcd/server.crt`)."""
    ca_cert_path, ca_key_path = ensure_ca(ca_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out_dir / f"{stem}.crt", out_dir / f"{stem}.key"
    if (
        cert_path.exists()
        and key_path.exists()
        and _covers(cert_path, hosts)
        and _issued_by(cert_path, ca_cert_path)
    ):
        return ServingFiles(ca_cert_path, cert_path, key_path)
    ca_key = _load_key(ca_key_path)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    sans = _sans(hosts)
    not_before, not_after = _validity()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
                + ([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH] if client_auth else [])
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return ServingFiles(ca_cert_path, cert_path, key_path)


def _issued_by(cert_path: Path, ca_cert_path: Path) -> bool:
    """Whether the CA signed it (a data dir's CA made anew leaves older certificates)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    ca = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _covers(cert_path: Path, hosts: tuple[str, ...]) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    names = {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    names |= set(san.get_values_for_type(x509.DNSName))
    return all(h in names or str(h) in names for h in hosts)


def self_signed_pem(common_name: str, hosts: tuple[str, ...] = ()) -> tuple[bytes, bytes]:
    """A self-signed serving certificate and its key, PEM, in memory: the ingress's
    fallback certificate, and the TLS Secrets of tests and examples."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    not_before, not_after = _validity()
    names = _sans(hosts)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def ensure_self_signed(
    directory: Path, stem: str, common_name: str, hosts: tuple[str, ...]
) -> tuple[Path, Path]:
    """A self-signed serving certificate kept in `directory` (`<stem>.crt`/`.key`),
    as Kubernetes' kubelet makes one in its --cert-dir when given no --tls-cert-file;
    made again when it no longer covers `hosts`."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    if cert_path.exists() and key_path.exists() and _covers(cert_path, hosts):
        return cert_path, key_path
    cert_pem, key_pem = self_signed_pem(common_name, hosts)
    key_path.unlink(missing_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem)
    cert_path.write_bytes(cert_pem)
    return cert_path, key_path


def issue_client_cert(
    ca_dir: Path, out_dir: Path, user: str, groups: tuple[str, ...] = ()
) -> tuple[Path, Path]:
    """A client certificate from the CA in `ca_dir` for X.509 authentication
    (--client-ca-file): CN `user`, one O per group. Written to `out_dir` as
    `<user>.crt`/`<user>.key` (colons made safe); the key is created 0600."""
    ca_cert_path, ca_key_path = ensure_ca(ca_dir)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    ca_key = _load_key(ca_key_path)
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, user))
    not_before, not_after = _validity()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = user.replace(":", "_")
    cert_path, key_path = out_dir / f"{stem}.crt", out_dir / f"{stem}.key"
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


@dataclass(frozen=True)
class ServiceAccountKeyFiles:
    key: Path  # the private key: --service-account-signing-key-file
    pub: Path  # its public half: --service-account-key-file


def ensure_service_account_key(directory: Path) -> ServiceAccountKeyFiles:
    """The key pair that signs ServiceAccount tokens, as kubeadm's `sa.key`/`sa.pub`
    (RSA 2048, the tokens are RS256): made once, kept beside the other certificates."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path, pub_path = directory / "sa.key", directory / "sa.pub"
    if key_path.exists() and pub_path.exists():
        return ServiceAccountKeyFiles(key_path, pub_path)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(key_path, key)
    pub_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return ServiceAccountKeyFiles(key_path, pub_path)


def ensure_client_cert(
    ca_dir: Path, out_dir: Path, user: str, groups: tuple[str, ...] = ()
) -> tuple[Path, Path]:
    """issue_client_cert, made once and kept while the CA in `ca_dir` still signs it
    (a component's long-lived client certificate, e.g. the apiserver's toward etcd)."""
    stem = user.replace(":", "_")
    cert, key = out_dir / f"{stem}.crt", out_dir / f"{stem}.key"
    if cert.exists() and key.exists() and _issued_by(cert, ensure_ca(ca_dir)[0]):
        return cert, key
    return issue_client_cert(ca_dir, out_dir, user, groups)
