"""The kubelet's TLS bootstrap (--bootstrap-kubeconfig), as Kubernetes'
pkg/kubelet/certificate/bootstrap: when --kubeconfig is missing or its client
certificate has expired, the kubelet makes a key, posts a CertificateSigningRequest
for `system:node:<node-name>` in `system:nodes` (signer
kubernetes.io/kube-apiserver-client-kubelet) with the bootstrap credentials, waits
for the certificate, keeps key and certificate in `<cert-dir>/kubelet-client-current.pem`
and writes --kubeconfig to use it (server and CA from the bootstrap kubeconfig).

The request's name is a digest of the public key, subject and usages (Kubernetes'
`node-csr-...`), so a kubelet restarted while waiting finds its own request again;
the key waits in `kubelet-client.key.tmp` until the certificate arrives."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api import certificates as certs
from api.errors import AlreadyExists
from api.privatefile import write_private
from api.resources import CERTIFICATESIGNINGREQUESTS
from client.kubeconfig import KubeConfig
from client.kubeconfig import load as load_kubeconfig
from client.rest import AsyncClient

log = logging.getLogger(__name__)

CURRENT = "kubelet-client-current.pem"
PENDING_KEY = "kubelet-client.key.tmp"
USAGES = ["digital signature", "client auth"]  # an ECDSA key: no key encipherment
WAIT_SECONDS = 15 * 60  # certificateWaitTimeout


class BootstrapError(Exception):
    """The certificate was denied, failed, or never came."""


def certificate_valid(pem_path: Path, now: datetime.datetime | None = None) -> bool:
    """Whether the file holds a certificate that is valid now."""
    try:
        cert = x509.load_pem_x509_certificate(pem_path.read_bytes())
    except (OSError, ValueError):
        return False
    now = now or datetime.datetime.now(datetime.UTC)
    return cert.not_valid_before_utc <= now < cert.not_valid_after_utc


def kubeconfig_still_valid(path: Path) -> bool:
    """isClientConfigStillValid: the kubeconfig exists and its client certificate (a
    file or inline data) is valid now; a kubeconfig without one counts as valid."""
    if not path.exists():
        return False
    try:
        config = load_kubeconfig(path)
    except Exception:
        return False
    if config.client_certificate:
        return certificate_valid(Path(config.client_certificate))
    if config.client_certificate_data:
        try:
            cert = x509.load_pem_x509_certificate(config.client_certificate_data.encode())
        except ValueError:
            return False
        now = datetime.datetime.now(datetime.UTC)
        return cert.not_valid_before_utc <= now < cert.not_valid_after_utc
    return True


def pending_key(cert_dir: Path) -> ec.EllipticCurvePrivateKey:
    """keyutil.LoadOrGenerateKeyFile: the key a request waits with, reused across
    restarts so the request's name (and the request) stays the same."""
    path = cert_dir / PENDING_KEY
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key
    key = ec.generate_private_key(ec.SECP256R1())
    cert_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(path, _key_pem(key))
    return key


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def request_name(public_key: ec.EllipticCurvePublicKey, cn: str, orgs: list[str]) -> str:
    """digestedName: `node-csr-` + base64url(SHA-512/256 over the base64url of the
    public key, the CN, each O and each usage, each followed by '|')."""
    digest = hashlib.new("sha512_256")

    def write(data: bytes) -> None:
        digest.update(base64.urlsafe_b64encode(data).rstrip(b"=") + b"|")

    write(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    write(cn.encode())
    for org in orgs:
        write(org.encode())
    for usage in USAGES:
        write(usage.encode())
    return "node-csr-" + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def csr_object(key: ec.EllipticCurvePrivateKey, node_name: str) -> dict[str, Any]:
    cn = certs.NODE_USER_PREFIX + node_name
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, certs.NODES_GROUP),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    request = (
        x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    )
    pem = request.public_bytes(serialization.Encoding.PEM)
    return {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": request_name(key.public_key(), cn, [certs.NODES_GROUP])},
        "spec": {
            "request": certs.encode_bytes(pem),
            "signerName": certs.KUBE_APISERVER_CLIENT_KUBELET,
            "usages": list(USAGES),
        },
    }


def _outcome(csr: dict[str, Any]) -> bytes | None:
    """The certificate PEM once issued; BootstrapError when denied or failed."""
    for c in certs.conditions(csr):
        if c.get("type") in (certs.DENIED, certs.FAILED):
            raise BootstrapError(
                f"certificate signing request {csr['metadata']['name']} is "
                f"{str(c['type']).lower()}, reason: {c.get('reason', '')}, "
                f"message: {c.get('message', '')}"
            )
    raw = (csr.get("status") or {}).get("certificate")
    if raw and certs.is_approved(csr):
        return certs.decode_bytes(raw)
    return None


