"""Pod priority and preemption vocabulary (pkg/apis/scheduling and the scheduler's
preemption wording), shared by validation, the Priority admission plugin, the
apiserver's bootstrap, the scheduler and the CLI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# pkg/apis/scheduling/types.go
HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY
SYSTEM_PRIORITY_CLASS_PREFIX = "system-"
SYSTEM_CLUSTER_CRITICAL = "system-cluster-critical"
SYSTEM_NODE_CRITICAL = "system-node-critical"
# A pod without a class when no class is the global default.
DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS = 0

PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
PREEMPT_NEVER = "Never"
PREEMPTION_POLICIES = (PREEMPT_LOWER_PRIORITY, PREEMPT_NEVER)

# The pod condition a preempted pod gets before it is deleted (v1.DisruptionTarget).
DISRUPTION_TARGET = "DisruptionTarget"
REASON_PREEMPTION_BY_SCHEDULER = "PreemptionByScheduler"


def system_priority_classes() -> list[dict[str, Any]]:
    """The classes the apiserver creates at start when missing, as Kubernetes'
    scheduling/bootstrap-system-priority-classes post-start hook does."""
    return [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": SYSTEM_NODE_CRITICAL},
            "value": SYSTEM_CRITICAL_PRIORITY + 1000,
            "description": "Used for system critical pods that must not be moved from their "
            "current node.",
        },
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": SYSTEM_CLUSTER_CRITICAL},
            "value": SYSTEM_CRITICAL_PRIORITY,
            "description": "Used for system critical pods that must run in the cluster, but "
            "can be moved to another node if necessary.",
        },
    ]


def known_system_class_error(name: str, value: Any, global_default: bool) -> str | None:
    """scheduling.IsKnownSystemPriorityClass: None when (name, value, globalDefault) is
    one of the system classes, else why not."""
    for spc in system_priority_classes():
        if spc["metadata"]["name"] == name:
            if spc["value"] != value:
                return f"value of {name} PriorityClass must be {spc['value']}"
            if global_default:
                return f"globalDefault of {name} PriorityClass must be false"
            return None
    return f"{name} is not a known system priority class"


def pod_priority(pod: Mapping[str, Any]) -> int:
    """corev1helpers.PodPriority: spec.priority, 0 when unset."""
    value = (pod.get("spec") or {}).get("priority")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def default_class(classes: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The global default class; when a race left several, the lowest value wins, as
    the Priority admission plugin picks."""
    defaults = [c for c in classes if c.get("globalDefault") is True]
    return min(defaults, key=lambda c: c.get("value") or 0, default=None)
