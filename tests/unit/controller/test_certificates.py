"""The certificate controllers' pure parts: which requests csrapproving recognizes and
the SubjectAccessReview it asks, and the CA's signing (usages, lifetimes, backdating,
the CA's own end)."""

from __future__ import annotations

import base64
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from api import certificates as certs
from componentbase.pki import CAKey
from controller.certificates import approver, authority, cleaner

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)


def request(cn: str, orgs: tuple[str, ...] = ("system:nodes",)) -> x509.CertificateSigningRequest:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            *(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    return x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())


def csr_of(req: x509.CertificateSigningRequest, username: str, **spec: object) -> dict:
    pem = req.public_bytes(serialization.Encoding.PEM)
    return {
        "metadata": {"name": "x"},
        "spec": {
            "request": base64.b64encode(pem).decode(),
            "signerName": certs.KUBE_APISERVER_CLIENT_KUBELET,
            "usages": ["digital signature", "client auth"],
            "username": username,
            "groups": ["system:bootstrappers", "system:authenticated"],
            **spec,
        },
    }


def test_recognizers():
    req = request("system:node:n1")
    own = approver.recognized(csr_of(req, "system:node:n1"), req)
    assert [r.subresource for r in own] == ["selfnodeclient", "nodeclient"]
    other = approver.recognized(csr_of(req, "system:bootstrap:abcdef"), req)
    assert [r.subresource for r in other] == ["nodeclient"]
    serving = csr_of(req, "system:node:n1", signerName=certs.KUBELET_SERVING)
    assert approver.recognized(serving, req) == []
    not_node = request("jane")
    assert approver.recognized(csr_of(not_node, "jane"), not_node) == []


def test_access_review_asks_in_the_requestors_name():
    req = request("system:node:n1")
    csr = csr_of(req, "system:bootstrap:abcdef", uid="u1", extra={"k": ["v"]})
    review = approver.access_review(csr, "nodeclient")
    assert review["spec"] == {
        "user": "system:bootstrap:abcdef",
        "uid": "u1",
        "groups": ["system:bootstrappers", "system:authenticated"],
        "extra": {"k": ["v"]},
        "resourceAttributes": {
            "group": "certificates.k8s.io",
            "resource": "certificatesigningrequests",
            "verb": "create",
            "subresource": "nodeclient",
            "version": "*",
        },
    }
    approved = approver.approved_copy(csr, "ok")
    assert certs.is_approved(approved) and not certs.is_approved(csr)


def ca(lifetime: datetime.timedelta = datetime.timedelta(days=3650)) -> CAKey:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CAKey(cert, key)


def test_sign_uses_the_requests_subject_and_usages():
    authority_ca = ca()
    req = request("system:node:n1")
    pem = authority.sign(
        authority_ca,
        req,
        ["digital signature", "key encipherment", "client auth"],
        datetime.timedelta(days=365),
        NOW,
    )
    cert = x509.load_pem_x509_certificate(pem)
    assert cert.subject == req.subject
    assert cert.issuer == authority_ca.cert.subject
    assert cert.public_key() == req.public_key()
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
    assert not usage.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = authority_ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    # backdated 5 minutes for lifetimes of 8 hours and more
    assert cert.not_valid_before_utc == NOW - datetime.timedelta(minutes=5)
    assert cert.not_valid_after_utc == NOW + datetime.timedelta(days=365)


def test_short_lifetimes_are_not_backdated_and_never_outlive_the_ca():
    short = x509.load_pem_x509_certificate(
        authority.sign(ca(), request("a"), ["client auth"], datetime.timedelta(hours=1), NOW)
    )
    assert short.not_valid_before_utc == NOW
    assert short.not_valid_after_utc == NOW + datetime.timedelta(hours=1)
    ending = ca(datetime.timedelta(days=2))
    capped = x509.load_pem_x509_certificate(
        authority.sign(ending, request("a"), ["client auth"], datetime.timedelta(days=365), NOW)
    )
    assert capped.not_valid_after_utc == ending.cert.not_valid_after_utc


def test_key_usages():
    usage, ext = authority.key_usages(["signing", "server auth", "s/mime", "email protection"])
    assert usage is not None and usage.digital_signature
    assert ext is not None and list(ext) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
    ]
    assert authority.key_usages([]) == (None, None)


def test_cleaner_deadlines():
    hour = 3600.0
    created = {"metadata": {"creationTimestamp": "2026-06-01T00:00:00Z"}}
    t0 = NOW.timestamp()
    assert cleaner.deletable_at(created) == t0 + 24 * hour  # pending: a day
    denied = {
        **created,
        "status": {"conditions": [{"type": "Denied", "lastUpdateTime": "2026-06-01T02:00:00Z"}]},
    }
    assert cleaner.deletable_at(denied) == t0 + 3 * hour
    approved = {**created, "status": {"conditions": [{"type": "Approved"}]}}
    assert cleaner.deletable_at(approved) is None  # waiting for its certificate
    authority_ca = ca()
    pem = authority.sign(
        authority_ca, request("a"), ["client auth"], datetime.timedelta(hours=1), NOW
    )
    issued = {
        **created,
        "status": {
            "conditions": [{"type": "Approved", "lastUpdateTime": "2026-06-01T00:30:00Z"}],
            "certificate": base64.b64encode(pem).decode(),
        },
    }
    # an hour after approval (01:30) comes after the certificate's end (01:00)
    assert cleaner.deletable_at(issued) == t0 + hour
