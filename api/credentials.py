"""A request's credentials, read as Kubernetes reads them: an `Authorization: Bearer`
token, and who a verified client certificate names (x509.CommonNameUserConversion:
the subject's first CN is the user, each O a group). One reading for the apiserver's
authenticator and the delegated one of the kubelet and the control-plane components."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def certificate_identity(cert: Mapping[str, Any] | None) -> tuple[str, list[str]] | None:
    """(user, groups) of ssl.SSLSocket.getpeercert()'s dict (only set when the chain
    verified); None without a certificate or a CN."""
    if not cert:
        return None
    name, groups = "", []
    for rdn in cert.get("subject") or ():
        for key, value in rdn:
            if key == "commonName" and not name:
                name = value
            elif key == "organizationName":
                groups.append(value)
    return (name, groups) if name else None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if that is what it is."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
