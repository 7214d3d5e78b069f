"""Why is this pod Pending? The scheduler's answer, in plain words.

kube-scheduler (and minik's, scheduler/messages.py) sums up a failed attempt as
`0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable:
}, 2 Insufficient cpu. preemption: ...`, in the pod's PodScheduled condition and its
FailedScheduling event. Here each part of that histogram becomes a sentence a student can
act on; a pod already on a node that is still Pending is explained by its containers'
waiting reasons instead. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

Obj = dict[str, Any]

_FIT_ERROR = re.compile(r"^0/(\d+) nodes are available: (.*?)\.?(?: preemption: (.*))?$", re.S)
_HISTOGRAM_ITEM = re.compile(r"(\d+) (.+?)(?=, \d+ |$)", re.S)
_TAINT = re.compile(r"untolerated taint \{([^:}]*): ?([^}]*)\}")

# What a well-known taint means for the node that carries it.
_TAINT_MEANING = {
    "node.kubernetes.io/unreachable": "unreachable (its kubelet stopped reporting)",
    "node.kubernetes.io/not-ready": "not ready",
    "node.kubernetes.io/unschedulable": "cordoned (kubectl cordon)",
    "node.kubernetes.io/memory-pressure": "short of memory",
    "node.kubernetes.io/disk-pressure": "short of disk space",
    "node.kubernetes.io/pid-pressure": "short of process ids",
    "node.kubernetes.io/network-unavailable": "without a working network",
    "node-role.kubernetes.io/control-plane": "reserved for the control plane",
}

_PLAIN = {
    "Too many pods": "already run as many pods as allowed (the node's `pods` capacity)",
    "node(s) were unschedulable": "are cordoned (kubectl cordon): no new pods go there",
    "node(s) didn't match Pod's node affinity/selector": (
        "don't carry the labels the pod's nodeSelector / node affinity asks for"
    ),
    "node(s) didn't have free ports for the requested pod ports": (
        "already have a pod using the same hostPort"
    ),
    "node(s) didn't find available persistent volumes to bind": (
        "have no PersistentVolume that fits the pod's claim"
    ),
    "node(s) had volume node affinity conflict": (
        "cannot reach the PersistentVolume the pod's claim is bound to"
    ),
}


@dataclass
class Reason:
    nodes: int  # how many nodes gave it
    text: str  # the plain sentence
    raw: str  # the scheduler's own words


# The first words of a plural predicate and their singular ("2 nodes are", "1 node is").
_SINGULAR = {
    "don't": "doesn't",
    "are": "is",
    "carry": "carries",
    "already run": "already runs",
    "already have": "already has",
    "have": "has",
    "cannot": "cannot",
}


def sentence(nodes: int, predicate: str) -> str:
    """ "N node(s) <predicate>", the verb agreeing with N."""
    for plural, singular in _SINGULAR.items():
        if predicate.startswith(plural + " "):
            if nodes != 1:
                return f"{nodes} nodes {predicate}"
            return f"1 node {singular}{predicate[len(plural) :]}"
    return f"{nodes} node{'' if nodes == 1 else 's'}: {predicate}"  # words we do not know


@dataclass
class Explanation:
    """A headline, the per-node reasons, a hint on what would help, the scheduler's text."""

    headline: str
    reasons: list[Reason] = field(default_factory=list)
    hint: str = ""
    raw: str = ""

    def as_json(self) -> Obj:
        return asdict(self)


def _nodes(n: int) -> str:
    return "1 node" if n == 1 else f"{n} nodes"


def _requests_text(requests: dict[str, str], resource: str) -> str:
    value = requests.get(resource)
    return f" (the pod requests {value} {resource})" if value else ""


def plain_reason(raw: str, requests: dict[str, str] | None = None) -> str:
    """One histogram entry ("Insufficient cpu", "node(s) had untolerated taint {k: v}")
    as the plural predicate of a sentence whose subject is the node count."""
    requests = requests or {}
    if raw.startswith("Insufficient "):
        resource = raw[len("Insufficient ") :]
        return (
            f"don't have enough unreserved {resource}{_requests_text(requests, resource)}: "
            "the pods already there have requested the rest"
        )
    taint = _TAINT.search(raw)
    if taint:
        key, value = taint.group(1), taint.group(2).strip()
        shown = f"{key}={value}" if value else key
        meaning = _TAINT_MEANING.get(key)
        if meaning:
            return f"are {meaning}: taint {shown}, which the pod does not tolerate"
        return f"carry the taint {shown}, which the pod does not tolerate"
    return _PLAIN.get(raw, raw)


