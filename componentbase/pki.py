"""Certificates for serving the API over TLS: a cluster CA and a serving certificate
signed by it. kubectl (client-go) only sends bearer tokens over TLS, so a cluster a
user talks to with kubectl is served over HTTPS. The apiserver makes them from
`--cert-dir`; `minik up` and the compose lab make them before it starts.

Lifetimes are kubeadm's: the CA 10 years, every leaf (serving and client certificates)
one year, renewed (a new key, the same names: `renew_certificate`) by `minik certs
renew` and, when it expires within RENEW_BEFORE, by `minik up` and the issuing
functions here.

Layout of a CA directory `<dir>`: `<dir>/ca.crt` beside the certificates components
read; the CA's private key in its own directory, `<dir>/ca/ca.key` (0700/0600), read
only when issuing (`ca_key_path`); a key left at `<dir>/ca.key` by an older minik is
moved there on first use."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

from api.clusterdefaults import kubernetes_service_ip
from api.privatefile import write_private

DEFAULT_HOSTS = (
    "127.0.0.1",
    "::1",
    "localhost",
    kubernetes_service_ip(),  # in-cluster clients dial the `kubernetes` Service's address
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
    write_private(path, data)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


CA_VALIDITY = datetime.timedelta(days=3650)  # kubeadm's CACertificateValidityPeriod
LEAF_VALIDITY = datetime.timedelta(days=365)  # kubeadm's CertificateValidityPeriod
RENEW_BEFORE = datetime.timedelta(days=30)  # a leaf closer to its end is renewed
CA_KEY_DIR = "ca"  # <CA dir>/ca/ca.key: the signing key, apart from what servers read


def _validity(
    lifetime: datetime.timedelta = LEAF_VALIDITY,
) -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC)
    return now - datetime.timedelta(hours=1), now + lifetime


@dataclass(frozen=True)
class CAKey:
    """A CA's certificate and private key, loaded for signing (the controller
    manager's csrsigning reads --cluster-signing-cert-file/--cluster-signing-key-file)."""

    cert: x509.Certificate
    key: PrivateKeyTypes


def load_ca(cert_path: Path | str, key_path: Path | str) -> CAKey:
    """A CA from PEM files (any key type cryptography reads); ValueError when the key
    is not the certificate's."""
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(
        serialization.Encoding.DER, public
    ) != cert.public_key().public_bytes(serialization.Encoding.DER, public):
        raise ValueError(f"the key {key_path} does not match the certificate {cert_path}")
    return CAKey(cert, key)


def ca_key_path(directory: Path) -> Path:
    """Where the CA of `directory` keeps its private key: a directory of its own
    (`<directory>/ca/ca.key`), so no component handed the certificates of `directory`
    reads it; only issuing does."""
    return directory / CA_KEY_DIR / "ca.key"


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)


def _migrate_ca_key(directory: Path) -> None:
    """An older minik kept ca.key beside ca.crt: move it to its own directory."""
    old, new = directory / "ca.key", ca_key_path(directory)
    if old.exists() and not new.exists():
        _private_dir(new.parent)
        old.chmod(0o600)
        os.replace(old, new)


