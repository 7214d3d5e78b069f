"""TLS termination: one `ssl.SSLContext` per certificate of the Ingresses' `tls`
entries (a `kubernetes.io/tls` Secret in the Ingress's namespace), chosen by SNI.

The HTTPS listener's context has an `sni_callback` that swaps in the context of the
host the client named (exact host first, then a `*.` wildcard entry); unknown names,
and clients without SNI, get a self-signed fallback certificate, as ingress-nginx's
"fake certificate". Contexts are cached by the Secret's resourceVersion, so a sync
that changes nothing loads nothing."""

from __future__ import annotations

import base64
import logging
import os
import ssl
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

from api.privatefile import write_private
from componentbase.selfsigned import self_signed_pem
from componentbase.serving import apply_tls_policy
from ingress.routing import normalize_host, wildcard_parent

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def context_from_pem(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server context holding this certificate; `load_cert_chain` reads only files,
    so they pass through a private temporary directory that is removed at once."""
    context = apply_tls_policy(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))  # TLS 1.2+, AEAD
    context.set_alpn_protocols(["http/1.1"])
    with tempfile.TemporaryDirectory(prefix="minik-ingress-tls-") as tmp:
        cert_path, key_path = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
        for path, data in ((cert_path, cert_pem), (key_path, key_pem)):
            write_private(path, data)
        context.load_cert_chain(cert_path, key_path)
    return context


def secret_pem(secret: Obj) -> tuple[bytes, bytes] | None:
    data = secret.get("data") or {}
    try:
        cert = base64.b64decode(data.get("tls.crt") or "")
        key = base64.b64decode(data.get("tls.key") or "")
    except ValueError:
        return None
    return (cert, key) if cert and key else None


class TlsStore:
    def __init__(self) -> None:
        cert, key = self_signed_pem("minik ingress default certificate", ("ingress.local",))
        self.fallback = context_from_pem(cert, key)
        self.fallback.sni_callback = self._choose
        self.hosts: dict[str, ssl.SSLContext] = {}
        self._cache: dict[str, tuple[str, ssl.SSLContext]] = {}  # ns/name -> (rv, context)

    @property
    def server_context(self) -> ssl.SSLContext:
        """The context the HTTPS listener starts every handshake with."""
        return self.fallback

    def lookup(self, server_name: str | None) -> ssl.SSLContext | None:
        if not server_name:
            return None
        host = normalize_host(server_name)
        found = self.hosts.get(host)
        if found is None and (parent := wildcard_parent(host)) is not None:
            found = self.hosts.get(f"*.{parent}")
        return found

    def _choose(self, ssl_object: Any, server_name: str | None, _context: Any) -> None:
        context = self.lookup(server_name)
        if context is not None:
            ssl_object.context = context
        return None

    def update(self, ingresses: Iterable[Obj], secrets: Mapping[str, Obj]) -> None:
        """Rebuild host -> context from the Ingresses' tls entries (oldest Ingress
        first: it keeps a host two of them claim)."""
        hosts: dict[str, ssl.SSLContext] = {}
        used: set[str] = set()
        ordered = sorted(
            ingresses, key=lambda i: (i.get("metadata") or {}).get("creationTimestamp") or ""
        )
        for ing in ordered:
            namespace = (ing.get("metadata") or {}).get("namespace", "")
            for entry in (ing.get("spec") or {}).get("tls") or []:
                name = entry.get("secretName")
                if not name:
                    continue
                key = f"{namespace}/{name}"
                context = self._context(key, secrets.get(key))
                if context is None:
                    continue
                used.add(key)
                for host in entry.get("hosts") or []:
                    hosts.setdefault(str(host).lower(), context)
        self.hosts = hosts
        self._cache = {k: v for k, v in self._cache.items() if k in used}

    def _context(self, key: str, secret: Obj | None) -> ssl.SSLContext | None:
        if secret is None:
            return None
        rv = str((secret.get("metadata") or {}).get("resourceVersion", ""))
        cached = self._cache.get(key)
        if cached is not None and cached[0] == rv:
            return cached[1]
        pem = secret_pem(secret)
        if pem is None:
            log.warning("secret %s has no tls.crt/tls.key", key)
            return None
        try:
            context = context_from_pem(*pem)
        except (ssl.SSLError, ValueError) as err:
            log.warning("secret %s: cannot load its certificate: %s", key, err)
            return None
        self._cache[key] = (rv, context)
        return context
