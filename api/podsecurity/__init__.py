"""Pod Security Standards (k8s.io/pod-security-admission), as pure logic: `levels` (the
namespace labels and the policy they make), `checks` (one function per check, with
Kubernetes' ids, versions and words), `evaluator` (which checks a level and version
run), `configuration` (the PodSecurityConfiguration of --admission-control-config-file).
The admission plugin that applies them is apiserver/admission/podsecurity/."""

from __future__ import annotations

from typing import Any

# kind -> where its pod template is; Pods are checked themselves
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "PodTemplate": ("template",),
    "ReplicationController": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Deployment": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def pod_template(kind: str, obj: dict) -> tuple[dict, dict] | None:
    """(metadata, spec) of the pod a workload would make; None when it has no template
    (as Kubernetes' DefaultPodSpecExtractor: such objects are not evaluated)."""
    node: Any = obj
    for key in TEMPLATE_PATHS[kind]:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return None
    meta, spec = node.get("metadata"), node.get("spec")
    return (meta if isinstance(meta, dict) else {}), (spec if isinstance(spec, dict) else {})