def ensure_ca(directory: Path, common_name: str = "minik-ca") -> tuple[Path, Path]:
    """The CA of `directory`: its certificate `<directory>/ca.crt` and key
    (`ca_key_path`), made once (10 years, as kubeadm's), then reused. The cluster CA;
    another `common_name` in another directory is etcd's (kubeadm's `etcd/ca.crt`)."""
    directory.mkdir(parents=True, exist_ok=True)
    _migrate_ca_key(directory)
    cert_path, key_path = directory / "ca.crt", ca_key_path(directory)
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    _private_dir(key_path.parent)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start, end = _validity(CA_VALIDITY)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
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
    names) for a year, written to `out_dir` as `<stem>.crt`/`<stem>.key`; kept while
    it still covers `hosts` and is not within RENEW_BEFORE of its end. The
    apiserver's, and each kubelet's as kubeadm's kubelets get one from the cluster CA;
    `client_auth` also lets it dial (etcd's: its gateway and peers call etcd with it,
    as kubeadm's `etcd/server.crt`)."""
    ca_cert_path, _ = ensure_ca(ca_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out_dir / f"{stem}.crt", out_dir / f"{stem}.key"
    if (
        cert_path.exists()
        and key_path.exists()
        and _covers(cert_path, hosts)
        and _issued_by(cert_path, ca_cert_path)
        and not expires_within(cert_path, RENEW_BEFORE)
    ):
        return ServingFiles(ca_cert_path, cert_path, key_path)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    extensions = _serving_extensions(_sans(hosts), client_auth)
    _issue(ca_dir, cert_path, key_path, subject, extensions)
    return ServingFiles(ca_cert_path, cert_path, key_path)


Extension = tuple[x509.ExtensionType, bool]  # (value, critical)


def _serving_extensions(sans: list[x509.GeneralName], client_auth: bool = False) -> list[Extension]:
    usages = [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    if client_auth:
        usages.append(x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH)
    return [(x509.SubjectAlternativeName(sans), False), (x509.ExtendedKeyUsage(usages), False)]


def _issue(
    ca_dir: Path,
    cert_path: Path,
    key_path: Path,
    subject: x509.Name,
    extensions: Sequence[Extension],
    validity: datetime.timedelta = LEAF_VALIDITY,
) -> x509.Certificate:
    """Sign a new key's certificate with the CA of `ca_dir` and write both (the key
    0600; each file replaced whole, never half-written)."""
    ca_cert_path, ca_key_file = ensure_ca(ca_dir)
    ca_key = _load_key(ca_key_file)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    start, end = _validity(validity)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )
    for value, critical in extensions:
        builder = builder.add_extension(value, critical=critical)
    cert = builder.sign(ca_key, hashes.SHA256())
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    staged_key = key_path.with_name(f".{key_path.name}.new")
    _write_key(staged_key, key)
    os.replace(staged_key, key_path)
    staged_cert = cert_path.with_name(f".{cert_path.name}.new")
    staged_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(staged_cert, cert_path)
    return cert


def not_after(cert_path: Path) -> datetime.datetime:
    """When the certificate at `cert_path` expires (UTC)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.not_valid_after_utc


def expires_within(cert_path: Path, window: datetime.timedelta) -> bool:
    return not_after(cert_path) - datetime.datetime.now(datetime.UTC) < window


def issued_by(cert_path: Path, ca_dir: Path) -> bool:
    """Whether the CA of `ca_dir` signed the certificate at `cert_path` (and it is not
    that CA's own)."""
    ca_cert_path = ca_dir / "ca.crt"
    if cert_path.resolve() == ca_cert_path.resolve() or not ca_cert_path.exists():
        return False
    return _issued_by(cert_path, ca_cert_path)


_KEPT_EXTENSIONS = (
    x509.SubjectAlternativeName,
    x509.ExtendedKeyUsage,
    x509.BasicConstraints,
    x509.KeyUsage,
)


def renew_certificate(
    ca_dir: Path,
    cert_path: Path,
    key_path: Path | None = None,
    validity: datetime.timedelta = LEAF_VALIDITY,
) -> datetime.datetime:
    """Re-issue the leaf at `cert_path` from the CA of `ca_dir` as kubeadm's `certs
    renew` does: the same subject, names and usages read from the certificate itself,
    a new private key (written to `key_path`, default `<stem>.key` beside it), a new
    `validity` from now. Returns the new expiry. Components load certificates when
    they start, so they use it once restarted."""
    old = x509.load_pem_x509_certificate(cert_path.read_bytes())
    extensions: list[Extension] = [
        (ext.value, ext.critical)
        for ext in old.extensions
        if isinstance(ext.value, _KEPT_EXTENSIONS)
    ]
    key_path = key_path or cert_path.with_suffix(".key")
    cert = _issue(ca_dir, cert_path, key_path, old.subject, extensions, validity)
    return cert.not_valid_after_utc


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
    start, end = _validity()
    names = _sans(hosts)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
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
    as Kubernetes' kubelet makes one in its --cert-dir when given no --tls-cert-file
    (a year, as Kubernetes'); made again when it no longer covers `hosts` or is
    within RENEW_BEFORE of its end."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    if (
        cert_path.exists()
        and key_path.exists()
        and _covers(cert_path, hosts)
        and not expires_within(cert_path, RENEW_BEFORE)
    ):
        return cert_path, key_path
    cert_pem, key_pem = self_signed_pem(common_name, hosts)
    write_private(key_path, key_pem)
    cert_path.write_bytes(cert_pem)
    return cert_path, key_path


def issue_client_cert(
    ca_dir: Path, out_dir: Path, user: str, groups: tuple[str, ...] = ()
) -> tuple[Path, Path]:
    """A client certificate from the CA in `ca_dir` for X.509 authentication
    (--client-ca-file): CN `user`, one O per group, valid a year. Written to `out_dir`
    as `<user>.crt`/`<user>.key` (colons made safe); the key is created 0600."""
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, user))
    extensions: list[Extension] = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), False),
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = user.replace(":", "_")
    cert_path, key_path = out_dir / f"{stem}.crt", out_dir / f"{stem}.key"
    _issue(ca_dir, cert_path, key_path, x509.Name(attrs), extensions)
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
    and it is not within RENEW_BEFORE of its end (a component's long-lived client
    certificate, e.g. the apiserver's toward etcd)."""
    stem = user.replace(":", "_")
    cert, key = out_dir / f"{stem}.crt", out_dir / f"{stem}.key"
    if (
        cert.exists()
        and key.exists()
        and _issued_by(cert, ensure_ca(ca_dir)[0])
        and not expires_within(cert, RENEW_BEFORE)
    ):
        return cert, key
    return issue_client_cert(ca_dir, out_dir, user, groups)