async def request_certificate(
    api: AsyncClient, key: ec.EllipticCurvePrivateKey, node_name: str, timeout: float
) -> bytes:
    """Post (or find again) the request and watch it until it is issued."""
    body = csr_object(key, node_name)
    name = body["metadata"]["name"]
    try:
        csr = await api.create(CERTIFICATESIGNINGREQUESTS, body)
        log.info("TLS bootstrap: created certificate signing request %s", name)
    except AlreadyExists:
        csr = await api.get(CERTIFICATESIGNINGREQUESTS, name)
        log.info("TLS bootstrap: waiting on existing certificate signing request %s", name)

    async def wait(csr: dict[str, Any]) -> bytes:
        while True:
            pem = _outcome(csr)
            if pem is not None:
                return pem
            rv = csr["metadata"]["resourceVersion"]
            stream = api.watch(
                CERTIFICATESIGNINGREQUESTS,
                field_selector=f"metadata.name={name}",
                resource_version=rv,
                timeout_seconds=300,
            )
            try:
                async for kind, obj in stream:
                    if kind in ("ADDED", "MODIFIED"):
                        csr = obj
                        pem = _outcome(csr)
                        if pem is not None:
                            return pem
                    elif kind == "DELETED":
                        raise BootstrapError(f"certificate signing request {name} was deleted")
            finally:
                await stream.aclose()  # type: ignore[attr-defined]
            csr = await api.get(CERTIFICATESIGNINGREQUESTS, name)

    try:
        return await asyncio.wait_for(wait(csr), timeout)
    except TimeoutError as err:
        raise BootstrapError(
            f"timed out after {timeout:g}s waiting for certificate signing request {name}"
        ) from err


def store(cert_dir: Path, key: ec.EllipticCurvePrivateKey, cert_pem: bytes) -> Path:
    """certificate.FileStore: `kubelet-client-<time>.pem` (certificate, then key),
    `kubelet-client-current.pem` pointing at it; the pending key removed."""
    cert_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d-%H-%M-%S")
    target = cert_dir / f"kubelet-client-{stamp}.pem"
    write_private(target, cert_pem + _key_pem(key))
    link = cert_dir / CURRENT
    staged = cert_dir / f".{CURRENT}.new"
    staged.unlink(missing_ok=True)
    staged.symlink_to(target.name)
    os.replace(staged, link)
    (cert_dir / PENDING_KEY).unlink(missing_ok=True)
    return link


def write_node_kubeconfig(path: Path, bootstrap: KubeConfig, pem: Path) -> None:
    """The kubelet's kubeconfig: the bootstrap one's server and CA, the new cert."""
    cluster: dict[str, Any] = {"server": bootstrap.server}
    if bootstrap.certificate_authority:
        cluster["certificate-authority"] = str(Path(bootstrap.certificate_authority).resolve())
    elif bootstrap.certificate_authority_data:
        cluster["certificate-authority-data"] = base64.b64encode(
            bootstrap.certificate_authority_data.encode()
        ).decode()
    if bootstrap.insecure_skip_tls_verify:
        cluster["insecure-skip-tls-verify"] = True
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "default-cluster", "cluster": cluster}],
        "users": [
            {
                "name": "default-auth",
                "user": {"client-certificate": str(pem), "client-key": str(pem)},
            }
        ],
        "contexts": [
            {
                "name": "default-context",
                "context": {"cluster": "default-cluster", "user": "default-auth"},
            }
        ],
        "current-context": "default-context",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, yaml.safe_dump(doc, sort_keys=False).encode())


async def load_client_cert(
    kubeconfig: Path,
    bootstrap_kubeconfig: Path,
    cert_dir: Path,
    node_name: str,
    timeout: float = WAIT_SECONDS,
) -> bool:
    """LoadClientCert: make --kubeconfig usable; True when a new certificate was
    obtained (or a valid stored one reused), False when it already was usable."""
    if kubeconfig_still_valid(kubeconfig):
        return False
    bootstrap = load_kubeconfig(bootstrap_kubeconfig)
    cert_dir = cert_dir.resolve()
    current = cert_dir / CURRENT
    if certificate_valid(current):
        log.info("TLS bootstrap: using the stored client certificate %s", current)
        write_node_kubeconfig(kubeconfig, bootstrap, current)
        return True
    key = pending_key(cert_dir)
    api = AsyncClient(bootstrap, user_agent="minik-kubelet-bootstrap")
    try:
        cert_pem = await request_certificate(api, key, node_name, timeout)
    finally:
        await api.aclose()
    pem = store(cert_dir, key, cert_pem)
    write_node_kubeconfig(kubeconfig, bootstrap, pem)
    log.info("TLS bootstrap: client certificate issued; wrote %s", kubeconfig)
    return True
