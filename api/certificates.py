"""certificates.k8s.io/v1 CertificateSigningRequests: the vocabulary the apiserver's
validation and admission, the controller manager's approver and signer, and the CLI
share (Kubernetes' pkg/apis/certificates and its helpers).

On the wire `spec.request` and `status.certificate` are Go `[]byte`: base64 of PEM
text. `parse_request` gives the x509 request or raises ValueError with Kubernetes'
words; the kubelet checks (`kubelet_client_error`, `kubelet_serving_error`) say why
a request is not what a kubelet may ask for, None when it is."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509

# cryptography (~10 MiB resident once imported) is imported by the functions that parse
# certificates: a controller manager with no CertificateSigningRequest to handle, the
# idle case, never loads it.

GROUP = "certificates.k8s.io"

KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
KUBE_APISERVER_CLIENT_KUBELET = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
LEGACY_UNKNOWN = "kubernetes.io/legacy-unknown"

APPROVED = "Approved"
DENIED = "Denied"
FAILED = "Failed"

NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"

# KeyUsage values (k8s.io/api/certificates/v1), in Kubernetes' order.
KEY_USAGES = (
    "signing",
    "digital signature",
    "content commitment",
    "key encipherment",
    "key agreement",
    "data encipherment",
    "cert sign",
    "crl sign",
    "encipher only",
    "decipher only",
)
EXT_KEY_USAGES = (
    "any",
    "server auth",
    "client auth",
    "code signing",
    "email protection",
    "s/mime",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "timestamping",
    "ocsp signing",
    "microsoft sgc",
    "netscape sgc",
)
ALL_USAGES = KEY_USAGES + EXT_KEY_USAGES

MIN_EXPIRATION_SECONDS = 600  # spec.expirationSeconds below 10 minutes is invalid

_KUBELET_CLIENT_USAGES = (
    {"digital signature", "key encipherment", "client auth"},
    {"digital signature", "client auth"},
)
_KUBELET_SERVING_USAGES = (
    {"digital signature", "key encipherment", "server auth"},
    {"digital signature", "server auth"},
)


def decode_bytes(value: Any) -> bytes:
    """A Go []byte field: base64 text on the wire (ValueError when it is not)."""
    if not isinstance(value, str):
        raise ValueError("not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError(f"illegal base64 data: {err}") from err


def encode_bytes(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse_request_pem(pem: bytes) -> x509.CertificateSigningRequest:
    """certificates.ParseCSR plus CheckSignature: the first PEM block must be a
    CERTIFICATE REQUEST whose signature verifies."""
    from cryptography import x509

    start = pem.find(b"-----BEGIN ")
    if start < 0:
        raise ValueError("PEM block type must be CERTIFICATE REQUEST")
    kind = pem[start + 11 : pem.find(b"-----", start + 11)]
    if kind != b"CERTIFICATE REQUEST":
        raise ValueError("PEM block type must be CERTIFICATE REQUEST")
    try:
        request = x509.load_pem_x509_csr(pem[start:])
    except ValueError as err:
        raise ValueError(f"x509: malformed certificate request: {err}") from err
    if not request.is_signature_valid:
        raise ValueError("x509: ECDSA verification failure")
    return request


def parse_request(csr: dict) -> x509.CertificateSigningRequest:
    """The x509 request of a CSR object's `spec.request`."""
    return parse_request_pem(decode_bytes((csr.get("spec") or {}).get("request")))


def certificate_error(pem: bytes) -> str | None:
    """validateCertificate: `status.certificate`, when set, holds CERTIFICATE PEM
    blocks only (at least one), each a parsable certificate; text around the blocks
    is skipped, as Go's pem.Decode does."""
    from cryptography import x509

    if not pem:
        return None
    blocks = 0
    rest = pem
    while (start := rest.find(b"-----BEGIN ")) >= 0:
        kind = rest[start + 11 : rest.find(b"-----", start + 11)]
        end_marker = b"-----END " + kind + b"-----"
        end = rest.find(end_marker, start)
        if end < 0:
            break
        if kind != b"CERTIFICATE":
            return (
                f'only CERTIFICATE PEM blocks are allowed, found "{kind.decode(errors="replace")}"'
            )
        try:
            x509.load_pem_x509_certificate(rest[start : end + len(end_marker)])
        except ValueError as err:
            return f"x509: {err}"
        blocks += 1
        rest = rest[end + len(end_marker) :]
    if blocks == 0:
        return "must contain at least one CERTIFICATE PEM block"
    return None


# ---- conditions -----------------------------------------------------------------------


def conditions(csr: dict) -> list[dict]:
    return [c for c in ((csr.get("status") or {}).get("conditions") or []) if isinstance(c, dict)]


