"""Taints and tolerations, one home for every component: the well-known taint keys
and effects, and whether a toleration tolerates a taint (Kubernetes'
Toleration.ToleratesTaint). The scheduler keeps pods off tainted nodes with it, the
taint eviction controller evicts with it, the node controllers set the well-known
taints, and the apiserver's admission adds the default NoExecute tolerations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Taint = Mapping[str, Any]
Toleration = Mapping[str, Any]

# Taints the node controllers put on nodes (Kubernetes' well_known_taints.go).
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"
EFFECTS = (NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE)


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """An empty effect or key matches any; Exists ignores the value; Equal (the
    default) compares it."""
    effect = toleration.get("effect")
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key")
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerated(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    """Some toleration of the list tolerates the taint."""
    return any(tolerates(t, taint) for t in tolerations)


def first_untolerated(tolerations: Iterable[Toleration], taints: Iterable[Taint]) -> Taint | None:
    """The first taint no toleration tolerates; None when all are tolerated
    (Kubernetes' FindMatchingUntoleratedTaint)."""
    tolerations = list(tolerations)
    return next((taint for taint in taints if not tolerated(tolerations, taint)), None)


def covers_key(toleration: Toleration, key: str, effect: str) -> bool:
    """The toleration speaks for every `effect` taint with this key, whatever its
    value (an Exists without a key speaks for all keys): how the DefaultTolerationSeconds
    admission decides a pod already has its own toleration for not-ready/unreachable."""
    if toleration.get("effect") not in (None, "", effect):
        return False
    if toleration.get("operator") == "Exists" and not toleration.get("key"):
        return True
    return toleration.get("key") == key
