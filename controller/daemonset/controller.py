"""The DaemonSet controller (kube-controller-manager's `daemonset`): one pod of the
template on every node that should run it.

reconcile(ns/name): construct the revision history (the ControllerRevision of the
current template, created when new, gives the pods' controller-revision-hash), claim
the pods, then create a pod on each eligible node that has none and delete pods where
none belongs; when nothing is in flight (expectations), roll old pods over to the
current revision (RollingUpdate; OnDelete waits for the user), trim the history to
revisionHistoryLimit, and report status through `/status`.

Pods are created with a required node affinity naming their node and bound by the
default scheduler; a node that joins or changes labels, taints or schedulability
brings every DaemonSet to reconcile. A failed daemon pod is deleted, and so replaced,
with Kubernetes' per-node exponential back-off (backoff.py)."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

from api.errors import ApiError, Conflict, NotFound
from api.labels import from_label_selector
from api.resources import CONTROLLERREVISIONS, DAEMONSETS, NODES, PODS
from client.events import WARNING
from client.informer import key_of
from controller.daemonset.backoff import FailedPodsBackoff
from controller.daemonset.placement import REVISION_HASH, pin_to_node, pod_template
from controller.daemonset.plan import (
    Plan,
    by_node,
    calculate_status,
    plan_nodes,
    plan_rolling_update,
)
from controller.util.base import Context, Controller
from controller.util.controllerref import (
    ControllerRefManager,
    OwnerLookup,
    controller_ref,
    meta,
    new_controller_ref,
)
from controller.util.expectations import Expectations
from controller.util.podcontrol import PodControl
from controller.util.pods import (
    SLOW_START_INITIAL_BATCH,
    is_pod_ready,
    pod_from_template,
    slow_start_batch,
)
from controller.util.revisions import RevisionHistory

log = logging.getLogger(__name__)

Obj = dict[str, Any]
BACKOFF_GC_INTERVAL = 60.0  # Kubernetes' BackoffGCInterval


class DaemonSetController(Controller):
    name = "daemonset"
    default_workers = 2

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.expectations = Expectations()
        self.pod_control = PodControl(ctx.api, ctx.events)
        self.history = RevisionHistory(ctx.api, DAEMONSETS)
        self.failed_pods_backoff = FailedPodsBackoff()
        self.last_backoff_gc = 0.0
        self.ds_informer = ctx.informers.informer(DAEMONSETS)
        self.pod_informer = ctx.informers.informer(PODS)
        self.node_informer = ctx.informers.informer(NODES)
        self.revision_informer = ctx.informers.informer(CONTROLLERREVISIONS)
        self.pods_by_ns = ctx.informers.by_namespace(PODS)
        self.revisions_by_ns = ctx.informers.by_namespace(CONTROLLERREVISIONS)
        self.owners = OwnerLookup(ctx.informers, DAEMONSETS)
        self.ds_informer.add_handler(
            self.enqueue, lambda _old, new: self.enqueue(new), self._ds_deleted
        )
        self.pod_informer.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.node_informer.add_handler(self._node_added, self._node_updated, self._node_added)
        self.revision_informer.add_handler(
            self._owned_changed, lambda _old, new: self._owned_changed(new), self._owned_changed
        )
        self.watched = [
            self.ds_informer,
            self.pod_informer,
            self.node_informer,
            self.revision_informer,
        ]

    # ---- events --------------------------------------------------------------
    def _ds_deleted(self, ds: Obj) -> None:
        self.expectations.forget(key_of(ds))

    def _owned_changed(self, obj: Obj) -> None:
        key = self.owners.owner_key(obj)
        if key:
            self.enqueue_key(key)
        elif controller_ref(obj) is None:
            for ds in self.owners.matching(obj):
                self.enqueue(ds)

    def _pod_added(self, pod: Obj) -> None:
        if meta(pod).get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        key = self.owners.owner_key(pod)
        if key:
            self.expectations.creation_observed(key)
        self._owned_changed(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if meta(new).get("deletionTimestamp"):
            self._pod_deleted(new)
            return
        if controller_ref(old) != controller_ref(new):
            self._owned_changed(old)
        self._owned_changed(new)
        key = self.owners.owner_key(new)
        if key and not is_pod_ready(old) and is_pod_ready(new):
            ds = self.ds_informer.get(key) or {}
            min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready > 0:
                self.enqueue_after(key, min_ready + 0.1)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self.owners.owner_key(pod)
        if key:
            self.expectations.deletion_observed(key, key_of(pod))
            self.enqueue_key(key)

    def _node_added(self, node: Obj) -> None:
        """A node that joins or goes: every DaemonSet looks again."""
        for ds in self.ds_informer.list():
            self.enqueue(ds)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if _placement_facts(old) != _placement_facts(new):
            self._node_added(new)

    # ---- reconcile -----------------------------------------------------------
    async def reconcile(self, key: str) -> None:
        cached = self.ds_informer.get(key)
        if cached is None:
            self.expectations.forget(key)
            return
        ds = copy.deepcopy(cached)
        if meta(ds).get("deletionTimestamp"):
            return
        try:
            selector = from_label_selector((ds.get("spec") or {}).get("selector"))
        except ApiError as err:
            log.warning("daemonset %s has an invalid selector: %s", key, err)
            return
        if selector.empty:
            return  # selects everything: refused, as Kubernetes does
        namespace = meta(ds).get("namespace") or ""
        nodes = self.node_informer.list()
        revisions = await ControllerRefManager(
            self.api, ds, DAEMONSETS, CONTROLLERREVISIONS, selector
        ).claim(self.revisions_by_ns.list(namespace))
        current, old = await self.history.construct(ds, revisions)
        revision_hash = (meta(current).get("labels") or {}).get(REVISION_HASH) or ""
        pods = await ControllerRefManager(self.api, ds, DAEMONSETS, PODS, selector).claim(
            self.pods_by_ns.list(namespace)
        )
        pods_by_node = by_node(pods)
        now = time.time()
        if now - self.last_backoff_gc > BACKOFF_GC_INTERVAL:
            self.failed_pods_backoff.gc(now)
            self.last_backoff_gc = now
        if self.expectations.satisfied(key):
            plan = plan_nodes(ds, nodes, pods_by_node, revision_hash, now, self.failed_pods_backoff)
            for pod, node in plan.failed:
                md = meta(pod)
                await self.events.record(
                    ds,
                    WARNING,
                    "FailedDaemonPod",
                    f"Found failed daemon pod {md.get('namespace')}/{md.get('name')} on node "
                    f"{node}, will try to kill it",
                )
            await self._sync(key, ds, plan, revision_hash)
            if plan.retry_after is not None:
                self.enqueue_after(key, plan.retry_after)
            if self.expectations.satisfied(key) and _strategy(ds) == "RollingUpdate":
                plan = plan_rolling_update(ds, nodes, pods_by_node, revision_hash, now)
                await self._sync(key, ds, plan, revision_hash)
            await self._cleanup_history(ds, old, pods)
        status = calculate_status(ds, nodes, pods_by_node, revision_hash, now)
        await self._write_status(ds, status)
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and status["numberReady"] != status["numberAvailable"]:
            self.enqueue_after(key, min_ready)

    async def _cleanup_history(self, ds: Obj, old: list[Obj], pods: list[Obj]) -> None:
        live = {(meta(p).get("labels") or {}).get(REVISION_HASH) or "" for p in pods}
        await self.history.cleanup(ds, old, live)

    async def _sync(self, key: str, ds: Obj, plan: Plan, revision_hash: str) -> None:
        """syncNodes: delete and create what the plan says, counting on expectations."""
        if not plan:
            return
        self.expectations.expect(key, len(plan.create_on), [key_of(p) for p in plan.delete])
        await self._delete_pods(key, ds, plan.delete)
        await self._create_pods(key, ds, plan.create_on, revision_hash)

    async def _create_pods(self, key: str, ds: Obj, nodes: list[str], revision_hash: str) -> None:
        if not nodes:
            return
        template = pod_template(ds, revision_hash)
        owner_ref = new_controller_ref(ds, DAEMONSETS)
        pending = list(nodes)

        async def create_one() -> None:
            pod = pod_from_template(template, ds, owner_ref)
            pin_to_node(pod["spec"], pending.pop())
            await self.pod_control.create(ds, pod)

        done, error = await slow_start_batch(len(nodes), SLOW_START_INITIAL_BATCH, create_one)
        for _ in range(len(nodes) - done):
            self.expectations.creation_observed(key)
        if error is not None:
            raise error

    async def _delete_pods(self, key: str, ds: Obj, pods: list[Obj]) -> None:
        if not pods:
            return

        async def delete_one(pod: Obj) -> None:
            try:
                await self.pod_control.delete(ds, pod)
            except ApiError as err:
                self.expectations.deletion_observed(key, key_of(pod))  # no event coming
                if not isinstance(err, NotFound):
                    raise

        results = await asyncio.gather(*(delete_one(p) for p in pods), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    async def _write_status(self, ds: Obj, status: Obj) -> None:
        """Write status when it changed; one retry on a conflict with a fresh read."""
        for attempt in range(2):
            if ds.get("status") == status:
                return
            try:
                await self.api.update_status(DAEMONSETS, {**ds, "status": status})
                return
            except NotFound:
                return
            except Conflict:
                if attempt:
                    raise
            md = meta(ds)
            try:
                ds = await self.api.get(DAEMONSETS, md["name"], md.get("namespace"))
            except NotFound:
                return
            if meta(ds).get("uid") != md.get("uid"):
                return
            status = {**status, "collisionCount": (ds.get("status") or {}).get("collisionCount")}
            if status["collisionCount"] is None:
                del status["collisionCount"]


def _strategy(ds: Obj) -> str:
    return str(((ds.get("spec") or {}).get("updateStrategy") or {}).get("type") or "RollingUpdate")


def _placement_facts(node: Obj) -> tuple[Any, ...]:
    """What decides whether a daemon pod belongs on a node."""
    md, spec = meta(node), node.get("spec") or {}
    return (md.get("labels"), spec.get("taints"), spec.get("unschedulable"))