def has_true_condition(csr: dict, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status", "True") == "True" for c in conditions(csr))


def approval(csr: dict) -> tuple[bool, bool]:
    """GetCertApprovalCondition: (approved, denied)."""
    approved = denied = False
    for c in conditions(csr):
        approved = approved or c.get("type") == APPROVED
        denied = denied or c.get("type") == DENIED
    return approved, denied


def is_approved(csr: dict) -> bool:
    """IsCertificateRequestApproved: approved and not denied."""
    approved, denied = approval(csr)
    return approved and not denied


def issued(csr: dict) -> bool:
    return bool((csr.get("status") or {}).get("certificate"))


def condition_word(csr: dict) -> str:
    """kubectl's CONDITION column: Pending/Approved/Denied, then ,Failed and ,Issued."""
    types = {c.get("type") for c in conditions(csr)}
    word = "Denied" if DENIED in types else "Approved" if APPROVED in types else "Pending"
    if FAILED in types:
        word += ",Failed"
    if issued(csr):
        word += ",Issued"
    return word


# ---- what a kubelet may ask for ------------------------------------------------------


def _names(request: x509.CertificateSigningRequest) -> tuple[str, list[str]]:
    from cryptography.x509.oid import NameOID

    subject = request.subject
    cn = [a.value for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return (str(cn[0]) if cn else ""), orgs


def common_name(request: x509.CertificateSigningRequest) -> str:
    return _names(request)[0]


def organizations(request: x509.CertificateSigningRequest) -> list[str]:
    return _names(request)[1]


def _sans(request: x509.CertificateSigningRequest) -> x509.SubjectAlternativeName | None:
    from cryptography import x509

    try:
        return request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def _san_count(sans: x509.SubjectAlternativeName | None, kind: type) -> int:
    return len(sans.get_values_for_type(kind)) if sans is not None else 0


def _usages_text(wanted: set[str]) -> str:
    return "[" + " ".join(sorted(wanted)) + "]"


def kubelet_client_error(
    request: x509.CertificateSigningRequest, usages: Iterable[str]
) -> str | None:
    """ValidateKubeletClientCSR: O exactly system:nodes, CN system:node:<name>, no
    subjectAltNames, usages digital signature (+ key encipherment) + client auth."""
    cn, orgs = _names(request)
    if orgs != [NODES_GROUP]:
        return "subject organization is not system:nodes"
    sans = _san_count_all(request)
    if sans:
        return sans
    if not cn.startswith(NODE_USER_PREFIX):
        return "subject common name does not begin with system:node:"
    if set(usages) not in _KUBELET_CLIENT_USAGES:
        return f"usages did not match {_usages_text(_KUBELET_CLIENT_USAGES[0])}"
    return None


def _san_count_all(request: x509.CertificateSigningRequest) -> str | None:
    from cryptography import x509

    sans = _sans(request)
    for kind, word in (
        (x509.DNSName, "DNS"),
        (x509.RFC822Name, "Email"),
        (x509.IPAddress, "IP"),
        (x509.UniformResourceIdentifier, "URI"),
    ):
        if _san_count(sans, kind):
            return f"{word} subjectAltNames are not allowed"
    return None


def kubelet_serving_error(
    request: x509.CertificateSigningRequest, usages: Iterable[str]
) -> str | None:
    """ValidateKubeletServingCSR: server-auth usages, O system:nodes, a DNS or IP
    subjectAltName, no email or URI ones, CN system:node:<name>."""
    from cryptography import x509

    if set(usages) not in _KUBELET_SERVING_USAGES:
        return f"usages did not match {_usages_text(_KUBELET_SERVING_USAGES[0])}"
    cn, orgs = _names(request)
    if orgs != [NODES_GROUP]:
        return "subject organization is not system:nodes"
    sans = _sans(request)
    if not _san_count(sans, x509.DNSName) and not _san_count(sans, x509.IPAddress):
        return "DNS or IP subjectAltName is required"
    if _san_count(sans, x509.RFC822Name):
        return "Email subjectAltNames are not allowed"
    if _san_count(sans, x509.UniformResourceIdentifier):
        return "URI subjectAltNames are not allowed"
    if not cn.startswith(NODE_USER_PREFIX):
        return "subject common name does not begin with system:node:"
    return None


def apiserver_client_usages_error(usages: Iterable[str]) -> str | None:
    """validAPIServerClientUsages: client auth required; digital signature and key
    encipherment allowed; nothing else."""
    has_client_auth = False
    for usage in usages:
        if usage == "client auth":
            has_client_auth = True
        elif usage not in ("digital signature", "key encipherment"):
            return f"invalid usage for client certificate: {usage}"
    if not has_client_auth:
        return "missing required usage for client certificate: client auth"
    return None


def signer_error(
    signer: str, request: x509.CertificateSigningRequest, usages: list[str]
) -> str | None:
    """Whether a request suits one of the signers the controller manager runs."""
    if signer == KUBE_APISERVER_CLIENT_KUBELET:
        return kubelet_client_error(request, usages)
    if signer == KUBELET_SERVING:
        return kubelet_serving_error(request, usages)
    if signer == KUBE_APISERVER_CLIENT:
        return apiserver_client_usages_error(usages)
    return None


def signed_seconds(expiration_seconds: int | None, default_seconds: float) -> float:
    """How long a signed certificate lives (csrsigning's duration): the requested
    spec.expirationSeconds when given, at most the signer's --cluster-signing-duration,
    which wins over the 10-minute lower bound a shorter request is raised to."""
    if expiration_seconds is None:
        return default_seconds
    requested = float(expiration_seconds)
    if requested > default_seconds:
        return default_seconds
    return max(600.0, requested)


def signer_wildcard(signer: str) -> str:
    """`example.com/*`: who may approve every signer of a domain."""
    return signer.split("/", 1)[0] + "/*"
