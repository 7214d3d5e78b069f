"""autoscaling/v1 HorizontalPodAutoscaler <-> autoscaling/v2 (the stored form), as
Kubernetes converts them (pkg/apis/autoscaling/v1/conversion.go): v1's
`targetCPUUtilizationPercentage` is the v2 CPU Utilization metric; what v1 cannot say
(other metrics, their current values, conditions, behavior) rides in annotations."""

from __future__ import annotations

import copy
import json
from typing import Any

from api.autoscaling import (
    BEHAVIOR_ANNOTATION,
    CONDITIONS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    METRICS_ANNOTATION,
)

Obj = dict[str, Any]
_ANNOTATIONS = (
    METRICS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    CONDITIONS_ANNOTATION,
    BEHAVIOR_ANNOTATION,
)


def _is_cpu_utilization(metric: Obj) -> bool:
    resource = metric.get("resource") or {}
    target = resource.get("target") or {}
    return (
        metric.get("type") == "Resource"
        and resource.get("name") == "cpu"
        and target.get("type") == "Utilization"
    )


def to_v1(v2: Obj) -> Obj:
    meta = copy.deepcopy(v2.get("metadata") or {})
    spec, status = v2.get("spec") or {}, v2.get("status") or {}
    annotations = dict(meta.get("annotations") or {})
    out_spec: Obj = {
        "scaleTargetRef": copy.deepcopy(spec.get("scaleTargetRef") or {}),
        "maxReplicas": spec.get("maxReplicas", 0),
    }
    if spec.get("minReplicas") is not None:
        out_spec["minReplicas"] = spec["minReplicas"]
    others = []
    for metric in spec.get("metrics") or []:
        if _is_cpu_utilization(metric) and "targetCPUUtilizationPercentage" not in out_spec:
            target = metric["resource"]["target"]
            out_spec["targetCPUUtilizationPercentage"] = target.get("averageUtilization")
        else:
            others.append(metric)
    if others:
        annotations[METRICS_ANNOTATION] = json.dumps(others)
    if spec.get("behavior"):
        annotations[BEHAVIOR_ANNOTATION] = json.dumps(spec["behavior"])
    out_status: Obj = {
        "currentReplicas": status.get("currentReplicas", 0),
        "desiredReplicas": status.get("desiredReplicas", 0),
    }
    for key in ("observedGeneration", "lastScaleTime"):
        if status.get(key) is not None:
            out_status[key] = status[key]
    current_others = []
    for current in status.get("currentMetrics") or []:
        resource = current.get("resource") or {}
        value = (resource.get("current") or {}).get("averageUtilization")
        if (
            current.get("type") == "Resource"
            and resource.get("name") == "cpu"
            and value is not None
        ):
            out_status["currentCPUUtilizationPercentage"] = value
        else:
            current_others.append(current)
    if current_others:
        annotations[CURRENT_METRICS_ANNOTATION] = json.dumps(current_others)
    if status.get("conditions"):
        annotations[CONDITIONS_ANNOTATION] = json.dumps(status["conditions"])
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": out_spec,
        "status": out_status,
    }


def _load(annotations: Obj, key: str) -> Any:
    try:
        return json.loads(annotations.get(key) or "null")
    except ValueError:
        return None


def to_v2(v1: Obj) -> Obj:
    meta = copy.deepcopy(v1.get("metadata") or {})
    spec, status = v1.get("spec") or {}, v1.get("status") or {}
    annotations = dict(meta.get("annotations") or {})
    metrics: list[Obj] = []
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.append(
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {
                        "type": "Utilization",
                        "averageUtilization": spec["targetCPUUtilizationPercentage"],
                    },
                },
            }
        )
    metrics += [m for m in _load(annotations, METRICS_ANNOTATION) or [] if isinstance(m, dict)]
    out_spec: Obj = {
        "scaleTargetRef": copy.deepcopy(spec.get("scaleTargetRef") or {}),
        "maxReplicas": spec.get("maxReplicas", 0),
    }
    if spec.get("minReplicas") is not None:
        out_spec["minReplicas"] = spec["minReplicas"]
    if metrics:
        out_spec["metrics"] = metrics
    behavior = _load(annotations, BEHAVIOR_ANNOTATION)
    if isinstance(behavior, dict):
        out_spec["behavior"] = behavior
    out_status: Obj = {
        k: status[k]
        for k in ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas")
        if status.get(k) is not None
    }
    current: list[Obj] = []
    if status.get("currentCPUUtilizationPercentage") is not None:
        current.append(
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": {"averageUtilization": status["currentCPUUtilizationPercentage"]},
                },
            }
        )
    current += [
        m for m in _load(annotations, CURRENT_METRICS_ANNOTATION) or [] if isinstance(m, dict)
    ]
    if current:
        out_status["currentMetrics"] = current
    conditions = _load(annotations, CONDITIONS_ANNOTATION)
    if isinstance(conditions, list):
        out_status["conditions"] = conditions
    for key in _ANNOTATIONS:
        annotations.pop(key, None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out: Obj = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": out_spec,
    }
    if out_status:
        out["status"] = out_status
    return out
