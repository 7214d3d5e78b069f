"""When the kubelet rotates its client certificate: client-go's jittered 70-90% of
the certificate's life."""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubelet.certrotation import rotation_deadline

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _cert(days: int) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "system:node:n")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(START)
        .not_valid_after(START + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


def test_deadline_is_between_70_and_90_percent_of_the_life():
    cert = _cert(100)
    assert rotation_deadline(cert, 0.0) == START + datetime.timedelta(days=70)
    assert rotation_deadline(cert, 1.0) == START + datetime.timedelta(days=90)
    assert rotation_deadline(cert, 0.5) == START + datetime.timedelta(days=80)
