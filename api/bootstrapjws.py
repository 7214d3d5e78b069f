"""The detached JWS that signs the `cluster-info` kubeconfig for each bootstrap token
(k8s.io/cluster-bootstrap/token/jws): HS256 keyed by the token's secret (zero-padded
to 32 bytes, as go-jose wants), the token id as `kid` in the protected header, the
payload left out (RFC 7515 appendix F): `<header>..<signature>`. A joining machine that
knows the token recomputes it and so knows cluster-info came from a server that knows
the token too. Written by the controller manager's bootstrapsigner, checked by `minik
join` (kubeadm's token discovery)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

# the ConfigMap key prefix: `jws-kubeconfig-<token-id>` (bootstrapapi.JWSSignatureKeyPrefix)
SIGNATURE_KEY_PREFIX = "jws-kubeconfig-"
KUBECONFIG_KEY = "kubeconfig"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def detached_signature(content: str, token_id: str, token_secret: str) -> str:
    """ComputeDetachedSignature, byte for byte: go-jose writes the header's keys in
    sorted order without spaces."""
    key = token_secret.encode().ljust(32, b"\0")
    header = _b64url(json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":")).encode())
    signing_input = f"{header}.{_b64url(content.encode())}".encode()
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return f"{header}..{_b64url(signature)}"


def detached_token_is_valid(detached: str, content: str, token_id: str, token_secret: str) -> bool:
    """DetachedTokenIsValid, compared in constant time."""
    expected = detached_signature(content, token_id, token_secret)
    return hmac.compare_digest(detached.encode(), expected.encode())
