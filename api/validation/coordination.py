"""Leases (pkg/apis/coordination/validation)."""

from __future__ import annotations

from api.validation.field import Cause, as_dict, as_int, invalid, nonnegative


def validate_lease(obj: dict) -> list[Cause]:
    spec = as_dict(obj.get("spec"))
    causes: list[Cause] = []
    duration = as_int(spec.get("leaseDurationSeconds"))
    if duration is not None and duration <= 0:
        causes.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    causes += nonnegative("spec.leaseTransitions", spec.get("leaseTransitions"))
    return causes
