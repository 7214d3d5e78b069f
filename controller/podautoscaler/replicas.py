"""How many replicas one resource metric asks for (pkg/controller/podautoscaler/
replica_calculator.go), pure.

Pods are grouped as Kubernetes groups them: deleted and failed pods are ignored;
pending pods, and for CPU pods not yet (or recently) Ready, are "unready"; pods
without a sample are "missing". The usage ratio of the ready pods with samples
decides; within the tolerance nothing changes. Missing pods count as using 100% of
their request when scaling down and 0% when scaling up, unready pods as 0% when
scaling up, and a proposal the conservative assumptions reverse is dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from api.quantity import parse_quantity
from api.timefmt import parse_time

Obj = dict[str, Any]
CPU_INITIALIZATION_PERIOD = 300.0  # --horizontal-pod-autoscaler-cpu-initialization-period
INITIAL_READINESS_DELAY = 30.0  # --horizontal-pod-autoscaler-initial-readiness-delay


class MetricsError(Exception):
    """No replica count can be computed from this metric (the reason is the message)."""


@dataclass(frozen=True)
class PodSample:
    """One pod's usage of a resource (milli-units: millicores, milli-bytes), when
    sampled and over what window."""

    value: int
    timestamp: float
    window: float


@dataclass(frozen=True)
class Proposal:
    replicas: int
    utilization: int | None  # percent of request (Utilization targets)
    average_milli: int  # raw average per pod, milli-units
    timestamp: float


def milli(quantity: Any) -> int:
    return int(parse_quantity(quantity) * 1000)


def _ready_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond
    return None


def group_pods(
    pods: list[Obj], samples: dict[str, PodSample], resource: str, now: float
) -> tuple[int, set[str], set[str], set[str]]:
    """(ready pods with samples, unready, missing, ignored), by pod name."""
    ready = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        if pod["metadata"].get("deletionTimestamp") or status.get("phase") == "Failed":
            ignored.add(name)
            continue
        if status.get("phase") == "Pending":
            unready.add(name)
            continue
        sample = samples.get(name)
        if sample is None:
            missing.add(name)
            continue
        if resource == "cpu":
            cond = _ready_condition(pod)
            started = parse_time(status.get("startTime"))
            if cond is None or started is None:
                unready.add(name)
                continue
            changed = parse_time(cond.get("lastTransitionTime")) or 0.0
            if started + CPU_INITIALIZATION_PERIOD > now:
                # still starting: trust only samples taken wholly after it became ready
                if cond.get("status") == "False" or sample.timestamp < changed + sample.window:
                    unready.add(name)
                    continue
            elif cond.get("status") == "False" and started + INITIAL_READINESS_DELAY > changed:
                unready.add(name)
                continue
        ready += 1
    return ready, unready, missing, ignored


def pod_requests(pods: list[Obj], resource: str, container: str | None = None) -> dict[str, int]:
    """Each pod's request (milli-units); MetricsError naming a container without one."""
    out: dict[str, int] = {}
    for pod in pods:
        total = 0
        for c in (pod.get("spec") or {}).get("containers") or []:
            if container and c.get("name") != container:
                continue
            request = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if request is None:
                raise MetricsError(
                    f"missing request for {resource} in container {c.get('name')} "
                    f"of Pod {pod['metadata']['name']}"
                )
            total += milli(request)
        out[pod["metadata"]["name"]] = total
    return out


def _utilization(values: dict[str, int], requests: dict[str, int]) -> tuple[int, int]:
    """(utilization %, raw average) of the pods in `values`, as GetResourceUtilizationRatio."""
    used = sum(values.values())
    requested = sum(requests.get(name, 0) for name in values)
    if requested == 0:
        raise MetricsError("no metrics returned matched known pods")
    return int(used * 100 / requested), used // max(1, len(values))


def resource_replicas(
    current: int,
    target: dict[str, int | None],
    samples: dict[str, PodSample],
    pods: list[Obj],
    resource: str,
    tolerance: float,
    now: float,
    container: str | None = None,
) -> Proposal:
    """The replicas a Resource metric proposes. `target` has `utilization` (percent)
    or `average` (milli-units per pod)."""
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    ready, unready, missing, ignored = group_pods(pods, samples, resource, now)
    known = {p["metadata"]["name"] for p in pods}
    values = {
        name: s.value
        for name, s in samples.items()
        if name in known and name not in unready and name not in ignored
    }
    if not values:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    timestamp = min(s.timestamp for name, s in samples.items() if name in values)
    utilization_target = target.get("utilization")
    if utilization_target is not None:
        requests = pod_requests(
            [p for p in pods if p["metadata"]["name"] in known], resource, container
        )

        def ratio_of(vals: dict[str, int]) -> tuple[float, int, int]:
            util, avg = _utilization(vals, requests)
            return util / utilization_target, util, avg

        fill_full = requests
    else:
        average_target = int(target.get("average") or 0)
        if average_target <= 0:
            raise MetricsError("invalid target value")

        def ratio_of(vals: dict[str, int]) -> tuple[float, int, int]:
            avg = sum(vals.values()) // max(1, len(vals))
            return sum(vals.values()) / len(vals) / average_target, 0, avg

        fill_full = {name: average_target for name in known}
    ratio, util, average = ratio_of(values)
    utilization = util if utilization_target is not None else None
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if abs(1.0 - ratio) <= tolerance:
            return Proposal(current, utilization, average, timestamp)
        return Proposal(math.ceil(ratio * ready), utilization, average, timestamp)
    if missing:
        for name in missing:
            values[name] = fill_full[name] if ratio < 1.0 else 0
    if scale_up_with_unready:
        for name in unready:
            values[name] = 0
    new_ratio, _, _ = ratio_of(values)
    if (
        abs(1.0 - new_ratio) <= tolerance
        or (ratio < 1.0 and new_ratio > 1.0)
        or (ratio > 1.0 and new_ratio < 1.0)
    ):
        return Proposal(current, utilization, average, timestamp)
    replicas = math.ceil(new_ratio * len(values))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return Proposal(current, utilization, average, timestamp)
    return Proposal(replicas, utilization, average, timestamp)
