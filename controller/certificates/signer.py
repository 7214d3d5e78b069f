"""csrsigning (Kubernetes' pkg/controller/certificates/signer): an approved, not
failed, not yet issued request for one of the signers the cluster CA serves —
kube-apiserver-client-kubelet, kube-apiserver-client, kubelet-serving — is signed
with --cluster-signing-cert-file/--cluster-signing-key-file for
--cluster-signing-duration (1 year), or the request's spec.expirationSeconds when
shorter (never under 10 minutes). A request a signer cannot honour gets a Failed
condition (SignerValidationFailure). Without the files the controller stays idle."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from api import certificates as certs
from api.errors import Conflict, NotFound
from api.resources import CERTIFICATESIGNINGREQUESTS
from api.timefmt import rfc3339
from controller.util.base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]

SIGNERS = (
    certs.KUBE_APISERVER_CLIENT_KUBELET,
    certs.KUBE_APISERVER_CLIENT,
    certs.KUBELET_SERVING,
)
DEFAULT_DURATION = 365 * 24 * 3600.0  # --cluster-signing-duration 8760h


def failed_copy(csr: Obj, message: str) -> Obj:
    status = dict(csr.get("status") or {})
    status["conditions"] = [
        *(status.get("conditions") or []),
        {
            "type": certs.FAILED,
            "status": "True",
            "reason": "SignerValidationFailure",
            "message": message,
            "lastUpdateTime": rfc3339(),
        },
    ]
    return {**csr, "status": status}


class CSRSigningController(Controller):
    name = "csrsigning"
    default_workers = 5

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        options = ctx.options
        self.cert_file = options.cluster_signing_cert_file
        self.key_file = options.cluster_signing_key_file
        self.duration = options.cluster_signing_duration
        self.csrs = ctx.informers.informer(CERTIFICATESIGNINGREQUESTS)
        self.csrs.add_handler(self.enqueue, lambda _old, new: self.enqueue(new))
        self.watched = [self.csrs]

    async def started(self) -> None:
        if not (self.cert_file and self.key_file):
            log.warning(
                "csrsigning: no --cluster-signing-cert-file/--cluster-signing-key-file: "
                "no certificate will be issued"
            )

    async def reconcile(self, name: str) -> None:
        csr = self.csrs.get(name)
        if not self.cert_file or not self.key_file or csr is None:
            return
        spec = csr.get("spec") or {}
        signer = spec.get("signerName")
        if (
            signer not in SIGNERS
            or certs.issued(csr)
            or not certs.is_approved(csr)
            or certs.has_true_condition(csr, certs.FAILED)
        ):
            return
        try:
            request = certs.parse_request(csr)
        except ValueError as err:
            log.info('csrsigning: unable to parse csr "%s": %s', name, err)
            return
        usages = [str(u) for u in spec.get("usages") or []]
        problem = certs.signer_error(str(signer), request, usages)
        if problem is not None:
            await self._write_status(name, failed_copy(csr, problem))
            return
        # cryptography (via these) loads with the first certificate to issue, not at start
        from componentbase.pki import load_ca
        from controller.certificates import authority

        ca = load_ca(self.cert_file, self.key_file)  # read each time: a rotated CA is used
        seconds = certs.signed_seconds(spec.get("expirationSeconds"), self.duration)
        pem = authority.sign(ca, request, usages, datetime.timedelta(seconds=seconds))
        status = {**(csr.get("status") or {}), "certificate": certs.encode_bytes(pem)}
        await self._write_status(name, {**csr, "status": status})

    async def _write_status(self, name: str, csr: Obj) -> None:
        try:
            await self.api.update(CERTIFICATESIGNINGREQUESTS, csr, subresource="status")
        except NotFound:
            return
        except Conflict:
            self.enqueue_after(name, 0.1)
