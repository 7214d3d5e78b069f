"""Which nodes a DaemonSet's pod belongs on, and the pod it creates there (Kubernetes'
daemon controller NodeShouldRunDaemonPod and pkg/controller/daemon/util).

A daemon pod carries the tolerations Kubernetes adds to every daemon pod, so a
not-ready, unreachable, cordoned or pressured node keeps it, and a required node
affinity `matchFields metadata.name In [node]` so that the default scheduler binds
it to that node and no other (Kubernetes >= 1.12)."""

from __future__ import annotations

import copy
from typing import Any

from api import taints
from api.nodeaffinity import NODE_NAME_FIELD, placement_of
from controller.util.history import REVISION_HASH

Obj = dict[str, Any]

TEMPLATE_GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"

DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
PID_PRESSURE = "node.kubernetes.io/pid-pressure"
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"

_NO_EXECUTE_KEYS = (taints.NOT_READY, taints.UNREACHABLE)
_NO_SCHEDULE_KEYS = (DISK_PRESSURE, MEMORY_PRESSURE, PID_PRESSURE, taints.UNSCHEDULABLE)


def daemon_tolerations(host_network: bool) -> list[Obj]:
    """AddOrUpdateDaemonPodTolerations: what every daemon pod tolerates."""
    out = [{"key": k, "operator": "Exists", "effect": taints.NO_EXECUTE} for k in _NO_EXECUTE_KEYS]
    keys = _NO_SCHEDULE_KEYS + ((NETWORK_UNAVAILABLE,) if host_network else ())
    out += [{"key": k, "operator": "Exists", "effect": taints.NO_SCHEDULE} for k in keys]
    return out


def _add_tolerations(spec: Obj) -> None:
    """AddOrUpdateTolerationInPodSpec for each daemon toleration: one the pod already
    has (same key, operator, value and effect) is replaced in place, else appended."""
    tolerations = [t for t in spec.get("tolerations") or [] if isinstance(t, dict)]
    for wanted in daemon_tolerations(bool(spec.get("hostNetwork"))):
        same = [i for i, t in enumerate(tolerations) if _same_toleration(t, wanted)]
        for i in same:
            tolerations[i] = dict(wanted)
        if not same:
            tolerations.append(dict(wanted))
    spec["tolerations"] = tolerations


def _same_toleration(a: Obj, b: Obj) -> bool:
    return all((a.get(k) or "") == (b.get(k) or "") for k in ("key", "operator", "value", "effect"))


def template_generation(ds: Obj) -> str | None:
    return ((ds.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_GENERATION)


def pod_template(ds: Obj, revision_hash: str) -> Obj:
    """CreatePodTemplate: the DaemonSet's template with the daemon tolerations, the
    template generation and the revision hash labels."""
    template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
    spec = template.setdefault("spec", {})
    _add_tolerations(spec)
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    generation = template_generation(ds)
    if generation is not None:
        labels[TEMPLATE_GENERATION_LABEL] = generation
    if revision_hash:
        labels[REVISION_HASH] = revision_hash
    return template


def pin_to_node(spec: Obj, node_name: str) -> None:
    """ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity becomes one
    term naming the node (preferred terms are kept)."""
    affinity = spec.get("affinity") if isinstance(spec.get("affinity"), dict) else None
    affinity = spec["affinity"] = affinity or {}
    node_affinity = affinity.get("nodeAffinity") or {}
    affinity["nodeAffinity"] = node_affinity
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": NODE_NAME_FIELD, "operator": "In", "values": [node_name]}]}
        ]
    }


def target_node(pod: Obj) -> str | None:
    """The node a daemon pod is for: its nodeName, or before binding the node its
    required affinity names (GetTargetNodeName)."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for field in term.get("matchFields") or []:
            values = field.get("values") or []
            if field.get("key") == NODE_NAME_FIELD and field.get("operator") == "In" and values:
                return str(values[0])
    return None


def should_run(ds: Obj, node: Obj) -> tuple[bool, bool]:
    """(should run a daemon pod here, should keep one already running here).

    The node must match the template's nodeName, nodeSelector and required node
    affinity; a NoSchedule/NoExecute taint the daemon pod does not tolerate keeps
    a new pod off, and only an untolerated NoExecute taint evicts a running one."""
    template_spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    md = node.get("metadata") or {}
    name, labels = str(md.get("name") or ""), md.get("labels") or {}
    wanted_node = template_spec.get("nodeName")
    if wanted_node and wanted_node != name:
        return False, False
    if not placement_of(template_spec).matches(labels, name):
        return False, False
    tolerations = list(template_spec.get("tolerations") or []) + daemon_tolerations(
        bool(template_spec.get("hostNetwork"))
    )
    node_taints = [t for t in (node.get("spec") or {}).get("taints") or [] if isinstance(t, dict)]
    blocking = [
        t for t in node_taints if t.get("effect") in (taints.NO_SCHEDULE, taints.NO_EXECUTE)
    ]
    if taints.first_untolerated(tolerations, blocking) is None:
        return True, True
    evicting = [t for t in node_taints if t.get("effect") == taints.NO_EXECUTE]
    return False, taints.first_untolerated(tolerations, evicting) is None
