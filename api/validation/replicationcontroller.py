"""core/v1 ReplicationControllers (pkg/apis/core/validation's
ValidateReplicationController): an equality-based selector that must not be empty and
must match the template's labels, a pod template that restarts Always, no deadline.
Unlike apps/v1 workloads, the selector may change."""

from __future__ import annotations

from api import labels as lbl
from api.validation.field import (
    Cause,
    GoText,
    as_dict,
    forbidden,
    go_string_map,
    invalid,
    nonnegative,
    not_supported,
    required,
)
from api.validation.meta import validate_annotations, validate_labels
from api.validation.pods import validate_pod_spec


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
    template_md = as_dict(template.get("metadata"))
    template_labels = template_md.get("labels")
    if selector and not lbl.selector_from_set(selector).matches(as_dict(template_labels)):
        shown = GoText(
            go_string_map(template_labels if isinstance(template_labels, dict) else None)
        )
        causes.append(
            invalid(
                "spec.template.metadata.labels",
                shown,
                "selector does not match labels in spec.template",
            )
        )
    causes += validate_labels(template_labels, "spec.template.metadata.labels")
    causes += validate_annotations(
        template_md.get("annotations"), "spec.template.metadata.annotations"
    )
    pod_spec = as_dict(template.get("spec"))
    causes += validate_pod_spec(pod_spec, "spec.template.spec", is_pod=False)
    restart = pod_spec.get("restartPolicy")
    if restart not in (None, "", "Always"):
        causes.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        causes.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in ReplicationController is not Supported",
            )
        )
    return causes
