"""componentbase/selfsigned.py: the certificate a child process makes serves TLS."""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography import x509

from componentbase.selfsigned import self_signed_pem


def test_the_child_makes_a_certificate_for_the_names_given(tmp_path: Path) -> None:
    cert, key = self_signed_pem("minik-test", ("127.0.0.1", "example.test"))
    (tmp_path / "tls.crt").write_bytes(cert)
    (tmp_path / "tls.key").write_bytes(key)
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(
        tmp_path / "tls.crt", tmp_path / "tls.key"
    )
    parsed = x509.load_pem_x509_certificate(cert)
    names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["example.test"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert parsed.subject.rfc4514_string() == "CN=minik-test"
