"""Pod events → the Services that select the pod: what the Endpoints and the
EndpointSlice controllers both react to."""

from __future__ import annotations

from typing import Any

from api.resources import PODS, SERVICES
from controller.base import Context, Controller
from controller.controllerref import meta
from controller.endpoints_util import endpoint_view, selects
from controller.informers import Index

Obj = dict[str, Any]


class ServicePodEvents(Controller):
    """Watches Services (each change enqueues it) and pods: a pod event enqueues every
    Service of its namespace that selects the pod (before or after an update); an
    update that changes nothing an endpoint shows is ignored."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        informers = ctx.informers
        self.services = informers.informer(SERVICES)
        self.pods = informers.informer(PODS)
        self.services_by_ns: Index = informers.by_namespace(SERVICES)
        self.pods_by_ns: Index = informers.by_namespace(PODS)
        self.services.add_handler(self.enqueue, lambda _o, new: self.enqueue(new), self.enqueue)
        self.pods.add_handler(self._pod_changed, self._pod_updated, self._pod_changed)

    def _pod_changed(self, pod: Obj) -> None:
        for service in self.services_by_ns.list(meta(pod).get("namespace") or ""):
            if selects(service, pod):
                self.enqueue(service)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if endpoint_view(old) == endpoint_view(new):
            return
        for service in self.services_by_ns.list(meta(new).get("namespace") or ""):
            if selects(service, new) or selects(service, old):
                self.enqueue(service)
