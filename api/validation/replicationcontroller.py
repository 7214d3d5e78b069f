"""core/v1 ReplicationControllers (pkg/apis/core/validation's
ValidateReplicationController): an equality-based selector that must not be empty and
must match the template's labels, a pod template that restarts Always, no deadline.
Unlike apps/v1 workloads, the selector may change."""

from __future__ import annotations

from api import labels as lbl
from api.validation.apps import validate_replica_template
from api.validation.field import (
    Cause,
    as_dict,
    nonnegative,
    required,
)
from api.validation.meta import validate_labels


def _selector(spec: dict) -> dict[str, str]:
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        return {}
    return {str(k): str(v) for k, v in selector.items()}


def validate_replication_controller(obj: dict) -> list[Cause]:
    """ValidateReplicationControllerSpec (defaults have filled an empty selector from the
    template's labels already)."""
    spec = as_dict(obj.get("spec"))
    causes = nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    selector = _selector(spec)
    if not selector:
        causes.append(required("spec.selector"))
    causes += validate_labels(selector, "spec.selector")
    causes += nonnegative("spec.replicas", spec.get("replicas"))
    template = spec.get("template")
    if not isinstance(template, dict):
        return [*causes, required("spec.template")]
    selects = lbl.selector_from_set(selector).matches if selector else None
    return causes + validate_replica_template(
        template,
        selects,
        "selector does not match labels in spec.template",
        "ReplicationController",
    )
