"""Finding the pods behind an object, and the one kubectl would pick to look at: the
selector of a controller or service (kubectl's SelectorsForObject), and its "best pod
for logging" order (podutils.ByLogging) — shared by logs and port-forward."""

from __future__ import annotations

from typing import Any

from api.labels import selector_string
from api.timefmt import parse_time
from minikctl.context import CLIError
from minikctl.target import Ref

Obj = dict[str, Any]


def pod_selector(ref: Ref, obj: Obj) -> str:
    """The label selector of a pod controller or service (kubectl's SelectorsForObject)."""
    spec = obj.get("spec") or {}
    if ref.res.kind == "Service":
        selector = spec.get("selector") or {}
        text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    elif "selector" in spec and ref.res.kind in ("Deployment", "ReplicaSet", "StatefulSet", "Job"):
        text = selector_string(spec.get("selector"))
    else:
        raise CLIError(f"selector for {go_type(ref)} not implemented")
    if not text:
        raise CLIError(f"{ref.display} has an empty selector")
    return text


def go_type(ref: Ref) -> str:
    """`*v1.Node`: the Go type kubectl names in these messages."""
    return f"*{ref.res.version}.{ref.res.kind}"


def _ready_since(pod: Obj) -> float | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            return parse_time(c.get("lastTransitionTime")) or 0.0
    return None


def by_logging_key(pod: Obj) -> tuple[Any, ...]:
    """kubectl's podutils.ByLogging as a sort key: best pod first."""
    spec, status, meta = pod.get("spec") or {}, pod.get("status") or {}, pod.get("metadata") or {}
    phase_rank = {"Running": 0, "Unknown": 1, "Pending": 2}.get(status.get("phase", ""), 3)
    ready = _ready_since(pod)
    restarts = max(
        (int(s.get("restartCount") or 0) for s in status.get("containerStatuses") or []),
        default=0,
    )
    created = parse_time(meta.get("creationTimestamp"))
    return (
        0 if spec.get("nodeName") else 1,
        phase_rank,
        0 if ready is not None else 1,
        ready if ready is not None else float("inf"),  # ready longer first
        -restarts,
        created if created is not None else float("inf"),  # older first
    )
