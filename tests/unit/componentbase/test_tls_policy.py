"""The TLS policy every minik server shares (componentbase/serving.py) and its flags
(componentbase/flags.py): Kubernetes' --tls-min-version and --tls-cipher-suites,
narrowed to TLS 1.2+ with ECDHE and AEAD ciphers."""

from __future__ import annotations

import argparse
import ssl

import pytest

from componentbase.flags import add_tls_flags, tls_policy
from componentbase.serving import (
    GO_AEAD_CIPHER_SUITES,
    TLSPolicy,
    TLSPolicyError,
    apply_tls_policy,
)


def served(policy: TLSPolicy) -> set[str]:
    context = apply_tls_policy(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), policy)
    return {c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"}


def test_default_is_tls12_with_ecdhe_aead_only() -> None:
    context = apply_tls_policy(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    names = served(TLSPolicy())
    assert names == {
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-CHACHA20-POLY1305",
    }


def test_cipher_suites_by_go_name() -> None:
    policy = TLSPolicy(cipher_suites=("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",))
    assert served(policy) == {"ECDHE-RSA-AES256-GCM-SHA384"}
    # the Go names (etcd's --cipher-suites) are the default list, no more
    assert served(TLSPolicy(cipher_suites=GO_AEAD_CIPHER_SUITES)) == served(TLSPolicy())


def test_refused_values() -> None:
    with pytest.raises(TLSPolicyError, match="unsupported TLS version"):
        TLSPolicy("VersionTLS11")
    with pytest.raises(TLSPolicyError, match="not allowed"):
        TLSPolicy(cipher_suites=("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",))
    with pytest.raises(TLSPolicyError, match=r"no TLS 1\.2 suite"):
        TLSPolicy(cipher_suites=("TLS_AES_128_GCM_SHA256",))
    assert TLSPolicy("VersionTLS13", ("TLS_AES_128_GCM_SHA256",)).min_version == "VersionTLS13"


def test_flags() -> None:
    parser = argparse.ArgumentParser()
    add_tls_flags(parser)
    args = parser.parse_args(
        ["--tls-min-version=VersionTLS13", "--tls-cipher-suites", "TLS_AES_128_GCM_SHA256"]
    )
    assert tls_policy(parser, args) == TLSPolicy("VersionTLS13", ("TLS_AES_128_GCM_SHA256",))
    assert tls_policy(parser, parser.parse_args([])) == TLSPolicy()
    for bad in (["--tls-min-version", "VersionTLS10"], ["--tls-cipher-suites", "RC4"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    with pytest.raises(SystemExit):  # TLS 1.3 suites alone, yet TLS 1.2 allowed
        tls_policy(parser, parser.parse_args(["--tls-cipher-suites", "TLS_AES_128_GCM_SHA256"]))
