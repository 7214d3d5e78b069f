"""StorageClasses (pkg/apis/storage/validation)."""

from __future__ import annotations

from api import labels as lbl
from api.storage import BINDING_MODES
from api.validation.field import (
    IMMUTABLE,
    Cause,
    as_dict,
    as_str,
    forbidden,
    invalid,
    invalid_each,
    not_supported,
    one_of,
    required,
)

_CLASS_RECLAIM_POLICIES = ("Delete", "Retain")


def validate_storage_class(obj: dict) -> list[Cause]:
    provisioner = as_str(obj.get("provisioner"))
    causes: list[Cause] = []
    if not provisioner:
        causes.append(required("provisioner"))
    else:
        causes += invalid_each("provisioner", provisioner, lbl.label_key_errors(provisioner))
    for key in as_dict(obj.get("parameters")):
        if not key:
            causes.append(invalid("parameters", key, "parameter key may not be empty"))
    policy = obj.get("reclaimPolicy")
    if policy and policy not in _CLASS_RECLAIM_POLICIES:
        causes.append(not_supported("reclaimPolicy", policy, _CLASS_RECLAIM_POLICIES))
    return causes + one_of("volumeBindingMode", obj.get("volumeBindingMode"), BINDING_MODES)


def validate_storage_class_update(new: dict, old: dict) -> list[Cause]:
    """ValidateStorageClassUpdate: what provisions volumes never changes."""
    causes: list[Cause] = []
    if as_dict(new.get("parameters")) != as_dict(old.get("parameters")):
        causes.append(forbidden("parameters", "updates to parameters are forbidden."))
    if new.get("provisioner") != old.get("provisioner"):
        causes.append(forbidden("provisioner", "updates to provisioner are forbidden."))
    if new.get("reclaimPolicy") != old.get("reclaimPolicy"):
        causes.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
    if new.get("volumeBindingMode") != old.get("volumeBindingMode"):
        causes.append(invalid("volumeBindingMode", as_str(new.get("volumeBindingMode")), IMMUTABLE))
    return causes
