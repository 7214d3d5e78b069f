"""Pod workers: one asyncio task per pod, so pods never wait on each other.

A worker sleeps until something about its pod may have changed — a new version from
the API, a container event from the PLEG, a probe result, a back-off timer, the
periodic resync — then syncs the pod with the newest spec it has. Wake-ups that
arrive during a sync coalesce into one more sync. A pod with a deletionTimestamp is
stopped within its grace period and then deleted through the API (grace period 0,
uid precondition); once it is gone from the API, its containers and directories
are removed and the worker ends.

A pod deleted (or marked for deletion) while its sync runs cancels that sync, as
Kubernetes' pod workers cancel a sync when the pod starts terminating: under churn,
pods deleted before they ever started would otherwise each queue for a sandbox and
start it only to stop it, the kubelet would fall ever further behind, and its
workers (and memory) would grow without bound. A Docker call already under way
finishes in its thread; what it made is removed like any container of a pod the
kubelet no longer has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from api.errors import ApiError, Conflict, NotFound
from api.resources import PODS
from client.rest import AsyncClient
from kubelet.podsync import PodSyncer

log = logging.getLogger(__name__)
MAX_RETRY_SECONDS = 30.0


class PodWorker:
    def __init__(self, uid: str, pod: dict[str, Any] | None) -> None:
        self.uid = uid
        self.pod = pod
        self.removed = False
        self.terminated = False
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_due = 0.0
        self.failures = 0
        self.syncing: asyncio.Task[float | None] | None = None  # the sync under way

    def cancel_sync(self) -> None:
        """Abandon the sync under way (the pod is going): its worker moves on to
        stopping the pod instead of finishing a start nobody wants."""
        if self.syncing is not None and not self.syncing.done():
            log.debug("cancelling the sync of pod %s: it is being deleted", self.uid)
            self.syncing.cancel()


class PodWorkers:
    def __init__(self, syncer: PodSyncer, api: AsyncClient, ready: asyncio.Event) -> None:
        self.syncer = syncer
        self.api = api
        self.ready = ready
        self.workers: dict[str, PodWorker] = {}

    # ---- events -----------------------------------------------------------------
    def update(self, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        if uid not in self.workers:
            log.debug(
                "pod %s/%s arrived", pod["metadata"].get("namespace"), pod["metadata"]["name"]
            )
        worker = self._worker(uid, pod)
        if not worker.removed:
            if _deleting(pod) and not _deleting(worker.pod):
                worker.cancel_sync()
            worker.pod = pod
        worker.wake.set()

    def update_quietly(self, pod: dict[str, Any]) -> None:
        """Keep the newest copy without a sync (a status-only change, e.g. our own)."""
        worker = self.workers.get(pod["metadata"]["uid"])
        if worker is None:
            self.update(pod)
        elif not worker.removed:
            worker.pod = pod

    def remove(self, pod: dict[str, Any]) -> None:
        worker = self._worker(pod["metadata"]["uid"], pod)
        worker.removed = True
        worker.cancel_sync()
        worker.wake.set()

    def remove_orphan(self, uid: str) -> None:
        """Containers of a pod the API does not know (deleted while we were down)."""
        if uid in self.workers:
            return
        worker = self._worker(uid, None)
        worker.removed = True
        worker.wake.set()

    def wake(self, uid: str, after: float = 0.0) -> None:
        worker = self.workers.get(uid)
        if worker is None:
            return
        if after <= 0:
            worker.wake.set()
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + after
        if worker.timer is not None and not worker.timer.cancelled() and worker.timer_due <= due:
            return
        if worker.timer is not None:
            worker.timer.cancel()
        worker.timer = loop.call_at(due, worker.wake.set)
        worker.timer_due = due

    def wake_all(self) -> None:
        for worker in self.workers.values():
            worker.wake.set()

    def __contains__(self, uid: str) -> bool:
        return uid in self.workers

    async def stop(self) -> None:
        tasks = [w.task for w in self.workers.values() if w.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # ---- the worker loop --------------------------------------------------------
    def _worker(self, uid: str, pod: dict[str, Any] | None) -> PodWorker:
        worker = self.workers.get(uid)
        if worker is None:
            worker = PodWorker(uid, pod)
            self.workers[uid] = worker
            worker.task = asyncio.get_running_loop().create_task(
                self._run(worker), name=f"pod-{uid[:8]}"
            )
        return worker

    async def _run(self, worker: PodWorker) -> None:
        await self.ready.wait()
        try:
            while True:
                await worker.wake.wait()
                worker.wake.clear()
                try:
                    if worker.removed:
                        await self.syncer.cleanup(worker.uid, worker.pod)
                        return
                    pod = worker.pod
                    if pod is None:
                        continue
                    if (pod.get("metadata") or {}).get("deletionTimestamp"):
                        if await self._finish_deletion(worker, pod):
                            return
                        continue
                    worker.syncing = asyncio.get_running_loop().create_task(
                        self.syncer.sync(pod), name=f"sync-{worker.uid[:8]}"
                    )
                    try:
                        delay = await worker.syncing
                    finally:
                        worker.syncing = None
                    worker.failures = 0
                    if delay is not None:
                        self.wake(worker.uid, delay)
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if current is None or current.cancelling():
                        raise  # the worker itself is stopped
                    # only the sync was cancelled (the pod is going): the wake-up
                    # that cancelled it is set, and the next pass stops the pod
                except Exception:
                    worker.failures += 1
                    delay = min(MAX_RETRY_SECONDS, 2.0 ** (worker.failures - 1))
                    log.exception("sync of pod %s failed; retrying in %.0fs", worker.uid, delay)
                    self.wake(worker.uid, delay)
        finally:
            if worker.timer is not None:
                worker.timer.cancel()
            if self.workers.get(worker.uid) is worker:
                del self.workers[worker.uid]

    async def _finish_deletion(self, worker: PodWorker, pod: dict[str, Any]) -> bool:
        """Stop the pod, then delete it for good; True when the worker is done."""
        if not worker.terminated:
            await self.syncer.terminate(pod)
            worker.terminated = True
        md = pod["metadata"]
        try:
            await self.api.delete(
                PODS,
                md["name"],
                md.get("namespace"),
                grace_period_seconds=0,
                preconditions={"uid": md["uid"]},
            )
        except (NotFound, Conflict):
            await self.syncer.cleanup(worker.uid, pod)  # gone, or replaced by a new pod
            return True
        except ApiError as err:
            log.warning("deleting pod %s/%s: %s", md.get("namespace"), md["name"], err)
            self.wake(worker.uid, 2.0)
        return False


def _deleting(pod: dict[str, Any] | None) -> bool:
    return bool(((pod or {}).get("metadata") or {}).get("deletionTimestamp"))
