"""csrcleaner (Kubernetes' pkg/controller/certificates/cleaner): requests do not
pile up. A request is deleted once it has been Denied or Failed for an hour
(condition lastUpdateTime), issued an hour after its approval or when its certificate
expires, or Pending a day after its creation. An approved request still waiting for
its certificate stays. Each request is looked at again exactly when it becomes
deletable (Kubernetes polls hourly)."""

from __future__ import annotations

import logging
import time
from typing import Any

from api import certificates as certs
from api.errors import Conflict, NotFound
from api.resources import CERTIFICATESIGNINGREQUESTS
from api.timefmt import parse_time
from controller.util.base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]

APPROVED_SECONDS = 3600.0  # approvedExpiration (issued requests)
DENIED_SECONDS = 3600.0
FAILED_SECONDS = 3600.0
PENDING_SECONDS = 24 * 3600.0


def _updated(condition: Obj) -> float:
    """A condition's lastUpdateTime; a missing one is the zero time (long past)."""
    return parse_time(condition.get("lastUpdateTime")) or 0.0


def _not_after(csr: Obj) -> float | None:
    from cryptography import x509  # here: cryptography loads only when a CSR is signed

    try:
        pem = certs.decode_bytes((csr.get("status") or {}).get("certificate"))
        return x509.load_pem_x509_certificate(pem).not_valid_after_utc.timestamp()
    except ValueError:
        return None


def deletable_at(csr: Obj) -> float | None:
    """When the request may be deleted (epoch seconds); None: never, as it stands."""
    conditions = certs.conditions(csr)
    times: list[float] = []
    if not conditions:
        created = parse_time((csr.get("metadata") or {}).get("creationTimestamp"))
        times.append((created or 0.0) + PENDING_SECONDS)
    for c in conditions:
        kind = c.get("type")
        if kind == certs.DENIED:
            times.append(_updated(c) + DENIED_SECONDS)
        elif kind == certs.FAILED:
            times.append(_updated(c) + FAILED_SECONDS)
        elif kind == certs.APPROVED and certs.issued(csr):
            times.append(_updated(c) + APPROVED_SECONDS)
            not_after = _not_after(csr)
            if not_after is not None:
                times.append(not_after)
    return min(times) if times else None


class CSRCleaner(Controller):
    name = "csrcleaner"
    default_workers = 1

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.csrs = ctx.informers.informer(CERTIFICATESIGNINGREQUESTS)
        self.csrs.add_handler(self.enqueue, lambda _old, new: self.enqueue(new))
        self.watched = [self.csrs]

    async def reconcile(self, name: str) -> None:
        csr = self.csrs.get(name)
        if csr is None:
            return
        when = deletable_at(csr)
        if when is None:
            return
        now = time.time()
        if when > now:
            self.enqueue_after(name, when - now + 0.01)
            return
        log.info("csrcleaner: deleting certificate signing request %s", name)
        uid = (csr.get("metadata") or {}).get("uid")
        try:
            await self.api.delete(CERTIFICATESIGNINGREQUESTS, name, preconditions={"uid": uid})
        except (NotFound, Conflict):
            return
