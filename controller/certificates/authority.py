"""The CA's side of signing a CertificateSigningRequest (Kubernetes'
pkg/controller/certificates/authority with its PermissiveSigningPolicy): the
request's subject, subjectAltNames and public key, the CSR's usages as key usages and
extended key usages, never a CA; valid from 5 minutes ago (not backdated when the
lifetime is under 8 hours) for the given lifetime, never past the CA's own end. Pure
given the CA's certificate and key."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID

from componentbase.pki import CAKey

BACKDATE = datetime.timedelta(minutes=5)
SHORT = datetime.timedelta(hours=8)  # shorter lifetimes are not backdated

_KEY_USAGE_FLAGS = {
    "signing": "digital_signature",
    "digital signature": "digital_signature",
    "content commitment": "content_commitment",
    "key encipherment": "key_encipherment",
    "key agreement": "key_agreement",
    "data encipherment": "data_encipherment",
    "cert sign": "key_cert_sign",
    "crl sign": "crl_sign",
    "encipher only": "encipher_only",
    "decipher only": "decipher_only",
}
_EXT_KEY_USAGES = {
    "any": x509.ObjectIdentifier("2.5.29.37.0"),
    "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "s/mime": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ipsec end system": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsec tunnel": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsec user": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "microsoft sgc": x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
    "netscape sgc": x509.ObjectIdentifier("2.16.840.1.113730.4.1"),
}


class UnknownUsage(ValueError):
    pass


def key_usages(usages: Iterable[str]) -> tuple[x509.KeyUsage | None, x509.ExtendedKeyUsage | None]:
    """keyUsagesFromStrings: the two extensions (None when empty)."""
    flags = dict.fromkeys(set(_KEY_USAGE_FLAGS.values()), False)
    ext: list[x509.ObjectIdentifier] = []
    for usage in usages:
        if usage in _KEY_USAGE_FLAGS:
            flags[_KEY_USAGE_FLAGS[usage]] = True
        elif usage in _EXT_KEY_USAGES:
            if _EXT_KEY_USAGES[usage] not in ext:
                ext.append(_EXT_KEY_USAGES[usage])
        else:
            raise UnknownUsage(f"unrecognized usage: {usage}")
    if not flags["key_agreement"]:  # only meaningful (and encodable) with key agreement
        flags["encipher_only"] = flags["decipher_only"] = False
    key_usage = x509.KeyUsage(**flags) if any(flags.values()) else None
    return key_usage, (x509.ExtendedKeyUsage(ext) if ext else None)


def sign(
    ca: CAKey,
    request: x509.CertificateSigningRequest,
    usages: Iterable[str],
    lifetime: datetime.timedelta,
    now: datetime.datetime | None = None,
) -> bytes:
    """The PEM certificate for `request`."""
    now = now or datetime.datetime.now(datetime.UTC)
    backdate = BACKDATE if lifetime >= SHORT else datetime.timedelta(0)
    not_after = min(now + lifetime, ca.cert.not_valid_after_utc)
    key_usage, ext_key_usage = key_usages(usages)
    builder = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(ca.cert.subject)
        .public_key(request.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - backdate)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if ext_key_usage is not None:
        builder = builder.add_extension(ext_key_usage, critical=False)
    try:
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        builder = builder.add_extension(sans.value, critical=False)
    except x509.ExtensionNotFound:
        pass
    try:
        ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    except x509.ExtensionNotFound:
        pass
    algorithm = (
        None
        if isinstance(ca.key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
        else hashes.SHA256()
    )
    cert = builder.sign(ca.key, algorithm)  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.PEM)
