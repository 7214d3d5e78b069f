"""Which container's logs a request means, and with what options (pure).

The kubelet answers `GET /containerLogs/{ns}/{pod}/{container}` from the pod's status
as Kubernetes' `validateContainerLogStatus` does: the running (or last terminated)
instance, or with `previous=true` the one in `lastState.terminated`; a container
that never ran is "waiting to start".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.timefmt import parse_time as parse_rfc3339
from kubelet.podstatus import DOCKER_PREFIX, container_status_by_name


class LogRequestError(Exception):
    """An answer other than logs: `code` and Kubernetes' message."""

    def __init__(self, code: int, message: str, reason: str = "BadRequest") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason


def _bool(params: dict[str, str], name: str) -> bool:
    return (params.get(name) or "").lower() in ("true", "1")


def _int(params: dict[str, str], name: str, minimum: int) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise LogRequestError(400, f"{name}: invalid value {raw!r}") from None
    if value < minimum:
        raise LogRequestError(400, f"{name}: must be greater than or equal to {minimum}")
    return value


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: float | None = None
    limit_bytes: int | None = None

    @classmethod
    def parse(cls, params: dict[str, str]) -> LogOptions:
        since_time = None
        if params.get("sinceTime"):
            since_time = parse_rfc3339(params["sinceTime"])
            if since_time is None:
                raise LogRequestError(400, f"sinceTime: invalid value {params['sinceTime']!r}")
        options = cls(
            follow=_bool(params, "follow"),
            previous=_bool(params, "previous"),
            timestamps=_bool(params, "timestamps"),
            tail_lines=_int(params, "tailLines", 0),
            since_seconds=_int(params, "sinceSeconds", 1),
            since_time=since_time,
            limit_bytes=_int(params, "limitBytes", 1),
        )
        if options.since_seconds is not None and options.since_time is not None:
            raise LogRequestError(400, "at most one of sinceTime or sinceSeconds may be specified")
        return options

    def since(self, now: float) -> float | None:
        if self.since_seconds is not None:
            return now - self.since_seconds
        return self.since_time


def container_names(pod: dict[str, Any]) -> list[str]:
    """Every container whose logs can be asked for: `kubectl debug`'s ephemeral ones too."""
    spec = pod.get("spec") or {}
    kinds = ("initContainers", "containers", "ephemeralContainers")
    return [c.get("name", "") for kind in kinds for c in spec.get(kind) or []]


def log_container_id(
    pod: dict[str, Any], status: dict[str, Any], container: str, previous: bool
) -> str:
    """The Docker id whose logs answer the request; LogRequestError otherwise."""
    pod_name = (pod.get("metadata") or {}).get("name", "")
    if container not in container_names(pod):
        raise LogRequestError(400, f"container {container} is not valid for pod {pod_name}")
    entry = container_status_by_name(status, container)
    if entry is None:
        raise LogRequestError(
            400,
            f'container "{container}" in pod "{pod_name}" is waiting to start: ContainerCreating',
        )
    state, last = entry.get("state") or {}, entry.get("lastState") or {}
    last_id = (last.get("terminated") or {}).get("containerID") or ""
    if previous:
        if not last_id:
            raise LogRequestError(
                400, f'previous terminated container "{container}" in pod "{pod_name}" not found'
            )
        cid = last_id
    elif "running" in state:
        cid = entry.get("containerID") or ""
    elif "terminated" in state:
        cid = state["terminated"].get("containerID") or entry.get("containerID") or last_id
    elif last_id:
        cid = last_id
    else:
        reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
        detail = {
            "ErrImagePull": "image can't be pulled",
            "ImagePullBackOff": "trying and failing to pull image",
        }.get(reason, reason)
        raise LogRequestError(
            400, f'container "{container}" in pod "{pod_name}" is waiting to start: {detail}'
        )
    cid = cid.removeprefix(DOCKER_PREFIX)
    if not cid:
        raise LogRequestError(
            400, f'container "{container}" in pod "{pod_name}" is waiting to start - no logs yet'
        )
    return cid
