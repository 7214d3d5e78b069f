"""The pure pieces of joining a machine, as kubeadm has them: bootstrap tokens
(`[a-z0-9]{6}.[a-z0-9]{16}`, kept in a `bootstrap.kubernetes.io/token` Secret), the
discovery hash that pins the cluster CA (`sha256:` + hex of the SHA-256 of the CA's
DER SubjectPublicKeyInfo, kubeadm's pubkeypin), and the join command `token create
--print-join-command` prints."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import shlex
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from api import bootstraptoken as bt
from api.timefmt import rfc3339

# kubeadm's default node-token group: what `kubeadm token create` puts in
# auth-extra-groups, and what kubeadm's bootstrap bindings name
NODE_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token"
DEFAULT_TTL_SECONDS = 24 * 3600
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"  # kubeadm's validBootstrapTokenChars
HASH_RE = re.compile(r"^sha256:([0-9a-f]{64})$")


class JoinError(Exception):
    """A join or token command that cannot go on; the message is one line."""


def generate_token() -> str:
    """A new `<id>.<secret>` from the OS's random source."""

    def pick(n: int) -> str:
        return "".join(secrets.choice(_ALPHABET) for _ in range(n))

    return f"{pick(6)}.{pick(16)}"


def split_token(token: str) -> tuple[str, str]:
    """(id, secret), or JoinError in kubeadm's words for anything else."""
    parsed = bt.parse_token(token)
    if parsed is None:
        raise JoinError(
            f"the bootstrap token {token[:6]!r}... was not of the form {bt.TOKEN_RE.pattern!r}"
        )
    return parsed


def token_secret(
    token: str, ttl_seconds: float, now: float, description: str = ""
) -> dict[str, Any]:
    """The Secret `kubeadm token create` writes: authentication and signing usages,
    the default node-token group, an expiration unless the TTL is 0 (never)."""
    token_id, token_secret_ = split_token(token)
    data = {
        bt.TOKEN_ID_KEY: token_id,
        bt.TOKEN_SECRET_KEY: token_secret_,
        bt.USAGE_AUTHENTICATION: "true",
        bt.USAGE_SIGNING: "true",
        bt.EXTRA_GROUPS_KEY: NODE_TOKEN_GROUP,
    }
    if ttl_seconds > 0:
        data[bt.EXPIRATION_KEY] = rfc3339(now + ttl_seconds)
    if description:
        data["description"] = description
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": bt.SECRET_TYPE,
        "metadata": {"name": f"{bt.SECRET_PREFIX}{token_id}", "namespace": bt.NAMESPACE},
        "stringData": data,
    }


def ca_cert_hash(ca_pem: bytes) -> str:
    """kubeadm's discovery hash of the (first) certificate in `ca_pem`."""
    cert = x509.load_pem_x509_certificate(ca_pem)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def check_hash_format(pin: str) -> str:
    """The pin, lower-cased, or JoinError (kubeadm accepts only sha256 pins)."""
    value = pin.strip().lower()
    if not HASH_RE.match(value):
        raise JoinError(f"invalid --ca-cert-hash {pin!r}: expected sha256:<64 hex digits>")
    return value


def verify_pin(ca_pem: bytes, pins: list[str]) -> None:
    """JoinError unless the CA's public key matches one of the pins."""
    actual = ca_cert_hash(ca_pem)
    if not any(hmac.compare_digest(actual, check_hash_format(p)) for p in pins):
        raise JoinError(
            f"cluster CA found in cluster-info does not match any --ca-cert-hash "
            f"(its hash is {actual}); refusing to trust this server"
        )


def join_command(server: str, token: str, ca_hash: str) -> str:
    return shlex.join(
        ["minik", "join", "--server", server, "--token", token, "--ca-cert-hash", ca_hash]
    )
