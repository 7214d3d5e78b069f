"""Everything the scheduler writes to the API: the binding, the PodScheduled=False
condition of a pod that fits nowhere, and Events.

Events are best-effort, as in kube-scheduler: queued, and written by background
workers at most `events_qps` per second (burst `events_burst`; client-go's default
50/100, the limit kube-scheduler's event client runs under), so a burst of pods
spends the apiserver on bindings and its Scheduled events follow. A full queue
drops new Events (logged)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from api.resources import PODS
from api.timefmt import rfc3339
from client.events import EventRecorder
from client.rest import AsyncClient
from client.workqueue import BucketRateLimiter

log = logging.getLogger(__name__)
UNSCHEDULABLE = "Unschedulable"  # Kubernetes' v1.PodReasonUnschedulable


def pod_scheduled_condition(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "PodScheduled":
            return cond
    return None


def unschedulable_patch(pod: Mapping[str, Any], reason: str, message: str) -> dict | None:
    """A strategic merge patch of status.conditions (merged by `type`, so the other
    conditions stay) setting PodScheduled=False; None when it already says so.
    lastTransitionTime moves only when the status changes, as in Kubernetes."""
    current = pod_scheduled_condition(pod) or {}
    if (
        current.get("status") == "False"
        and current.get("reason") == reason
        and current.get("message") == message
    ):
        return None
    since = current.get("lastTransitionTime") if current.get("status") == "False" else None
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": reason,
        "message": message,
        "lastProbeTime": None,
        "lastTransitionTime": since or rfc3339(),
    }
    return {"status": {"conditions": [condition]}}


def pod_reference(pod: Mapping[str, Any]) -> dict[str, Any]:
    """What an Event needs of a pod (informer items may lack kind and apiVersion)."""
    return {"kind": "Pod", "apiVersion": "v1", "metadata": pod.get("metadata") or {}}


class ApiWriter:
    def __init__(
        self,
        api: AsyncClient,
        component: str,
        events_api: AsyncClient | None = None,
        event_workers: int = 2,
        max_pending_events: int = 10000,
        events_qps: float = 50.0,
        events_burst: int = 100,
    ) -> None:
        self.api = api
        self.recorder = EventRecorder(events_api or api, component)
        self._event_rate = BucketRateLimiter(events_qps, events_burst)
        self._events: asyncio.Queue[tuple[dict, str, str, str]] = asyncio.Queue(max_pending_events)
        self._event_workers = event_workers
        self._workers: list[asyncio.Task[None]] = []

    async def bind(self, pod: Mapping[str, Any], node: str) -> None:
        """POST pods/{name}/binding (raises ApiError when the API refuses)."""
        md = pod.get("metadata") or {}
        binding: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": md.get("name"), "namespace": md.get("namespace")},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        if md.get("uid"):
            binding["metadata"]["uid"] = md["uid"]
        await self.api.create(
            PODS, binding, md.get("namespace"), name=md.get("name"), subresource="binding"
        )

    async def set_unschedulable(
        self, pod: Mapping[str, Any], message: str, reason: str = UNSCHEDULABLE
    ) -> None:
        """Write PodScheduled=False through pods/{name}/status (raises ApiError)."""
        patch = unschedulable_patch(pod, reason, message)
        if patch is None:
            return
        md = pod.get("metadata") or {}
        name = md.get("name")
        if not name:
            raise ValueError("cannot write the status of a pod without metadata.name")
        await self.api.patch(
            PODS, name, patch, "strategic", md.get("namespace"), subresource="status"
        )

    # ---- events -------------------------------------------------------------------
    def event(self, pod: Mapping[str, Any], event_type: str, reason: str, message: str) -> None:
        """Queue an Event about the pod; dropped (and logged) if the queue is full."""
        try:
            self._events.put_nowait((pod_reference(pod), event_type, reason, message))
        except asyncio.QueueFull:
            log.debug("event %s for %s dropped: queue full", reason, pod_reference(pod))

    def start(self) -> None:
        if not self._workers:
            self._workers = [
                asyncio.get_running_loop().create_task(self._write_events(), name=f"events-{i}")
                for i in range(self._event_workers)
            ]

    async def stop(self) -> None:
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []

    async def _write_events(self) -> None:
        while True:
            ref, event_type, reason, message = await self._events.get()
            delay = self._event_rate.when(reason)
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await self.recorder.record(ref, event_type, reason, message)
            except Exception:  # record() logs API errors; anything else must not kill us
                log.exception("writing event %s failed", reason)
            finally:
                self._events.task_done()
