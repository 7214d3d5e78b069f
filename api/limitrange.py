"""LimitRange enforcement, as Kubernetes' LimitRanger admission plugin
(plugin/pkg/admission/limitranger): Container defaults merged into a pod's containers
with the `kubernetes.io/limit-ranger` annotation, then the min/max/ratio constraints of
Container, Pod and PersistentVolumeClaim items, worded as Kubernetes words them. Pure
logic: the apiserver's plugin reads the namespace's LimitRanges and calls these."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from api import quota
from api.quantity import Quantity

Obj = dict[str, Any]
ANNOTATION = "kubernetes.io/limit-ranger"


def _items(limit_range: Obj, kind: str) -> Iterable[Obj]:
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        if isinstance(item, dict) and item.get("type") == kind:
            yield item


def container_defaults(limit_range: Obj) -> tuple[dict[str, Any], dict[str, Any]]:
    """(default requests, default limits) of the Container items, later items winning."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    for item in _items(limit_range, "Container"):
        requests.update(item.get("defaultRequest") or {})
        limits.update(item.get("default") or {})
    return requests, limits


def _merge(
    container: Obj, requests: Mapping[str, Any], limits: Mapping[str, Any], what: str
) -> list[str]:
    resources = container.setdefault("resources", {})
    set_requests = [k for k in requests if k not in (resources.get("requests") or {})]
    set_limits = [k for k in limits if k not in (resources.get("limits") or {})]
    notes: list[str] = []
    if set_requests:
        own = resources.setdefault("requests", {})
        for k in set_requests:
            own[k] = requests[k]
        notes.append(
            f"{', '.join(sorted(set_requests))} request for {what} {container.get('name', '')}"
        )
    if set_limits:
        own = resources.setdefault("limits", {})
        for k in set_limits:
            own[k] = limits[k]
        notes.append(
            f"{', '.join(sorted(set_limits))} limit for {what} {container.get('name', '')}"
        )
    return notes


def apply_defaults(pod: Obj, limit_range: Obj) -> None:
    """mergePodResourceRequirements: every container missing a defaulted resource gets
    it, and the pod says so in the `kubernetes.io/limit-ranger` annotation."""
    requests, limits = container_defaults(limit_range)
    if not requests and not limits:
        return
    spec = pod.get("spec") or {}
    notes: list[str] = []
    for c in spec.get("containers") or []:
        notes += _merge(c, requests, limits, "container")
    for c in spec.get("initContainers") or []:
        notes += _merge(c, requests, limits, "init container")
    if notes:
        annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


# --- constraints ---------------------------------------------------------------------------


def _min(
    kind: str,
    name: str,
    enforced: Quantity,
    requests: Mapping[str, Quantity],
    limits: Mapping[str, Quantity],
) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    if req is None:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if req.value < enforced.value:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {req}"
    if lim is not None and lim.value < enforced.value:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {lim}"
    return None


def _max(
    kind: str,
    name: str,
    enforced: Quantity,
    requests: Mapping[str, Quantity],
    limits: Mapping[str, Quantity],
) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    if lim is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if lim.value > enforced.value:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {lim}"
    if req is not None and req.value > enforced.value:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return None


def _max_request(
    kind: str, name: str, enforced: Quantity, requests: Mapping[str, Quantity]
) -> str | None:
    req = requests.get(name)
    if req is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No request is specified"
    if req.value > enforced.value:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return None


def _ratio(
    kind: str,
    name: str,
    enforced: Quantity,
    requests: Mapping[str, Quantity],
    limits: Mapping[str, Quantity],
) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    if req is None or req.value == 0:
        return (
            f"{name} max limit to request ratio per {kind} is {enforced}, "
            "but no request is specified or request is 0"
        )
    if lim is None or lim.value == 0:
        return (
            f"{name} max limit to request ratio per {kind} is {enforced}, "
            "but no limit is specified or limit is 0"
        )
    observed = lim.value / req.value
    if observed > enforced.value:
        return (
            f"{name} max limit to request ratio per {kind} is {enforced}, "
            f"but provided ratio is {float(observed):f}"
        )
    return None


def _check(
    kind: str, item: Obj, requests: Mapping[str, Quantity], limits: Mapping[str, Quantity]
) -> list[str]:
    out: list[str] = []
    for name, q in sorted(quota.parse_list(item.get("min")).items()):
        out.append(_min(kind, name, q, requests, limits) or "")
    for name, q in sorted(quota.parse_list(item.get("max")).items()):
        out.append(_max(kind, name, q, requests, limits) or "")
    for name, q in sorted(quota.parse_list(item.get("maxLimitRequestRatio")).items()):
        out.append(_ratio(kind, name, q, requests, limits) or "")
    return [m for m in out if m]


def pod_violations(pod: Obj, limit_range: Obj) -> list[str]:
    """PodValidateLimitFunc: each container against the Container items, the whole pod
    (sums, at least the largest init container) against the Pod items."""
    spec = pod.get("spec") or {}
    out: list[str] = []
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "Container":
            for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
                res = c.get("resources") or {}
                requests = quota.parse_list(res.get("requests"))
                out += _check(kind, item, requests, quota.parse_list(res.get("limits")))
        elif kind == "Pod":
            out += _check(kind, item, quota.pod_requests(pod), quota.pod_limits(pod))
    return out


def claim_violations(pvc: Obj, limit_range: Obj) -> list[str]:
    """PersistentVolumeClaimValidateLimitFunc: min and max against the claim's requests."""
    requests = quota.parse_list(((pvc.get("spec") or {}).get("resources") or {}).get("requests"))
    out: list[str] = []
    for item in _items(limit_range, "PersistentVolumeClaim"):
        kind = "PersistentVolumeClaim"
        for name, q in sorted(quota.parse_list(item.get("min")).items()):
            out.append(_min(kind, name, q, requests, {}) or "")
        for name, q in sorted(quota.parse_list(item.get("max")).items()):
            out.append(_max_request(kind, name, q, requests) or "")
    return [m for m in out if m]


def aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate's text: one message bare, several (deduplicated) in []."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
