"""Everything the scheduler writes to the API: the binding, the PodScheduled=False
condition (and nominatedNodeName) of a pod that fits nowhere, preemption's writes
(the victim's DisruptionTarget condition, its deletion; clearing another pod's
nomination), and Events.

Events are best-effort, as in kube-scheduler: never on the binding's path, queued
and written by background workers at most `events_qps` per second (burst
`events_burst`; client-go's default 50/100, the limit kube-scheduler's event client
runs under), so a burst of pods spends the apiserver on bindings and its Scheduled
events follow. The queue holds `max_pending_events` (1,000: client-go's broadcaster,
maxQueuedEvents); when it is full new Events are dropped, as the broadcaster's
DropIfChannelFull does, with a log line when dropping starts and one when it ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from api.errors import Conflict, NotFound
from api.resources import PODS
from api.scheduling import DISRUPTION_TARGET, REASON_PREEMPTION_BY_SCHEDULER
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


def unschedulable_patch(
    pod: Mapping[str, Any], reason: str, message: str, nominated: str | None = None
) -> dict | None:
    """A strategic merge patch of status.conditions (merged by `type`, so the other
    conditions stay) setting PodScheduled=False, and status.nominatedNodeName when
    `nominated` is given ("" clears it); None when the pod already says so.
    lastTransitionTime moves only when the status changes, as in Kubernetes."""
    current = pod_scheduled_condition(pod) or {}
    current_nominated = (pod.get("status") or {}).get("nominatedNodeName") or ""
    same_nomination = nominated is None or nominated == current_nominated
    if (
        current.get("status") == "False"
        and current.get("reason") == reason
        and current.get("message") == message
        and same_nomination
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
    status: dict[str, Any] = {"conditions": [condition]}
    if not same_nomination:
        status["nominatedNodeName"] = nominated or None
    return {"status": status}


def disruption_target_patch(pod: Mapping[str, Any], scheduler_name: str) -> dict | None:
    """The condition a preemption victim gets before its deletion (None when it has
    it already), as kube-scheduler's preemption writes it."""
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if (
            cond.get("type") == DISRUPTION_TARGET
            and cond.get("status") == "True"
            and cond.get("reason") == REASON_PREEMPTION_BY_SCHEDULER
        ):
            return None
    condition = {
        "type": DISRUPTION_TARGET,
        "status": "True",
        "reason": REASON_PREEMPTION_BY_SCHEDULER,
        "message": f"{scheduler_name}: preempting to accommodate a higher priority pod",
        "lastProbeTime": None,
        "lastTransitionTime": rfc3339(),
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
        max_pending_events: int = 1000,
        events_qps: float = 50.0,
        events_burst: int = 100,
    ) -> None:
        self.api = api
        self.recorder = EventRecorder(events_api or api, component)
        self._event_rate = BucketRateLimiter(events_qps, events_burst)
        self._events: asyncio.Queue[tuple[dict, str, str, str, dict | None, str | None]] = (
            asyncio.Queue(max_pending_events)
        )
        self._event_workers = event_workers
        self._workers: list[asyncio.Task[None]] = []
        self.dropped_events = 0  # since the queue last had room

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
        self,
        pod: Mapping[str, Any],
        message: str,
        reason: str = UNSCHEDULABLE,
        nominated: str | None = None,
    ) -> None:
        """Write PodScheduled=False (and the nomination, when given) through
        pods/{name}/status (raises ApiError)."""
        patch = unschedulable_patch(pod, reason, message, nominated)
        if patch is not None:
            await self._patch_status(pod, patch)

    async def clear_nomination(self, pod: Mapping[str, Any]) -> None:
        """Drop a pod's nominatedNodeName (raises ApiError)."""
        if (pod.get("status") or {}).get("nominatedNodeName"):
            await self._patch_status(pod, {"status": {"nominatedNodeName": None}})

    async def preempt(
        self, victim: Mapping[str, Any], preemptor: Mapping[str, Any], node: str
    ) -> None:
        """Preempt one victim as kube-scheduler does: the DisruptionTarget condition,
        then a graceful delete, then a Preempted Event naming the preemptor by uid.
        A victim already gone is no error; one already being deleted is left be."""
        if (victim.get("metadata") or {}).get("deletionTimestamp"):
            return
        scheduler_name = (preemptor.get("spec") or {}).get("schedulerName") or ""
        md = victim.get("metadata") or {}
        try:
            patch = disruption_target_patch(victim, scheduler_name)
            if patch is not None:
                await self._patch_status(victim, patch)
            # the uid precondition spares a namesake created since (a StatefulSet's pod)
            uid_only = {"uid": md["uid"]} if md.get("uid") else None
            await self.api.delete(
                PODS, md.get("name", ""), md.get("namespace"), preconditions=uid_only
            )
        except (NotFound, Conflict):
            return
        uid = (preemptor.get("metadata") or {}).get("uid", "")
        self.event(
            victim,
            "Normal",
            "Preempted",
            f"Preempted by pod {uid} on node {node}",
            related=preemptor,
            action="Preempting",
        )

    async def _patch_status(self, pod: Mapping[str, Any], patch: dict) -> None:
        md = pod.get("metadata") or {}
        name = md.get("name")
        if not name:
            raise ValueError("cannot write the status of a pod without metadata.name")
        await self.api.patch(
            PODS, name, patch, "strategic", md.get("namespace"), subresource="status"
        )

    # ---- events -------------------------------------------------------------------
    def event(
        self,
        pod: Mapping[str, Any],
        event_type: str,
        reason: str,
        message: str,
        *,
        related: Mapping[str, Any] | None = None,
        action: str | None = None,
    ) -> None:
        """Queue an Event about the pod; dropped (and logged) if the queue is full."""
        rel = pod_reference(related) if related is not None else None
        try:
            self._events.put_nowait((pod_reference(pod), event_type, reason, message, rel, action))
        except asyncio.QueueFull:
            if not self.dropped_events:
                log.warning(
                    "too many queued events (%d): dropping new events until there is room",
                    self._events.maxsize,
                )
            self.dropped_events += 1
            return
        if self.dropped_events:
            log.warning("dropped %d events while the event queue was full", self.dropped_events)
            self.dropped_events = 0

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
            ref, event_type, reason, message, related, action = await self._events.get()
            delay = self._event_rate.when(reason)
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await self.recorder.record(
                    ref, event_type, reason, message, related=related, action=action
                )
            except Exception:  # record() logs API errors; anything else must not kill us
                log.exception("writing event %s failed", reason)
            finally:
                self._events.task_done()
