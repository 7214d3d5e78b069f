"""The disruption controller: keeps each PodDisruptionBudget's status true — how many
of its pods are healthy, how many must be, how many are expected, and so how many
disruptions the eviction API may allow — as Kubernetes' DisruptionController.

reconcile(ns/name): list the budget's pods from the cache, find the expected count
(the pods' controllers' scale: ReplicaSet, or the Deployment above it,
ReplicationController, StatefulSet where minik serves it), forget evictions the pods
have caught up with, and write status with the budget's resourceVersion (the eviction
API writes the same status; a conflict is a retry). A failure to count writes the
fail-safe status: no disruption allowed. The same queue carries (STALE, pod key):
pods an eviction marked DisruptionTarget but never deleted get the mark reset
(stale.py)."""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

from api.disruption import budget_selector
from api.errors import ApiError, Conflict, NotFound
from api.resources import (
    DEPLOYMENTS,
    PODDISRUPTIONBUDGETS,
    PODS,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    by_kind,
)
from client.events import NORMAL, WARNING
from client.informer import Informer, key_of
from controller.disruption.budget import (
    ExpectedCountError,
    count_healthy,
    disrupted_pod_map,
    expected_count,
    fail_safe_status,
    new_status,
)
from controller.disruption.stale import (
    STALE_POD_DISRUPTION_TIMEOUT,
    stale_disruption_wait,
    with_condition_cleared,
)
from controller.util.base import Context, Controller
from controller.util.controllerref import controller_ref, meta

log = logging.getLogger(__name__)

Obj = dict[str, Any]
STALE = "stale-pod-disruption"  # queue keys (STALE, ns/name) are pods, not budgets


