"""Kubelet client certificate rotation (--rotate-certificates), as client-go's
util/certificate manager: at a random point in 70-90% of the current certificate's
lifetime (jitteryDuration) the kubelet makes a new key and asks for a certificate by a
CertificateSigningRequest with its *current* identity, `system:node:<name>`, which the
controller manager's csrapproving approves as `selfnodeclient`; the new certificate
is stored beside the old (`kubelet-client-current.pem` repointed, kubelet/certbootstrap)
and the kubelet's client presents it on its next connections, without a restart.
A failed attempt is retried with back-off until the certificate expires."""

from __future__ import annotations

import asyncio
import datetime
import logging
import random
from collections.abc import Callable
from pathlib import Path

from cryptography import x509

from api.errors import ApiError
from client.errors import ConnectionFailed
from client.rest import AsyncClient
from kubelet.certbootstrap import CURRENT, BootstrapError, pending_key, request_certificate, store

log = logging.getLogger(__name__)

RETRY_INITIAL, RETRY_MAX = 2.0, 300.0  # client-go's rotation back-off, roughly
WAIT_SECONDS = 15 * 60


def rotation_deadline(cert: x509.Certificate, rand: float) -> datetime.datetime:
    """notBefore + total * (0.7 + 0.2 * rand): client-go's nextRotationDeadline with
    jitteryDuration = Jitter(total, 0.2) - 0.3 * total."""
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    return start + (end - start) * (0.7 + 0.2 * rand)


def load_current(cert_dir: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate((cert_dir / CURRENT).read_bytes())
    except (OSError, ValueError):
        return None


class ClientCertificateRotator:
    """Runs beside the kubelet's loops; `api` is the kubelet's own client, which both
    asks for the new certificate and is switched to it."""

    def __init__(
        self,
        api: AsyncClient,
        cert_dir: Path,
        node_name: str,
        rand: Callable[[], float] = random.random,
        now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self.api, self.cert_dir, self.node_name = api, cert_dir.resolve(), node_name
        self.rand, self.now = rand, now
        self.rotations = 0

    async def run(self) -> None:
        retry = RETRY_INITIAL
        while True:
            cert = load_current(self.cert_dir)
            if cert is None:  # the store was removed under us: look again later
                log.warning("certificate rotation: no %s in %s", CURRENT, self.cert_dir)
                await asyncio.sleep(RETRY_MAX)
                continue
            deadline = rotation_deadline(cert, self.rand())
            wait = (deadline - self.now()).total_seconds()
            log.info(
                "certificate rotation: client certificate expires %s, rotating at %s (in %.0fs)",
                cert.not_valid_after_utc.isoformat(),
                deadline.isoformat(),
                max(0.0, wait),
            )
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await self.rotate()
                retry = RETRY_INITIAL
            except (BootstrapError, ApiError, ConnectionFailed, OSError) as err:
                log.warning("certificate rotation failed, retrying in %.0fs: %s", retry, err)
                await asyncio.sleep(retry)
                retry = min(retry * 2, RETRY_MAX)

    async def rotate(self) -> Path:
        """One rotation: a new key, a CSR as the node, the certificate stored and loaded."""
        key = pending_key(self.cert_dir)
        pem = await request_certificate(self.api, key, self.node_name, WAIT_SECONDS)
        current = store(self.cert_dir, key, pem)
        await self.api.reload_client_certificate(str(current), str(current))
        self.rotations += 1
        log.info("certificate rotation: new client certificate in use (%s)", current.resolve())
        return current
