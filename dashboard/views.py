"""What the page shows of each object: small JSON views computed from the API's objects.

The browser only draws; every judgement (a pod's STATUS word, a rollout's progress, why
a pod is Pending, which endpoints are ready) is made here, in pure functions, so it is
tested without a browser and worded once. Times stay RFC 3339: the page counts ages.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from api.podstatus import job_status, node_status, pod_status_reason
from api.quantity import Quantity, QuantityError, parse_quantity
from api.quota import pod_requests
from dashboard.pending import why_pending

Obj = dict[str, Any]

# The label that tells a workload's pod versions apart (a Deployment's ReplicaSet hash,
# a StatefulSet's or DaemonSet's revision): the page colours pods by it.
VERSION_LABELS = ("pod-template-hash", "controller-revision-hash")


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _cond(obj: Obj, type_: str) -> Obj:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return {}


def millicores(value: Any) -> int:
    """A CPU quantity in millicores (0 for what is not one)."""
    try:
        return int(parse_quantity(value) * 1000)
    except (QuantityError, TypeError):
        return 0


def byte_count(value: Any) -> int:
    try:
        return int(parse_quantity(value))
    except (QuantityError, TypeError):
        return 0


def _owner(obj: Obj) -> Obj | None:
    for ref in _meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return {"kind": ref.get("kind", ""), "name": ref.get("name", "")}
    return None


def pod_view(pod: Obj, failed_scheduling: str | None = None) -> Obj:
    md, spec, status = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
    reason, ready, total, restarts, _ = pod_status_reason(pod)
    requests = pod_requests(pod)
    shown = {name: str(q) for name, q in requests.items()}
    labels = md.get("labels") or {}
    version = next((labels[k] for k in VERSION_LABELS if k in labels), "")
    pending = why_pending(pod, failed_scheduling, shown)
    ready_cond = _cond(pod, "Ready")
    # the node lifecycle controller marks a silent node's pods not ready without touching
    # their containers' statuses: kubectl still says 1/1 Running, the page should not
    not_ready = (
        status.get("phase") == "Running" and ready == total and ready_cond.get("status") == "False"
    )
    containers = [c.get("name", "") for c in spec.get("containers") or []]
    return {
        "namespace": md.get("namespace", ""),
        "name": md.get("name", ""),
        "uid": md.get("uid", ""),
        "created": md.get("creationTimestamp"),
        "node": spec.get("nodeName") or "",
        "phase": status.get("phase") or "Pending",
        "status": reason,
        "health": "progress"
        if not_ready and reason == "Running"
        else pod_health(reason, ready, total, status.get("phase") or ""),
        "notReady": (
            ready_cond.get("message") or ready_cond.get("reason") or "its Ready condition is False"
        )
        if not_ready
        else "",
        "ready": f"{ready}/{total}",
        "restarts": restarts,
        "ip": status.get("podIP") or "",
        "owner": _owner(pod),
        "version": version,
        "containers": containers,
        "cpuRequest": int(requests["cpu"].value * 1000) if "cpu" in requests else 0,
        "memoryRequest": int(requests["memory"].value) if "memory" in requests else 0,
        "pending": pending.as_json() if pending else None,
        "message": status.get("message") or "",
    }


def pod_health(reason: str, ready: int, total: int, phase: str) -> str:
    """One of ok, progress, done, bad, gone: the colour of the pod's chip."""
    if reason == "Terminating":
        return "gone"
    if phase == "Succeeded" or reason == "Completed":
        return "done"
    bad = ("Err", "BackOff", "Failed", "Error", "OOMKilled", "Unknown", "Evicted", "ExitCode")
    if phase == "Failed" or any(word in reason for word in bad):
        return "bad"
    if phase == "Running" and ready == total:
        return "ok"
    return "progress"


def node_view(node: Obj) -> Obj:
    md, spec, status = _meta(node), node.get("spec") or {}, node.get("status") or {}
    ready = _cond(node, "Ready")
    alloc = status.get("allocatable") or status.get("capacity") or {}
    return {
        "name": md.get("name", ""),
        "created": md.get("creationTimestamp"),
        "status": node_status(node),
        "ready": ready.get("status") == "True",
        "readyMessage": ready.get("message") or "",
        "readySince": ready.get("lastTransitionTime"),
        "taints": [
            f"{t.get('key', '')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect', '')}"
            for t in spec.get("taints") or []
        ],
        "cpu": millicores(alloc.get("cpu")),
        "memory": byte_count(alloc.get("memory")),
        "pods": int(byte_count(alloc.get("pods"))),
    }


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def rollout_view(kind: str, obj: Obj) -> Obj:
    """A workload's rollout as counts the page draws as one bar (new-ready, new-not-ready,
    old) and a sentence, in the spirit of `kubectl rollout status`."""
    md, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    view: Obj = {
        "kind": kind,
        "namespace": md.get("namespace", ""),
        "name": md.get("name", ""),
        "created": md.get("creationTimestamp"),
    }
    stale = _int(status.get("observedGeneration")) < _int(md.get("generation"))
    if kind == "Job":
        view.update(_job_progress(obj))
    else:
        if kind == "DaemonSet":
            desired = _int(status.get("desiredNumberScheduled"))
            current = _int(status.get("currentNumberScheduled"))
            updated = _int(status.get("updatedNumberScheduled"))
            ready = _int(status.get("numberReady"))
            available = _int(status.get("numberAvailable"))
        else:
            desired = _int(spec.get("replicas", 1))
            current = _int(status.get("replicas"))
            updated = _int(status.get("updatedReplicas"))
            ready = _int(status.get("readyReplicas"))
            available = _int(status.get("availableReplicas", ready))
        if kind == "StatefulSet" and status.get("currentRevision") == status.get("updateRevision"):
            updated = max(updated, current)
        view.update(
            desired=desired,
            updated=updated,
            ready=ready,
            available=available,
            old=max(current - updated, 0),
        )
        view.update(_rollout_state(kind, obj, view, stale))
    return view


