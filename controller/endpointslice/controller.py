"""The EndpointSlice controller: for every Service with a selector, EndpointSlices
(`discovery.k8s.io/v1`) listing the selected pods, which kubectl describe and other
modern clients read instead of Endpoints. The slices are named `<service>-<random>`,
labelled `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by`,
and owned by the Service, so the garbage collector removes them with it. What they
should hold is worked out in reconciler.py; the tracker keeps a lagging
cache from making the controller write the same slices twice."""

from __future__ import annotations

import logging
from typing import Any

from api.errors import ApiError, NotFound, is_namespace_terminating
from api.resources import ENDPOINTSLICES
from client.informer import key_of, split_key
from controller.endpointslice.reconciler import live_slices, managed_service_key, plan
from controller.endpointslice.tracker import SliceTracker
from controller.util.base import Context
from controller.util.controllerref import meta
from controller.util.servicepods import ServicePodEvents, selects

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class EndpointSliceController(ServicePodEvents):
    name = "endpointslice"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        informers = ctx.informers
        self.slices = informers.informer(ENDPOINTSLICES)
        self.slices_by_service = informers.index(ENDPOINTSLICES, "service", managed_service_key)
        self.tracker = SliceTracker()
        self.slices.add_handler(self._slice_changed, self._slice_updated, self._slice_deleted)
        self.watched = [self.services, self.pods, self.slices]

    # ---- events -------------------------------------------------------------------

    def _slice_changed(self, endpoint_slice: Obj) -> None:
        """Any change to a managed slice, ours included: a reconcile that found the
        cache stale is waiting for exactly this event; others repair foreign edits."""
        key = managed_service_key(endpoint_slice)
        if key is not None:
            self.enqueue_key(key)

    def _slice_updated(self, old: Obj, new: Obj) -> None:
        self._slice_changed(old)
        self._slice_changed(new)

    def _slice_deleted(self, endpoint_slice: Obj) -> None:
        self.tracker.deleted(endpoint_slice)
        self._slice_changed(endpoint_slice)

    # ---- reconcile ----------------------------------------------------------------
    async def reconcile(self, key: str) -> None:
        namespace, _ = split_key(key)
        service = self.services.get(key)
        if service is None:
            self.tracker.forget(key)  # the garbage collector deletes its slices
            return
        slices = live_slices(self.slices_by_service.list(key))
        if self.tracker.stale(key, slices):
            log.debug("endpointslice: %s: slice cache is behind; waiting for it", key)
            return
        spec = service.get("spec") or {}
        if spec.get("type") == "ExternalName" or not spec.get("selector"):
            for endpoint_slice in slices:  # a selector removed: ours are no longer right
                await self._delete(endpoint_slice)
            return
        pods = [p for p in self.pods_by_ns.list(namespace or "") if selects(service, p)]
        changes = plan(service, pods, slices)
        if not meta(service).get("deletionTimestamp"):  # racing the garbage collector
            for endpoint_slice in changes.create:
                if not await self._create(endpoint_slice, namespace or ""):
                    return
        for endpoint_slice in changes.update:
            self.tracker.wrote(await self.api.update(ENDPOINTSLICES, endpoint_slice))
        for endpoint_slice in changes.delete:
            await self._delete(endpoint_slice)

    async def _create(self, endpoint_slice: Obj, namespace: str) -> bool:
        """False when the namespace is being deleted: nothing more to do there."""
        try:
            created = await self.api.create(ENDPOINTSLICES, endpoint_slice, namespace)
        except ApiError as err:
            if is_namespace_terminating(err):
                return False
            raise
        self.tracker.wrote(created)
        log.debug("endpointslice: created %s", key_of(created))
        return True

    async def _delete(self, endpoint_slice: Obj) -> None:
        md = meta(endpoint_slice)
        try:
            await self.api.delete(ENDPOINTSLICES, md.get("name", ""), md.get("namespace"))
        except NotFound:
            pass
        self.tracker.expect_deletion(endpoint_slice)
