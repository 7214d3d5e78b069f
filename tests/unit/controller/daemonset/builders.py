"""Nodes, DaemonSets and daemon pods for the DaemonSet controller's unit tests."""

from __future__ import annotations

from typing import Any

from api.defaults import apply_defaults
from api.timefmt import rfc3339
from controller.daemonset.placement import REVISION_HASH, TEMPLATE_GENERATION_LABEL, pin_to_node

Obj = dict[str, Any]
NOW = 1_700_000_000.0


def node(name: str, labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def daemonset(strategy: Obj | None = None, **template_spec: Any) -> Obj:
    ds: Obj = {
        "metadata": {
            "name": "agent",
            "namespace": "default",
            "uid": "ds-uid",
            "generation": 1,
            "annotations": {"deprecated.daemonset.template.generation": "1"},
        },
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1"}], **template_spec},
            },
        },
    }
    if strategy is not None:
        ds["spec"]["updateStrategy"] = strategy
    apply_defaults("DaemonSet", ds)
    return ds


def pod(
    name: str,
    node_name: str,
    revision: str = "new",
    ready: bool = True,
    bound: bool = True,
    age: float = 100.0,
    phase: str = "Running",
) -> Obj:
    spec: Obj = {"containers": [{"name": "c", "image": "busybox:1"}]}
    pin_to_node(spec, node_name)
    if bound:
        spec["nodeName"] = node_name
    conditions = [{"type": "Ready", "status": "True" if ready else "False",
                   "lastTransitionTime": rfc3339(NOW - age)}]  # fmt: skip
    return {
        "metadata": {
            "name": name,
            "namespace": "default",
            "creationTimestamp": rfc3339(NOW - age),
            "labels": {"app": "agent", REVISION_HASH: revision, TEMPLATE_GENERATION_LABEL: "x"},
        },
        "spec": spec,
        "status": {"phase": phase, "conditions": conditions},
    }
