"""A pod's status as Kubernetes computes it, from Docker's state — pure functions.

Container statuses (waiting / running / terminated, `lastState`, `ready`, `started`,
`restartCount`), the phase (`getPhase`: Pending, Running, Succeeded, Failed), the
conditions (PodReadyToStartContainers, Initialized, Ready, ContainersReady,
PodScheduled) and the pod's addresses. Times that did not change are carried over
from the previous status, so an unchanged pod computes an identical status and the
status manager writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api.timefmt import rfc3339
from kubelet.records import CREATED, ContainerRecord, PodRuntime

CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
DOCKER_PREFIX = "docker://"
TERMINAL_PHASES = ("Succeeded", "Failed")


@dataclass
class StatusInputs:
    """What besides Docker's state decides the status."""

    host_ip: str
    now: float
    reasons: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name → waiting
    ready: Mapping[str, bool] = field(default_factory=dict)  # container id → probe result
    started: Mapping[str, bool] = field(default_factory=dict)  # container id → startup done


def terminated_state(record: ContainerRecord) -> dict[str, Any]:
    code = record.exit_code if record.exit_code is not None else 0
    if record.oom_killed:
        reason = "OOMKilled"
    elif record.error:
        reason = "ContainerCannotRun"
    else:
        reason = "Completed" if code == 0 else "Error"
    state: dict[str, Any] = {"exitCode": code, "reason": reason}
    message = record.error or record.message
    if message:
        state["message"] = message
    started = record.started_at or record.created_at
    if started:
        state["startedAt"] = rfc3339(started)
    if record.finished_at:
        state["finishedAt"] = rfc3339(record.finished_at)
    state["containerID"] = DOCKER_PREFIX + record.id
    return state


def container_state(record: ContainerRecord) -> dict[str, Any]:
    if record.running:
        return {"running": {"startedAt": rfc3339(record.started_at or record.created_at)}}
    if record.exited:
        return {"terminated": terminated_state(record)}
    if record.state == CREATED:
        return {"waiting": {"reason": CONTAINER_CREATING}}
    return {"waiting": {"reason": "ContainerStatusUnknown"}}


def container_status(
    container: dict[str, Any],
    instances: list[ContainerRecord],
    inputs: StatusInputs,
    *,
    init: bool,
    default_reason: str,
) -> dict[str, Any]:
    """One entry of containerStatuses / initContainerStatuses."""
    name = container.get("name", "")
    status: dict[str, Any] = {
        "name": name,
        "image": container.get("image", ""),
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "started": False,
        "state": {"waiting": {"reason": default_reason}},
        "lastState": {},
    }
    latest = instances[0] if instances else None
    if latest is not None:
        status["restartCount"] = latest.attempt
        status["containerID"] = DOCKER_PREFIX + latest.id
        status["imageID"] = latest.image_id
        status["state"] = container_state(latest)
        if len(instances) > 1 and instances[1].exited:
            status["lastState"] = {"terminated": terminated_state(instances[1])}
        if latest.running:
            started = inputs.started.get(latest.id, True)
            status["started"] = started
            status["ready"] = False if init else started and inputs.ready.get(latest.id, True)
        elif init and latest.exited and latest.exit_code == 0:
            status["ready"] = True
    waiting = inputs.reasons.get(name)
    if waiting is not None and (latest is None or not latest.running):
        if latest is not None and latest.exited:
            status["lastState"] = {"terminated": terminated_state(latest)}
        reason, message = waiting
        state: dict[str, Any] = {"reason": reason}
        if message:
            state["message"] = message
        status["state"] = {"waiting": state}
    return status


