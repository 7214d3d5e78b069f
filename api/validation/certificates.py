"""certificates.k8s.io/v1 validation, as Kubernetes' pkg/apis/certificates/validation:
the request is a signed PEM CERTIFICATE REQUEST, usages are known and unique, the
signerName is `<domain>/<path>`, expirationSeconds at least 10 minutes, the
conditions well formed (Approved and Denied exclusive and only `True`), the
certificate PEM CERTIFICATE blocks. An update may not remove an Approved, Denied or
Failed condition nor change an issued certificate. Names are free (path segments)."""

from __future__ import annotations

from api import certificates as certs
from api import labels as lbl
from api.validation.field import (
    Cause,
    GoText,
    as_dict,
    as_list,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
    too_long,
)

_STATUSES = ("False", "True", "Unknown")
_DNS1123_SUBDOMAIN_MAX = 253
_DNS1123_LABEL_MAX = 63


def signer_name_errors(path: str, signer: object) -> list[Cause]:
    """apivalidation.ValidateSignerName."""
    if not isinstance(signer, str) or not signer:
        return [required(path)]
    segments = signer.split("/")
    if len(segments) != 2:
        return [
            invalid(
                path,
                signer,
                "must be a fully qualified domain and path of the form 'example.com/signer-name'",
            )
        ]
    domain, rest = segments
    causes: list[Cause] = []
    if len(domain) > _DNS1123_SUBDOMAIN_MAX:
        causes.append(too_long(path, _DNS1123_SUBDOMAIN_MAX))
    labels = domain.split(".")
    for label in labels:
        errs = lbl.dns1123_label_errors(label)
        if errs:
            causes += [invalid(path, domain, f'validating label "{label}": {e}') for e in errs]
            break
    if len(labels) < 2:
        causes.append(
            invalid(path, domain, "should be a domain with at least two segments separated by dots")
        )
    for label in rest.split("."):
        errs = lbl.dns1123_label_errors(label)
        if errs:
            causes += [invalid(path, rest, f'validating label "{label}": {e}') for e in errs]
            break
    if len(rest) > _DNS1123_SUBDOMAIN_MAX + _DNS1123_LABEL_MAX + 1:
        causes.append(too_long(path, _DNS1123_SUBDOMAIN_MAX + _DNS1123_LABEL_MAX + 1))
    return causes


def _request(spec: dict) -> list[Cause]:
    raw = spec.get("request")
    try:
        certs.parse_request_pem(certs.decode_bytes(raw))
    except ValueError as err:
        return [invalid("spec.request", GoText(f"[]byte{{{len(str(raw or ''))}}}"), str(err))]
    return []


def _usages(spec: dict) -> list[Cause]:
    usages = as_list(spec.get("usages"))
    if not usages:
        return [required("spec.usages")]
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, usage in enumerate(usages):
        if usage not in certs.ALL_USAGES:
            causes.append(not_supported(f"spec.usages[{i}]", usage, sorted(certs.ALL_USAGES)))
        if usage in seen:
            causes.append(duplicate(f"spec.usages[{i}]", usage))
        seen.add(str(usage))
    return causes


def _conditions(csr: dict) -> list[Cause]:
    causes: list[Cause] = []
    seen: set[str] = set()
    approved = denied = False
    for i, raw in enumerate(as_list(as_dict(csr.get("status")).get("conditions"))):
        c, at = as_dict(raw), f"status.conditions[{i}]"
        kind = c.get("type") or ""
        if not kind:
            causes.append(required(f"{at}.type"))
        allowed = ("True",) if kind in (certs.APPROVED, certs.DENIED) else _STATUSES
        status = c.get("status") or ""
        if not status:
            causes.append(required(f"{at}.status"))
        elif status not in allowed:
            causes.append(not_supported(f"{at}.status", status, allowed))
        if kind == certs.APPROVED:
            approved = True
            if denied:
                causes.append(
                    invalid(
                        f"{at}.type", kind, "Approved and Denied conditions are mutually exclusive"
                    )
                )
        elif kind == certs.DENIED:
            denied = True
            if approved:
                causes.append(
                    invalid(
                        f"{at}.type", kind, "Approved and Denied conditions are mutually exclusive"
                    )
                )
        if kind in seen:
            causes.append(duplicate(f"{at}.type", kind))
        seen.add(kind)
    return causes


def _certificate(csr: dict) -> list[Cause]:
    raw = as_dict(csr.get("status")).get("certificate")
    if not raw:
        return []
    try:
        pem = certs.decode_bytes(raw)
    except ValueError as err:
        return [invalid("status.certificate", GoText("<certificate data>"), str(err))]
    problem = certs.certificate_error(pem)
    return [invalid("status.certificate", GoText("<certificate data>"), problem)] if problem else []


def validate_csr(csr: dict) -> list[Cause]:
    spec = as_dict(csr.get("spec"))
    causes = _request(spec) + _usages(spec)
    signer = spec.get("signerName")
    if signer == certs.LEGACY_UNKNOWN:
        causes.append(
            invalid(
                "spec.signerName",
                signer,
                "the legacy signerName is not allowed via this API version",
            )
        )
    else:
        causes += signer_name_errors("spec.signerName", signer)
    seconds = spec.get("expirationSeconds")
    if isinstance(seconds, int) and seconds < certs.MIN_EXPIRATION_SECONDS:
        causes.append(
            invalid(
                "spec.expirationSeconds",
                seconds,
                "may not specify a duration less than 600 seconds (10 minutes)",
            )
        )
    return causes + _conditions(csr) + _certificate(csr)


def validate_csr_update(new: dict, old: dict) -> list[Cause]:
    causes: list[Cause] = []
    for kind in (certs.APPROVED, certs.DENIED, certs.FAILED):
        before = [c for c in certs.conditions(old) if c.get("type") == kind]
        after = [c for c in certs.conditions(new) if c.get("type") == kind]
        if len(after) < len(before):
            causes.append(
                forbidden(
                    "status.conditions", f'updates may not remove a condition of type "{kind}"'
                )
            )
    old_cert = as_dict(old.get("status")).get("certificate") or ""
    new_cert = as_dict(new.get("status")).get("certificate") or ""
    if old_cert and old_cert != new_cert:
        causes.append(
            invalid(
                "status.certificate",
                GoText("<certificate data>"),
                "updates may not modify existing certificate content",
            )
        )
    return causes
