"""csrapproving (Kubernetes' pkg/controller/certificates/approver/sarapprove.go): a
pending kubelet client request (signer kube-apiserver-client-kubelet, subject
`system:node:<name>` in `system:nodes`, client usages, no subjectAltNames) is
approved when its requestor may `create` `certificatesigningrequests/selfnodeclient`
(a node renewing its own certificate: the requestor is the request's CN) or
`certificatesigningrequests/nodeclient` (a new node, e.g. a bootstrap token's user),
asked through a SubjectAccessReview in the requestor's name. Anything else is left
to a person (`kubectl certificate approve`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from api import certificates as certs
from api.errors import Conflict, NotFound
from api.resources import CERTIFICATESIGNINGREQUESTS, SUBJECTACCESSREVIEWS
from controller.util.base import Context, Controller

if TYPE_CHECKING:
    from cryptography import x509

log = logging.getLogger(__name__)

Obj = dict[str, Any]


@dataclass(frozen=True)
class Recognizer:
    subresource: str  # what the requestor must be allowed to create
    message: str
    self_only: bool  # the requestor is the node the certificate names


RECOGNIZERS = (
    Recognizer(
        "selfnodeclient",
        "Auto approving self kubelet client certificate after SubjectAccessReview.",
        True,
    ),
    Recognizer(
        "nodeclient", "Auto approving kubelet client certificate after SubjectAccessReview.", False
    ),
)


def is_node_client(csr: Obj, request: x509.CertificateSigningRequest) -> bool:
    spec = csr.get("spec") or {}
    if spec.get("signerName") != certs.KUBE_APISERVER_CLIENT_KUBELET:
        return False
    return certs.kubelet_client_error(request, spec.get("usages") or []) is None


def recognized(csr: Obj, request: x509.CertificateSigningRequest) -> list[Recognizer]:
    """The recognizers that apply to a request, in the order they are tried."""
    if not is_node_client(csr, request):
        return []
    username = (csr.get("spec") or {}).get("username")
    own = username == certs.common_name(request)
    return [r for r in RECOGNIZERS if own or not r.self_only]


def access_review(csr: Obj, subresource: str) -> Obj:
    """The SubjectAccessReview asking whether the requestor may create the subresource."""
    spec = csr.get("spec") or {}
    review_spec: Obj = {
        "user": spec.get("username") or "",
        "groups": list(spec.get("groups") or []),
        "resourceAttributes": {
            "group": certs.GROUP,
            "resource": "certificatesigningrequests",
            "verb": "create",
            "subresource": subresource,
            "version": "*",
        },
    }
    if spec.get("uid"):
        review_spec["uid"] = spec["uid"]
    if spec.get("extra"):
        review_spec["extra"] = spec["extra"]
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": review_spec,
    }


def approved_copy(csr: Obj, message: str) -> Obj:
    status = dict(csr.get("status") or {})
    status["conditions"] = [
        *(status.get("conditions") or []),
        {"type": certs.APPROVED, "status": "True", "reason": "AutoApproved", "message": message},
    ]
    return {**csr, "status": status}


class CSRApprovingController(Controller):
    name = "csrapproving"
    default_workers = 5

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.csrs = ctx.informers.informer(CERTIFICATESIGNINGREQUESTS)
        self.csrs.add_handler(self.enqueue, lambda _old, new: self.enqueue(new))
        self.watched = [self.csrs]

    async def reconcile(self, name: str) -> None:
        csr = self.csrs.get(name)
        if csr is None or certs.issued(csr) or any(certs.approval(csr)):
            return
        try:
            request = certs.parse_request(csr)
        except ValueError as err:
            log.info('csrapproving: unable to parse csr "%s": %s', name, err)
            return
        tried = []
        for recognizer in recognized(csr, request):
            tried.append(recognizer.subresource)
            review = await self.api.create(
                SUBJECTACCESSREVIEWS, access_review(csr, recognizer.subresource)
            )
            if not (review.get("status") or {}).get("allowed"):
                continue
            try:
                await self.api.update(
                    CERTIFICATESIGNINGREQUESTS,
                    approved_copy(csr, recognizer.message),
                    subresource="approval",
                )
            except NotFound:
                return
            except Conflict:
                self.enqueue_after(name, 0.1)
            return
        if tried:
            log.info(
                'csrapproving: recognized csr "%s" as [%s] but subject access review was not '
                "approved",
                name,
                " ".join(tried),
            )
