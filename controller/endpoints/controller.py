"""The Endpoints controller: for every Service with a selector, an Endpoints object
of the same name listing the selected pods' addresses (ready ones in `addresses`,
the rest in `notReadyAddresses`) and their resolved ports. Services without a
selector are left to whoever manages their Endpoints; the Endpoints of a deleted
Service are deleted. Nothing is written unless something changed."""

from __future__ import annotations

import logging
from typing import Any

from api.errors import AlreadyExists, NotFound
from api.resources import ENDPOINTS
from client.informer import split_key
from controller.endpoints.subsets import desired_subsets
from controller.util.base import Context
from controller.util.controllerref import meta
from controller.util.servicepods import ServicePodEvents, desired_labels, selects

log = logging.getLogger(__name__)

LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
Obj = dict[str, Any]


class EndpointsController(ServicePodEvents):
    name = "endpoints"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        informers = ctx.informers
        self.endpoints = informers.informer(ENDPOINTS)
        self.endpoints.add_handler(on_delete=self.enqueue)
        self.watched = [self.services, self.pods, self.endpoints]

    async def started(self) -> None:
        """Endpoints left behind by services deleted while we were away."""
        for endpoints in self.endpoints.list():
            self.enqueue(endpoints)

    async def reconcile(self, key: str) -> None:
        namespace, name = split_key(key)
        service = self.services.get(key)
        if service is None:
            current = self.endpoints.get(key)
            if current is not None and LEADER_ANNOTATION in (
                meta(current).get("annotations") or {}
            ):
                return
            try:
                await self.api.delete(ENDPOINTS, name, namespace)
            except NotFound:
                pass
            return
        spec = service.get("spec") or {}
        if spec.get("type") == "ExternalName" or not spec.get("selector"):
            return
        pods = [p for p in self.pods_by_ns.list(namespace or "") if selects(service, p)]
        subsets = desired_subsets(service, pods)
        labels = desired_labels(service)
        current = self.endpoints.get(key)
        if current is None:
            endpoints = {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "subsets": subsets,
            }
            try:
                await self.api.create(ENDPOINTS, endpoints, namespace)
            except AlreadyExists:
                self.enqueue_after(key, 0.5)  # our cache is behind; look again
            return
        if (current.get("subsets") or []) == subsets and (
            meta(current).get("labels") or {}
        ) == labels:
            return
        updated = {**current, "subsets": subsets, "metadata": {**meta(current), "labels": labels}}
        await self.api.update(ENDPOINTS, updated)
