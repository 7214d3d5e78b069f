"""HTTP serving settings every minik server shares, as Kubernetes' secure serving
(k8s.io/apiserver's SecureServingInfo) sets them.

The idle timeout matters more than it looks: Go's HTTP client keeps idle connections
for 90 s and does not retry a non-idempotent request (a POST) that meets a connection
the server has just closed. uvicorn's default of 5 s made `kubectl drain`, which POSTs
an eviction every 5 s while a budget refuses it, now and then race the server's close
and fail with an EOF. Kubernetes' servers keep idle connections for 90 s, so do we.

TLS is one policy too (issue 11): TLS 1.2 or later, ECDHE with AEAD ciphers only, set
by `apply_tls_policy` on every SSLContext a minik server listens with (the apiserver,
the kubelet, the scheduler's and controller manager's secure ports, the ingress), with
Kubernetes' `--tls-min-version` and `--tls-cipher-suites` (componentbase.flags)."""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

IDLE_TIMEOUT_SECONDS = 90  # http.Server.IdleTimeout in Kubernetes' secure serving

# http.Server.ReadHeaderTimeout in Kubernetes' secure serving ("just shy of
# requestTimeoutUpperBound"): how long a connection may take to send a request's
# headers (componentbase.rawupgrade enforces it; uvicorn has no such setting). The
# idle timeout above still governs the wait between requests.
READ_HEADER_TIMEOUT_SECONDS = 32


# ---- TLS: one policy for every server minik runs --------------------------------
#
# Kubernetes' servers take `--tls-min-version` (VersionTLS12 by default) and
# `--tls-cipher-suites` (Go's names). minik serves TLS 1.2 and 1.3 only, and on TLS 1.2
# only ECDHE key exchange with an AEAD cipher (AES-GCM, ChaCha20-Poly1305): no CBC
# suite (Lucky13-style padding oracles), no static RSA key exchange (no forward
# secrecy), no finite-field DHE. Every TLS 1.3 suite is AEAD and is always offered
# (OpenSSL, like Go, does not let a server drop them one by one).

TLS_MIN_VERSIONS: dict[str, ssl.TLSVersion] = {
    "VersionTLS12": ssl.TLSVersion.TLSv1_2,
    "VersionTLS13": ssl.TLSVersion.TLSv1_3,
}
DEFAULT_TLS_MIN_VERSION = "VersionTLS12"

# Go's names of the TLS 1.2 suites minik allows -> OpenSSL's.
TLS12_CIPHER_SUITES: dict[str, str] = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
}
# TLS 1.3's suites: accepted in --tls-cipher-suites (Kubernetes lists them too) and
# always on.
TLS13_CIPHER_SUITES = frozenset(
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
)
DEFAULT_TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
# The same six suites by their canonical Go names, for servers configured that way
# (etcd's --cipher-suites: 3.4 knows these, not the _SHA256 ChaCha20 aliases).
GO_AEAD_CIPHER_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
)


class TLSPolicyError(ValueError):
    pass


@dataclass(frozen=True)
class TLSPolicy:
    """What a server accepts: `min_version` a --tls-min-version value, `cipher_suites`
    Go names from --tls-cipher-suites (empty: every allowed TLS 1.2 AEAD suite)."""

    min_version: str = DEFAULT_TLS_MIN_VERSION
    cipher_suites: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.min_version not in TLS_MIN_VERSIONS:
            raise TLSPolicyError(
                f"unsupported TLS version {self.min_version!r}: "
                f"allowed values are {', '.join(TLS_MIN_VERSIONS)}"
            )
        refused = [
            s
            for s in self.cipher_suites
            if s not in TLS12_CIPHER_SUITES and s not in TLS13_CIPHER_SUITES
        ]
        if refused:
            raise TLSPolicyError(
                f"cipher suite(s) {', '.join(refused)} not allowed: minik serves ECDHE "
                f"with AEAD ciphers only ({', '.join(sorted(TLS12_CIPHER_SUITES))}, and "
                "TLS 1.3's)"
            )
        tls12 = any(s in TLS12_CIPHER_SUITES for s in self.cipher_suites)
        if self.cipher_suites and not tls12 and self.min_version != "VersionTLS13":
            raise TLSPolicyError(
                "--tls-cipher-suites names no TLS 1.2 suite: add one, or use "
                "--tls-min-version=VersionTLS13"
            )

    def openssl_ciphers(self) -> str:
        """The TLS 1.2 cipher list for SSLContext.set_ciphers."""
        chosen = [TLS12_CIPHER_SUITES[s] for s in self.cipher_suites if s in TLS12_CIPHER_SUITES]
        return ":".join(dict.fromkeys(chosen)) or DEFAULT_TLS12_CIPHERS


DEFAULT_TLS_POLICY = TLSPolicy()


def apply_tls_policy(
    context: ssl.SSLContext, policy: TLSPolicy = DEFAULT_TLS_POLICY
) -> ssl.SSLContext:
    """Restrict a server context to `policy` (in place; returned for chaining). Every
    SSLContext minik serves with passes through here."""
    context.minimum_version = TLS_MIN_VERSIONS[policy.min_version]
    context.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    context.set_ciphers(policy.openssl_ciphers())
    # no client-initiated TLS 1.2 renegotiation (a cheap CPU DoS; Go never allows it)
    context.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION
    return context


def server_context(
    cert_file: str | os.PathLike[str],
    key_file: str | os.PathLike[str],
    *,
    client_ca_file: str | os.PathLike[str] | None = None,
    policy: TLSPolicy = DEFAULT_TLS_POLICY,
) -> ssl.SSLContext:
    """A server context holding this certificate under `policy`; with a client CA,
    client certificates are asked for (not required: tokens still work) and must
    chain to it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    if client_ca_file:
        context.load_verify_locations(cafile=client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
    return apply_tls_policy(context, policy)


def _uvicorn_context(
    policy: TLSPolicy, _config: object, default: Callable[[], ssl.SSLContext]
) -> ssl.SSLContext:
    return apply_tls_policy(default(), policy)


def uvicorn_tls(
    cert_file: str,
    key_file: str,
    *,
    client_ca_file: str | None = None,
    policy: TLSPolicy = DEFAULT_TLS_POLICY,
) -> dict[str, Any]:
    """uvicorn's ssl_* keywords for a server under `policy` (its ssl_context_factory
    hook; a partial of a module function, so `--workers` can pickle it). Client
    certificates are asked for, not required, when `client_ca_file` is given."""
    return {
        "ssl_certfile": cert_file,
        "ssl_keyfile": key_file,
        "ssl_ca_certs": client_ca_file,
        "ssl_cert_reqs": ssl.CERT_OPTIONAL if client_ca_file else ssl.CERT_NONE,
        "ssl_context_factory": functools.partial(_uvicorn_context, policy),
    }
