"""Bootstrap tokens, as kubeadm makes them and Kubernetes reads them
(k8s.io/cluster-bootstrap): a `bootstrap.kubernetes.io/token` Secret named
`bootstrap-token-<id>` in kube-system holds `token-id`, `token-secret`, an optional
RFC 3339 `expiration`, `usage-bootstrap-*` flags and `auth-extra-groups`. The bearer
token `<id>.<secret>` is the user `system:bootstrap:<id>` in `system:bootstrappers`.
Shared by the apiserver's authenticator and the controller manager's tokencleaner."""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from typing import Any

from api.timefmt import parse_time

SECRET_TYPE = "bootstrap.kubernetes.io/token"
SECRET_PREFIX = "bootstrap-token-"
NAMESPACE = "kube-system"
USER_PREFIX = "system:bootstrap:"
DEFAULT_GROUP = "system:bootstrappers"

TOKEN_ID_KEY = "token-id"
TOKEN_SECRET_KEY = "token-secret"
EXPIRATION_KEY = "expiration"
USAGE_AUTHENTICATION = "usage-bootstrap-authentication"
USAGE_SIGNING = "usage-bootstrap-signing"
EXTRA_GROUPS_KEY = "auth-extra-groups"

TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
GROUP_RE = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")


def parse_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of `<id>.<secret>`, None when it is not a bootstrap token."""
    match = TOKEN_RE.match(token)
    return (match.group(1), match.group(2)) if match else None


def data(secret: dict[str, Any], key: str) -> str:
    """One decoded value of the Secret's `data` ("" when absent or not base64)."""
    raw = (secret.get("data") or {}).get(key)
    if not isinstance(raw, str):
        return ""
    try:
        return base64.b64decode(raw, validate=True).decode()
    except (binascii.Error, ValueError):
        return ""


def expired(secret: dict[str, Any], now: float) -> bool:
    """HasExpired: an unparsable expiration counts as expired; none never expires."""
    text = data(secret, EXPIRATION_KEY)
    if not text:
        return False
    when = parse_time(text)
    return when is None or now >= when


def expires_at(secret: dict[str, Any]) -> float | None:
    """When the token expires (None: never, or an expiration that does not parse)."""
    text = data(secret, EXPIRATION_KEY)
    return parse_time(text) if text else None


def groups(secret: dict[str, Any]) -> list[str]:
    """GetGroups: system:bootstrappers plus each valid auth-extra-groups entry, sorted;
    ValueError names an invalid one."""
    result = {DEFAULT_GROUP}
    extra = data(secret, EXTRA_GROUPS_KEY)
    for group in (g.strip() for g in extra.split(",")) if extra else ():
        if not GROUP_RE.match(group):
            raise ValueError(
                f"bootstrap group {group!r} is invalid (must match {GROUP_RE.pattern})"
            )
        result.add(group)
    return sorted(result)


def is_bootstrap_secret(secret: dict[str, Any]) -> bool:
    return secret.get("type") == SECRET_TYPE


def authentication_problem(
    secret: dict[str, Any], token_id: str, token_secret: str, now: float
) -> str | None:
    """Why the Secret does not authenticate `<token_id>.<token_secret>` (Kubernetes'
    log wording), None when it does. The secret is compared in constant time."""
    if (secret.get("metadata") or {}).get("deletionTimestamp"):
        return "is deleted and awaiting removal"
    if not is_bootstrap_secret(secret) or not secret.get("data"):
        return f"has invalid type, expected {SECRET_TYPE}."
    if not hmac.compare_digest(data(secret, TOKEN_SECRET_KEY).encode(), token_secret.encode()):
        return f"has invalid value for key {TOKEN_SECRET_KEY}."
    if data(secret, TOKEN_ID_KEY) != token_id:
        return f"has invalid value for key {TOKEN_ID_KEY}."
    if expired(secret, now):
        return "has expired."
    if data(secret, USAGE_AUTHENTICATION) != "true":
        return f"not marked {USAGE_AUTHENTICATION}=true."
    try:
        groups(secret)
    except ValueError as err:
        return f"has invalid value for key {EXTRA_GROUPS_KEY}: {err}."
    return None