def pod_phase(
    spec: dict[str, Any], init_statuses: list[dict[str, Any]], statuses: list[dict[str, Any]]
) -> str:
    """Kubernetes' getPhase."""
    policy = spec.get("restartPolicy") or "Always"
    pending_init = failed_init = 0
    for status in init_statuses:
        state, last = status.get("state") or {}, status.get("lastState") or {}
        if "terminated" in state:
            if state["terminated"].get("exitCode") != 0:
                failed_init += 1
        elif "waiting" in state:
            if "terminated" in last:
                if last["terminated"].get("exitCode") != 0:
                    failed_init += 1
            else:
                pending_init += 1
        else:
            pending_init += 1
    running = stopped = succeeded = waiting = unknown = 0
    for status in statuses:
        state, last = status.get("state") or {}, status.get("lastState") or {}
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif "waiting" in state:
            if "terminated" in last:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    if failed_init and policy == "Never":
        return "Failed"
    if pending_init or waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _condition(
    kind: str,
    ok: bool,
    previous: Mapping[str, dict[str, Any]],
    now: float,
    reason: str = "",
    message: str = "",
) -> dict[str, Any]:
    status = "True" if ok else "False"
    old = previous.get(kind) or {}
    condition: dict[str, Any] = {"type": kind, "status": status}
    if old.get("status") == status and old.get("lastTransitionTime"):
        condition["lastTransitionTime"] = old["lastTransitionTime"]
    else:
        condition["lastTransitionTime"] = rfc3339(now)
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def pod_conditions(
    phase: str,
    init_statuses: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
    sandbox_ready: bool,
    previous: list[dict[str, Any]],
    now: float,
) -> list[dict[str, Any]]:
    before = {c.get("type", ""): c for c in previous or []}
    incomplete = [
        s["name"]
        for s in init_statuses
        if (s["state"].get("terminated") or {}).get("exitCode", -1) != 0
    ]
    unready = [s["name"] for s in statuses if not s.get("ready")]
    conditions = [
        _condition("PodReadyToStartContainers", sandbox_ready, before, now),
    ]
    if incomplete and phase != "Succeeded":
        conditions.append(
            _condition(
                "Initialized",
                False,
                before,
                now,
                "ContainersNotInitialized",
                f"containers with incomplete status: [{' '.join(incomplete)}]",
            )
        )
    else:
        conditions.append(_condition("Initialized", True, before, now))
    for kind in ("Ready", "ContainersReady"):
        if phase == "Succeeded":
            conditions.append(_condition(kind, False, before, now, "PodCompleted"))
        elif unready:
            conditions.append(
                _condition(
                    kind,
                    False,
                    before,
                    now,
                    "ContainersNotReady",
                    f"containers with unready status: [{' '.join(unready)}]",
                )
            )
        else:
            conditions.append(_condition(kind, True, before, now))
    scheduled = before.get("PodScheduled")
    conditions.append(scheduled or _condition("PodScheduled", True, before, now))
    # Conditions others own (the scheduler's or the eviction's DisruptionTarget, a
    # readiness gate's) are kept, as Kubernetes' kubelet keeps them.
    conditions += [c for c in previous or [] if c.get("type") not in KUBELET_CONDITIONS]
    return conditions


# PodConditionByKubelet: the condition types the kubelet computes itself.
KUBELET_CONDITIONS = frozenset(
    {"PodScheduled", "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"}
)


def compute_pod_status(
    pod: dict[str, Any], runtime: PodRuntime, inputs: StatusInputs
) -> dict[str, Any]:
    """The full `status` the kubelet would write for this pod now."""
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    inits = spec.get("initContainers") or []
    init_statuses = [
        container_status(
            c,
            runtime.instances(c.get("name", ""), init=True),
            inputs,
            init=True,
            default_reason=POD_INITIALIZING,
        )
        for c in inits
    ]
    default_reason = POD_INITIALIZING if inits else CONTAINER_CREATING
    statuses = [
        container_status(
            c,
            runtime.instances(c.get("name", ""), init=False),
            inputs,
            init=False,
            default_reason=default_reason,
        )
        for c in spec.get("containers") or []
    ]
    ephemeral_statuses = [
        container_status(
            c,
            runtime.instances(c.get("name", ""), init=False),
            inputs,
            init=False,
            default_reason=CONTAINER_CREATING,
        )
        for c in spec.get("ephemeralContainers") or []
    ]
    for entry in ephemeral_statuses:  # never probed, never counted for readiness
        entry.pop("ready", None)
        entry.pop("started", None)
    phase = pod_phase(spec, init_statuses, statuses)
    if old.get("phase") in TERMINAL_PHASES:
        phase = old["phase"]  # a finished pod never runs again
    sandbox = runtime.running_sandbox()
    host_network = bool(spec.get("hostNetwork"))
    pod_ip = ""
    if sandbox is not None:
        pod_ip = inputs.host_ip if host_network else sandbox.ip
    if not pod_ip:
        pod_ip = old.get("podIP") or ""
    # A solo container that restarts (solo.py) leaves its pod's network in place
    # between two instances, as a sandbox would: the address stays allocated.
    holder = runtime.latest_sandbox()
    between_instances = (
        holder is not None
        and holder.solo
        and phase not in TERMINAL_PHASES
        and (spec.get("restartPolicy") or "Always") != "Never"
    )
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": pod_conditions(
            phase,
            init_statuses,
            statuses,
            (sandbox is not None or between_instances) and bool(pod_ip),
            old.get("conditions") or [],
            inputs.now,
        ),
        "hostIP": inputs.host_ip,
        "hostIPs": [{"ip": inputs.host_ip}],
        "startTime": old.get("startTime") or rfc3339(inputs.now),
        "containerStatuses": statuses,
    }
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    if ephemeral_statuses:
        status["ephemeralContainerStatuses"] = ephemeral_statuses
    if old.get("qosClass"):
        status["qosClass"] = old["qosClass"]
    if old.get("nominatedNodeName"):  # the scheduler's; the kubelet keeps it
        status["nominatedNodeName"] = old["nominatedNodeName"]
    return status


def is_terminal(status: Mapping[str, Any]) -> bool:
    return status.get("phase") in TERMINAL_PHASES


def container_status_by_name(status: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(key) or []:
            if entry.get("name") == name:
                return entry
    return None
