"""HorizontalPodAutoscaler vocabulary shared by defaulting, validation, the v1
conversion, the server's table printer and the controller: the default scaling rules,
condition types, and kubectl's TARGETS text."""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

DEFAULT_CPU_UTILIZATION = 80  # a v2 HPA without metrics (and v1's default)
# Kubernetes' GenerateHPAScaleUpRules / GenerateHPAScaleDownRules defaults. Scale-down
# stabilization stays unset: the controller's --horizontal-pod-autoscaler-downscale-
# stabilization then applies.
SCALE_UP_DEFAULTS: Obj = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
SCALE_DOWN_DEFAULTS: Obj = {
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}
POLICY_TYPES = ("Pods", "Percent")
SELECT_POLICIES = ("Max", "Min", "Disabled")
METRIC_TYPES = ("Object", "Pods", "Resource", "ContainerResource", "External")
TARGET_TYPES = ("Utilization", "Value", "AverageValue")

ABLE_TO_SCALE = "AbleToScale"
SCALING_ACTIVE = "ScalingActive"
SCALING_LIMITED = "ScalingLimited"

# autoscaling/v1 keeps what it cannot express in annotations, as Kubernetes does.
METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"


def default_rules(rules: Obj | None, defaults: Obj) -> Obj:
    """Fill a scaling direction's unset fields from Kubernetes' defaults."""
    out = dict(rules or {})
    for key, value in defaults.items():
        if out.get(key) is None:
            out[key] = copy.deepcopy(value)
    return out


def _name_of(metric: Obj) -> str:
    source = metric.get("resource") or metric.get("containerResource") or {}
    return str(source.get("name", ""))


def _quantity(value: Any) -> str:
    return str(value)


def metric_text(spec: Obj, status: Obj | None) -> str:
    """One metric as kubectl's HPA printer writes it: `cpu: 73%/50%`."""
    kind = spec.get("type")
    key = {
        "Resource": "resource",
        "ContainerResource": "containerResource",
        "Pods": "pods",
        "Object": "object",
        "External": "external",
    }.get(kind or "", "")
    source = spec.get(key) or {}
    target = source.get("target") or {}
    current = ((status or {}).get(key) or {}).get("current") or {}
    if kind in ("Resource", "ContainerResource"):
        name = _name_of(spec)
        if target.get("averageValue") is not None:
            now = _quantity(current["averageValue"]) if "averageValue" in current else "<unknown>"
            return f"{name}: {now}/{_quantity(target['averageValue'])}"
        now = (
            f"{current['averageUtilization']}%"
            if current.get("averageUtilization") is not None
            else "<unknown>"
        )
        goal = (
            f"{target['averageUtilization']}%"
            if target.get("averageUtilization") is not None
            else "<auto>"
        )
        return f"{name}: {now}/{goal}"
    if kind in ("Pods", "Object", "External"):
        name = str((source.get("metric") or {}).get("name", ""))
        goal = target.get("averageValue", target.get("value", "<auto>"))
        now = current.get("averageValue", current.get("value", "<unknown>"))
        suffix = " (avg)" if kind != "Pods" and "averageValue" in target else ""
        return f"{name}: {now}/{goal}{suffix}"
    return "<unknown type>"


def targets_text(hpa: Obj) -> str:
    """kubectl's TARGETS column (formatHPAMetrics): two metrics, then `+ N more...`."""
    specs = (hpa.get("spec") or {}).get("metrics") or []
    statuses = (hpa.get("status") or {}).get("currentMetrics") or []
    texts = [
        metric_text(spec, statuses[i] if i < len(statuses) else None)
        for i, spec in enumerate(specs)
    ]
    if not texts:
        return "<none>"
    if len(texts) > 2:
        return ", ".join(texts[:2]) + f" + {len(texts) - 2} more..."
    return ", ".join(texts)
