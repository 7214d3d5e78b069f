"""What the kubelet knows about each of its Docker containers, read from `inspect`.

A `ContainerRecord` is one container instance (sandbox, init or app) reduced to the
facts pod status and pod sync need; `PodRuntime` groups a pod's records. Both are
rebuilt from Docker alone, so they survive a kubelet restart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from kubelet import dockerlabels as L
from kubelet.timefmt import parse_docker_time

RUNNING, EXITED, CREATED, UNKNOWN = "running", "exited", "created", "unknown"


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    pod_uid: str
    pod_name: str
    pod_namespace: str
    name: str  # the pod spec's container name; "POD" for a sandbox
    sandbox: bool
    init: bool
    attempt: int  # restart count (sandbox: attempt)
    state: str  # RUNNING / EXITED / CREATED / UNKNOWN
    exit_code: int | None = None
    oom_killed: bool = False
    error: str = ""  # Docker's State.Error: a start that failed
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    image: str = ""  # as the pod spec names it
    image_id: str = ""  # sha256:…
    ip: str = ""  # sandboxes: the pod IP
    sandbox_id: str = ""  # containers: the sandbox they joined
    spec_hash: str = ""
    grace_seconds: int = 30
    termination_log: str = ""
    message_policy: str = "File"
    message: str = ""  # termination message, read once the container exited
    solo: bool = False  # an app container that holds its pod's network (kubelet/solo.py)
    updated: float = field(default_factory=time.monotonic, compare=False)

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def exited(self) -> bool:
        return self.state == EXITED


def state_of(state: dict[str, Any]) -> str:
    """Docker's State → the kubelet's four states. A container whose start failed
    (State.Error set, never ran) counts as exited: it is a failed attempt."""
    status = state.get("Status") or ""
    if status in ("running", "paused", "restarting"):
        return RUNNING
    if status in ("exited", "dead", "removing"):
        return EXITED
    if status == "created":
        return EXITED if state.get("Error") else CREATED
    return UNKNOWN


def from_inspect(data: dict[str, Any], network: str) -> ContainerRecord | None:
    """A record from `docker inspect` output; None if it is not the kubelet's."""
    config = data.get("Config") or {}
    labels = config.get("Labels") or {}
    uid = labels.get(L.POD_UID)
    if not uid:
        return None
    state = data.get("State") or {}
    solo = labels.get(L.SOLO) == "true"
    kind = state_of(state)
    exit_code = state.get("ExitCode")
    if kind == EXITED and state.get("Error") and not exit_code:
        exit_code = 128
    return ContainerRecord(
        id=data.get("Id", ""),
        pod_uid=uid,
        pod_name=labels.get(L.POD_NAME, ""),
        pod_namespace=labels.get(L.POD_NAMESPACE, ""),
        name=labels.get(L.CONTAINER_NAME, ""),
        sandbox=labels.get(L.SANDBOX) == "true",
        init=labels.get(L.CONTAINER_KIND) == "init",
        attempt=_int(labels.get(L.RESTART_COUNT)),
        state=kind,
        exit_code=exit_code if kind == EXITED else None,
        oom_killed=bool(state.get("OOMKilled")),
        error=state.get("Error") or "",
        created_at=parse_docker_time(data.get("Created")),
        started_at=parse_docker_time(state.get("StartedAt")),
        finished_at=parse_docker_time(state.get("FinishedAt")),
        image=labels.get(L.CONTAINER_IMAGE) or config.get("Image", ""),
        image_id=data.get("Image", ""),
        ip=_ip(data, network) if labels.get(L.SANDBOX) == "true" or solo else "",
        sandbox_id=data.get("Id", "") if solo else labels.get(L.SANDBOX_ID, ""),
        spec_hash=labels.get(L.CONTAINER_HASH, ""),
        grace_seconds=_int(labels.get(L.POD_GRACE), 30),
        termination_log=labels.get(L.TERMINATION_LOG, ""),
        message_policy=labels.get(L.MESSAGE_POLICY, "File"),
        solo=solo,
    )


def starting(
    container_id: str, labels: dict[str, str], image: str, image_id: str
) -> ContainerRecord | None:
    """The record of a container created by this kubelet and about to be started,
    as running: what its labels say, and no start time or IP yet (its `start`
    event or inspect tells them)."""
    data = {
        "Id": container_id,
        "Image": image_id,
        "Config": {"Labels": labels, "Image": image},
        "State": {"Status": RUNNING},
    }
    record = from_inspect(data, "")
    return None if record is None else replace(record, created_at=time.time())


def _ip(data: dict[str, Any], network: str) -> str:
    settings = data.get("NetworkSettings") or {}
    networks = settings.get("Networks") or {}
    chosen = networks.get(network) or {}
    if chosen.get("IPAddress"):
        return chosen["IPAddress"]
    host_config = data.get("HostConfig") or {}
    if host_config.get("NetworkMode") == "host":
        return ""
    for net in networks.values():
        if net.get("IPAddress"):
            return net["IPAddress"]
    return settings.get("IPAddress") or ""


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass
class PodRuntime:
    """All of one pod's container instances that Docker still has."""

    uid: str
    sandboxes: list[ContainerRecord] = field(default_factory=list)
    containers: list[ContainerRecord] = field(default_factory=list)

    @classmethod
    def of(cls, uid: str, records: list[ContainerRecord]) -> PodRuntime:
        pod = cls(uid)
        for record in sorted(records, key=_newest_first):
            (pod.sandboxes if record.sandbox else pod.containers).append(record)
            if record.solo:
                pod.sandboxes.append(record)  # it is its own sandbox too
        return pod

    def latest_sandbox(self) -> ContainerRecord | None:
        return self.sandboxes[0] if self.sandboxes else None

    def running_sandbox(self) -> ContainerRecord | None:
        sandbox = self.latest_sandbox()
        return sandbox if sandbox is not None and sandbox.running else None

    def instances(self, name: str, init: bool | None = None) -> list[ContainerRecord]:
        """Instances of a container, newest first."""
        return [c for c in self.containers if c.name == name and (init is None or c.init == init)]

    def latest(self, name: str, init: bool | None = None) -> ContainerRecord | None:
        found = self.instances(name, init)
        return found[0] if found else None

    def running(self) -> list[ContainerRecord]:
        return [c for c in self.containers if c.running]

    def all(self) -> list[ContainerRecord]:
        return [*[s for s in self.sandboxes if not s.solo], *self.containers]


def _newest_first(record: ContainerRecord) -> tuple[int, float]:
    return (-record.attempt, -(record.created_at or 0.0))
