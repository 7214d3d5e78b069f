"""The cluster as the page sees it: informers → views → every open page.

One informer per resource (client/informer.py) keeps a watch-fed cache; each change
becomes a view (dashboard/views.py) and, when the view differs from the one the pages
have, one message `{"op": "put"|"delete", "kind", "key", "view"}` to every subscriber.
A page that connects first gets a snapshot of all views. Resource use comes from
metrics.k8s.io, which has no watch: the hub reads it every `metrics_interval` (the
metrics server itself refreshes no faster) and pushes it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from api.errors import ApiError
from api.resources import (
    DAEMONSETS,
    DEPLOYMENTS,
    ENDPOINTS,
    JOBS,
    NODES,
    PODS,
    SERVICES,
    STATEFULSETS,
    Resource,
)
from client.informer import Informer, key_of
from client.rest import ALL_NAMESPACES, AsyncClient
from dashboard import views
from dashboard.eventfeed import EventFeed

log = logging.getLogger(__name__)

Obj = dict[str, Any]
MAX_EVENTS = 300  # the page's event stream keeps the newest ones
QUEUE_LIMIT = 5000  # a page this far behind is dropped; its EventSource reconnects
METRICS_PATH = "/apis/metrics.k8s.io/v1beta1"
WORKLOADS = {
    "Deployment": DEPLOYMENTS,
    "StatefulSet": STATEFULSETS,
    "DaemonSet": DAEMONSETS,
    "Job": JOBS,
}


class Hub:
    def __init__(self, api: AsyncClient, metrics_interval: float = 15.0) -> None:
        self.api = api
        self.metrics_interval = metrics_interval
        self.views: dict[str, dict[str, Obj]] = {
            k: {} for k in ("nodes", "pods", "workloads", "services", "events", "usage")
        }
        self._subscribers: set[asyncio.Queue[Obj | None]] = set()
        self._failed_scheduling: dict[str, str] = {}  # pod key -> latest message
        self.pods = self._informer(PODS, "pods", self._pod)
        self.services = self._informer(SERVICES, "services", self._service)
        self.endpoints = self._informer(ENDPOINTS, "services", self._service)
        self.informers: list[Informer | EventFeed] = [
            self._informer(NODES, "nodes", lambda o: ("nodes", key_of(o), views.node_view(o))),
            self.pods,
            self.services,
            self.endpoints,
            EventFeed(api, self._events_listed, self._event, self._event_deleted),
            *(
                self._informer(res, "workloads", self._workload(kind))
                for kind, res in WORKLOADS.items()
            ),
        ]
        self._tasks: list[asyncio.Task[None]] = []

    # ---- informers → views ---------------------------------------------------------
    def _informer(
        self, res: Resource, kind: str, view_of: Callable[[Obj], tuple[str, str, Obj | None]]
    ) -> Informer:
        def changed(*objs: Obj) -> None:  # (obj) on add, (old, new) on update
            self._put(*view_of(objs[-1]))

        inf = Informer(self.api, res, ALL_NAMESPACES if res.namespaced else None)
        inf.add_handler(changed, changed, lambda obj: self._deleted(res, kind, obj))
        return inf

    def _deleted(self, res: Resource, kind: str, obj: Obj) -> None:
        key = _view_key(res, obj)
        if res is ENDPOINTS:  # the Service stays, without endpoints
            svc = self.services.get(key_of(obj))
            if svc is not None:
                self._put("services", key, views.service_view(svc, None))
            return
        if res is PODS:
            self._failed_scheduling.pop(key, None)
        self._delete(kind, key)

    def _pod(self, pod: Obj) -> tuple[str, str, Obj]:
        key = key_of(pod)
        return "pods", key, views.pod_view(pod, self._failed_scheduling.get(key))

    def _service(self, obj: Obj) -> tuple[str, str, Obj | None]:
        key = key_of(obj)
        svc = self.services.get(key)
        if svc is None:  # Endpoints without their Service (yet)
            return "services", key, None
        return "services", key, views.service_view(svc, self.endpoints.get(key))

    def _workload(self, kind: str) -> Callable[[Obj], tuple[str, str, Obj]]:
        return lambda obj: ("workloads", f"{kind}/{key_of(obj)}", views.rollout_view(kind, obj))

    # Events: no cache of them (dashboard/eventfeed.py), only the newest MAX_EVENTS views.
    def _failed_scheduling_seen(self, event: Obj) -> None:
        involved = event.get("involvedObject") or {}
        if event.get("reason") == "FailedScheduling" and involved.get("kind") == "Pod":
            pod_key = f"{involved.get('namespace', '')}/{involved.get('name', '')}"
            pod = self.pods.get(pod_key)
            if pod is not None:  # (kept only while the pod exists)
                self._failed_scheduling[pod_key] = event.get("message") or ""
                self._put(*self._pod(pod))

    def _event(self, event: Obj) -> None:
        """An Event added or changed: shown if it is among the newest MAX_EVENTS."""
        self._failed_scheduling_seen(event)
        key, view = key_of(event), views.event_view(event)
        events = self.views["events"]
        if len(events) >= MAX_EVENTS and key not in events:
            oldest = min(events, key=lambda k: events[k].get("time") or "")
            if (view.get("time") or "") < (events[oldest].get("time") or ""):
                return  # older than every Event shown
            self._delete("events", oldest)
        self._put("events", key, view)

    def _events_listed(self, items: list[Obj]) -> None:
        """A (re)list: the newest MAX_EVENTS of it replace the Events shown."""
        listed = sorted(
            ((views.event_view(e), e) for e in items), key=lambda p: p[0].get("time") or ""
        )
        for _, event in listed:  # oldest first: the latest FailedScheduling message wins
            self._failed_scheduling_seen(event)
        newest = {key_of(e): view for view, e in listed[-MAX_EVENTS:]}
        for key in [k for k in self.views["events"] if k not in newest]:
            self._delete("events", key)
        for key, view in newest.items():
            self._put("events", key, view)

    def _event_deleted(self, event: Obj) -> None:
        self._delete("events", key_of(event))

    # ---- views → pages ---------------------------------------------------------------
    def _put(self, kind: str, key: str, view: Obj | None) -> None:
        if view is None:
            return
        if self.views[kind].get(key) == view:
            return  # e.g. a status write that changes nothing the page shows
        self.views[kind][key] = view
        self._publish({"op": "put", "kind": kind, "key": key, "view": view})

    def _delete(self, kind: str, key: str) -> None:
        if self.views[kind].pop(key, None) is not None:
            self._publish({"op": "delete", "kind": kind, "key": key})

    def _publish(self, message: Obj) -> None:
        message["at"] = time.time()
        for queue in list(self._subscribers):
            if queue.qsize() >= QUEUE_LIMIT:
                self._subscribers.discard(queue)
                queue.put_nowait(None)  # tells that page's stream to end
            else:
                queue.put_nowait(message)

    def snapshot(self) -> Obj:
        return {"op": "snapshot", "views": self.views, "synced": self.synced, "at": time.time()}

    @property
    def synced(self) -> bool:
        return all(inf.has_synced for inf in self.informers)

    def subscribe(self) -> asyncio.Queue[Obj | None]:
        queue: asyncio.Queue[Obj | None] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Obj | None]) -> None:
        self._subscribers.discard(queue)

    # ---- running ---------------------------------------------------------------------
    async def start(self) -> None:
        for inf in self.informers:
            inf.start()
        self._tasks.append(asyncio.ensure_future(self._metrics_loop()))

    async def wait_for_sync(self, timeout: float) -> bool:
        results = await asyncio.gather(*(inf.wait_for_sync(timeout) for inf in self.informers))
        if all(results):
            self._publish({"op": "synced"})
        return all(results)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for inf in self.informers:
            await inf.stop()
        for queue in list(self._subscribers):
            queue.put_nowait(None)

    async def _metrics_loop(self) -> None:
        while True:
            self._put("usage", "all", await self.read_usage())
            await asyncio.sleep(self.metrics_interval)

    async def read_usage(self) -> Obj:
        """Node and pod usage from metrics.k8s.io, or why there is none."""
        try:
            nodes = await self.api.get_path(f"{METRICS_PATH}/nodes")
            pods = await self.api.get_path(f"{METRICS_PATH}/pods")
        except ApiError as err:
            return {"available": False, "error": f"metrics.k8s.io: {err}"}
        except Exception as err:  # a connection lost to the apiserver: next round
            return {"available": False, "error": f"metrics.k8s.io unreachable: {err}"}
        return {
            "available": True,
            "nodes": {n["metadata"]["name"]: views.usage_view(n) for n in nodes.get("items") or []},
            "pods": {key_of(p): views.usage_view(p) for p in pods.get("items") or []},
        }


def _view_key(res: Resource, obj: Obj) -> str:
    kind = next((k for k, r in WORKLOADS.items() if r is res), None)
    return f"{kind}/{key_of(obj)}" if kind else key_of(obj)