def _rollout_state(kind: str, obj: Obj, v: Obj, stale: bool) -> Obj:
    name = f"{kind} {v['name']}"
    progressing = _cond(obj, "Progressing")
    if stale:
        return {"state": "progressing", "text": f"{name}: waiting for its controller to act"}
    if (obj.get("spec") or {}).get("paused"):
        return {"state": "paused", "text": f"{name} is paused (kubectl rollout resume)"}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return {"state": "failed", "text": f"{name} is stuck: {progressing.get('message', '')}"}
    desired, updated, available, old = v["desired"], v["updated"], v["available"], v["old"]
    if updated < desired:
        return {
            "state": "progressing",
            "text": f"Rolling out: {updated} of {desired} pods run the new version"
            + (f", {old} old still running" if old else ""),
        }
    if old:
        return {
            "state": "progressing",
            "text": f"Rolling out: all {desired} new pods created; {old} old "
            f"{'pod is' if old == 1 else 'pods are'} being removed",
        }
    if available < desired:
        return {
            "state": "progressing",
            "text": f"Waiting for pods to become ready: {available} of {desired} available",
        }
    return {"state": "complete", "text": f"Up to date: {desired} of {desired} available"}


def _job_progress(job: Obj) -> Obj:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    completions = spec.get("completions")
    desired = _int(completions) if completions is not None else 1
    succeeded, failed, active = (
        _int(status.get("succeeded")),
        _int(status.get("failed")),
        _int(status.get("active")),
    )
    word = job_status(job)
    state = {"Complete": "complete", "Failed": "failed", "Suspended": "paused"}.get(
        word, "progressing"
    )
    text = f"{succeeded} of {desired} completed, {active} running"
    if failed:
        text += f", {failed} failed"
    if word == "Failed":
        failed_cond = _cond(job, "Failed")
        text = f"Failed: {failed_cond.get('message') or failed_cond.get('reason', '')}"
    return {
        "desired": desired,
        "updated": succeeded,
        "ready": succeeded,
        "available": succeeded,
        "old": 0,
        "active": active,
        "failed": failed,
        "state": state,
        "text": text,
    }


def service_view(svc: Obj, endpoints: Obj | None) -> Obj:
    md, spec = _meta(svc), svc.get("spec") or {}
    ports = []
    for p in spec.get("ports") or []:
        text = f"{p.get('port')}"
        if p.get("targetPort") not in (None, p.get("port")):
            text += f"→{p.get('targetPort')}"
        if p.get("nodePort"):
            text += f" (node {p['nodePort']})"
        ports.append(f"{text}/{p.get('protocol', 'TCP')}")
    ready: list[Obj] = []
    not_ready: list[Obj] = []
    for subset in (endpoints or {}).get("subsets") or []:
        for key, into in (("addresses", ready), ("notReadyAddresses", not_ready)):
            for addr in subset.get(key) or []:
                ref = addr.get("targetRef") or {}
                into.append(
                    {
                        "ip": addr.get("ip", ""),
                        "pod": ref.get("name", ""),
                        "node": addr.get("nodeName", ""),
                    }
                )
    selector = spec.get("selector") or {}
    return {
        "namespace": md.get("namespace", ""),
        "name": md.get("name", ""),
        "type": spec.get("type", "ClusterIP"),
        "clusterIP": spec.get("clusterIP") or "",
        "ports": ports,
        "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        "ready": _dedupe(ready),
        "notReady": _dedupe(not_ready),
    }


def _dedupe(addresses: list[Obj]) -> list[Obj]:
    seen: dict[str, Obj] = {}
    for a in addresses:
        seen.setdefault(a["ip"], a)
    return sorted(seen.values(), key=lambda a: (a["pod"], a["ip"]))


def event_view(event: Obj) -> Obj:
    md, involved = _meta(event), event.get("involvedObject") or {}
    series = event.get("series") or {}
    return {
        "namespace": md.get("namespace", ""),
        "name": md.get("name", ""),
        "type": event.get("type") or "Normal",
        "reason": event.get("reason") or "",
        "message": event.get("message") or event.get("note") or "",
        "object": f"{involved.get('kind', '')}/{involved.get('name', '')}",
        "objectNamespace": involved.get("namespace") or "",
        "count": _int(event.get("count") or series.get("count") or 1),
        "time": event.get("lastTimestamp")
        or series.get("lastObservedTime")
        or event.get("eventTime")
        or md.get("creationTimestamp"),
        "source": (event.get("source") or {}).get("component")
        or event.get("reportingComponent")
        or "",
    }


def usage_view(metrics: Obj) -> Obj:
    """A NodeMetrics or PodMetrics item's usage: {cpu: millicores, memory: bytes}."""
    usage: dict[str, Decimal] = {"cpu": Decimal(0), "memory": Decimal(0)}
    parts = [metrics.get("usage") or {}] + [
        c.get("usage") or {} for c in metrics.get("containers") or []
    ]
    for part in parts:
        for name in usage:
            if name in part:
                try:
                    usage[name] += Quantity.parse(part[name]).value
                except QuantityError:
                    pass
    return {"cpu": int(usage["cpu"] * 1000), "memory": int(usage["memory"])}
