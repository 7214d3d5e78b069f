"""The pod garbage collector: pods nobody else will ever finish off.

- A pod bound to a node that no longer exists (confirmed with the API, not just the
  cache) is deleted at once (gracePeriodSeconds=0): no kubelet will stop it.
- A pod terminating on a node that is not Ready is force-deleted once its grace
  period is over: its kubelet cannot confirm the deletion, and its controller's
  replacement is already running elsewhere.
- A terminating pod that was never scheduled is deleted at once.
Pods are looked at as they change and, as a safety net, every --pod-gc-period."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from api.errors import Conflict, NotFound
from api.resources import NODES, PODS
from api.taints import NO_EXECUTE, NOT_READY, OUT_OF_SERVICE, UNREACHABLE
from api.timefmt import parse_time
from controller.util.base import Context, Controller
from controller.util.controllerref import meta
from controller.util.pods import condition, is_terminating, node_name

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def node_is_down(node: Obj) -> bool:
    """Not Ready, or tainted as unreachable, not-ready or out of service."""
    ready = condition(node, "Ready")
    if ready is None or ready.get("status") != "True":
        return True
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("key") == OUT_OF_SERVICE:
            return True
        if taint.get("effect") == NO_EXECUTE and taint.get("key") in (NOT_READY, UNREACHABLE):
            return True
    return False


class PodGCController(Controller):
    name = "podgc"
    default_workers = 2

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        informers = ctx.informers
        self.nodes = informers.informer(NODES)
        self.pods = informers.informer(PODS)
        self.pods_by_node = informers.index(PODS, "node", lambda p: node_name(p) or None)
        self.pods.add_handler(self._pod_changed, lambda _o, new: self._pod_changed(new))
        self.nodes.add_handler(on_update=self._node_updated, on_delete=self._node_gone)
        self.watched = [self.nodes, self.pods]
        self.period = ctx.options.pod_gc_period
        self._sweeper: asyncio.Task[None] | None = None

    def _pod_changed(self, pod: Obj) -> None:
        name = node_name(pod)
        if is_terminating(pod) or (name and self.nodes.get(name) is None):
            self.enqueue(pod)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if node_is_down(new) and not node_is_down(old):
            for pod in self.pods_by_node.list(meta(new).get("name") or ""):
                if is_terminating(pod):
                    self.enqueue(pod)

    def _node_gone(self, node: Obj) -> None:
        for pod in self.pods_by_node.list(meta(node).get("name") or ""):
            self.enqueue(pod)

    async def started(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="podgc-sweep")

    async def run(self, workers: int | None = None) -> None:
        try:
            await super().run(workers)
        finally:
            if self._sweeper is not None:
                self._sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._sweeper

    async def _sweep(self) -> None:
        while True:
            for pod in self.pods.list():
                self._pod_changed(pod)
            await asyncio.sleep(self.period)

    async def reconcile(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None:
            return
        name = node_name(pod)
        if not name:
            if is_terminating(pod):
                await self._force_delete(pod, "terminating and never scheduled")
            return
        node = self.nodes.get(name)
        if node is None:
            try:
                await self.api.get(NODES, name)
                return  # the cache is behind; the node exists
            except NotFound:
                await self._force_delete(pod, f"its node {name} no longer exists")
                return
        if not is_terminating(pod) or not node_is_down(node):
            return
        deadline = parse_time(meta(pod).get("deletionTimestamp"))
        now = time.time()
        if deadline is not None and deadline > now:
            self.enqueue_after(key, deadline - now + 0.05)
            return
        await self._force_delete(pod, f"its grace period is over and node {name} is down")

    async def _force_delete(self, pod: Obj, why: str) -> None:
        md = meta(pod)
        log.info("force-deleting pod %s/%s: %s", md.get("namespace"), md.get("name"), why)
        try:
            await self.api.delete(
                PODS,
                md["name"],
                md.get("namespace"),
                grace_period_seconds=0,
                preconditions={"uid": md.get("uid")},
            )
        except (NotFound, Conflict):
            pass
