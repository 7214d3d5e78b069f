"""api.certificates and its validation: parsing requests, what a kubelet may ask
for, signed lifetimes, the CONDITION word, and certificates.k8s.io/v1's rules."""

from __future__ import annotations

import base64
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api import certificates as certs
from api import validation
from api.validation.certificates import signer_name_errors


def request_pem(
    cn: str, orgs: tuple[str, ...] = (), sans: list[x509.GeneralName] | None = None
) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            *(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


NODE = ("system:node:n1", ("system:nodes",))
CLIENT = ["digital signature", "client auth"]


def csr(pem: bytes, signer: str = certs.KUBE_APISERVER_CLIENT_KUBELET, **spec: object) -> dict:
    return {
        "metadata": {"name": "x"},
        "spec": {
            "request": base64.b64encode(pem).decode(),
            "signerName": signer,
            "usages": CLIENT,
            **spec,
        },
    }


def fields(causes: list[dict]) -> list[tuple[str, str]]:
    return [(c["field"], c["message"]) for c in causes]


def test_parse_request_accepts_a_signed_request_only():
    assert certs.common_name(certs.parse_request_pem(request_pem("jane"))) == "jane"
    with pytest.raises(ValueError, match="PEM block type must be CERTIFICATE REQUEST"):
        certs.parse_request_pem(b"junk")
    cert_pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    with pytest.raises(ValueError, match="PEM block type must be CERTIFICATE REQUEST"):
        certs.parse_request_pem(cert_pem)
    # a request whose signature does not verify (its subject altered after signing)
    pem = request_pem("jane")
    der = x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)
    tampered = der.replace(b"jane", b"joan")
    tampered_pem = (
        b"-----BEGIN CERTIFICATE REQUEST-----\n"
        + base64.encodebytes(tampered)
        + b"-----END CERTIFICATE REQUEST-----\n"
    )
    with pytest.raises(ValueError):
        certs.parse_request_pem(tampered_pem)


def test_kubelet_client_rules():
    ok = certs.parse_request_pem(request_pem(*NODE))
    assert certs.kubelet_client_error(ok, CLIENT) is None
    assert certs.kubelet_client_error(ok, [*CLIENT, "key encipherment"]) is None
    assert certs.kubelet_client_error(ok, ["client auth"]) == (
        "usages did not match [client auth digital signature key encipherment]"
    )
    no_org = certs.parse_request_pem(request_pem("system:node:n1"))
    assert certs.kubelet_client_error(no_org, CLIENT) == "subject organization is not system:nodes"
    not_node = certs.parse_request_pem(request_pem("jane", ("system:nodes",)))
    assert certs.kubelet_client_error(not_node, CLIENT) == (
        "subject common name does not begin with system:node:"
    )
    with_dns = certs.parse_request_pem(request_pem(*NODE, [x509.DNSName("n1")]))
    assert certs.kubelet_client_error(with_dns, CLIENT) == "DNS subjectAltNames are not allowed"


def test_kubelet_serving_and_client_signer_rules():
    serving = ["digital signature", "server auth"]
    ip = x509.IPAddress(ipaddress.ip_address("10.0.0.1"))
    ok = certs.parse_request_pem(request_pem(*NODE, [ip]))
    assert certs.kubelet_serving_error(ok, serving) is None
    bare = certs.parse_request_pem(request_pem(*NODE))
    assert certs.kubelet_serving_error(bare, serving) == "DNS or IP subjectAltName is required"
    assert certs.apiserver_client_usages_error(["client auth"]) is None
    assert certs.apiserver_client_usages_error(["digital signature"]) == (
        "missing required usage for client certificate: client auth"
    )
    assert certs.apiserver_client_usages_error(["client auth", "server auth"]) == (
        "invalid usage for client certificate: server auth"
    )


@pytest.mark.parametrize(
    ("requested", "want"),
    [(None, 86400.0), (3600, 3600.0), (60, 600.0), (10**9, 86400.0)],
)
def test_signed_seconds(requested: int | None, want: float):
    assert certs.signed_seconds(requested, 86400.0) == want


def test_a_short_signing_duration_wins_over_the_ten_minute_floor():
    # Kubernetes' signer.duration: requested > certTTL -> certTTL, checked first
    assert certs.signed_seconds(600, 20.0) == 20.0
    assert certs.signed_seconds(None, 20.0) == 20.0


def test_condition_word():
    cert = base64.b64encode(b"x").decode()
    assert certs.condition_word({}) == "Pending"
    approved = {"status": {"conditions": [{"type": "Approved"}], "certificate": cert}}
    assert certs.condition_word(approved) == "Approved,Issued"
    both = {
        "status": {"conditions": [{"type": "Approved"}, {"type": "Denied"}, {"type": "Failed"}]}
    }
    assert certs.condition_word(both) == "Denied,Failed"


def test_signer_names():
    assert signer_name_errors("f", "example.com/my-signer") == []
    assert fields(signer_name_errors("f", "")) == [("f", "Required value")]
    assert fields(signer_name_errors("f", "a/b/c")) == [
        (
            "f",
            'Invalid value: "a/b/c": must be a fully qualified domain and path of the form '
            "'example.com/signer-name'",
        )
    ]
    assert fields(signer_name_errors("f", "example/x")) == [
        (
            "f",
            'Invalid value: "example": should be a domain with at least two segments '
            "separated by dots",
        )
    ]
    assert len(signer_name_errors("f", "Example.com/x")) == 1


def test_validation_of_a_request():
    good = csr(request_pem(*NODE))
    assert validation.validate("CertificateSigningRequest", good) == []
    legacy = csr(request_pem(*NODE), certs.LEGACY_UNKNOWN)
    assert fields(validation.validate("CertificateSigningRequest", legacy)) == [
        (
            "spec.signerName",
            'Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not '
            "allowed via this API version",
        )
    ]
    with_status = csr(request_pem(*NODE))
    with_status["status"] = {
        "conditions": [
            {"type": "Approved", "status": "True"},
            {"type": "Approved", "status": "True"},
        ],
        "certificate": base64.b64encode(b"not pem").decode(),
    }
    assert fields(validation.validate("CertificateSigningRequest", with_status)) == [
        ("status.conditions[1].type", 'Duplicate value: "Approved"'),
        (
            "status.certificate",
            "Invalid value: <certificate data>: must contain at least one CERTIFICATE PEM block",
        ),
    ]


def test_updates_keep_decisions_and_certificates():
    old = csr(request_pem(*NODE))
    old["metadata"]["resourceVersion"] = "1"
    old["status"] = {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "AAAA"}
    new = {**old, "status": {"conditions": [], "certificate": "BBBB"}}
    causes = fields(validation.validate("CertificateSigningRequest", new, old))
    assert (
        "status.conditions",
        'Forbidden: updates may not remove a condition of type "Approved"',
    ) in causes
    assert (
        "status.certificate",
        "Invalid value: <certificate data>: updates may not modify existing certificate content",
    ) in causes
