"""The STATUS words Kubernetes' printers show for pods, nodes and Jobs (`Init:0/1`,
`CrashLoopBackOff`, `Terminating`, `Ready,SchedulingDisabled`, `Complete`): one home,
used by the apiserver's Tables (what `kubectl get` prints) and the dashboard."""

from __future__ import annotations

from typing import Any

from api.timefmt import parse_time

Obj = dict[str, Any]


def _is_restartable_init(container: Obj | None) -> bool:
    return container is not None and container.get("restartPolicy") == "Always"


def _condition_true(status: Obj, type_: str) -> bool:
    for cond in status.get("conditions") or []:
        if cond.get("type") == type_:
            return cond.get("status") == "True"
    return False


def _later(current: float | None, finished_at: str | None) -> float | None:
    when = parse_time(finished_at)
    if when is not None and (current is None or when > current):
        return when
    return current


def pod_status_reason(pod: Obj) -> tuple[str, int, int, int, float | None]:
    """(STATUS, ready, total, restarts, last restart time) exactly like Kubernetes' printer:
    init progress (`Init:0/1`), waiting/terminated reasons, `Completed`, `Terminating`."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    total = len(spec.get("containers") or [])
    ready = 0
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = spec.get("initContainers") or []
    init_by_name = {c.get("name"): c for c in init_specs}
    total += sum(1 for c in init_specs if _is_restartable_init(c))

    restarts = sidecar_restarts = 0
    last_restart: float | None = None
    last_sidecar_restart: float | None = None
    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        state = cs.get("state") or {}
        last_term = (cs.get("lastState") or {}).get("terminated")
        restarts += int(cs.get("restartCount") or 0)
        if last_term:
            last_restart = _later(last_restart, last_term.get("finishedAt"))
        sidecar = _is_restartable_init(init_by_name.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            if last_term:
                last_sidecar_restart = _later(last_sidecar_restart, last_term.get("finishedAt"))
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and int(terminated.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated:
            if terminated.get("reason"):
                reason = "Init:" + terminated["reason"]
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode') or 0}"
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(status, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            restarts += int(cs.get("restartCount") or 0)
            last_term = (cs.get("lastState") or {}).get("terminated")
            if last_term:
                last_restart = _later(last_restart, last_term.get("finishedAt"))
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated:
                if terminated.get("signal"):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{terminated.get('exitCode') or 0}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status, "Ready") else "NotReady"

    deleting = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason, ready, total, restarts, last_restart


def node_status(node: Obj) -> str:
    """`Ready`, `NotReady`, `Unknown` (no Ready condition), plus `,SchedulingDisabled`."""
    states = []
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            states = ["Ready" if cond.get("status") == "True" else "NotReady"]
    states = states or ["Unknown"]
    if (node.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    return ",".join(states)


# printJob's STATUS: the first of these conditions that is True, else Running (a Job
# being deleted shows Terminating unless it already finished).
_JOB_STATUS_ORDER = ("Complete", "Failed", None, "Suspended", "FailureTarget", "SuccessCriteriaMet")


def job_status(job: Obj) -> str:
    conditions = (job.get("status") or {}).get("conditions") or []
    true = {c.get("type") for c in conditions if c.get("status") == "True"}
    for type_ in _JOB_STATUS_ORDER:
        if type_ is None:
            if (job.get("metadata") or {}).get("deletionTimestamp"):
                return "Terminating"
        elif type_ in true:
            return type_
    return "Running"
