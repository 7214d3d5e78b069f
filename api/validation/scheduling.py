"""PriorityClasses (pkg/apis/scheduling/validation)."""

from __future__ import annotations

from api.scheduling import (
    HIGHEST_USER_DEFINABLE_PRIORITY,
    PREEMPTION_POLICIES,
    SYSTEM_PRIORITY_CLASS_PREFIX,
    known_system_class_error,
)
from api.validation.field import (
    IMMUTABLE,
    MAX_INT32,
    Cause,
    as_dict,
    as_int,
    as_str,
    forbidden,
    invalid,
    one_of,
    required,
)


def preemption_policy(path: str, value: object) -> list[Cause]:
    """ValidatePreemptionPolicy, for PriorityClasses and pod specs (when set)."""
    if value is None:
        return []
    return one_of(path, value, PREEMPTION_POLICIES)


def validate_priority_class(obj: dict) -> list[Cause]:
    name = as_str(as_dict(obj.get("metadata")).get("name"))
    raw = obj.get("value")
    value = as_int(raw)
    causes: list[Cause] = []
    if value is None or not -(MAX_INT32 + 1) <= value <= MAX_INT32:
        causes.append(invalid("value", raw, "must be a 32-bit integer"))
    if name.startswith(SYSTEM_PRIORITY_CLASS_PREFIX):
        error = known_system_class_error(name, value, obj.get("globalDefault") is True)
        if error:
            causes.append(
                forbidden(
                    "metadata.name",
                    f"priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are "
                    f"reserved for system use only. error: {error}",
                )
            )
    elif value is not None and value > HIGHEST_USER_DEFINABLE_PRIORITY:
        causes.append(
            forbidden(
                "value",
                "maximum allowed value of a user defined priority is "
                f"{HIGHEST_USER_DEFINABLE_PRIORITY}",
            )
        )
    if obj.get("preemptionPolicy") == "":
        causes.append(required("preemptionPolicy"))
    else:
        causes += preemption_policy("preemptionPolicy", obj.get("preemptionPolicy"))
    return causes


def validate_priority_class_update(new: dict, old: dict) -> list[Cause]:
    """ValidatePriorityClassUpdate: value and preemptionPolicy never change."""
    causes: list[Cause] = []
    if new.get("value") != old.get("value"):
        causes.append(forbidden("value", "may not be changed in an update."))
    if new.get("preemptionPolicy") != old.get("preemptionPolicy"):
        causes.append(invalid("preemptionPolicy", new.get("preemptionPolicy"), IMMUTABLE))
    return causes
