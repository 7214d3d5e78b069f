"""The probe manager: one worker per (running container, probe kind).

Workers wait `initialDelaySeconds` from the container's start, probe every
`periodSeconds`, and flip their result only after `successThreshold` successes or
`failureThreshold` failures in a row. Liveness starts as success, readiness as
failure, startup as unknown; until a startup probe succeeds the other probes of
that container do not run. A failed liveness or startup probe asks the pod worker
to kill the container; readiness drives the container's `ready`. After a kubelet
restart, readiness and startup start from what the pod's API status said about
the same container, so adopted pods do not flap to NotReady.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from kubelet.events import WARNING, EventSink, container_field_path
from kubelet.prober.runner import ProbeRunner
from kubelet.records import ContainerRecord, PodRuntime

LIVENESS, READINESS, STARTUP = "liveness", "readiness", "startup"
PROBE_FIELDS = {LIVENESS: "livenessProbe", READINESS: "readinessProbe", STARTUP: "startupProbe"}


class ThresholdTracker:
    """A probe's result: changes only after enough identical outcomes in a row."""

    def __init__(self, success_threshold: int, failure_threshold: int, initial: bool | None):
        self.success_threshold = max(1, success_threshold)
        self.failure_threshold = max(1, failure_threshold)
        self.result = initial
        self._last: bool | None = None
        self._run = 0

    def observe(self, ok: bool) -> bool:
        """Record one outcome; True when the result changed."""
        if ok == self._last:
            self._run += 1
        else:
            self._last, self._run = ok, 1
        needed = self.success_threshold if ok else self.failure_threshold
        if self._run < needed or self.result == ok:
            return False
        self.result = ok
        return True


def probe_settings(probe: dict[str, Any]) -> tuple[float, float, int, int]:
    """(initial delay, period, success threshold, failure threshold) with defaults."""
    return (
        float(probe.get("initialDelaySeconds") or 0),
        float(probe.get("periodSeconds") or 10),
        int(probe.get("successThreshold") or 1),
        int(probe.get("failureThreshold") or 3),
    )


class ProbeManager:
    def __init__(
        self, runner: ProbeRunner, events: EventSink, on_change: Callable[[str], None]
    ) -> None:
        self.runner = runner
        self.events = events
        self.on_change = on_change
        self._results: dict[tuple[str, str], bool | None] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._by_pod: dict[str, set[tuple[str, str]]] = {}

    # ---- what the pod worker reads ----------------------------------------------
    def ready(self, uid: str) -> dict[str, bool]:
        """Readiness of the pod's containers that have a readiness probe."""
        return {
            cid: bool(self._results.get((cid, kind)))
            for cid, kind in self._by_pod.get(uid, set())
            if kind == READINESS
        }

    def started(self, uid: str) -> dict[str, bool]:
        return {
            cid: bool(self._results.get((cid, kind)))
            for cid, kind in self._by_pod.get(uid, set())
            if kind == STARTUP
        }

    def kill_requests(self, uid: str, pod: dict[str, Any], runtime: PodRuntime) -> dict[str, str]:
        """Running containers whose liveness or startup probe failed."""
        wanted: dict[str, str] = {}
        for cid, kind in self._by_pod.get(uid, set()):
            if kind in (LIVENESS, STARTUP) and self._results.get((cid, kind)) is False:
                record = next((c for c in runtime.containers if c.id == cid), None)
                if record is not None and record.running:
                    wanted[cid] = f"Container {record.name} failed {kind} probe, will be restarted"
        return wanted

    # ---- keeping workers in line with the pod ----------------------------------
    def sync_pod(self, pod: dict[str, Any], runtime: PodRuntime, pod_ip: str) -> None:
        uid = (pod.get("metadata") or {}).get("uid", "")
        wanted: dict[tuple[str, str], tuple[dict[str, Any], ContainerRecord, dict[str, Any]]] = {}
        if pod_ip and not (pod.get("metadata") or {}).get("deletionTimestamp"):
            for container in (pod.get("spec") or {}).get("containers") or []:
                record = runtime.latest(container.get("name", ""), init=False)
                if record is None or not record.running:
                    continue
                for kind, field in PROBE_FIELDS.items():
                    if container.get(field):
                        wanted[(record.id, kind)] = (container, record, container[field])
        known = self._by_pod.setdefault(uid, set())
        for key in list(known - set(wanted)):
            self._stop(key)
            known.discard(key)
        seeds = _api_seeds(pod)
        for key, (container, record, probe) in wanted.items():
            if key in known:
                continue
            known.add(key)
            cid, kind = key
            initial = {LIVENESS: True, READINESS: False, STARTUP: None}[kind]
            if kind in (READINESS, STARTUP) and cid in seeds:
                initial = seeds[cid][0 if kind == READINESS else 1] or initial
            self._results[key] = initial
            has_startup = bool(container.get(PROBE_FIELDS[STARTUP]))
            self._workers[key] = asyncio.get_running_loop().create_task(
                self._work(pod, container, record, kind, probe, initial, has_startup, pod_ip),
                name=f"probe-{kind}-{cid[:12]}",
            )
        if not known:
            self._by_pod.pop(uid, None)

    def remove_pod(self, uid: str) -> None:
        for key in self._by_pod.pop(uid, set()):
            self._stop(key)

    def _stop(self, key: tuple[str, str]) -> None:
        task = self._workers.pop(key, None)
        if task is not None:
            task.cancel()
        self._results.pop(key, None)

    async def stop(self) -> None:
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # ---- one worker -------------------------------------------------------------
    async def _work(
        self,
        pod: dict[str, Any],
        container: dict[str, Any],
        record: ContainerRecord,
        kind: str,
        probe: dict[str, Any],
        initial: bool | None,
        has_startup: bool,
        pod_ip: str,
    ) -> None:
        uid = record.pod_uid
        key = (record.id, kind)
        delay, period, successes, failures = probe_settings(probe)
        tracker = ThresholdTracker(successes, failures, initial)
        if kind == STARTUP and initial:
            return  # already started before a kubelet restart
        started = record.started_at or time.time()
        await asyncio.sleep(max(0.0, started + delay - time.time()))
        label = kind.capitalize()
        path = container_field_path(container.get("name", ""))
        while True:
            if kind != STARTUP and has_startup and not self._results.get((record.id, STARTUP)):
                await asyncio.sleep(min(period, 1.0))
                continue
            ok, output = await self.runner.run(probe, container, record.id, pod_ip)
            if not ok:
                self.events.emit(pod, WARNING, "Unhealthy", f"{label} probe failed: {output}", path)
            if tracker.observe(ok):
                self._results[key] = tracker.result
                self.on_change(uid)
            if kind in (LIVENESS, STARTUP) and tracker.result is False:
                return  # the pod worker kills the container; a new one gets a new worker
            if kind == STARTUP and tracker.result is True:
                return
            await asyncio.sleep(period)


def _api_seeds(pod: dict[str, Any]) -> dict[str, tuple[bool, bool]]:
    """container id → (ready, started) as the pod's API status last said."""
    seeds: dict[str, tuple[bool, bool]] = {}
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        cid = (status.get("containerID") or "").removeprefix("docker://")
        if cid and "running" in (status.get("state") or {}):
            seeds[cid] = (bool(status.get("ready")), bool(status.get("started")))
    return seeds
