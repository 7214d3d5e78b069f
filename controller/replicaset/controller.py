"""The ReplicaSet controller: keeps `spec.replicas` pods from the template running.

reconcile(ns/name): claim pods (adopt matching orphans, release owned pods that
stopped matching), create or delete the difference in slow-start batches — unless
creates or deletes it asked for are still unobserved (expectations) — and report
status through `/status`.

It serves ReplicaSets and, as Kubernetes' replication manager does, core/v1
ReplicationControllers (replication.py): a subclass names the resource and how its
selector reads; everything else is shared."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

from api.errors import ApiError, Conflict, NotFound, is_namespace_terminating
from api.labels import LabelSelector
from api.resources import PODS, REPLICASETS, Resource
from client.informer import key_of
from controller.replicaset.util import (
    BURST_REPLICAS,
    calculate_status,
    next_availability_check,
    pods_to_delete,
)
from controller.util.base import Context, Controller
from controller.util.controllerref import (
    ControllerRefManager,
    OwnerLookup,
    controller_ref,
    meta,
    new_controller_ref,
    spec_selector,
)
from controller.util.expectations import Expectations
from controller.util.podcontrol import PodControl
from controller.util.pods import (
    SLOW_START_INITIAL_BATCH,
    is_pod_active,
    is_pod_ready,
    pod_from_template,
    slow_start_batch,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class ReplicaSetController(Controller):
    name = "replicaset"
    resource: Resource = REPLICASETS

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.expectations = Expectations()
        self.pod_control = PodControl(ctx.api, ctx.events)
        self.rs_informer = ctx.informers.informer(self.resource)
        self.pod_informer = ctx.informers.informer(PODS)
        self.rs_by_ns = ctx.informers.by_namespace(self.resource)
        self.pods_by_ns = ctx.informers.by_namespace(PODS)
        self.owners = OwnerLookup(ctx.informers, self.resource, selector_of=self.selector_of)
        self.rs_informer.add_handler(self.enqueue, self._rs_updated, self._rs_deleted)
        self.pod_informer.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.watched = [self.rs_informer, self.pod_informer]

    @staticmethod
    def selector_of(rs: Obj) -> LabelSelector:
        """The owner's pod selector; raises ApiError when it does not parse."""
        return spec_selector(rs)

    # ---- events --------------------------------------------------------------
    def _rs_updated(self, old: Obj, new: Obj) -> None:
        self.enqueue(new)

    def _rs_deleted(self, rs: Obj) -> None:
        self.expectations.forget(key_of(rs))
        self.enqueue(rs)

    def _pod_added(self, pod: Obj) -> None:
        if meta(pod).get("deletionTimestamp"):
            self._pod_deleted(pod)  # a restart may show a pod already being deleted
            return
        if controller_ref(pod) is not None:
            key = self.owners.owner_key(pod)
            if key:
                self.expectations.creation_observed(key)
                self.enqueue_key(key)
            return
        for rs in self.owners.matching(pod):  # an orphan: someone may adopt it
            self.enqueue(rs)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        labels_changed = meta(old).get("labels") != meta(new).get("labels")
        if meta(new).get("deletionTimestamp"):
            self._pod_deleted(new)
            if labels_changed:
                self._pod_deleted(old)
            return
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref != new_ref and old_ref is not None:
            key = self.owners.owner_key(old)
            if key:
                self.enqueue_key(key)
        if new_ref is not None:
            key = self.owners.owner_key(new)
            if key:
                self.enqueue_key(key)
                rs = self.rs_informer.get(key) or {}
                min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
                if min_ready > 0 and not is_pod_ready(old) and is_pod_ready(new):
                    self.enqueue_after(key, min_ready + 0.1)
            return
        if labels_changed or old_ref != new_ref:
            for rs in self.owners.matching(new):
                self.enqueue(rs)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self.owners.owner_key(pod)
        if key:
            self.expectations.deletion_observed(key, key_of(pod))
            self.enqueue_key(key)

    # ---- reconcile -----------------------------------------------------------
    async def reconcile(self, key: str) -> None:
        cached = self.rs_informer.get(key)
        if cached is None:
            self.expectations.forget(key)
            return
        rs = copy.deepcopy(cached)
        needs_sync = self.expectations.satisfied(key)
        try:
            selector = self.selector_of(rs)
        except ApiError as err:
            log.warning("%s %s has an invalid selector: %s", self.name, key, err)
            return
        namespace = meta(rs).get("namespace") or ""
        active = [p for p in self.pods_by_ns.list(namespace) if is_pod_active(p)]
        manager = ControllerRefManager(self.api, rs, self.resource, PODS, selector)
        pods = await manager.claim(active)
        manage_error: Exception | None = None
        if needs_sync and not meta(rs).get("deletionTimestamp"):
            try:
                await self._manage_replicas(key, rs, pods)
            except ApiError as err:
                manage_error = err
        now = time.time()
        status = calculate_status(rs, pods, manage_error, now)
        await self._write_status(rs, status)
        wait = next_availability_check(rs, pods, now)
        if manage_error is None and wait is not None:
            self.enqueue_after(key, wait + 0.05)
        if manage_error is not None:
            raise manage_error

    async def _manage_replicas(self, key: str, rs: Obj, pods: list[Obj]) -> None:
        want = int((rs.get("spec") or {}).get("replicas", 1))
        diff = len(pods) - want
        if diff < 0:
            log.info("%s %s: too few replicas (%d of %d), creating %d",
                     self.name, key, len(pods), want, min(-diff, BURST_REPLICAS))  # fmt: skip
            await self._create_pods(key, rs, min(-diff, BURST_REPLICAS))
        elif diff > 0:
            log.info("%s %s: too many replicas (%d of %d), deleting %d",
                     self.name, key, len(pods), want, min(diff, BURST_REPLICAS))  # fmt: skip
            await self._delete_pods(key, rs, pods, min(diff, BURST_REPLICAS))

    async def _create_pods(self, key: str, rs: Obj, count: int) -> None:
        self.expectations.expect_creations(key, count)
        template = (rs.get("spec") or {}).get("template") or {}
        owner_ref = new_controller_ref(rs, self.resource)

        async def create_one() -> None:
            try:
                await self.pod_control.create(rs, pod_from_template(template, rs, owner_ref))
            except ApiError as err:
                if not is_namespace_terminating(err):
                    raise  # in a terminating one everything is going away anyway

        done, error = await slow_start_batch(count, SLOW_START_INITIAL_BATCH, create_one)
        for _ in range(count - done):
            self.expectations.creation_observed(key)  # never coming: do not wait for them
        if error is not None:
            raise error

    async def _delete_pods(self, key: str, rs: Obj, pods: list[Obj], count: int) -> None:
        related = self._related_pods(rs)
        victims = pods_to_delete(pods, related, count)
        self.expectations.expect_deletions(key, [key_of(p) for p in victims])

        async def delete_one(pod: Obj) -> None:
            try:
                await self.pod_control.delete(rs, pod)
            except ApiError as err:
                self.expectations.deletion_observed(key, key_of(pod))  # no event coming
                if not isinstance(err, NotFound):
                    raise

        results = await asyncio.gather(*(delete_one(p) for p in victims), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    def _related_pods(self, rs: Obj) -> list[Obj]:
        """Pods of every ReplicaSet sharing this one's controller (a Deployment's old and
        new sets), for spreading a scale-down across nodes."""
        ref = controller_ref(rs)
        namespace = meta(rs).get("namespace") or ""
        sets = [rs]
        if ref is not None:
            sets = [
                other
                for other in self.rs_by_ns.list(namespace)
                if (controller_ref(other) or {}).get("uid") == ref.get("uid")
            ]
        related: dict[str, Obj] = {}
        pods = self.pods_by_ns.list(namespace)
        for other in sets:
            try:
                selector = self.selector_of(other)
            except ApiError:
                continue
            for pod in pods:
                if selector.matches(meta(pod).get("labels") or {}):
                    related[key_of(pod)] = pod
        return list(related.values())

    async def _write_status(self, rs: Obj, status: Obj) -> None:
        """Write status when it changed; one retry on a conflict with a fresh read."""
        generation = meta(rs).get("generation")
        status = {**status, "observedGeneration": generation}
        for attempt in range(2):
            if rs.get("status") == status:
                return
            try:
                await self.api.update_status(self.resource, {**rs, "status": status})
                return
            except NotFound:
                return
            except Conflict:
                if attempt:
                    raise
            md = meta(rs)
            try:
                rs = await self.api.get(self.resource, md["name"], md.get("namespace"))
            except NotFound:
                return
            if meta(rs).get("uid") != md.get("uid"):
                return
