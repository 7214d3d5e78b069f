"""What the Endpoints and the EndpointSlice controllers share: which Services select
a pod, what of a pod their entries show, the labels they copy from the Service, and
the base controller that turns pod events into the Services that select the pod."""

from __future__ import annotations

from typing import Any

from api.resources import PODS, SERVICES
from controller.util.base import Context, Controller
from controller.util.controllerref import meta
from controller.util.informers import Index

Obj = dict[str, Any]
HEADLESS_LABEL = "service.kubernetes.io/headless"


def selects(service: Obj, pod: Obj) -> bool:
    """The service's selector matches the pod; an empty selector matches nothing (such
    a service's endpoints are managed by hand)."""
    selector = (service.get("spec") or {}).get("selector") or {}
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def endpoint_view(pod: Obj) -> tuple[Any, ...]:
    """The parts of a pod its Endpoints (and EndpointSlice) entries depend on: an
    update that changes none of them needs no reconcile."""
    md, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    ready = [c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    return (
        md.get("labels"),
        bool(md.get("deletionTimestamp")),
        status.get("podIP"),
        status.get("podIPs"),
        status.get("phase"),
        ready,
        spec.get("nodeName"),
        spec.get("hostname"),
        spec.get("subdomain"),
        [c.get("ports") for c in spec.get("containers") or []],
    )


def desired_labels(service: Obj) -> dict[str, str]:
    """The Endpoints carry the service's labels, plus the headless marker."""
    labels = dict((service.get("metadata") or {}).get("labels") or {})
    if (service.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    else:
        labels.pop(HEADLESS_LABEL, None)
    return labels


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
