"""The StatefulSet controller (kube-controller-manager's `statefulset`).

reconcile(ns/name): claim the set's pods and ControllerRevisions, make sure the
current template has its revision (that revision is the update revision; the current
revision is the one status names, until a rollout completes), set the claims' owner
references as the retention policy says, then carry out plan.plan_sync's steps (a
pod's claims are created before the pod and outlive it), trim the history and report
status through `/status`.

As Kubernetes' controller it trusts the informer cache and no expectations: a create
that the cache has not seen yet comes back AlreadyExists, a delete NotFound, both
harmless, and OrderedReady never acts past the first pod not yet Running and Ready."""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

from api.errors import AlreadyExists, ApiError, Conflict, NotFound
from api.labels import from_label_selector
from api.resources import CONTROLLERREVISIONS, PERSISTENTVOLUMECLAIMS, PODS, STATEFULSETS
from client.events import NORMAL, WARNING
from controller.statefulset import identity
from controller.statefulset.plan import Revisions, Step, calculate_status, plan_sync
from controller.util.base import Context, Controller
from controller.util.controllerref import (
    ControllerRefManager,
    OwnerLookup,
    controller_ref,
    meta,
)
from controller.util.history import REVISION_HASH, template_of
from controller.util.pods import is_pod_ready
from controller.util.revisions import RevisionHistory

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class StatefulSetController(Controller):
    name = "statefulset"
    default_workers = 2

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.history = RevisionHistory(ctx.api, STATEFULSETS)
        self.sts_informer = ctx.informers.informer(STATEFULSETS)
        self.pod_informer = ctx.informers.informer(PODS)
        self.revision_informer = ctx.informers.informer(CONTROLLERREVISIONS)
        self.claim_informer = ctx.informers.informer(PERSISTENTVOLUMECLAIMS)
        self.pods_by_ns = ctx.informers.by_namespace(PODS)
        self.revisions_by_ns = ctx.informers.by_namespace(CONTROLLERREVISIONS)
        self.owners = OwnerLookup(ctx.informers, STATEFULSETS)
        self.sts_informer.add_handler(
            self.enqueue, lambda _old, new: self.enqueue(new), lambda _obj: None
        )
        self.pod_informer.add_handler(self._owned_changed, self._pod_updated, self._owned_changed)
        self.revision_informer.add_handler(
            self._owned_changed, lambda _old, new: self._owned_changed(new), self._owned_changed
        )
        self.claim_informer.add_handler(
            self._claim_changed, lambda _old, new: self._claim_changed(new), self._claim_changed
        )
        self.watched = [
            self.sts_informer,
            self.pod_informer,
            self.revision_informer,
            self.claim_informer,
        ]

    # ---- events --------------------------------------------------------------
    def _owned_changed(self, obj: Obj) -> None:
        key = self.owners.owner_key(obj)
        if key:
            self.enqueue_key(key)
        elif controller_ref(obj) is None:
            for sts in self.owners.matching(obj):
                self.enqueue(sts)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if controller_ref(old) != controller_ref(new):
            self._owned_changed(old)
        self._owned_changed(new)
        key = self.owners.owner_key(new)
        if key and not is_pod_ready(old) and is_pod_ready(new):
            sts = self.sts_informer.get(key) or {}
            min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready > 0:
                self.enqueue_after(key, min_ready + 0.1)

    def _claim_changed(self, claim: Obj) -> None:
        """A claim of `<template>-<set>-<i>` wakes its set (a pod waits for it)."""
        for sts in self.owners.matching(claim):
            self.enqueue(sts)

    # ---- reconcile -----------------------------------------------------------
    async def reconcile(self, key: str) -> None:
        cached = self.sts_informer.get(key)
        if cached is None:
            return
        sts = copy.deepcopy(cached)
        if meta(sts).get("deletionTimestamp"):
            return
        try:
            selector = from_label_selector((sts.get("spec") or {}).get("selector"))
        except ApiError as err:
            log.warning("statefulset %s has an invalid selector: %s", key, err)
            return
        if selector.empty:
            return
        namespace = meta(sts).get("namespace") or ""
        revisions = await ControllerRefManager(
            self.api, sts, STATEFULSETS, CONTROLLERREVISIONS, selector
        ).claim(self.revisions_by_ns.list(namespace))
        update, old = await self.history.construct(sts, revisions)
        pods = await ControllerRefManager(self.api, sts, STATEFULSETS, PODS, selector).claim(
            self.pods_by_ns.list(namespace)
        )
        status = sts.get("status") or {}
        current = next(
            (r for r in [update, *old] if meta(r).get("name") == status.get("currentRevision")),
            update,
        )
        revs = Revisions(
            current_name=meta(current)["name"],
            current_template=_revision_template(current, sts),
            update_name=meta(update)["name"],
            update_template=template_of(sts),
        )
        now = time.time()
        await self._retention(sts, pods)
        plan = plan_sync(sts, pods, revs, int(status.get("currentReplicas") or 0), now)
        for step in plan.steps:
            await self._execute(sts, step)
        live = {revs.current_name, revs.update_name}
        live |= {(meta(p).get("labels") or {}).get(REVISION_HASH) or "" for p in pods}
        hashes = {
            (meta(r).get("labels") or {}).get(REVISION_HASH) or ""
            for r in [update, *old]
            if meta(r).get("name") in live
        }
        await self.history.cleanup(sts, old, hashes)
        new_status = calculate_status(sts, pods, revs, now, status)
        await self._write_status(sts, new_status)
        min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and new_status.get("readyReplicas", 0) != new_status["availableReplicas"]:
            self.enqueue_after(key, min_ready)  # a ready pod becomes available then

    async def _retention(self, sts: Obj, pods: list[Obj]) -> None:
        """persistentVolumeClaimRetentionPolicy: owner references on existing claims."""
        templates = identity.claim_templates(sts)
        if not templates:
            return
        namespace = meta(sts).get("namespace")
        by_ordinal = {identity.ordinal_of(sts, p): p for p in pods}
        for ordinal, pod in by_ordinal.items():
            if ordinal is None:
                continue
            for template in templates:
                name = identity.claim_name(sts, template, ordinal)
                claim = self.claim_informer.get(f"{namespace}/{name}")
                if claim is None:
                    continue
                refs = identity.claim_owner_refs(claim, sts, pod, ordinal)
                if refs is None:
                    continue
                updated = copy.deepcopy(claim)
                updated["metadata"]["ownerReferences"] = refs
                try:
                    await self.api.update(PERSISTENTVOLUMECLAIMS, updated)
                except (NotFound, Conflict):
                    self.enqueue(sts)

    async def _execute(self, sts: Obj, step: Step) -> None:
        namespace = meta(sts).get("namespace")
        name = meta(step.pod).get("name") or ""
        if step.action == "create":
            await self._create_claims(sts, step.ordinal)
            try:
                await self.api.create(PODS, step.pod, namespace)
            except AlreadyExists:
                return
            except ApiError as err:
                await self.events.record(
                    sts,
                    WARNING,
                    "FailedCreate",
                    f"create Pod {name} in StatefulSet {meta(sts).get('name')} failed "
                    f"error: {err.message}",
                )
                raise
            await self.events.record(
                sts,
                NORMAL,
                "SuccessfulCreate",
                f"create Pod {name} in StatefulSet {meta(sts).get('name')} successful",
            )
        elif step.action == "delete":
            try:
                await self.api.delete(
                    PODS, name, namespace, preconditions={"uid": meta(step.pod).get("uid")}
                )
            except (NotFound, Conflict):
                return
            await self.events.record(
                sts,
                NORMAL,
                "SuccessfulDelete",
                f"delete Pod {name} in StatefulSet {meta(sts).get('name')} successful",
            )
        elif step.action == "update":
            try:
                await self.api.update(PODS, step.pod)
            except (NotFound, Conflict):
                self.enqueue(sts)

    async def _create_claims(self, sts: Obj, ordinal: int) -> None:
        """createPersistentVolumeClaims: each missing claim of the ordinal, before its
        pod; a claim still being deleted makes the pod wait."""
        namespace = meta(sts).get("namespace")
        for claim in identity.new_claims(sts, ordinal):
            name = meta(claim)["name"]
            existing = self.claim_informer.get(f"{namespace}/{name}")
            if existing is not None:
                if meta(existing).get("deletionTimestamp"):
                    raise ClaimTerminating(f"pvc {name} is being deleted")
                continue
            refs = identity.claim_owner_refs(claim, sts, None, ordinal)
            if refs:
                claim["metadata"]["ownerReferences"] = refs
            try:
                await self.api.create(PERSISTENTVOLUMECLAIMS, claim, namespace)
            except AlreadyExists:
                continue
            except ApiError as err:
                await self.events.record(
                    sts,
                    WARNING,
                    "FailedCreate",
                    f"create Claim {name} for Pod {identity.pod_name(sts, ordinal)} in "
                    f"StatefulSet {meta(sts).get('name')} failed error: {err.message}",
                )
                raise
            await self.events.record(
                sts,
                NORMAL,
                "SuccessfulCreate",
                f"create Claim {name} Pod {identity.pod_name(sts, ordinal)} in "
                f"StatefulSet {meta(sts).get('name')} success",
            )

    async def _write_status(self, sts: Obj, status: Obj) -> None:
        """Write status when it changed; one retry on a conflict with a fresh read."""
        for attempt in range(2):
            if sts.get("status") == status:
                return
            try:
                await self.api.update_status(STATEFULSETS, {**sts, "status": status})
                return
            except NotFound:
                return
            except Conflict:
                if attempt:
                    raise
            md = meta(sts)
            try:
                sts = await self.api.get(STATEFULSETS, md["name"], md.get("namespace"))
            except NotFound:
                return
            if meta(sts).get("uid") != md.get("uid"):
                return
            if meta(sts).get("generation") != md.get("generation"):
                self.enqueue(sts)
                return
            status = {
                **status,
                "collisionCount": (sts.get("status") or {}).get("collisionCount") or 0,
            }


class ClaimTerminating(RuntimeError):
    """A claim the pod needs is still being deleted; the sync is retried."""


def _revision_template(revision: Obj, sts: Obj) -> Obj:
    """ApplyRevision: the pod template a revision holds."""
    data = revision.get("data") if isinstance(revision.get("data"), dict) else {}
    template = ((data or {}).get("spec") or {}).get("template")
    if not isinstance(template, dict):
        return template_of(sts)
    template = copy.deepcopy(template)
    template.pop("$patch", None)
    return template