def explain_fit_error(message: str, requests: dict[str, str] | None = None) -> Explanation:
    """The scheduler's FailedScheduling message, explained."""
    message = message.strip()
    if message == "no nodes available to schedule pods":
        return Explanation(
            "There are no nodes in the cluster yet, so the scheduler has nowhere to put it.",
            hint="Start a node (a kubelet); the pod is scheduled as soon as one is Ready.",
            raw=message,
        )
    found = _FIT_ERROR.match(message)
    if not found:
        return Explanation("The scheduler could not place it: " + message, raw=message)
    total = int(found.group(1))
    reasons = [
        Reason(int(n), sentence(int(n), plain_reason(text.strip(), requests)), text.strip())
        for n, text in _HISTOGRAM_ITEM.findall(found.group(2))
    ]
    reasons.sort(key=lambda r: -r.nodes)
    headline = f"None of the {_nodes(total)} can run it right now:"
    if total == 1:
        headline = "The only node cannot run it right now:"
    return Explanation(headline, reasons, _hint(reasons, found.group(3) or ""), message)


def _hint(reasons: list[Reason], preemption: str) -> str:
    raws = " ".join(r.raw for r in reasons)
    hints = []
    if "Insufficient" in raws:
        hints.append("lower its requests, scale something else down, or add a node")
    if "unreachable" in raws or "not-ready" in raws:
        hints.append("bring the node back (its kubelet), or wait for another node")
    if "unschedulable" in raws:
        hints.append("kubectl uncordon the node")
    if "affinity/selector" in raws:
        hints.append("label a node to match, or relax the pod's nodeSelector")
    text = "It stays Pending and is retried whenever the cluster changes"
    if hints:
        text += ". To help: " + "; ".join(hints)
    if preemption and "not helpful" not in preemption and "No preemption victims" not in preemption:
        text += ". Preemption: " + preemption
    return text + "."


def _scheduled_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "PodScheduled":
            return cond
    return None


def _waiting_containers(pod: Obj) -> list[tuple[str, str, str]]:
    status = pod.get("status") or {}
    out = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            waiting = (cs.get("state") or {}).get("waiting")
            if waiting:
                out.append(
                    (cs.get("name", ""), waiting.get("reason", ""), waiting.get("message", ""))
                )
    return out


def why_pending(
    pod: Obj, failed_scheduling: str | None = None, requests: dict[str, str] | None = None
) -> Explanation | None:
    """Why `pod` is Pending, or None when it is not. `failed_scheduling` is the latest
    FailedScheduling event's message, used when the condition carries none."""
    status = pod.get("status") or {}
    if status.get("phase", "Pending") != "Pending" or (pod.get("metadata") or {}).get(
        "deletionTimestamp"
    ):
        return None
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        waiting = _waiting_containers(pod)
        if not waiting:
            return Explanation(
                f"Placed on {node}; its kubelet is starting the containers.",
                hint="Nothing is wrong yet: the sandbox and containers are being created.",
            )
        reasons = [
            Reason(1, f"container {name}: {reason}" + (f" ({msg})" if msg else ""), reason)
            for name, reason, msg in waiting
        ]
        return Explanation(f"Placed on {node}, but a container is waiting:", reasons)
    cond = _scheduled_condition(pod) or {}
    if cond.get("reason") == "SchedulingGated":
        gates = ", ".join(
            g.get("name", "") for g in (pod.get("spec") or {}).get("schedulingGates") or []
        )
        return Explanation(
            f"Held back by scheduling gates ({gates}): "
            "the scheduler ignores it until they are removed."
        )
    message = cond.get("message") if cond.get("status") == "False" else None
    message = message or failed_scheduling
    if not message:
        scheduler = (pod.get("spec") or {}).get("schedulerName") or "default-scheduler"
        return Explanation(
            f"Waiting for the scheduler ({scheduler}) to pick a node.",
            hint="If this lasts, is the scheduler running? (minik status)",
        )
    explanation = explain_fit_error(message, requests)
    nominated = status.get("nominatedNodeName")
    if nominated:
        explanation.hint = (
            f"Lower-priority pods on {nominated} are being evicted to make room; "
            "it goes there once they are gone. " + explanation.hint
        )
    return explanation
