"""The scheduler: informers feed the cache and the queue; one loop decides, many
binds run at once.

    pod informer ──► pending pods ──► SchedulingQueue ──► decide (sequential) ──► bind ×8
         │                                  ▲                 │ assume                │
         └─► bound pods ─┐   node informer ─┤                 ▼                       │
                         └──────────────────┴──────────► SchedulerCache ◄── confirm ──┘

Decisions are sequential against the cache, and each is counted there (assumed) the
moment it is made, so the next decision sees it; the slow part — the binding POST —
runs concurrently (`parallel_binds` in flight), which is where the throughput comes
from. A pod that fits nowhere gets PodScheduled=False and a FailedScheduling Event
and waits in the queue's unschedulable pool until a node or pod change may help.

The VolumeBinding filter is added to every plugin list, since it reads the
scheduler's own storage informers (scheduler/volumes.py); a pod with claims binds
only after their PreBind (claims Bound on the chosen node).

Preemption: when no node fits, the post-filter (DefaultPreemption) may nominate a
node and name victims there; the scheduler records the nomination (the nominator
counts it in later filtering), gives each victim the DisruptionTarget condition,
deletes it with a Preempted Event, clears the nominations of less important pods on
that node, and writes the preemptor's nominatedNodeName with its PodScheduled=False.
The preemptor waits unschedulable until a victim is gone, then binds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from api.errors import ApiError, NotFound
from api.resources import NODES, PODDISRUPTIONBUDGETS, PODS
from api.storage import pod_claim_names
from client.events import NORMAL, WARNING
from client.informer import Informer
from client.rest import AsyncClient
from scheduler import metrics
from scheduler.algorithm import Algorithm, Decision
from scheduler.cache import SchedulerCache
from scheduler.framework import Profile, Registered
from scheduler.nodeinfo import NodeInfo, node_ready_status
from scheduler.nominator import Nominator
from scheduler.plugins import DEFAULT_PLUGINS
from scheduler.plugins.default_preemption import DefaultPreemption
from scheduler.plugins.volume_binding import VolumeBinding
from scheduler.podinfo import PodInfo, pod_key
from scheduler.queue import QueueClosed, SchedulingQueue
from scheduler.volumes import StorageCache, VolumeBindingTimeout
from scheduler.writer import ApiWriter

log = logging.getLogger(__name__)
DEFAULT_SCHEDULER_NAME = "default-scheduler"
# Binding POSTs in flight. Measured with bench/scheduler.py on 2 cores: 8 binds and
# creates through a single apiserver process about as fast as the apiserver can take
# them; 16 cost more CPU per request on both sides (httpx's pool scans every
# connection per request) and went slower.
DEFAULT_PARALLEL_BINDS = 8
TERMINAL_PHASES = ("Succeeded", "Failed")

Obj = Mapping[str, Any]


def is_assigned(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL_PHASES


def node_scheduling_view(node: Obj) -> tuple:
    """The parts of a Node that filters read: a change there may let pods fit (a
    heartbeat that changes nothing else does not)."""
    md, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    return (
        md.get("labels"),
        spec.get("unschedulable"),
        spec.get("taints"),
        status.get("allocatable") or status.get("capacity"),
        node_ready_status(node),
    )


def pod_scheduling_view(pod: Obj) -> tuple:
    return ((pod.get("metadata") or {}).get("labels"), pod.get("spec"))


class Scheduler:
    def __init__(
        self,
        api: AsyncClient,
        *,
        writes_api: AsyncClient | None = None,
        events_api: AsyncClient | None = None,
        name: str = DEFAULT_SCHEDULER_NAME,
        plugins: Sequence[Registered] = DEFAULT_PLUGINS,
        parallel_binds: int = DEFAULT_PARALLEL_BINDS,
        percentage_of_nodes_to_score: int = 0,
        flush_interval: float = 30.0,
        max_unschedulable_age: float = 60.0,
        queue: SchedulingQueue | None = None,
    ) -> None:
        self.api = api
        self.name = name
        self.cache = SchedulerCache()
        self.queue = queue if queue is not None else SchedulingQueue()  # an empty one is falsy
        self.storage = StorageCache(api, self.queue.move_all)
        self.nominator = Nominator()
        # Preemption weighs PodDisruptionBudgets, from this scheduler's own informer.
        self.budgets = Informer(api, PODDISRUPTIONBUDGETS)
        plugins = [
            Registered(DefaultPreemption(budgets=self.budgets.list), r.weight)
            if isinstance(r.plugin, DefaultPreemption)
            else r
            for r in plugins
        ]
        self.algorithm = Algorithm(
            Profile.from_plugins([*plugins, Registered(VolumeBinding(self.storage))]),
            percentage=percentage_of_nodes_to_score,  # 0: Kubernetes' adaptive share
            nominator=self.nominator,
        )
        writes_api = writes_api or api
        self.writer = ApiWriter(writes_api, name, events_api or writes_api)
        self.parallel_binds = parallel_binds
        self.flush_interval = flush_interval
        self.max_unschedulable_age = max_unschedulable_age
        self.pods = Informer(
            api,
            PODS,
            on_add=self._pod_added,
            on_update=self._pod_updated,
            on_delete=self._pod_deleted,
        )
        self.nodes = Informer(
            api,
            NODES,
            on_add=self._node_added,
            on_update=self._node_updated,
            on_delete=self._node_deleted,
        )
        self._writes: set[asyncio.Task[None]] = set()
        metrics.report_pending(self.pending_counts)

    def pending_counts(self) -> dict[str, int]:
        """scheduler_pending_pods: the queue's places, and the gated pods."""
        counts = self.queue.counts()
        gated = sum(
            1
            for pod in self.pods.list()
            if (pod.get("spec") or {}).get("schedulingGates")
            and not is_assigned(pod)
            and ((pod.get("spec") or {}).get("schedulerName") or DEFAULT_SCHEDULER_NAME)
            == self.name
        )
        return {**counts, "gated": gated}

    # ---- running ------------------------------------------------------------------
    async def run(self) -> None:
        """Sync the informers, then schedule until cancelled."""
        self.writer.start()
        self.nodes.start()
        self.pods.start()
        self.budgets.start()
        self.storage.start()
        try:
            await self.storage.wait_for_sync()
            await self.budgets.wait_for_sync()
            await self.nodes.wait_for_sync()
            await self.pods.wait_for_sync()
            log.info(
                "%s: caches synced (%d nodes, %d pods); scheduling",
                self.name,
                len(self.nodes),
                len(self.pods),
            )
            async with asyncio.TaskGroup() as group:
                group.create_task(self._flush_unschedulable_periodically())
                group.create_task(self._schedule_loop())
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        self.queue.close()
        for task in list(self._writes):
            task.cancel()
        await asyncio.gather(*self._writes, return_exceptions=True)
        await self.pods.stop()
        await self.nodes.stop()
        await self.budgets.stop()
        await self.storage.stop()
        await self.writer.stop()

    async def _flush_unschedulable_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            moved = self.queue.flush_unschedulable(self.max_unschedulable_age)
            if moved:
                age = self.max_unschedulable_age
                log.info("retrying %d pods unschedulable for %.0fs or more", moved, age)

    async def _schedule_loop(self) -> None:
        slots = asyncio.Semaphore(self.parallel_binds)
        while True:
            await slots.acquire()  # back-pressure: at most parallel_binds writes in flight
            try:
                key = await self.queue.pop()
            except QueueClosed:
                slots.release()
                return
            write = None
            began = time.perf_counter()
            try:
                write = self.schedule_one(key)
            except Exception:
                log.exception("scheduling %s failed", key)
                metrics.attempt(metrics.ERROR, self.name, time.perf_counter() - began)
                self.queue.requeue_backoff(key)
            if write is None:
                slots.release()
                continue
            task = asyncio.get_running_loop().create_task(write)
            self._writes.add(task)
            task.add_done_callback(lambda t: self._write_done(t, slots))
            await asyncio.sleep(0)  # let the bind start before the next decision

    def _write_done(self, task: asyncio.Task[None], slots: asyncio.Semaphore) -> None:
        self._writes.discard(task)
        slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("scheduler write failed", exc_info=task.exception())

    def schedule_one(self, key: str) -> Coroutine[Any, Any, None] | None:
        """Decide for one popped pod; returns the API write to run (a coroutine), or
        None when there is nothing to write."""
        if self.cache.is_assumed(key):
            return None  # its bind is in flight and will settle the queue entry
        pod = self.pods.get(key)
        if pod is None or not self.responsible_for(pod):
            self.queue.delete(key)
            return None
        began = time.perf_counter()
        info = PodInfo(pod)
        nodes = self.cache.nodes()
        decision = self.algorithm.schedule(info, nodes, self._nominated_node(pod))
        if decision.node is None:
            metrics.attempt(metrics.UNSCHEDULABLE, self.name, time.perf_counter() - began)
            return self._unschedulable(pod, info, nodes, decision)
        self.nominator.delete(key)
        self.cache.assume(info, decision.node)
        return self._bind(pod, info, decision.node, began)

    def _unschedulable(
        self, pod: Obj, info: PodInfo, nodes: Sequence[NodeInfo], decision: Decision
    ) -> Coroutine[Any, Any, None]:
        """No node fits: try preemption, then park the pod until something changes."""
        nominated_before = self._nominated_node(pod)
        result = self.algorithm.post_filter(info, nodes, decision, nominated_before)
        message = decision.message
        log.debug("%s unschedulable: %s", info.key, message)
        self.queue.requeue_unschedulable(info.key)
        if result is None or result.node is None:
            clear = result is not None and result.clear_nomination and bool(nominated_before)
            if clear:
                self.nominator.delete(info.key)
            return self._report_unschedulable(pod, message, "" if clear else None)
        node = result.node
        self.nominator.add(info, node)
        demoted = [p for p in self.nominator.pods_on(node) if p.priority < info.priority]
        for other in demoted:
            self.nominator.delete(other.key)
        log.info(
            "%s preempts %s on %s",
            info.key,
            ", ".join(v.key for v in result.victims) or "nothing",
            node,
        )
        return self._preempt(pod, node, [v.pod for v in result.victims], demoted, message)

    def _nominated_node(self, pod: Obj) -> str | None:
        """Ours (its status write may be in flight), else the API's."""
        return self.nominator.nominated_node(pod_key(pod)) or (
            (pod.get("status") or {}).get("nominatedNodeName")
        )

    async def _preempt(
        self,
        pod: Obj,
        node: str,
        victims: Sequence[Obj],
        demoted: Sequence[PodInfo],
        message: str,
    ) -> None:
        results = await asyncio.gather(
            *(self.writer.preempt(v, pod, node) for v in victims), return_exceptions=True
        )
        for victim, result in zip(victims, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("preempting %s failed: %s", pod_key(victim), result)
        for other in demoted:
            try:
                await self.writer.clear_nomination(other.pod)
            except ApiError as err:
                log.warning("clearing the nomination of %s failed: %s", other.key, err)
        await self._report_unschedulable(pod, message, node)

    async def _bind(self, pod: Obj, info: PodInfo, node: str, began: float) -> None:
        try:
            if pod_claim_names(dict(pod)):
                await self.storage.prebind(pod, node, lambda: self._same_pod(pod))
            await self.writer.bind(pod, node)
        except Exception as err:  # an API refusal, or a bug: either way, retry later
            metrics.attempt(metrics.ERROR, self.name, time.perf_counter() - began)
            self.cache.forget(info.key)
            if isinstance(err, NotFound):
                self.queue.delete(info.key)
                return
            if not isinstance(err, ApiError | VolumeBindingTimeout):
                log.exception("binding %s to %s failed", info.key, node)
            log.warning("binding %s to %s failed: %s", info.key, node, err)
            self.queue.requeue_backoff(info.key)
            self.writer.event(pod, WARNING, "FailedScheduling", f"Binding rejected: {err}")
            return
        self.queue.done(info.key)
        metrics.attempt(metrics.SCHEDULED, self.name, time.perf_counter() - began)
        log.debug("bound %s to %s", info.key, node)
        message = f"Successfully assigned {info.namespace}/{info.name} to {node}"
        self.writer.event(pod, NORMAL, "Scheduled", message)

    def _same_pod(self, pod: Obj) -> bool:
        """The pod is still there (not deleted, nor replaced by a namesake)."""
        current = self.pods.get(pod_key(pod))
        uid = (pod.get("metadata") or {}).get("uid")
        return current is not None and (current.get("metadata") or {}).get("uid") == uid

    async def _report_unschedulable(
        self, pod: Obj, message: str, nominated: str | None = None
    ) -> None:
        self.writer.event(pod, WARNING, "FailedScheduling", message)
        try:
            await self.writer.set_unschedulable(pod, message, nominated=nominated)
        except NotFound:
            pass
        except ApiError as err:
            log.warning("updating PodScheduled of %s failed: %s", pod_key(pod), err)

    # ---- which pods are ours ------------------------------------------------------
    def responsible_for(self, pod: Obj) -> bool:
        """Pending, not gated, not being deleted, not finished, and asking for this
        scheduler."""
        spec = pod.get("spec") or {}
        return (
            not spec.get("nodeName")
            and (spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME) == self.name
            and not spec.get("schedulingGates")
            and not (pod.get("metadata") or {}).get("deletionTimestamp")
            and not is_terminal(pod)
        )

    # ---- informer handlers (sync and quick: they run on the informer's task) -------
    def _pod_added(self, pod: Obj) -> None:
        key = pod_key(pod)
        if is_assigned(pod):
            if not is_terminal(pod):
                self.cache.add_pod(pod)
            self.queue.delete(key)
        elif self.responsible_for(pod) and not self.cache.is_assumed(key):
            self.nominator.observe(pod)
            self.queue.add(key, (pod.get("spec") or {}).get("priority") or 0)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        key = pod_key(new)
        if is_assigned(new):
            self.nominator.delete(key)
            self.queue.delete(key)
            if is_terminal(new):
                if self.cache.remove_pod(key):
                    self.queue.move_all()  # its resources are free again
            else:
                self.cache.update_pod(new)
        elif self.responsible_for(new):
            if self.cache.is_assumed(key):
                return  # we are binding it; the binding will show up as an update
            relevant = pod_scheduling_view(old) != pod_scheduling_view(new)
            self.nominator.observe(new)
            self.queue.update(key, (new.get("spec") or {}).get("priority") or 0, relevant)
        else:
            self.nominator.delete(key)
            self.queue.delete(key)

    def _pod_deleted(self, pod: Obj) -> None:
        key = pod_key(pod)
        self.nominator.delete(key)
        self.queue.delete(key)
        self.storage.wake()  # a pod waiting for its claims may be this one
        if self.cache.remove_pod(key):
            self.queue.move_all()

    def _node_added(self, node: Obj) -> None:
        self.cache.add_node(node)
        self.queue.move_all()

    def _node_updated(self, old: Obj, new: Obj) -> None:
        self.cache.update_node(new)
        if node_scheduling_view(old) != node_scheduling_view(new):
            self.queue.move_all()

    def _node_deleted(self, node: Obj) -> None:
        self.cache.remove_node((node.get("metadata") or {}).get("name", ""))
