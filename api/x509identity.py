"""Who a verified client certificate names, as Kubernetes'
x509.CommonNameUserConversion: the subject's first CN is the user, each O a group.
One reading for the apiserver's authenticator and the kubelet's (componentbase)."""

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
