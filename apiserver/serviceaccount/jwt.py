"""ServiceAccount tokens as Kubernetes issues them (pkg/serviceaccount/claims.go): JWTs
signed RS256 (RSA keys) or ES256 (P-256 keys) with the key of
--service-account-signing-key-file, verified with the keys of --service-account-key-file.
The claims are the registered ones (iss, sub, aud, exp, iat, nbf, jti) plus the private
`kubernetes.io` claim naming the namespace, the ServiceAccount and the object the token
is bound to. Pure logic: no storage, no clock of its own."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SUBJECT_PREFIX = "system:serviceaccount:"
SA_GROUP = "system:serviceaccounts"
# how far a token's exp/nbf may be off (go-jose's jwt.DefaultLeeway)
LEEWAY_SECONDS = 60

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class KeyError_(Exception):
    """A key file that cannot be used."""


class InvalidToken(Exception):
    """Not a valid token of ours; the message says why (logged, never sent)."""


class NotOurs(InvalidToken):
    """Not a JWT at all, or not from our issuer: another authenticator may know it."""


def username(namespace: str, name: str) -> str:
    return f"{SUBJECT_PREFIX}{namespace}:{name}"


def groups(namespace: str) -> tuple[str, str]:
    return SA_GROUP, f"{SA_GROUP}:{namespace}"


def split_username(user: str) -> tuple[str, str] | None:
    """(namespace, name) of `system:serviceaccount:<ns>:<name>`, else None."""
    if not user.startswith(SUBJECT_PREFIX):
        return None
    namespace, sep, name = user[len(SUBJECT_PREFIX) :].partition(":")
    if not sep or not namespace or not name or ":" in name:
        return None
    return namespace, name


# ---- keys ----------------------------------------------------------------------------


def load_private_key(path: str | Path) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as err:
        raise KeyError_(f"cannot read the signing key {path}: {err}") from err
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise KeyError_(f"{path}: only RSA and ECDSA keys sign ServiceAccount tokens")
    return key


def load_public_keys(path: str | Path) -> list[PublicKey]:
    """Every key in a PEM file: public keys, certificates' keys, private keys' public
    halves (kube-apiserver's --service-account-key-file accepts all three)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise KeyError_(f"cannot read the key file {path}: {err.strerror}") from err
    keys: list[PublicKey] = []
    for block in data.split(b"-----END ")[:-1]:
        begin = block.find(b"-----BEGIN ")
        if begin < 0:
            continue
        label = block[begin + 11 : block.find(b"-----", begin + 11)]
        pem = block[begin:] + b"-----END " + label + b"-----\n"
        key: Any
        if label == b"CERTIFICATE":
            key = x509.load_pem_x509_certificate(pem).public_key()
        elif label.endswith(b"PRIVATE KEY"):
            key = serialization.load_pem_private_key(pem, password=None).public_key()
        elif label.endswith(b"PUBLIC KEY"):
            key = serialization.load_pem_public_key(pem)
        else:
            continue
        if isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
            keys.append(key)
    if not keys:
        raise KeyError_(f"{path}: no RSA or ECDSA public key found")
    return keys


def key_id(key: PublicKey) -> str:
    """Kubernetes' `kid`: base64url(sha256(the key's PKIX DER)), unpadded."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _b64(hashlib.sha256(der).digest())


# ---- claims --------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundObject:
    kind: str  # Pod, Secret or Node
    name: str
    uid: str


def claims(
    *,
    issuer: str,
    audiences: list[str],
    now: int,
    expiration_seconds: int,
    namespace: str,
    sa_name: str,
    sa_uid: str,
    bound: BoundObject | None = None,
    node: BoundObject | None = None,
) -> dict[str, Any]:
    """claims.go's Claims: the private claim names the bound object (and, for a pod,
    the node it runs on), so the token dies with it."""
    private: dict[str, Any] = {
        "namespace": namespace,
        "serviceaccount": {"name": sa_name, "uid": sa_uid},
    }
    if bound is not None:
        private[bound.kind.lower()] = {"name": bound.name, "uid": bound.uid}
    if node is not None:
        private["node"] = {"name": node.name, "uid": node.uid}
    return {
        "aud": list(audiences),
        "exp": now + expiration_seconds,
        "iat": now,
        "iss": issuer,
        "jti": str(uuid.uuid4()),
        "kubernetes.io": private,
        "nbf": now,
        "sub": username(namespace, sa_name),
    }


# ---- signing and verifying -------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _alg(key: PrivateKey | PublicKey) -> str:
    return "RS256" if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)) else "ES256"


def sign(payload: dict[str, Any], key: PrivateKey) -> str:
    header = {"alg": _alg(key), "kid": key_id(key.public_key())}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(payload, separators=(",", ":")).encode())
    )
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input}.{_b64(signature)}"


def _verify_with(key: PublicKey, signing_input: bytes, signature: bytes) -> bool:
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            if len(signature) != 64:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def unverified_claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of a compact JWS, unverified; NotOurs when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise NotOurs("not a JWT")
    try:
        header = json.loads(_unb64(parts[0]))
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError) as err:
        raise NotOurs("not a JWT") from err
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise NotOurs("not a JWT")
    return header, payload


def verify(token: str, keys: list[PublicKey], issuers: list[str], now: float) -> dict[str, Any]:
    """The claims of a token signed by one of `keys` from one of `issuers`, valid at
    `now` (with a minute's leeway). NotOurs for a token of another issuer (other
    authenticators may take it), InvalidToken for one of ours that fails."""
    header, payload = unverified_claims(token)
    if payload.get("iss") not in issuers:
        raise NotOurs("another issuer")
    alg = header.get("alg")
    signing_input, _, sig = token.rpartition(".")
    try:
        signature = _unb64(sig)
    except ValueError as err:
        raise InvalidToken("malformed signature") from err
    candidates = [k for k in keys if _alg(k) == alg]
    kid = header.get("kid")
    if kid:
        candidates = [k for k in candidates if key_id(k) == kid] or candidates
    if not any(_verify_with(k, signing_input.encode(), signature) for k in candidates):
        raise InvalidToken("invalid signature")
    exp, nbf = payload.get("exp"), payload.get("nbf")
    if not isinstance(exp, (int, float)) or now > exp + LEEWAY_SECONDS:
        raise InvalidToken("service account token has expired")
    if isinstance(nbf, (int, float)) and now < nbf - LEEWAY_SECONDS:
        raise InvalidToken("service account token is not valid yet")
    return payload


def audiences_of(payload: dict[str, Any]) -> list[str]:
    aud = payload.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []
