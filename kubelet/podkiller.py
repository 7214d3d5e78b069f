"""Stopping and removing a pod's containers.

Stopping is Docker's stop: the container's stop signal (the image's STOPSIGNAL,
else SIGTERM), the grace period, then SIGKILL — all containers of a pod in
parallel, then its sandbox. The grace period is the pod's deletion grace period
while it is being deleted, else its terminationGracePeriodSeconds (a probe may set
its own); Kubernetes never gives a container less than 2 s. Removal takes app and
init containers before sandboxes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubelet.events import NORMAL, EventSink, container_field_path
from kubelet.pleg import Pleg, RuntimeCache
from kubelet.records import ContainerRecord, PodRuntime
from kubelet.runtime import DockerRuntime, RuntimeFailure

log = logging.getLogger(__name__)

MIN_GRACE_SECONDS = 2  # Kubernetes never gives a container less than this
SANDBOX_STOP_SECONDS = 2


def grace_seconds(pod: dict[str, Any], override: int | None = None) -> int:
    """Seconds between the stop signal and SIGKILL for this pod's containers."""
    md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    if override is not None:
        grace = override
    elif md.get("deletionGracePeriodSeconds") is not None:
        grace = int(md["deletionGracePeriodSeconds"])
    else:
        grace = int(spec.get("terminationGracePeriodSeconds", 30) or 0)
    return max(MIN_GRACE_SECONDS, grace)


def _grace_for(record: ContainerRecord, grace: int | None) -> int:
    """The pod's grace period, or (pod unknown) the one recorded on the container."""
    return grace if grace is not None else max(MIN_GRACE_SECONDS, record.grace_seconds)


def probe_grace(pod: dict[str, Any], record: ContainerRecord, why: str) -> int | None:
    """A probe's own terminationGracePeriodSeconds, when it is the probe that kills."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        if container.get("name") != record.name:
            continue
        for field, word in (("livenessProbe", "liveness"), ("startupProbe", "startup")):
            probe = container.get(field) or {}
            if word in why and probe.get("terminationGracePeriodSeconds") is not None:
                return int(probe["terminationGracePeriodSeconds"])
    spec = pod.get("spec") or {}
    return int(spec.get("terminationGracePeriodSeconds", 30) or 0)


class PodKiller:
    def __init__(
        self, runtime: DockerRuntime, cache: RuntimeCache, pleg: Pleg, events: EventSink
    ) -> None:
        self.runtime = runtime
        self.cache = cache
        self.pleg = pleg
        self.events = events

    async def stop(self, record: ContainerRecord, grace: int) -> None:
        try:
            await self.runtime.stop(record.id, grace)
        except RuntimeFailure as err:
            log.warning("stop %s: %s", record.id[:12], err)

    async def kill_pod(
        self, pod: dict[str, Any] | None, runtime: PodRuntime, grace: int | None = None
    ) -> None:
        """Stop every running container (in parallel, each with the grace period),
        then the sandbox."""
        running = [c for c in runtime.containers if c.running]
        if pod is not None:
            for record in running:
                self.events.emit(
                    pod,
                    NORMAL,
                    "Killing",
                    f"Stopping container {record.name}",
                    container_field_path(record.name, record.init),
                )
        if grace is None and pod is not None:
            grace = grace_seconds(pod)
        await asyncio.gather(*(self.stop(r, _grace_for(r, grace)) for r in running))
        sandboxes = [s for s in runtime.sandboxes if s.running and not s.solo]
        await asyncio.gather(*(self.runtime.stop(s.id, SANDBOX_STOP_SECONDS) for s in sandboxes))
        if running or sandboxes:
            await self.pleg.refresh([r.id for r in running + sandboxes])

    async def remove(self, records: list[ContainerRecord]) -> None:
        containers = [r for r in records if not r.sandbox]
        sandboxes = [r for r in records if r.sandbox]
        for group in (containers, sandboxes):
            results = await asyncio.gather(
                *(self.runtime.remove(r.id) for r in group), return_exceptions=True
            )
            for record, result in zip(group, results, strict=True):
                if isinstance(result, BaseException):
                    log.warning("remove %s: %s", record.id[:12], result)
                else:
                    self.cache.drop(record.id)
