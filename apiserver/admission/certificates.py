"""Kubernetes' certificates admission plugins (plugin/pkg/admission/certificates):
CertificateApproval (a write of `certificatesigningrequests/approval` needs `approve`
on `signers` named by the request's signerName, or `<domain>/*`), CertificateSigning
(a `/status` write that changes `status.certificate` needs `sign` there) and
CertificateSubjectRestriction (no kube-apiserver-client certificate for
system:masters). The apiserver's own writes (no user) pass."""

from __future__ import annotations

from api import certificates
from api.rbac import Request
from apiserver.admission.plugin import CREATE, UPDATE, Attributes, Plugin
from apiserver.auth import User
from apiserver.authz import Union
from apiserver.storage import Storage

KIND = "CertificateSigningRequest"


def authorized_for_signer(authorizer: Union, user: User, verb: str, signer: str) -> bool:
    """certificates.IsAuthorizedForSignerName: the exact signerName, else the
    domain's wildcard."""
    for name in (signer, certificates.signer_wildcard(signer)):
        req = Request(verb=verb, api_group=certificates.GROUP, resource="signers", name=name)
        if authorizer.allowed(user, req):
            return True
    return False


def _signer(a: Attributes) -> str:
    return str((a.obj.get("spec") or {}).get("signerName") or "")


class _SignerPlugin(Plugin):
    """An admission plugin for one subresource write of CSRs, which it checks against
    the caller's rights on the request's signer."""

    subresource = ""

    def __init__(self, storage: Storage, authorizer: Union) -> None:
        super().__init__(storage)
        self.authorizer = authorizer

    def handles(self, a: Attributes) -> bool:
        return (
            a.kind == KIND
            and a.operation == UPDATE
            and a.subresource == self.subresource
            and a.opts.user is not None
        )


class CertificateApproval(_SignerPlugin):
    name = "CertificateApproval"
    subresource = "approval"

    async def validate(self, a: Attributes) -> None:
        signer = _signer(a)
        if not authorized_for_signer(self.authorizer, a.opts.user, "approve", signer):
            raise a.forbidden(f'user not permitted to approve requests with signerName "{signer}"')


class CertificateSigning(_SignerPlugin):
    name = "CertificateSigning"
    subresource = "status"

    async def validate(self, a: Attributes) -> None:
        old = ((a.old or {}).get("status") or {}).get("certificate")
        new = (a.obj.get("status") or {}).get("certificate")
        if old == new:
            return
        signer = _signer(a)
        if not authorized_for_signer(self.authorizer, a.opts.user, "sign", signer):
            raise a.forbidden(f'user not permitted to sign requests with signerName "{signer}"')


class CertificateSubjectRestriction(Plugin):
    name = "CertificateSubjectRestriction"

    def handles(self, a: Attributes) -> bool:
        return a.kind == KIND and a.operation == CREATE and not a.subresource

    async def validate(self, a: Attributes) -> None:
        if _signer(a) != certificates.KUBE_APISERVER_CLIENT:
            return
        try:
            request = certificates.parse_request(a.obj)
        except ValueError as err:
            raise a.forbidden(f"failed to parse CSR: {err}") from err
        if "system:masters" in certificates.organizations(request):
            raise a.forbidden(
                f"use of {certificates.KUBE_APISERVER_CLIENT} signer with system:masters "
                "group is not allowed"
            )