class DisruptionController(Controller):
    name = "disruption"
    stale_pod_disruption_timeout = STALE_POD_DISRUPTION_TIMEOUT

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        informers = ctx.informers
        self.pdb_informer = informers.informer(PODDISRUPTIONBUDGETS)
        self.pdbs_by_ns = informers.by_namespace(PODDISRUPTIONBUDGETS)
        self.pod_informer = informers.informer(PODS)
        self.pods_by_ns = informers.by_namespace(PODS)
        # the controllers whose scale counts, read from caches
        self.scaled: dict[str, Informer] = {
            res.kind: informers.informer(res)
            for res in (REPLICASETS, DEPLOYMENTS, REPLICATIONCONTROLLERS, by_kind("StatefulSet"))
            if res is not None
        }
        self.pdb_informer.add_handler(
            self.enqueue, lambda _old, new: self.enqueue(new), self.enqueue
        )
        self.pod_informer.add_handler(self._pod_changed, self._pod_updated, self._pod_changed)
        self.watched = [self.pdb_informer, self.pod_informer, *self.scaled.values()]

    # ---- events --------------------------------------------------------------
    def _pdb_updated(self, old: Obj, new: Obj) -> None:
        self.enqueue(new)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if meta(old).get("labels") != meta(new).get("labels"):
            self._pod_changed(old)
        self._pod_changed(new)

    def _pod_changed(self, pod: Obj) -> None:
        """Every budget covering the pod (Kubernetes takes the first and warns); and
        the pod itself when an eviction marked it and it has not gone."""
        wait = stale_disruption_wait(pod, time.time(), self.stale_pod_disruption_timeout)
        if wait is not None:
            self.enqueue_after((STALE, key_of(pod)), wait)
        labels = meta(pod).get("labels") or {}
        for pdb in self.pdbs_by_ns.list(meta(pod).get("namespace") or ""):
            try:
                selector = budget_selector(pdb)
            except ApiError:
                continue
            if selector.matches(labels):
                self.enqueue(pdb)

    # ---- reconcile -----------------------------------------------------------
    async def reconcile(self, key: str | tuple[str, str]) -> None:
        if isinstance(key, tuple):
            await self._sync_stale_pod_disruption(key[1])
            return
        cached = self.pdb_informer.get(key)
        if cached is None:
            return
        pdb = copy.deepcopy(cached)
        try:
            await self._try_sync(key, pdb)
        except Conflict:
            raise
        except (ApiError, ExpectedCountError) as err:
            message = err.message if isinstance(err, ApiError) else str(err)
            log.warning("failed to sync PodDisruptionBudget %s: %s", key, message)
            await self._write(pdb, fail_safe_status(pdb, message))

    async def _try_sync(self, key: str, pdb: Obj) -> None:
        pods = self._pods_for(pdb)
        if not pods:
            await self.events.record(pdb, NORMAL, "NoPods", "No matching pods found")
        try:
            counts = expected_count(pdb, pods, self._find_scale)
        except ExpectedCountError as err:
            await self.events.record(
                pdb,
                WARNING,
                "CalculateExpectedPodCountFailed",
                f"Failed to calculate the number of expected pods: {err}",
            )
            raise
        if counts.unmanaged:
            await self.events.record(
                pdb,
                WARNING,
                "UnmanagedPods",
                "Pods selected by this PodDisruptionBudget (selector: "
                f"{budget_selector(pdb)}) were found to be unmanaged. As a result, the status "
                "of the PDB cannot be calculated correctly, which may result in undefined "
                'behavior. To account for these pods please set ".spec.minAvailable" field '
                "of the PDB to an integer value.",
            )
        now = time.time()
        disrupted, recheck, not_deleted = disrupted_pod_map(pdb, pods, now)
        for pod in not_deleted:
            md = meta(pdb)
            await self.events.record(
                pod,
                WARNING,
                "NotDeleted",
                f"Pod was expected by PDB {md.get('namespace')}/{md.get('name')} to be "
                "deleted but it wasn't",
            )
        healthy = count_healthy(pods, disrupted, now)
        status = new_status(pdb, healthy, counts.desired_healthy, counts.expected, disrupted, now)
        if status is not None:
            await self._write(pdb, status)
        if recheck is not None:
            self.enqueue_after(key, recheck - now + 0.1)

    def _pods_for(self, pdb: Obj) -> list[Obj]:
        """getPodsForPdb: the pods in its namespace its selector matches."""
        selector = budget_selector(pdb)
        return [
            pod
            for pod in self.pods_by_ns.list(meta(pdb).get("namespace") or "")
            if selector.matches(meta(pod).get("labels") or {})
        ]

    def _cached(self, kind: str, namespace: str, ref: Obj | None) -> Obj | None:
        """The cached controller a reference names, if it has the referenced uid."""
        informer = self.scaled.get(kind)
        if ref is None or informer is None or ref.get("kind") != kind:
            return None
        obj = informer.get(f"{namespace}/{ref.get('name')}")
        if obj is None or meta(obj).get("uid") != ref.get("uid"):
            return None
        return obj

    def _find_scale(self, pod: Obj) -> tuple[str, int] | None:
        """Kubernetes' finders: a ReplicaSet's Deployment, else the ReplicaSet, a
        ReplicationController, a StatefulSet (where minik serves it)."""
        namespace = meta(pod).get("namespace") or ""
        ref = controller_ref(pod)
        rs = self._cached("ReplicaSet", namespace, ref)
        if rs is not None:
            dep = self._cached("Deployment", namespace, controller_ref(rs))
            return _scale_of(dep if dep is not None else rs)
        for kind in ("ReplicationController", "StatefulSet"):
            owner = self._cached(kind, namespace, ref)
            if owner is not None:
                return _scale_of(owner)
        return None

    async def _sync_stale_pod_disruption(self, key: str) -> None:
        """Set a stale DisruptionTarget condition back to False (with the pod's
        resourceVersion: a conflict is retried with the fresh pod)."""
        pod = self.pod_informer.get(key)
        if pod is None:
            return
        now = time.time()
        wait = stale_disruption_wait(pod, now, self.stale_pod_disruption_timeout)
        if wait is None:
            return
        if wait > 0:
            self.enqueue_after((STALE, key), wait)
            return
        try:
            await self.api.update_status(PODS, with_condition_cleared(pod, now))
        except NotFound:
            return
        log.info("reset the stale DisruptionTarget condition of pod %s", key)

    async def _write(self, pdb: Obj, status: Obj) -> None:
        try:
            await self.api.update_status(PODDISRUPTIONBUDGETS, {**pdb, "status": status})
        except NotFound:
            return


def _scale_of(obj: Obj) -> tuple[str, int]:
    return meta(obj).get("uid") or "", int((obj.get("spec") or {}).get("replicas", 1))
