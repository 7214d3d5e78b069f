"""What a pod sync must do, decided from the pod spec and Docker's state alone.

The port of kuberuntime's `computePodActions`: a pure function, so every decision
(recreate the sandbox, run the next init container, restart a crashed or unhealthy
container, stop a finished pod) is unit-tested without Docker. `podsync` executes
the result; back-off is applied there, when a start is attempted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubelet.dockerlabels import container_hash
from kubelet.records import CREATED, EXITED, UNKNOWN, ContainerRecord, PodRuntime


@dataclass
class PodActions:
    kill_pod: bool = False  # stop every running container and the sandbox
    create_sandbox: bool = False
    sandbox_attempt: int = 0
    next_init: int | None = None  # index in spec.initContainers to start
    start: list[int] = field(default_factory=list)  # indices in spec.containers
    start_ephemeral: list[int] = field(default_factory=list)  # in spec.ephemeralContainers
    kill: dict[str, str] = field(default_factory=dict)  # container id → why

    @property
    def nothing(self) -> bool:
        return (
            not (self.kill_pod or self.create_sandbox or self.next_init is not None or self.start)
            and not self.kill
            and not self.start_ephemeral
        )


def restart_policy(pod: dict[str, Any]) -> str:
    return (pod.get("spec") or {}).get("restartPolicy") or "Always"


def should_restart(status: ContainerRecord | None, policy: str) -> bool:
    """Kubernetes' ShouldContainerBeRestarted, for the container's latest instance."""
    if status is None:
        return True
    if status.running:
        return False
    if status.state in (UNKNOWN, CREATED):
        return True
    if policy == "Never":
        return False
    return not (policy == "OnFailure" and status.exit_code == 0)


def _succeeded(status: ContainerRecord | None) -> bool:
    return status is not None and status.exited and status.exit_code == 0


def init_failed(status: ContainerRecord) -> bool:
    return (status.state == EXITED and status.exit_code != 0) or status.state == UNKNOWN


def next_init_container(
    pod: dict[str, Any], runtime: PodRuntime
) -> tuple[ContainerRecord | None, int | None, bool]:
    """(last failed init instance, index of the init container to run next, all done)."""
    spec = pod.get("spec") or {}
    inits = spec.get("initContainers") or []
    if not inits:
        return None, None, True
    for container in spec.get("containers") or []:
        status = runtime.latest(container.get("name", ""), init=False)
        if status is not None and status.running:
            return None, None, True  # app containers run: init finished before
    for i in range(len(inits) - 1, -1, -1):
        status = runtime.latest(inits[i].get("name", ""), init=True)
        if status is not None and init_failed(status):
            return status, i, False
    for i in range(len(inits) - 1, -1, -1):
        status = runtime.latest(inits[i].get("name", ""), init=True)
        if status is None:
            continue
        if status.running:
            return None, None, False
        if status.exited:
            if i == len(inits) - 1:
                return None, None, True
            return None, i + 1, False
    return None, 0, False


def compute_pod_actions(
    pod: dict[str, Any],
    runtime: PodRuntime,
    kill_requests: dict[str, str] | None = None,
    *,
    terminal: bool = False,
) -> PodActions:
    """The actions that bring Docker to the pod's desired state.

    `kill_requests` maps running container ids to a reason they must go (a failed
    liveness or startup probe). A `terminal` pod (Succeeded or Failed) only has its
    remaining containers stopped: it never starts again.
    """
    kill_requests = kill_requests or {}
    spec = pod.get("spec") or {}
    policy = restart_policy(pod)
    actions = PodActions()
    running_sandboxes = [s for s in runtime.sandboxes if s.running]
    if terminal:
        actions.kill_pod = bool(running_sandboxes or runtime.running())
        return actions

    current = runtime.running_sandbox()
    if current is None or len(running_sandboxes) > 1:
        latest = runtime.latest_sandbox()
        actions.kill_pod = bool(running_sandboxes or runtime.running())
        actions.create_sandbox = True
        actions.sandbox_attempt = latest.attempt + 1 if latest is not None else 0
        if policy == "Never" and latest is not None and runtime.containers:
            actions.create_sandbox = False  # a Never pod that already ran is not rerun
            return actions
        if spec.get("initContainers"):
            actions.next_init = 0
            return actions
        # OnFailure: containers that succeeded are not run again (kuberuntime's
        # containerSucceeded); with none left, no sandbox either. A solo pod (its one
        # container is its own sandbox: solo.py) reaches this whenever it ended.
        for index, container in enumerate(spec.get("containers") or []):
            status = runtime.latest(container.get("name", ""), init=False)
            if policy == "OnFailure" and _succeeded(status):
                continue
            actions.start.append(index)
        if not actions.start:
            actions.create_sandbox = False
        return actions

    inside = PodRuntime.of(
        runtime.uid, [c for c in runtime.containers if c.sandbox_id == current.id]
    )
    failed, next_index, done = next_init_container(pod, inside)
    if not done:
        if next_index is not None:
            if failed is not None and policy == "Never":
                actions.kill_pod = True  # the pod failed to initialise
            else:
                actions.next_init = next_index
        return actions

    keep = 0
    for index, container in enumerate(spec.get("containers") or []):
        name = container.get("name", "")
        status = inside.latest(name, init=False)
        if status is None or not status.running:
            if should_restart(status, policy):
                actions.start.append(index)
            continue
        if status.spec_hash and status.spec_hash != container_hash(container):
            why, restart = f"Container {name} definition changed, will be restarted", True
        elif status.id in kill_requests:
            why, restart = kill_requests[status.id], policy != "Never"
        else:
            keep += 1
            continue
        if restart:
            actions.start.append(index)
        actions.kill[status.id] = why
    if keep == 0 and not actions.start:
        actions.kill_pod = True  # nothing runs and nothing will: stop the sandbox
        return actions
    # Ephemeral containers (kubectl debug) start once, in the running sandbox, and
    # are never restarted.
    for index, container in enumerate(spec.get("ephemeralContainers") or []):
        if runtime.latest(container.get("name", ""), init=False) is None:
            actions.start_ephemeral.append(index)
    return actions


def removable(runtime: PodRuntime) -> list[ContainerRecord]:
    """Dead instances nobody needs: per container, only the newest instance and
    (while that one runs) the newest dead one are kept — for `lastState` and
    `kubectl logs --previous`; only the newest sandbox is kept."""
    doomed: list[ContainerRecord] = []
    for sandbox in runtime.sandboxes[1:]:
        if not sandbox.running and not sandbox.solo:  # a solo one is a container too
            doomed.append(sandbox)
    seen: dict[tuple[str, bool], int] = {}
    for record in runtime.containers:  # newest first
        key = (record.name, record.init)
        count = seen.get(key, 0)
        seen[key] = count + 1
        if record.running:
            continue
        if count == 0:
            continue
        if count == 1 and runtime.instances(record.name, record.init)[0].running:
            continue
        doomed.append(record)
    return doomed
