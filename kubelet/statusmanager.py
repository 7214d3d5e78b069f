"""The status manager: the only writer of this node's pods' status.

Pod workers hand it the status they computed, as often as they like. It writes a
pod's status only when it differs from what the API already has (or what it last
wrote), at most once per `min_interval` per pod — a burst of changes coalesces into
one write of the latest — and with a bounded number of writes in flight. A change
of phase, readiness or a container's state is a milestone: it is written at once,
since Endpoints, ReplicaSets and rollouts wait on it and users watch for it. Each write
is a JSON patch that first tests the pod's uid, so a status never lands on a newer
pod that reused the name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from api.errors import ApiError, Invalid, NotFound
from api.resources import PODS
from client.rest import AsyncClient
from kubelet.metrics import PodStartTracker

log = logging.getLogger(__name__)
RECONCILE_AFTER = 10.0  # seconds before re-writing a status the API disagrees with


def normalized(value: Any) -> Any:
    """Drop None values and empty containers' keys, so equal statuses compare equal
    however they travelled through JSON."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def milestone(status: dict[str, Any] | None) -> tuple[Any, ...]:
    """What others wait on or watch for in a pod status: its phase, its Ready
    condition and each container's state (waiting with its reason, running,
    terminated), as `kubectl get pods -w` shows them (ErrImagePull, then
    ImagePullBackOff)."""
    status = status or {}
    ready = next(
        (c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"),
        None,
    )
    states = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            state = cs.get("state") or {}
            kind = next(iter(state), "")
            states.append((cs.get("name"), kind, (state.get(kind) or {}).get("reason")))
    return status.get("phase"), ready, tuple(states)


@dataclass
class _Entry:
    namespace: str
    name: str
    uid: str
    desired: dict[str, Any] | None = None
    written: dict[str, Any] | None = None  # normalized, as last written or seen in the API
    last_write: float = 0.0
    pending: bool = False
    in_flight: bool = False
    urgent: bool = False  # the pending status changes phase or readiness
    mismatch_since: float | None = None
    failures: int = 0  # writes failed in a row: retries back off
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class StatusManager:
    def __init__(self, api: AsyncClient, min_interval: float = 0.5, max_in_flight: int = 8) -> None:
        self.api = api
        self.min_interval = min_interval
        self._entries: dict[str, _Entry] = {}
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = 0.0
        self.writes = 0  # for tests and benchmarks
        self.starts = PodStartTracker()  # kubelet_pod_start_sli_duration_seconds

    def _entry(self, pod: dict[str, Any]) -> _Entry:
        md = pod.get("metadata") or {}
        uid = md.get("uid", "")
        entry = self._entries.get(uid)
        if entry is None:
            entry = _Entry(md.get("namespace", ""), md.get("name", ""), uid)
            entry.written = normalized(pod.get("status") or {})
            self._entries[uid] = entry
        return entry

    def busy(self) -> bool:
        """Writes are waiting or in flight (Events then wait: status goes first)."""
        return any(e.pending or e.in_flight for e in self._entries.values())

    def desired(self, uid: str) -> dict[str, Any] | None:
        entry = self._entries.get(uid)
        return entry.desired if entry else None

    def set_status(self, pod: dict[str, Any], status: dict[str, Any]) -> None:
        self.starts.status_computed(pod, status)
        entry = self._entry(pod)
        entry.desired = status
        if normalized(status) != entry.written:
            if milestone(status) != milestone(entry.written):
                entry.urgent = True
            self._mark(entry)

    def observe(self, pod: dict[str, Any]) -> None:
        """The API's copy changed (informer update): if it disagrees with what we
        want for a while (someone else wrote it), write ours again."""
        entry = self._entries.get((pod.get("metadata") or {}).get("uid", ""))
        if entry is None or entry.desired is None or entry.pending or entry.in_flight:
            return
        api_status = normalized(pod.get("status") or {})
        if api_status == normalized(entry.desired):
            entry.written = api_status
            entry.mismatch_since = None
            return
        now = time.monotonic()
        if entry.mismatch_since is None:
            entry.mismatch_since = now
        elif now - entry.mismatch_since > RECONCILE_AFTER:
            entry.written = api_status
            entry.mismatch_since = None
            self._mark(entry)

    def forget(self, uid: str) -> None:
        self.starts.forget(uid)
        entry = self._entries.pop(uid, None)
        if entry is not None:
            for waiter in entry.waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _mark(self, entry: _Entry) -> None:
        entry.pending = True
        self._wake.set()

    async def flush(self, uid: str, timeout: float = 5.0) -> None:
        """Wait until the pod's pending status is written (or given up)."""
        entry = self._entries.get(uid)
        if entry is None or not (entry.pending or entry.in_flight):
            return
        waiter = asyncio.get_running_loop().create_future()
        entry.waiters.append(waiter)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter, timeout)

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            now = time.monotonic()
            next_due: float | None = None
            for entry in list(self._entries.values()):
                if not entry.pending or entry.in_flight:
                    continue
                due = entry.last_write + self.min_interval * (2 ** min(entry.failures, 5))
                if entry.urgent and not entry.failures:
                    due = now
                if due <= now:
                    entry.pending = False
                    entry.urgent = False
                    entry.in_flight = True
                    asyncio.get_running_loop().create_task(self._write(entry))
                else:
                    next_due = due if next_due is None else min(next_due, due)
            if next_due is not None:
                self._wake_at(next_due)

    def _wake_at(self, due: float) -> None:
        """One timer for the earliest pending write, not one per wake-up."""
        if self._timer is not None and not self._timer.cancelled() and self._timer_due <= due:
            return
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer_due = due
        self._timer = loop.call_later(max(0.0, due - time.monotonic()), self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._wake.set()

    async def _write(self, entry: _Entry) -> None:
        status = entry.desired
        try:
            async with self._slots:
                if status is None or entry.uid not in self._entries:
                    return
                patch = [
                    {"op": "test", "path": "/metadata/uid", "value": entry.uid},
                    {"op": "add", "path": "/status", "value": status},
                ]
                entry.last_write = time.monotonic()
                written = await self.api.patch(
                    PODS, entry.name, patch, "json", entry.namespace, subresource="status"
                )
                self.writes += 1
                entry.failures = 0
                log.debug("status of %s/%s written", entry.namespace, entry.name)
                entry.written = normalized(status)
                if normalized(written.get("status")) != entry.written:
                    log.debug("apiserver changed the status of %s/%s", entry.namespace, entry.name)
        except (NotFound, Invalid):
            self.forget(entry.uid)  # gone, or a new pod with the same name
        except ApiError as err:
            if err.code == 422:
                self.forget(entry.uid)
            else:
                log.warning("status of %s/%s: %s", entry.namespace, entry.name, err)
                entry.pending = True
                entry.failures += 1
        except Exception:
            log.exception("status of %s/%s", entry.namespace, entry.name)
            entry.pending = True
            entry.failures += 1
        finally:
            entry.in_flight = False
            if entry.desired is not None and normalized(entry.desired) != entry.written:
                entry.pending = True
            if entry.pending:
                self._wake.set()
            else:
                for waiter in entry.waiters:
                    if not waiter.done():
                        waiter.set_result(None)
                entry.waiters.clear()
